"""`distill`: train the current model (or a smaller student cut from it) to match a teacher.

The teacher defaults to the recipe's input model; the student is the model being trained, or
with `student.layers` a copy that keeps only those encoder layers (e.g. [0, 2, 4] for a 3-layer
student of a 6-layer teacher), initialised from the teacher's weights.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import PassConfig, Stage, register
from compress.passes.training_options import TrainingOptions, run_training


class StudentOptions(PassConfig):
    """Same as a `layer_drop` pass with these layers just before this one."""

    layers: tuple[int, ...] = Field(min_length=1, description="encoder layers of the current model to keep, in order")


class DistillConfig(TrainingOptions):
    teacher: str | None = Field(None, description="model reference; default: the recipe's input model")
    student: StudentOptions | None = None
    alpha: float = Field(0.5, ge=0, le=1, description="weight of the distillation loss; 1 - alpha weighs cross-entropy")
    temperature: float = Field(2.0, gt=0)
    hidden_weight: float = Field(0.0, ge=0, description="MSE between mapped hidden states")
    attention_weight: float = Field(0.0, ge=0, description="MSE between mapped attention maps")
    layer_map: tuple[int, ...] | None = Field(None, description="teacher layer for each student layer")
    cache_teacher_logits: bool = True

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
    from compress.architectures import KEPT_LAYERS_KEY, encoder_layers, keep_encoder_layers
    from compress.training.distillation import DistillationHook

    teacher, teacher_tokenizer, teacher_name = load_teacher(config.teacher, artifact)
    student = keep_encoder_layers(artifact.model, config.student.layers) if config.student else artifact.model
    student_layers = len(encoder_layers(student))
    kept = getattr(student.config, KEPT_LAYERS_KEY, None)  # set by layer_drop (or student.layers)
    fits = kept and len(kept) == student_layers and max(kept) < len(encoder_layers(teacher))
    layer_map = list(config.layer_map or (kept if kept and fits else range(student_layers)))
    if len(layer_map) != student_layers or max(layer_map) >= len(encoder_layers(teacher)):
        raise CompressError(
            f"distill: layer_map {layer_map} must name one teacher layer for each of {student_layers} student layers"
        )
    if config.hidden_weight and student.config.hidden_size != teacher.config.hidden_size:
        raise CompressError("distill: hidden_weight needs student and teacher of the same hidden size")

    live = bool(config.hidden_weight or config.attention_weight) or not config.cache_teacher_logits
    shared = teacher_tokenizer.get_vocab() == artifact.tokenizer.get_vocab()
    if live and not shared:
        raise CompressError(
            "distill: the teacher tokenizes differently from the student, so it can only teach through "
            "cached logits: drop hidden_weight/attention_weight and keep cache_teacher_logits"
        )
    details: dict[str, Any] = {
        "teacher": teacher_name,
        "teacher_logits": "live" if live else "cached",
        "teacher_tokenizer": "shared" if shared else "its own",
    }
    cached = None
    if not live:
        started = time.perf_counter()
        cached = teacher_logits(teacher, teacher_tokenizer, artifact)
        details["teacher_cache_seconds"] = round(time.perf_counter() - started, 2)
    hook = DistillationHook(
        teacher if live else None,
        alpha=config.alpha,
        temperature=config.temperature,
        cached_logits=cached,
        hidden_weight=config.hidden_weight,
        attention_weight=config.attention_weight,
        layer_map=layer_map,
    )
    _, trained = run_training(student, artifact, config, [hook])
    details |= {
        "student_layers": student_layers,
        "layer_map": layer_map,
        "student_parameters": sum(p.numel() for p in student.parameters()),
        "teacher_parameters": sum(p.numel() for p in teacher.parameters()),
        **trained,
    }
    return replace(artifact, model=student, model_changed=True), details


def load_teacher(reference: str | None, artifact: Artifact) -> tuple[Any, Any, str]:
    """The frozen teacher with its own tokenizer: `reference`, or the recipe's input model; its
    labels must match the student's."""
    from compress.loading import load_model
    from compress.models import resolve_model

    source = resolve_model(reference) if reference else artifact.source
    if source is None:
        raise CompressError("distill: no teacher (name one with 'teacher:')")
    loaded = load_model(source, artifact.label_order)
    if loaded.label_order != artifact.label_order:
        raise CompressError(
            f"distill: teacher labels {list(loaded.label_order)} are ordered differently from the student's"
        )
    return loaded.model.eval().requires_grad_(False), loaded.tokenizer, source.reference


def teacher_logits(teacher: Any, tokenizer: Any, artifact: Artifact) -> np.ndarray:
    """The teacher's logits on every training example, in order (exact: it is frozen, in eval mode).
    The teacher reads its own token ids, so a student with another vocabulary can learn from it."""
    from compress.batching import encode
    from compress.predictors import TorchPredictor, predict_logits

    encoded = encode(tokenizer, artifact.data.train.texts, artifact.max_length)
    return predict_logits(TorchPredictor("teacher", teacher), encoded)
