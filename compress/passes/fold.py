"""`fold`: physically remove heads and FFN neurons that a pruning pass left idle (exactly)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register


class FoldConfig(PassConfig):
    head_threshold: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="also remove heads keeping at most this share of their weights (inexact: distil after)",
    )


@register("fold", FoldConfig, Stage.TORCH, "remove idle heads and FFN neurons; the model gets smaller")
def fold_pass(config: FoldConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.pruning.flops import encoder_cost
    from compress.pruning.folding import fold, foldable_architecture, layout, silence_sparse_heads

    foldable_architecture(artifact.model)
    before = encoder_cost(artifact.model)
    layout_before = layout(artifact.model)
    parameters_before = sum(p.numel() for p in artifact.model.parameters())
    silenced = silence_sparse_heads(artifact.model, config.head_threshold) if config.head_threshold else None
    removed = fold(artifact.model)
    after = encoder_cost(artifact.model)
    return replace(artifact, model_changed=True), {
        "removed": removed,
        "nearly_empty_heads_removed": silenced,
        "layout_before": layout_before,
        "layout": layout(artifact.model),
        "encoder_linear_parameters": [before["linear_parameters"], after["linear_parameters"]],
        "encoder_flops_reduction": round(1 - after["flops"] / before["flops"], 4),
        "parameter_reduction": round(1 - sum(p.numel() for p in artifact.model.parameters()) / parameters_before, 4),
    }
