"""compress: make fine-tuned transformer text classifiers smaller and faster.

Importing the package is deliberately cheap: torch, onnxruntime and datasets are
imported only by the functions that need them. The Python API (see `compress.api`):

    compress.run(recipe, model=..., data=..., out=...)   # -> report dict
    compress.load(path).predict(texts)                   # any output: folder, .onnx, run folder
    compress.bench(baseline, [candidate, ...], data=..., out=...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from compress.version import __version__

__all__ = ["__version__", "bench", "load", "run"]

if TYPE_CHECKING:
    from compress.api import Classifier


def run(recipe: Any, **options: Any) -> dict[str, Any]:
    """Run a recipe (path, mapping or Recipe) with `model`, `data`, `out`; returns the report."""
    from compress.api import run as _run

    return _run(recipe, **options)


def load(path: Any, **options: Any) -> Classifier:
    """Load any output of the toolkit as a classifier with `.predict(texts)` and `.predict_proba(texts)`."""
    from compress.api import load as _load

    return _load(path, **options)


def bench(baseline: Any, candidates: Any, **options: Any) -> dict[str, Any]:
    """Benchmark candidates against a baseline in one process; returns the report."""
    from compress.api import bench as _bench

    return _bench(baseline, candidates, **options)
