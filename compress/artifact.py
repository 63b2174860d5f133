"""The one object passes hand to each other: the model, its tokenizer, data and a record of what ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compress.data import TaskData


@dataclass(frozen=True)
class PassRecord:
    """What one pass did: its settings, its wall time and whatever it measured."""

    name: str
    config: dict[str, Any]
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Artifact:
    """State between passes. Passes return a new Artifact (`dataclasses.replace`) rather than mutate this one.

    `workdir` is the run's temporary output folder; `onnx` maps a candidate's name to its
    ONNX file inside it, in the order the passes made them. `checkpoint_dir` lives outside
    `workdir`, so that an interrupted run can be resumed.
    """

    model: Any
    tokenizer: Any
    data: TaskData
    workdir: Path
    max_length: int
    seed: int
    onnx: dict[str, Path] = field(default_factory=dict)
    model_changed: bool = False
    history: tuple[PassRecord, ...] = ()
    source: Any = None  # the recipe's input model (ModelSource), e.g. the default distillation teacher
    label_order: tuple[str, ...] = ()
    checkpoint_dir: Path | None = None  # where the running pass keeps resumable training state
    export: Path | None = None  # the fp32 graph as exported, before any optimization: where ONNX passes start
    resume: bool = False

    @property
    def model_dir(self) -> Path:
        return self.workdir / "model"

    @property
    def onnx_dir(self) -> Path:
        return self.workdir / "onnx"
