"""`block_movement`: block movement pruning trained with distillation from a frozen teacher.

Masks are learned in the shared training loop (MovementHook) while the student matches the
teacher (DistillationHook); at the end the masks are multiplied into the weights. The model is
then sparse but not smaller: follow with `fold` to remove empty heads and neurons, and
usually `distill` again to recover ("hybrid filled").
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import Stage, register
from compress.passes.training_options import TrainingOptions, run_training


class BlockMovementConfig(TrainingOptions):
    method: Literal["hard", "soft"] = Field("hard", description="hard: top-k to `sparsity`; soft: threshold + L1")
    sparsity: float = Field(0.25, ge=0, lt=1, description="hard: fraction of prunable encoder weights removed")
    ranking: Literal["global", "per_matrix"] = Field(
        "global", description="hard: one cutoff across all matrices (heads can empty) or a top-k within each"
    )
    block: tuple[int, int] = (32, 32)
    attention_unit: Literal["block", "head"] = Field(
        "block", description="attention pruned in `block` tiles (the paper) or as whole heads (every cut folds)"
    )
    warmup_ratio_pruning: float = Field(0.1, ge=0, lt=1, description="share of steps before masks start to move")
    cooldown_ratio: float = Field(0.2, ge=0, lt=1, description="share of steps at the final sparsity")
    scores_learning_rate: float = Field(1e-2, gt=0)
    final_threshold: float = Field(0.1, gt=0, lt=1, description="soft")
    regularization: float = Field(10.0, ge=0, description="soft: L1 weight (lambda) on sigmoid(scores)")
    teacher: str | None = Field(None, description="default: the recipe's input model")
    alpha: float = Field(0.9, ge=0, le=1)
    temperature: float = Field(2.0, gt=0)


@register(
    "block_movement", BlockMovementConfig, Stage.TORCH, "block movement pruning with distillation (masks baked in)"
)
def block_movement(config: BlockMovementConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.passes.distill import load_teacher, teacher_logits
    from compress.pruning.flops import encoder_cost
    from compress.pruning.movement import MovementHook, MovementSettings
    from compress.training.distillation import DistillationHook

    teacher, teacher_tokenizer, teacher_name = load_teacher(config.teacher, artifact)
    started = time.perf_counter()
    cached = teacher_logits(teacher, teacher_tokenizer, artifact)
    cache_seconds = time.perf_counter() - started
    settings = MovementSettings(
        method=config.method,
        sparsity=config.sparsity,
        ranking=config.ranking,
        block=config.block,
        attention_unit=config.attention_unit,
        warmup_ratio=config.warmup_ratio_pruning,
        cooldown_ratio=config.cooldown_ratio,
        scores_learning_rate=config.scores_learning_rate,
        final_threshold=config.final_threshold,
        regularization=config.regularization,
    )
    model = artifact.model
    movement = MovementHook(model, settings)
    distillation = DistillationHook(None, alpha=config.alpha, temperature=config.temperature, cached_logits=cached)
    _, details = run_training(model, artifact, config, [distillation, movement])
    realized = movement.sparsity()
    movement.bake(model)
    details |= {
        "teacher": teacher_name,
        "teacher_cache_seconds": round(cache_seconds, 2),
        "nominal_sparsity": config.sparsity if config.method == "hard" else None,
        "masked_fraction": round(realized, 4),
        "encoder_cost": encoder_cost(model),
        "note": "weights are masked, not removed: add a fold pass to make the model smaller",
    }
    return replace(artifact, model_changed=True), details
