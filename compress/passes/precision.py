"""`precision`: store the PyTorch model's weights in bf16 or fp16 (half the size on disk).

For serving in PyTorch on hardware with fast half-precision kernels (recent GPUs, CPUs with
AMX/avx512_bf16). It comes after training and before nothing but ONNX-free steps: ONNX export
works from fp32 weights (its own `fp16` option writes a half-precision graph for GPUs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register


class PrecisionConfig(PassConfig):
    dtype: Literal["bf16", "fp16"] = "bf16"


@register(
    "precision", PrecisionConfig, Stage.TORCH, "cast PyTorch weights to bf16 or fp16 for serving", changes_dtype=True
)
def precision(config: PrecisionConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[config.dtype]
    before = sum(p.numel() * p.element_size() for p in artifact.model.parameters())
    model = artifact.model.to(dtype)
    after = sum(p.numel() * p.element_size() for p in model.parameters())
    return replace(artifact, model=model, model_changed=True), {
        "dtype": config.dtype,
        "parameter_mb": [round(before / 2**20, 3), round(after / 2**20, 3)],
    }
