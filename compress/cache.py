"""A content-addressed cache for results that are slow to make and depend only on their inputs.

A trained tokenizer and a masked-LM-adapted encoder are functions of their inputs (texts,
weights, settings); keyed by a hash of those, they are made once and reused by every run,
seed and process that asks for the same thing. The root is `$COMPRESS_CACHE`, else
`~/.cache/compress`. Entries are written to a temporary folder and renamed into place, so a
reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "COMPRESS_CACHE"


def cache_root() -> Path:
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "compress").expanduser()


def content_key(*parts: Any) -> str:
    """A hash of strings, bytes, and tensors or arrays (by dtype, shape and bytes), in order."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(b"\x00")
        if isinstance(part, bytes):
            digest.update(part)
        elif hasattr(part, "detach"):  # a torch tensor
            import torch

            tensor = part.detach().cpu().contiguous()
            digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
            digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
        else:
            digest.update(str(part).encode())
    return digest.hexdigest()


def tokenizer_definition(tokenizer: Any) -> str:
    """What decides a tokenizer's ids, for a key: its `tokenizers` definition without the truncation
    and padding state that each call with those options leaves in it (a slow tokenizer: its class
    and vocabulary), so the same tokenizer keys the same before and after it has been used."""
    if not getattr(tokenizer, "is_fast", False):
        return f"{type(tokenizer).__name__}{sorted(tokenizer.get_vocab().items())}"
    definition = json.loads(tokenizer.backend_tokenizer.to_str())
    return json.dumps({k: v for k, v in definition.items() if k not in ("truncation", "padding")}, sort_keys=True)


def entry(kind: str, key: str) -> Path | None:
    """The folder of a finished entry, or None."""
    folder = cache_root() / kind / key
    return folder if (folder / ".complete").is_file() else None


@contextmanager
def writing(kind: str, key: str) -> Iterator[Path]:
    """A temporary folder to fill; on success it becomes the entry (a concurrent writer's entry wins)."""
    parent = cache_root() / kind
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=parent))
    try:
        yield staging
        (staging / ".complete").write_text(key)
        try:
            staging.rename(parent / key)
        except OSError:  # another process finished the same entry first: theirs is as good
            if entry(kind, key) is None:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
