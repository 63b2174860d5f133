"""`quantize`: ONNX Runtime post-training int8, dynamic or static (calibrated on training text).

It always quantizes the plain fp32 export: optimum's quantizer fails on ORT-fused graphs
(seen with onnxruntime 1.32). Fusions can be tried afterwards on the int8 graph and are
kept only where measured faster.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import PassConfig, Stage, register
from compress.passes.export_onnx import ONNX_NAME


REDUCE_RANGE_PRESETS = ("avx2", "avx512")  # 7-bit weights avoid overflow without VNNI; VNNI and arm64 don't need it


class QuantizeConfig(PassConfig):
    mode: Literal["dynamic", "static"] = "dynamic"
    preset: Literal["avx512_vnni", "avx512", "avx2", "arm64"] = Field(
        "avx512_vnni", description="instruction set the int8 kernels target; see README"
    )
    per_channel: bool = False
    reduce_range: bool = False
    operators: tuple[str, ...] | None = Field(None, description="ONNX op types to quantize; default: the preset's")
    calibration_examples: int = Field(256, ge=1, description="static mode: training examples used to calibrate")
    validation_examples: int = Field(128, ge=1)
    min_agreement: float = Field(
        0.8, ge=0, le=1, description="sanity gate: share of held-out labels that must match the fp32 model"
    )
    optimize: Literal["none", "O1", "O2"] = "none"

    @model_validator(mode="after")
    def _reduce_range_needs_a_preset_that_has_it(self) -> "QuantizeConfig":
        if self.reduce_range and self.preset not in REDUCE_RANGE_PRESETS:
            raise ValueError(f"reduce_range applies to presets {', '.join(REDUCE_RANGE_PRESETS)}, not {self.preset}")
        return self


@register("quantize", QuantizeConfig, Stage.ONNX, "ONNX Runtime int8 post-training quantization")
def quantize(config: QuantizeConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from optimum.onnxruntime import ORTQuantizer

    from compress.onnx_tools import compare_with_torch, optimize_if_faster

    source = artifact.onnx_dir / "model.onnx"
    if ONNX_NAME not in artifact.onnx or not source.is_file():
        raise CompressError("quantize needs the plain ONNX export (run export_onnx first)")
    name = f"onnx-int8-{config.mode}"
    suffix = f"int8_{config.mode}" + ("_pc" if config.per_channel else "")
    quantizer = ORTQuantizer.from_pretrained(artifact.onnx_dir, file_name=source.name)
    qconfig = _quantization_config(config)
    ranges = _calibrate(quantizer, config, artifact) if config.mode == "static" else None
    quantizer.quantize(qconfig, save_dir=artifact.onnx_dir, file_suffix=suffix, calibration_tensors_range=ranges)
    path = artifact.onnx_dir / f"{source.stem}_{suffix}.onnx"

    check = compare_with_torch(artifact, path, config.validation_examples)
    if check["label_agreement"] < config.min_agreement:
        raise CompressError(
            f"int8 model agrees with fp32 on only {check['label_agreement']:.1%} of {check['examples']} examples "
            f"(required {config.min_agreement:.0%}); try mode=static, per_channel=true or reduce_range=true"
        )
    details: dict[str, Any] = {"file": path.name, "operators": list(qconfig.operators_to_quantize), "validation": check}
    if ranges is not None:
        details["calibration_examples"] = min(config.calibration_examples, len(artifact.data.train))
    if config.optimize != "none":
        path, details["optimization"] = optimize_if_faster(artifact, path, config.optimize)
    return replace(artifact, onnx={**artifact.onnx, name: path}), details


def _quantization_config(config: QuantizeConfig):
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    make = getattr(AutoQuantizationConfig, config.preset)
    options: dict[str, Any] = {"is_static": config.mode == "static", "per_channel": config.per_channel}
    if config.preset in REDUCE_RANGE_PRESETS:
        options["reduce_range"] = config.reduce_range
    if config.operators is not None:
        options["operators_to_quantize"] = list(config.operators)
    return make(**options)


def _calibrate(quantizer: Any, config: QuantizeConfig, artifact: Artifact) -> dict[str, tuple[float, float]]:
    """Activation ranges from real training text."""
    import tempfile

    from datasets import Dataset
    from optimum.onnxruntime.configuration import AutoCalibrationConfig

    from compress.batching import encode

    import onnx

    texts = artifact.data.train.texts[: config.calibration_examples]
    encoded = encode(artifact.tokenizer, texts, artifact.max_length)
    graph_inputs = {i.name for i in onnx.load(str(quantizer.onnx_model_path), load_external_data=False).graph.input}
    # One common length: histogram calibrators stack activations, so shapes must agree.
    padded = encoded.batch(range(len(encoded)))
    dataset = Dataset.from_dict({k: v.tolist() for k, v in padded.items() if k in graph_inputs})
    # Min-max only: ORT's histogram calibrators (percentile, entropy) fail on this kind of graph
    # ("Too many bins for data range" on constant activations, onnxruntime 1.32).
    calibration = AutoCalibrationConfig.minmax(dataset)
    with tempfile.TemporaryDirectory(prefix="compress-calib-") as scratch:
        return quantizer.fit(
            dataset=dataset,
            calibration_config=calibration,
            onnx_augmented_model_name=Path(scratch) / "augmented.onnx",
            operators_to_quantize=_quantization_config(config).operators_to_quantize,
        )
