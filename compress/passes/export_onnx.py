"""`export_onnx`: export through optimum with dynamic batch and sequence axes, then prove it.

The export is checked against the PyTorch model on real held-out examples (largest
absolute logit difference and predicted-label agreement). A failed check stops the run:
a silently wrong ONNX file is worse than none.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import PassConfig, Stage, register

ONNX_NAME = "onnx-fp32"


class ExportOnnxConfig(PassConfig):
    opset: int | None = Field(None, ge=11, description="default: optimum's choice for the architecture")
    validation_examples: int = Field(128, ge=1)
    atol: float = Field(1e-3, gt=0, description="largest allowed absolute logit difference")
    min_agreement: float = Field(1.0, ge=0, le=1, description="share of examples whose predicted label must match")
    optimize: Literal["none", "O1", "O2", "O3"] = Field(
        "none", description="ORT graph fusions; kept only if measured faster than the plain export"
    )
    fp16: bool = Field(False, description="also write model_fp16.onnx, a half-precision graph for GPU serving")
    fp16_atol: float = Field(2e-2, gt=0, description="largest allowed logit difference of the fp16 graph")


@register("export_onnx", ExportOnnxConfig, Stage.EXPORT, "ONNX export with dynamic axes, validated against PyTorch")
def export_onnx(config: ExportOnnxConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    import torch
    from optimum.exporters.onnx import onnx_export_from_model

    from compress.onnx_tools import compare_with_torch, optimize_if_faster

    folder = artifact.onnx_dir
    with warnings.catch_warnings():  # tracing notes about constant tensors; we validate the result below
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        onnx_export_from_model(
            artifact.model,
            folder,
            opset=config.opset,
            task="text-classification",
            do_validation=False,
        )
    artifact.tokenizer.save_pretrained(folder)  # so ORTModelForSequenceClassification loads the folder as is
    exported = path = folder / "model.onnx"  # optimum's name for the encoder-with-head graph
    check = compare_with_torch(artifact, path, config.validation_examples)
    details: dict[str, Any] = {"file": path.name, "validation": check}
    if check["max_abs_diff"] > config.atol or check["label_agreement"] < config.min_agreement:
        raise CompressError(
            f"ONNX export does not match PyTorch on {check['examples']} examples: max |logit diff| "
            f"{check['max_abs_diff']:.2e} (allowed {config.atol:.0e}), label agreement {check['label_agreement']:.3f} "
            f"(required {config.min_agreement})"
        )
    if config.optimize != "none":
        path, details["optimization"] = optimize_if_faster(artifact, path, config.optimize)
    onnx_files = {**artifact.onnx, ONNX_NAME: path}
    if config.fp16:
        onnx_files["onnx-fp16"], details["fp16"] = _half_precision_graph(artifact, exported, config)
    return replace(artifact, onnx=onnx_files, export=exported), details


def _half_precision_graph(artifact: Artifact, source: Path, config: ExportOnnxConfig) -> tuple[Path, dict[str, Any]]:
    """fp16 weights and activations, fp32 inputs/outputs; checked on CPU, meant for GPUs."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from compress.onnx_tools import compare_with_torch

    target = source.with_name("model_fp16.onnx")
    onnx.save(convert_float_to_float16(onnx.load(str(source)), keep_io_types=True), str(target))
    check = compare_with_torch(artifact, target, config.validation_examples)
    if check["max_abs_diff"] > config.fp16_atol or check["label_agreement"] < 0.98:
        raise CompressError(
            f"fp16 ONNX graph drifts from PyTorch: max |logit diff| {check['max_abs_diff']:.2e} "
            f"(allowed {config.fp16_atol:.0e}), label agreement {check['label_agreement']:.3f}"
        )
    return target, {"file": target.name, "validation": check, "note": "for GPU serving; CPU kernels for fp16 are slow"}
