"""The one model loader: every command (run, bench, regress, and whatever comes next) loads a
classifier through `load_model`, so every entry point has the same safety rules.

- A reference is a model folder, a hub id, an alias, an `.onnx` file, or a `compress run` output
  folder (its `manifest.json` names its outputs; the folder stands for its last one, and
  `RUN:name` picks another).
- Weights load from safetensors only; pickles are refused. Model code from the hub or a folder
  runs only with `trust_remote_code=True` (the `--trust-remote-code` flag), never after a prompt.
- Every model comes with its own tokenizer and label order. An ONNX graph is checked before
  any timing: its inputs must be ones the tokenizer produces, and its logits must have one
  column per label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.errors import CompressError, first_line
from compress.models import ModelSource, check_model_dir, check_not_lfs, has_trained_labels, resolve_model

TOKENIZER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Target:
    """What a reference names, before anything is loaded."""

    reference: str  # as the user wrote it (a run folder gets ':output' added)
    kind: str  # "torch" | "onnx"
    location: Path | str  # a folder or hub id (torch), an .onnx file
    model_folder: Path | None  # where this model's tokenizer and config.json live
    revision: str | None = None  # hub models only


@dataclass(frozen=True)
class LoadedModel:
    name: str
    kind: str  # "torch" | "onnx"
    location: str
    model: Any  # a torch module, or None for ONNX
    tokenizer: Any
    label_order: tuple[str, ...]  # label names in the model's id order
    new_head: bool = False  # the classification head was freshly initialised
    session_path: Path | None = None  # the .onnx file

    def predictor(self, threads: int) -> Any:
        from compress.predictors import OnnxPredictor, TorchPredictor

        if self.kind == "onnx":
            assert self.session_path is not None
            return OnnxPredictor(self.name, self.session_path, threads)
        return TorchPredictor(self.name, self.model)


def _split(reference: str) -> tuple[Path, str]:
    """`RUN:output` -> (RUN, output); a path that exists keeps any colon it has."""
    if ":" in reference and not Path(reference).expanduser().exists():
        folder, _, output = reference.rpartition(":")
        return Path(folder).expanduser(), output
    return Path(reference).expanduser(), ""


def is_output_reference(reference: str) -> bool:
    """An .onnx file or a compress run folder (`RUN` or `RUN:output`)."""
    path, _ = _split(reference)
    return path.suffix == ".onnx" or (path / "manifest.json").is_file()


def resolve_target(reference: str, revision: str | None = None) -> Target:
    """Name what `reference` points at; a model folder, hub id or alias goes through `resolve_model`."""
    path, output = _split(reference)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise CompressError(f"ONNX file not found: {path}")
        return Target(reference, "onnx", path.resolve(), _onnx_model_folder(path.resolve()))
    if (path / "manifest.json").is_file():
        return _run_output(reference, path, output)
    if output:
        raise CompressError(f"{path}: not a compress run folder (no manifest.json), so ':{output}' names nothing")
    source = resolve_model(reference, revision)
    return Target(reference, "torch", source.location, Path(source.location) if source.is_local else None, revision)


def _onnx_model_folder(path: Path) -> Path | None:
    """The folder with this graph's tokenizer: its own (an export writes one there), else the run's model/."""
    for folder in (path.parent, path.parent.parent / "model"):
        if (folder / "config.json").is_file() and any(folder.glob("tokenizer*")) | any(folder.glob("vocab*")):
            return folder
    return None


def _run_output(reference: str, run: Path, output: str) -> Target:
    manifest = run / "manifest.json"
    try:
        check_not_lfs(manifest)
        outputs = json.loads(manifest.read_text(encoding="utf-8")).get("outputs", {})
        if not isinstance(outputs, dict) or not all(isinstance(v, str) for v in outputs.values()):
            raise ValueError("'outputs' is not a mapping of names to paths")
    except (OSError, ValueError, AttributeError) as exc:
        raise CompressError(f"{manifest}: broken manifest ({first_line(exc)})") from None
    if not outputs:
        raise CompressError(f"{manifest}: lists no outputs")
    if output and output not in outputs:
        raise CompressError(f"{run}: no output {output!r}; it has {', '.join(outputs)}")
    name = output or ([n for n, p in outputs.items() if p.endswith(".onnx")] or [next(iter(outputs))])[-1]
    location = (run / outputs[name]).resolve()
    if not location.is_relative_to(run.resolve()) or not location.exists():
        raise CompressError(f"{manifest}: output {name!r} ({outputs[name]}) is missing from the run folder")
    full = reference if output else f"{reference}:{name}"
    if location.suffix == ".onnx":
        return Target(full, "onnx", location, _onnx_model_folder(location))
    check_model_dir(location)
    return Target(full, "torch", location, location)


def load_model(
    reference: str | ModelSource,
    labels: tuple[str, ...] | None = None,
    *,
    allow_new_head: bool = False,
    trust_remote_code: bool = False,
    stored_dtype: bool = False,
    revision: str | None = None,
) -> LoadedModel:
    """Load any classifier reference with its tokenizer, for these labels (None: its own).

    PyTorch weights load in fp32 (what training needs) unless `stored_dtype`: then as saved, so
    a model stored in bf16 is measured in bf16. An existing classifier keeps its label order; a
    model without matching labels gets a fresh head only when `allow_new_head`.
    """
    if isinstance(reference, ModelSource):
        return _load_torch(reference, labels, allow_new_head, trust_remote_code, stored_dtype)
    target = resolve_target(reference, revision)
    if target.kind == "onnx":
        return _load_onnx(target, labels, trust_remote_code)
    source = ModelSource(reference, str(target.location), target.model_folder is not None, revision)
    loaded = _load_torch(source, labels, allow_new_head, trust_remote_code, stored_dtype)
    return LoadedModel(
        target.reference, "torch", loaded.location, loaded.model, loaded.tokenizer, loaded.label_order, loaded.new_head
    )


def load_tokenizer(reference: str, trust_remote_code: bool = False) -> Any:
    """The tokenizer of any model reference (a base encoder too: no classifier needed)."""
    target = resolve_target(reference)
    if target.kind == "onnx" and target.model_folder is None:
        raise CompressError(f"{reference}: no tokenizer beside the ONNX file")
    location = str(target.model_folder) if target.kind == "onnx" else str(target.location)
    return _config_and_tokenizer(location, reference, trust_remote_code)[1]


def _label_order_from(
    config: Any, labels: tuple[str, ...] | None, allow_new_head: bool, reference: str
) -> tuple[str, ...]:
    existing = tuple(str(config.id2label[i]) for i in sorted(config.id2label)) if has_trained_labels(config) else ()
    if existing and (labels is None or set(existing) == set(labels)):
        return existing
    if allow_new_head:
        return labels or tuple(str(config.id2label[i]) for i in sorted(config.id2label))
    if existing:
        raise CompressError(
            f"{reference}: model labels {list(existing)} do not match the data's labels {list(labels or ())}; "
            "fine-tune on this data first (recipes/finetune.yaml)"
        )
    raise CompressError(
        f"{reference!r} is not a fine-tuned classifier (no labels in config.json); "
        "fine-tune it first: compress run recipes/finetune.yaml"
    )


def _config_and_tokenizer(
    location: str, reference: str, trust_remote_code: bool, revision: str | None = None
) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code, revision=revision)
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code, revision=revision)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise CompressError(
                f"{reference}: this model needs its own code; pass --trust-remote-code if you trust it"
            ) from None
        raise CompressError(f"could not load {reference!r}: {first_line(exc)}") from None
    except (OSError, KeyError, TypeError) as exc:
        raise CompressError(f"could not load {reference!r}: {first_line(exc)}") from None
    return config, tokenizer


def _load_torch(
    source: ModelSource,
    labels: tuple[str, ...] | None,
    allow_new_head: bool,
    trust_remote_code: bool,
    stored_dtype: bool,
) -> LoadedModel:
    import torch
    from transformers import AutoModelForSequenceClassification

    from compress.pruning.folding import load_pruned

    config, tokenizer = _config_and_tokenizer(source.location, source.reference, trust_remote_code, source.revision)
    order = _label_order_from(config, labels, allow_new_head, source.reference)
    existing = tuple(str(config.id2label[i]) for i in sorted(config.id2label)) if has_trained_labels(config) else ()
    dtype = "auto" if stored_dtype else torch.float32
    model: Any
    try:
        if getattr(config, "compress_layout", None):  # heads and FFN widths differ per layer
            if order != existing:
                raise CompressError(f"{source.reference!r} is a pruned classifier; its labels must match the data's")
            model = load_pruned(source.location, dtype=dtype)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(
                source.location,
                num_labels=len(order),
                id2label=dict(enumerate(order)),
                label2id={n: i for i, n in enumerate(order)},
                ignore_mismatched_sizes=order != existing,
                use_safetensors=True,
                trust_remote_code=trust_remote_code,
                dtype=dtype,
                revision=source.revision,
            )
    except (OSError, ValueError, RuntimeError) as exc:
        raise CompressError(f"could not load {source.reference!r}: {first_line(exc)}") from None
    vocab = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > vocab:
        raise CompressError(
            f"{source.reference!r}: tokenizer has {len(tokenizer)} tokens but the model's embedding has "
            f"{vocab}; tokenizer and model do not belong together"
        )
    model.eval()
    return LoadedModel(source.reference, "torch", source.location, model, tokenizer, order, new_head=order != existing)


def _load_onnx(target: Target, labels: tuple[str, ...] | None, trust_remote_code: bool) -> LoadedModel:
    """Open the graph and check it against its tokenizer and the labels before anything is timed."""
    import numpy as np
    import onnxruntime as ort

    if target.model_folder is None:
        raise CompressError(
            f"{target.reference}: no tokenizer and config.json beside the ONNX file "
            "(expected in its folder or in the run's model/)"
        )
    config, tokenizer = _config_and_tokenizer(str(target.model_folder), target.reference, trust_remote_code)
    order = _label_order_from(config, labels, False, target.reference)
    path = Path(target.location)
    check_not_lfs(path)
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise CompressError(f"{path}: not a loadable ONNX model ({first_line(exc)})") from None
    produced = set(tokenizer("a")) & set(TOKENIZER_INPUTS)
    wanted = [i.name for i in session.get_inputs()]
    unknown = [name for name in wanted if name not in produced]
    if unknown:
        raise CompressError(f"{path}: the graph wants inputs {unknown} that its tokenizer does not produce")
    sample = {k: np.asarray(v, dtype=np.int64)[None, :] for k, v in tokenizer("a b").items() if k in wanted}
    try:
        logits = session.run(None, sample)[0]
    except Exception as exc:
        raise CompressError(f"{path}: the graph fails on a tokenized example ({first_line(exc)})") from None
    if logits.ndim != 2 or logits.shape[1] != len(order):
        raise CompressError(
            f"{path}: the graph gives {logits.shape[-1]} logits per example, but there are "
            f"{len(order)} labels ({', '.join(order)})"
        )
    return LoadedModel(target.reference, "onnx", str(path), None, tokenizer, order, session_path=path)
