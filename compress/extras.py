"""Optional parts of the package and the one-line error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from compress.errors import CompressError

DISTRIBUTION = "classifier-compress"  # the PyPI name ("compress" is taken there); the import name is compress


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or fail with the install command for the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CompressError(f"{purpose} needs {module.split('.')[0]}: pip install '{DISTRIBUTION}[{extra}]'") from None
