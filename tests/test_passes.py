"""Contract tests for the passes, run over a table of tiny architectures built in memory."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
import torch
from conftest import tiny_model, tiny_tokenizer

from compress.artifact import Artifact
from compress.batching import encode
from compress.data import load_task_data
from compress.errors import CompressError
from compress.onnx_tools import KEEP_IF_FASTER_BY, compare_with_torch
from compress.passes.export_onnx import ONNX_NAME, ExportOnnxConfig, export_onnx
from compress.passes.finetune import FinetuneConfig, finetune
from compress.passes.quantize import QuantizeConfig, quantize
from compress.predictors import OnnxPredictor, TorchPredictor, predict_logits
from compress.training.evaluation import evaluate_accuracy

ARCHITECTURES = ["bert", "roberta", "distilbert"]


@pytest.fixture
def make_artifact(tmp_path, toy_data):
    def make(arch: str = "bert") -> Artifact:
        data = load_task_data(str(toy_data))
        tokenizer = tiny_tokenizer(tmp_path / "vocab")
        model = tiny_model(arch, list(data.label_map.names), vocab_size=len(tokenizer))
        workdir = tmp_path / "work"
        workdir.mkdir(exist_ok=True)
        return Artifact(model, tokenizer, data, workdir, max_length=32, seed=0)

    return make


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_export_matches_pytorch_with_dynamic_axes(make_artifact, arch):
    artifact, details = export_onnx(ExportOnnxConfig(validation_examples=16), make_artifact(arch))
    path = artifact.onnx[ONNX_NAME]
    assert details["validation"]["max_abs_diff"] < 1e-4 and details["validation"]["label_agreement"] == 1.0
    graph = onnx.load(str(path)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert all(isinstance(d, str) for d in dims), f"batch and sequence axes must be dynamic, got {dims}"
    encoded = encode(artifact.tokenizer, artifact.data.evaluation.texts, 32)
    for rows in ([0], [1, 2, 3, 4, 5]):  # two batch sizes, two lengths
        batch = encoded.batch(rows)
        torch_logits = TorchPredictor("t", artifact.model)(batch)
        assert np.allclose(OnnxPredictor("o", path, 1)(batch), torch_logits, atol=1e-4)
    assert (artifact.onnx_dir / "config.json").is_file() and (artifact.onnx_dir / "tokenizer.json").is_file()


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("mode, fuse", [("dynamic", False), ("static", False), ("dynamic", True)])
def test_quantize_produces_a_smaller_int8_graph_that_agrees(make_artifact, arch, mode, fuse):
    artifact, _ = export_onnx(ExportOnnxConfig(validation_examples=16), make_artifact(arch))
    config = QuantizeConfig(mode=mode, fuse=fuse, calibration_examples=16, validation_examples=30, min_agreement=0.5)
    quantized, details = quantize(config, artifact)
    path = quantized.onnx[f"onnx-int8-{mode}"]
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QuantizeLinear"}, ops
    assert path.stat().st_size < artifact.onnx[ONNX_NAME].stat().st_size
    assert details["validation"]["label_agreement"] >= 0.5
    assert details["graph"] == ("fused" if fuse else "plain")
    assert sorted(p.name for p in artifact.onnx_dir.glob("*.onnx")) == sorted(["model.onnx", path.name])
    if mode == "static":
        assert details["calibration_examples"] == 16
    if fuse:
        layers = artifact.model.config.num_hidden_layers if arch != "distilbert" else artifact.model.config.n_layers
        assert details["fused_operators"]["Attention"] == layers and "QAttention" in ops, (details, ops)


def test_quantize_refuses_an_int8_model_that_disagrees(make_artifact):
    artifact, _ = export_onnx(ExportOnnxConfig(validation_examples=8), make_artifact())
    with torch.no_grad():  # make the reference disagree with what was exported
        artifact.model.classifier.bias += torch.tensor([100.0, -100.0, 0.0])
    with pytest.raises(CompressError, match="agrees with fp32 on only"):
        quantize(QuantizeConfig(min_agreement=0.99), artifact)


def test_export_validation_failure_is_an_error(make_artifact, monkeypatch):
    import compress.onnx_tools as onnx_tools

    artifact = make_artifact()
    real = onnx_tools.compare_with_torch

    def against_a_changed_model(art, path, examples, reference_logits=None):
        with torch.no_grad():
            art.model.classifier.bias += 1.0
        return real(art, path, examples)

    monkeypatch.setattr(onnx_tools, "compare_with_torch", against_a_changed_model)
    with pytest.raises(CompressError, match="does not match PyTorch"):
        export_onnx(ExportOnnxConfig(validation_examples=8), artifact)


def test_compare_with_torch_sees_a_changed_model(make_artifact):
    artifact, _ = export_onnx(ExportOnnxConfig(validation_examples=8), make_artifact())
    with torch.no_grad():
        artifact.model.classifier.bias += 0.5
    check = compare_with_torch(artifact, artifact.onnx[ONNX_NAME], 8)
    assert check["max_abs_diff"] == pytest.approx(0.5, abs=1e-3)


def test_quantize_preset_options_are_checked(make_artifact):
    artifact, _ = export_onnx(ExportOnnxConfig(validation_examples=8), make_artifact())
    with pytest.raises(ValueError, match="reduce_range applies to presets avx2, avx512"):
        QuantizeConfig(preset="avx512_vnni", reduce_range=True)
    with pytest.raises(ValueError, match="fuse applies to mode=dynamic"):
        QuantizeConfig(mode="static", fuse=True)
    with pytest.raises(ValueError, match="leave optimize at none"):
        QuantizeConfig(fuse=True, optimize="O1")
    for fuse in (False, True):  # 7-bit u8 weights on either graph
        quantized, details = quantize(
            QuantizeConfig(preset="avx2", reduce_range=True, fuse=fuse, min_agreement=0), artifact
        )
        assert quantized.onnx["onnx-int8-dynamic"].is_file() and details["graph"] == ("fused" if fuse else "plain")


def test_optimize_keeps_a_graph_only_when_it_is_faster(make_artifact):
    artifact, details = export_onnx(ExportOnnxConfig(validation_examples=8, optimize="O2"), make_artifact())
    optimization = details["optimization"]
    kept_file = artifact.onnx[ONNX_NAME]
    assert kept_file.is_file()
    assert optimization["kept"] == (kept_file.name != "model.onnx")
    assert optimization["check"]["label_agreement"] == 1.0
    faster = optimization["optimized_p50_ms"] < optimization["plain_p50_ms"] * (1 - KEEP_IF_FASTER_BY)
    assert optimization["kept"] == faster  # the rule, checked on the timings it reported


def test_finetune_learns_and_restores_the_best_epoch(make_artifact):
    artifact = make_artifact()
    config = FinetuneConfig(epochs=6, batch_size=8, learning_rate=2e-3, warmup_ratio=0.1)
    tuned, details = finetune(config, artifact)
    assert tuned.model_changed
    selection = (encode(tuned.tokenizer, tuned.data.selection.texts, 32), tuned.data.selection.labels)
    accuracy = evaluate_accuracy(tuned.model, selection, 16)
    assert accuracy == pytest.approx(details["selection_accuracy"], abs=1e-4)  # the best epoch is what we hold
    assert details["selection_accuracy"] == max(e["selection_accuracy"] for e in details["epochs"])
    evaluation = encode(tuned.tokenizer, tuned.data.evaluation.texts, 32)
    test_accuracy = (
        predict_logits(TorchPredictor("m", tuned.model), evaluation).argmax(1) == tuned.data.evaluation.labels
    ).mean()
    assert test_accuracy > 0.8, "each label has a telltale word: a working loop learns it"


def test_finetune_is_reproducible(make_artifact):
    config = FinetuneConfig(epochs=1, batch_size=8, learning_rate=1e-3)
    first, _ = finetune(config, make_artifact())
    second, _ = finetune(config, replace(make_artifact()))
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=False):
        assert torch.equal(a, b)


def test_optimize_after_quantization_is_measured_too(make_artifact):
    artifact, _ = export_onnx(ExportOnnxConfig(validation_examples=8), make_artifact())
    quantized, details = quantize(QuantizeConfig(optimize="O1", min_agreement=0), artifact)
    optimization = details["optimization"]
    assert optimization["plain_p50_ms"] > 0 and optimization["optimized_p50_ms"] > 0
    faster = optimization["optimized_p50_ms"] < optimization["plain_p50_ms"] * (1 - KEEP_IF_FASTER_BY)
    assert optimization["kept"] == faster
    assert quantized.onnx["onnx-int8-dynamic"].is_file()
    assert ("_o1" in quantized.onnx["onnx-int8-dynamic"].name) == faster


def test_fp16_onnx_graph_for_gpus_is_written_and_checked(make_artifact):
    artifact, details = export_onnx(ExportOnnxConfig(validation_examples=8, fp16=True), make_artifact())
    half = artifact.onnx["onnx-fp16"]
    assert half.stat().st_size < artifact.onnx[ONNX_NAME].stat().st_size
    assert details["fp16"]["validation"]["max_abs_diff"] < 2e-2


def test_precision_cast_must_come_last():
    from compress.recipe import parse_recipe

    with pytest.raises(CompressError, match="must come before the precision cast"):
        parse_recipe({"name": "r", "passes": [{"precision": {"dtype": "bf16"}}, "export_onnx"]})
    parse_recipe({"name": "r", "passes": ["finetune", {"precision": {"dtype": "fp16"}}]})


def test_precision_pass_casts_the_model(make_artifact):
    from compress.passes.precision import PrecisionConfig, precision

    cast, details = precision(PrecisionConfig(dtype="bf16"), make_artifact())
    assert next(cast.model.parameters()).dtype == torch.bfloat16
    assert details["parameter_mb"][1] == pytest.approx(details["parameter_mb"][0] / 2, rel=0.01)
    encoded = encode(cast.tokenizer, cast.data.evaluation.texts[:4], 32)
    assert np.isfinite(predict_logits(TorchPredictor("bf16", cast.model), encoded)).all()


@pytest.mark.parametrize(
    "flags, machine, preset",
    [
        ({"avx2", "avx512f", "avx512_vnni"}, "x86_64", "avx512_vnni"),
        ({"avx2", "avx512f"}, "x86_64", "avx512"),
        ({"avx2", "fma"}, "x86_64", "avx2"),
        (set(), "aarch64", "arm64"),
    ],
)
def test_auto_preset_follows_the_cpu(flags, machine, preset):
    from compress.cpu_features import int8_preset

    assert int8_preset(flags, machine) == preset


def test_auto_preset_is_recorded(make_artifact):
    from compress.cpu_features import int8_preset

    artifact, _ = export_onnx(ExportOnnxConfig(validation_examples=8), make_artifact())
    _, details = quantize(QuantizeConfig(min_agreement=0), artifact)
    assert QuantizeConfig().preset == "auto" and details["preset"] == int8_preset()
