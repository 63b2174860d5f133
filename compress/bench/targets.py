"""What a model reference names, for measuring: a model folder, an .onnx file, or a run folder.

A `compress run` output folder (it has a manifest.json) stands for its final output: the last
ONNX file its recipe wrote, else its PyTorch model; `RUN_FOLDER:OUTPUT` picks another output
by its manifest name (e.g. `runs/x:onnx-fp32`). Tokenizer and label order come from a model
folder (a run's `model/`), since an ONNX file carries neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress.errors import CompressError


@dataclass(frozen=True)
class Target:
    reference: str  # as the user wrote it
    kind: str  # "torch" | "onnx"
    location: Path
    model_folder: Path | None  # where a tokenizer and config.json live, if anywhere


def _split(reference: str) -> tuple[Path, str]:
    """`RUN:output` -> (RUN, output); a path that exists keeps any colon it has."""
    folder, _, output = reference.partition(":") if ":" in reference and not Path(reference).exists() else (reference, "", "")
    return Path(folder).expanduser(), output


def is_output_reference(reference: str) -> bool:
    """An .onnx file or a compress run folder (`RUN` or `RUN:output`); anything else is a model
    reference for `models.resolve_model` (a folder, a hub id, an alias)."""
    path, _ = _split(reference)
    return path.suffix == ".onnx" or (path / "manifest.json").is_file()


def resolve_target(reference: str) -> Target:
    path, output = _split(reference)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise CompressError(f"ONNX file not found: {path}")
        sibling = path.parent.parent / "model"  # an ONNX file inside a run folder
        return Target(reference, "onnx", path.resolve(), sibling if (sibling / "config.json").is_file() else None)
    if (path / "manifest.json").is_file():
        return _run_output(reference, path, output)
    if output:
        raise CompressError(f"{path}: not a compress run folder (no manifest.json), so ':{output}' names nothing")
    weights = any(path.glob("*.safetensors")) or (path / "pytorch_model.bin").is_file()
    if not ((path / "config.json").is_file() and weights):
        raise CompressError(f"{reference}: expected a model folder (config.json and weights), an .onnx file or a compress run folder")
    return Target(reference, "torch", path.resolve(), path.resolve())


def _run_output(reference: str, run: Path, output: str) -> Target:
    outputs: dict[str, str] = json.loads((run / "manifest.json").read_text(encoding="utf-8")).get("outputs", {})
    if output and output not in outputs:
        raise CompressError(f"{run}: no output {output!r}; it has {', '.join(outputs)}")
    name = output or ([n for n, p in outputs.items() if p.endswith(".onnx")] or ["model"])[-1]
    location = (run / outputs[name]).resolve()
    kind = "onnx" if location.suffix == ".onnx" else "torch"
    return Target(reference if output else f"{reference}:{name}", kind, location, (run / "model").resolve())


def load_predictor(target: Target, threads: int) -> Any:
    from compress.predictors import OnnxPredictor, TorchPredictor

    if target.kind == "onnx":
        return OnnxPredictor(target.reference, target.location, threads)
    from compress.pruning.fold import load_pruned

    return TorchPredictor(target.reference, load_pruned(target.location, dtype="auto"))


def label_order(model_folder: Path) -> tuple[str, ...]:
    config = json.loads((model_folder / "config.json").read_text(encoding="utf-8"))
    id2label = config.get("id2label") or {}
    if not id2label:
        raise CompressError(f"{model_folder}: config.json has no id2label, so predictions cannot be matched to labels")
    return tuple(id2label[str(i)] if str(i) in id2label else id2label[i] for i in range(len(id2label)))
