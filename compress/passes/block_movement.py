"""`block_movement`: block movement pruning trained with distillation from a frozen teacher.

Masks are learned in the shared training loop (MovementHook) while the student matches the
teacher (DistillationHook); at the end the masks are multiplied into the weights. The model is
then sparse but not smaller: follow with `fold` to remove empty heads and neurons, and
usually `distill` again to recover ("hybrid filled").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import Stage, register
from compress.passes.teacher import distillation_hook, transfer_texts
from compress.passes.training_options import TrainingPassConfig, run_training
from compress.pruning.options import MovementOptions
from compress.training.settings import DistillationOptions


class BlockMovementConfig(TrainingPassConfig, MovementOptions, DistillationOptions):
    """Training options, how masks move (read by the movement hook as they are), and the teacher."""

    alpha: float = Field(0.9, ge=0, le=1, description="weight of the distillation loss (movement pruning's 0.9)")


@register(
    "block_movement", BlockMovementConfig, Stage.TORCH, "block movement pruning with distillation (masks baked in)"
)
def block_movement(config: BlockMovementConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.pruning.flops import encoder_cost
    from compress.pruning.movement import MovementHook

    model = artifact.model
    transfer = transfer_texts(config, "block_movement")
    distillation, teaching = distillation_hook(config, artifact, model, "block_movement", transfer)
    movement = MovementHook(model, config)
    _, details = run_training(model, artifact, config, [distillation, movement], unlabelled=transfer)
    realized = movement.sparsity()
    movement.bake(model)
    details |= {
        **teaching,
        "nominal_sparsity": config.sparsity if config.method == "hard" else None,
        "masked_fraction": round(realized, 4),
        "encoder_cost": encoder_cost(model),
        "note": "weights are masked, not removed: add a fold pass to make the model smaller",
    }
    return replace(artifact, model_changed=True), details
