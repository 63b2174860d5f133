"""`distill`: train the current model (or a smaller student cut from it) to match a teacher.

The teacher defaults to the recipe's input model; the student is the model being trained, or
with `student.layers` a copy that keeps only those encoder layers (e.g. [0, 2, 4] for a 3-layer
student of a 6-layer teacher), initialised from the teacher's weights.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field, model_validator

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register
from compress.passes.teacher import distillation_hook, transfer_texts
from compress.passes.training_options import TrainingPassConfig, run_training
from compress.training.settings import DistillationOptions


class StudentOptions(PassConfig):
    """Same as a `layer_drop` pass with these layers just before this one."""

    layers: tuple[int, ...] = Field(min_length=1, description="encoder layers of the current model to keep, in order")


class DistillConfig(TrainingPassConfig, DistillationOptions):
    student: StudentOptions | None = None

    @model_validator(mode="after")
    def _layers_are_distinct_and_ordered(self) -> DistillConfig:
        if self.student and list(self.student.layers) != sorted(set(self.student.layers)):
            raise ValueError("student.layers must be distinct and increasing")
        return self


@register(
    "distill",
    DistillConfig,
    Stage.TORCH,
    "knowledge distillation from a frozen teacher (KL + CE, optional hidden/attention)",
)
def distill(config: DistillConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.architectures import keep_encoder_layers

    student = keep_encoder_layers(artifact.model, config.student.layers) if config.student else artifact.model
    transfer = transfer_texts(config, "distill")
    hook, details = distillation_hook(config, artifact, student, "distill", transfer)
    _, trained = run_training(student, artifact, config, [hook], unlabelled=transfer)
    details |= {"student_parameters": sum(p.numel() for p in student.parameters()), **trained}
    return replace(artifact, model=student, model_changed=True), details
