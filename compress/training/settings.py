"""What a training run is told: the options a training pass declares, which the loop reads as they
are (no copy into another settings class), and the facts of the run it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TrainingOptions(BaseModel):
    """Optimizer, schedule, precision and checkpointing of one training run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(5, ge=1)
    min_steps: int | None = Field(
        None,
        ge=1,
        description="train at least this many optimizer steps, adding epochs on a small training split: "
        "a recipe's epochs, tuned on a few thousand examples, give a few hundred too few updates",
    )
    batch_size: int = Field(32, ge=1, description="global batch; split across processes when data-parallel")
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_grad_norm: float = Field(1.0, ge=0)
    early_stopping_patience: int | None = Field(None, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="autocast precision for training")
    checkpoint_every: int = Field(
        200, ge=1, description="optimizer steps between resumable checkpoints (and every epoch)"
    )
    track_energy: bool = True
    embedding_learning_rate: float | None = Field(
        None,
        gt=0,
        description="own learning rate for the input embeddings (new ones after vocab_transfer learn faster)",
    )
    class_weight: Literal["balanced"] | None = Field(
        None,
        description="'balanced': weigh each labelled row's cross-entropy by n / (labels x that label's count "
        "in the training split), so a rare label counts as much as a common one (scikit-learn's rule)",
    )


@dataclass(frozen=True)
class RunContext:
    """Facts of the run a training belongs to, not settings of a pass: its seed, where its
    resumable state lives, and how it reports."""

    seed: int = 42
    checkpoint_dir: Path | None = None
    resume: bool = False
    eval_batch_size: int = 64
    progress: bool = True
    country_iso_code: str = "USA"  # for the energy estimate's CO2 intensity


class DistillationOptions(BaseModel):
    """What a training pass that learns from a teacher asks of the distillation hook; one class,
    shared by `distill`, `block_movement` and any training pass that takes a teacher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    teacher: str | None = Field(None, description="model reference; default: the recipe's input model")
    alpha: float = Field(0.5, ge=0, le=1, description="weight of the distillation loss; 1 - alpha weighs cross-entropy")
    temperature: float = Field(2.0, gt=0)
    hidden_weight: float = Field(0.0, ge=0, description="MSE between mapped hidden states")
    attention_weight: float = Field(0.0, ge=0, description="MSE between mapped attention maps")
    layer_map: tuple[int, ...] | None = Field(None, description="teacher layer for each student layer")
    cache_teacher_logits: bool = True
    transfer_corpus: Path | None = Field(
        None,
        description="unlabelled in-domain text, one example a line, that the teacher labels for the student "
        "(distillation loss only): with few labelled examples the teacher's answers on the training split are "
        "nearly one-hot, and these carry what it knows beyond them",
    )
    transfer_lines: int | None = Field(
        None, ge=1, description="use a fixed seeded sample of N of the corpus's lines; default: all of them"
    )
    classical_weight: Annotated[float, Field(ge=0, lt=1)] | Literal["auto"] = Field(
        0.0,
        description="share of the classical character n-gram model (fitted and calibrated on the training split) "
        "in the distillation targets: a second teacher that reads the characters the transformer's tokens cut up. "
        "'auto': the share, of 0 to 0.7 in steps of 0.1, whose mixture of the two teachers is most accurate on "
        "the selection split (the smallest of equals), so a task where the classical model helps less gets less",
    )

    @model_validator(mode="after")
    def _a_transfer_corpus_teaches_through_the_distillation_loss(self) -> DistillationOptions:
        if self.transfer_corpus is not None and self.alpha == 0:
            raise ValueError("transfer_corpus only teaches through the distillation loss: alpha must be above 0")
        if self.transfer_lines is not None and self.transfer_corpus is None:
            raise ValueError("transfer_lines needs transfer_corpus")
        if self.classical_weight and (self.alpha == 0 or self.hidden_weight or self.attention_weight):
            raise ValueError("classical_weight teaches through cached logits: alpha above 0, no hidden/attention loss")
        if self.classical_weight and not self.cache_teacher_logits:
            raise ValueError("classical_weight teaches through cached logits: keep cache_teacher_logits")
        return self
