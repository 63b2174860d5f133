"""`quantize`: ONNX Runtime post-training int8, dynamic or static (calibrated on training text).

By default optimum's quantizer quantizes the plain fp32 export (it fails on ORT-fused graphs,
seen with onnxruntime 1.32). With `fuse`, dynamic mode first applies onnxruntime's transformer
fusions (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization) and quantizes
that graph with onnxruntime's own quantizer: QAttention replaces a dozen small ops per layer
and the attention-score matmuls stay in float (benchmarks/RESULTS.md: int8 alone 3.58x with it,
run 3, against 3.02x without, run 2). Either way the int8 file is checked against PyTorch
before it is kept.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import PassConfig, Stage, register

FUSION_ATOL = 1e-3  # fusions reorder float arithmetic only: the fused fp32 graph must match like the export
REDUCE_RANGE_PRESETS = ("avx2", "avx512")  # 7-bit weights avoid overflow without VNNI; VNNI and arm64 don't need it


class QuantizeConfig(PassConfig):
    mode: Literal["dynamic", "static"] = "dynamic"
    preset: Literal["auto", "avx512_vnni", "avx512", "avx2", "arm64"] = Field(
        "auto", description="instruction set the int8 kernels target; auto: this CPU's (see README)"
    )
    per_channel: bool = False
    reduce_range: bool = False
    operators: tuple[str, ...] | None = Field(
        None, description="ONNX op types to quantize; default: the preset's (fused: onnxruntime's)"
    )
    calibration_examples: int = Field(256, ge=1, description="static mode: training examples used to calibrate")
    validation_examples: int = Field(128, ge=1)
    min_agreement: float = Field(
        0.8, ge=0, le=1, description="sanity gate: share of held-out labels that must match the fp32 model"
    )
    optimize: Literal["none", "O1", "O2"] = Field(
        "none", description="optimum's fusions on the int8 graph, kept if faster"
    )
    fuse: bool = Field(False, description="dynamic mode: fuse the fp32 graph first, then quantize it with onnxruntime")

    @model_validator(mode="after")
    def _options_that_go_together(self) -> QuantizeConfig:
        if self.reduce_range and self.preset not in (*REDUCE_RANGE_PRESETS, "auto"):
            raise ValueError(f"reduce_range applies to presets {', '.join(REDUCE_RANGE_PRESETS)}, not {self.preset}")
        if self.fuse and self.mode != "dynamic":
            raise ValueError("fuse applies to mode=dynamic; static calibration runs on the plain graph")
        if self.fuse and self.optimize != "none":
            raise ValueError("fuse already applies onnxruntime's fusions; leave optimize at none")
        return self


@register("quantize", QuantizeConfig, Stage.ONNX, "ONNX Runtime int8 post-training quantization")
def quantize(config: QuantizeConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.onnx_tools import compare_with_torch, optimize_if_faster

    source = artifact.export
    if source is None or not source.is_file():
        raise CompressError("quantize needs the plain ONNX export (run export_onnx first)")
    if config.preset == "auto":
        from compress.cpu_features import int8_preset

        config = config.model_copy(update={"preset": int8_preset()})
        if config.reduce_range and config.preset not in REDUCE_RANGE_PRESETS:
            config = config.model_copy(update={"reduce_range": False})
    name = f"onnx-int8-{config.mode}"
    suffix = f"int8_{config.mode}" + ("_pc" if config.per_channel else "")
    path = artifact.onnx_dir / f"{source.stem}_{suffix}.onnx"
    qconfig = _quantization_config(config)
    if config.fuse:
        how = _quantize_fused(config, qconfig, artifact, source, path)
    else:
        how = _quantize_plain(config, qconfig, artifact, source, suffix)

    check = compare_with_torch(artifact, path, config.validation_examples)
    if check["label_agreement"] < config.min_agreement:
        raise CompressError(
            f"int8 model agrees with fp32 on only {check['label_agreement']:.1%} of {check['examples']} examples "
            f"(required {config.min_agreement:.0%}); try mode=static, per_channel=true or reduce_range=true"
        )
    details: dict[str, Any] = {"file": path.name, "preset": config.preset, "validation": check, **how}
    if config.optimize != "none":
        path, details["optimization"] = optimize_if_faster(artifact, path, config.optimize)
    return replace(artifact, onnx={**artifact.onnx, name: path}), details


def _quantize_plain(
    config: QuantizeConfig, qconfig: Any, artifact: Artifact, source: Path, suffix: str
) -> dict[str, Any]:
    """optimum's quantizer on the export as it is; static mode calibrates first."""
    from optimum.onnxruntime import ORTQuantizer

    quantizer = ORTQuantizer.from_pretrained(artifact.onnx_dir, file_name=source.name)
    ranges = _calibrate(quantizer, config, artifact) if config.mode == "static" else None
    quantizer.quantize(qconfig, save_dir=artifact.onnx_dir, file_suffix=suffix, calibration_tensors_range=ranges)
    how: dict[str, Any] = {"graph": "plain", "operators": list(qconfig.operators_to_quantize)}
    if ranges is not None:
        how["calibration_examples"] = min(config.calibration_examples, len(artifact.data.train))
    return how


def _quantize_fused(
    config: QuantizeConfig, qconfig: Any, artifact: Artifact, source: Path, target: Path
) -> dict[str, Any]:
    """Fuse the fp32 graph, prove the fusion exact against PyTorch, then quantize it."""
    import tempfile

    import onnx
    from onnxruntime.quantization import quantize_dynamic

    from compress.onnx_tools import compare_with_torch, fuse_transformer_graph

    with tempfile.TemporaryDirectory(prefix="compress-fuse-") as scratch:
        fused = Path(scratch) / "fused.onnx"
        counts = fuse_transformer_graph(source, fused, artifact.model.config.model_type)
        check = compare_with_torch(artifact, fused, config.validation_examples)
        if check["max_abs_diff"] > FUSION_ATOL:
            raise CompressError(
                f"onnxruntime's fused graph drifts from PyTorch (max |logit diff| {check['max_abs_diff']:.2e}, "
                f"allowed {FUSION_ATOL:.0e}); quantize without fuse"
            )
        quantize_dynamic(
            fused,
            target,
            per_channel=config.per_channel,
            reduce_range=config.reduce_range,
            weight_type=qconfig.weights_dtype,
            op_types_to_quantize=list(config.operators) if config.operators else None,
            # fused ops (contrib domain) carry no inferred types; their outputs are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    operators = list(config.operators) if config.operators else ["onnxruntime's default"]
    return {"graph": "fused", "operators": operators, "fused_operators": counts, "fusion_check": check}


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

    import onnx
    from datasets import Dataset
    from optimum.onnxruntime.configuration import AutoCalibrationConfig

    from compress.batching import encode

    texts = artifact.data.train.sample(config.calibration_examples).texts  # all classes, even from a sorted file
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
