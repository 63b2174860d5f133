"""How movement pruning moves its masks: options that `block_movement` declares and the movement
hook reads as they are. Kept apart from the hook so a recipe is checked without importing torch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MovementOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
