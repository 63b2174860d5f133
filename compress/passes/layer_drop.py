"""`layer_drop`: keep some of the encoder's layers (a shallower student, before `distill`).

Fewer layers is the surest speed-up on a CPU: each layer is a fixed share of a call. The kept
layers start from the input model's weights; `distill` afterwards recovers accuracy, with its
layer map defaulting to the layers kept here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field, model_validator

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register


class LayerDropConfig(PassConfig):
    layers: tuple[int, ...] | None = Field(None, description="encoder layers to keep, e.g. [0, 2, 4]")
    keep: int | None = Field(None, ge=1, description="or: how many layers to keep, evenly spaced from the first")

    @model_validator(mode="after")
    def _one_way(self) -> LayerDropConfig:
        if (self.layers is None) == (self.keep is None):
            raise ValueError("give either layers or keep")
        return self


@register("layer_drop", LayerDropConfig, Stage.TORCH, "keep chosen encoder layers (a shallower student for distill)")
def layer_drop(config: LayerDropConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.architectures import KEPT_LAYERS_KEY, encoder_layers, evenly_spaced, keep_encoder_layers

    available = len(encoder_layers(artifact.model))
    layers = list(config.layers) if config.layers is not None else evenly_spaced(available, config.keep or 1)
    model = keep_encoder_layers(artifact.model, layers)
    details = {
        "layers": [available, len(layers)],
        "kept": getattr(model.config, KEPT_LAYERS_KEY),
        "parameters": [sum(p.numel() for p in m.parameters()) for m in (artifact.model, model)],
    }
    return replace(artifact, model=model, model_changed=True), details
