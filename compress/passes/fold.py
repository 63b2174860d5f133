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
    from compress.pruning.folding import fold, foldable_architecture, silence_sparse_heads
    from compress.pruning.structure import StructureChange

    model = artifact.model
    foldable_architecture(model)
    silenced: list[Any] = []

    def shrink() -> dict[str, Any]:
        if config.head_threshold:
            silenced.append(silence_sparse_heads(model, config.head_threshold))
        return fold(model)

    change = StructureChange.measure(model, shrink)
    details = {**change.details(), "nearly_empty_heads_removed": silenced[0] if silenced else None}
    return replace(artifact, model_changed=True), details
