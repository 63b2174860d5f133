"""The command line end to end on a tiny model: outputs, atomicity, and one-line errors."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import FAST_BENCH, REPO, run_args, run_int8

from compress.cli import main


def sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def test_run_writes_a_complete_loadable_output(tiny_classifier_dir, toy_data, tmp_path):
    out = tmp_path / "out"
    assert run_int8(tiny_classifier_dir, toy_data, out, "--set", "passes.1.quantize.min_agreement=0") == 0
    for name in (
        "report.md",
        "report.json",
        "pareto.png",
        "manifest.json",
        "recipe.resolved.yaml",
        "model/config.json",
        "model/model.safetensors",
        "onnx/model.onnx",
        "onnx/model_int8_dynamic.onnx",
    ):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    names = [c["name"] for c in report["benchmark"]["candidates"]]
    assert names == ["onnx-fp32", "onnx-int8-dynamic", "classical: char 1-4-gram TF-IDF + linear SVM"]
    classical = report["benchmark"]["candidates"][2]
    assert classical["kind"] == "classical" and classical["tokens_per_example"] is None and classical["size_mb"] > 0
    assert "classical baseline" in (out / "report.md").read_text()
    int8 = report["benchmark"]["candidates"][1]
    for key in (
        "latency_p50_speedup",
        "throughput_speedup",
        "size_reduction",
        "accuracy_delta_points",
        "accuracy_change",
    ):
        assert key in int8["vs_baseline"]
    change = int8["vs_baseline"]["accuracy_change"]
    assert change["value"] == pytest.approx(int8["vs_baseline"]["accuracy_delta_points"])
    assert change["ci_low"] <= change["value"] <= change["ci_high"]
    assert len(int8["predictions"]) == report["benchmark"]["evaluation"]["examples"]
    assert set(int8["latency_ms"]) >= {"p50", "p90", "p95", "p99"}
    assert report["benchmark"]["environment"]["libraries"]["onnxruntime"]
    assert yaml.safe_load((out / "recipe.resolved.yaml").read_text())["benchmark"]["rounds"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} >= {"model/model.safetensors", "onnx/model_int8_dynamic.onnx"}
    markdown = (out / "report.md").read_text()
    results, per_label = markdown.split("## Results")[1].split("## Recall per label")
    assert "| onnx-int8-dynamic |" in results.replace(" ⚠ slower than baseline", "")
    assert per_label.split("\n## ")[0].count("| onnx-int8-dynamic |") == 1  # one row per model, labels as columns
    assert not list(tmp_path.glob(".out.*")), "no temporary folders left beside the output"

    # outputs load with stock APIs
    from optimum.onnxruntime import ORTModelForSequenceClassification
    from transformers import AutoModelForSequenceClassification

    assert AutoModelForSequenceClassification.from_pretrained(out / "model").config.id2label[0] == "food"
    ORTModelForSequenceClassification.from_pretrained(out / "onnx", file_name="model_int8_dynamic.onnx")


def test_non_empty_output_is_refused_without_overwrite(tiny_classifier_dir, toy_data, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert run_int8(tiny_classifier_dir, toy_data, out) == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_a_failing_pass_leaves_no_output(tiny_classifier_dir, toy_data, tmp_path, capsys, monkeypatch):
    from dataclasses import replace

    from compress.errors import CompressError
    from compress.passes import REGISTRY

    def quantize_that_fails(config, artifact):
        (artifact.onnx_dir / "half-written.onnx").write_bytes(b"partial")
        raise CompressError("quantization broke halfway")

    monkeypatch.setitem(REGISTRY, "quantize", replace(REGISTRY["quantize"], function=quantize_that_fails))
    out = tmp_path / "out"
    assert run_int8(tiny_classifier_dir, toy_data, out) == 2
    assert "quantization broke halfway" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


def test_bench_command_measures_given_models(tiny_classifier_dir, toy_data, tmp_path):
    first = tmp_path / "first"
    assert run_int8(tiny_classifier_dir, toy_data, first, "--set", "passes.1.quantize.min_agreement=0") == 0
    out = tmp_path / "bench"
    half = tmp_path / "bf16"
    assert (
        main(
            run_args(
                str(REPO / "recipes/precision-bf16.yaml"),
                str(tiny_classifier_dir),
                str(toy_data),
                str(half),
                "--set",
                "benchmark.enabled=false",
            )
        )
        == 0
    )
    code = main(
        [
            "bench",
            str(first / "onnx" / "model_int8_dynamic.onnx"),
            str(tiny_classifier_dir),
            str(half / "model"),
            str(first),
            f"{first}:model",
            "--baseline",
            str(tiny_classifier_dir),
            "--data",
            str(toy_data),
            "--out",
            str(out),
            "--rounds",
            "2",
            "--min-seconds",
            "0.05",
            "--no-memory",
        ]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    candidates = report["benchmark"]["candidates"]
    assert len(candidates) == 6 and candidates[-1]["kind"] == "classical"
    assert candidates[1]["agreement_with_baseline"] == 1.0  # the baseline itself
    assert [c["precision"] for c in candidates] == [
        None,
        "fp32",
        "bf16",
        None,
        "fp32",
        None,
    ]  # a bf16 model is measured in bf16
    # a run folder stands for its last output (the int8 file); RUN:model for its PyTorch model
    assert candidates[3]["location"] == str((first / "onnx" / "model_int8_dynamic.onnx").resolve())
    assert candidates[4]["location"] == str((first / "model").resolve())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "missing-dir/x/y"], "model not found"),
        (["--data", "nowhere/train.csv"], "data not found"),
        (["--label-column", "topic"], "missing column 'topic'"),
        (["--set", "passes.0.export_onnx.atoll=1"], "passes.0.export_onnx.atoll: unknown key"),
    ],
)
def test_bad_input_is_one_line_with_exit_2_and_no_output(
    tiny_classifier_dir, toy_data, tmp_path, capsys, args, message
):
    base = {"--model": str(tiny_classifier_dir), "--data": str(toy_data)}
    for flag, value in zip(args[::2], args[1::2], strict=False):
        base[flag] = value
    argv = ["run", str(REPO / "recipes" / "int8-dynamic.yaml"), "--out", str(tmp_path / "out")]
    for flag, value in base.items():
        argv += [flag, value]
    assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[compress]")]
    assert len(errors) == 1 and errors[0].startswith("compress: error:") and message in errors[0]
    assert not (tmp_path / "out").exists()


def test_validate_and_passes_commands(capsys):
    assert main(["validate", str(REPO / "recipes" / "finetune.yaml")]) == 0
    assert main(["passes"]) == 0
    assert "quantize" in capsys.readouterr().out


def test_model_and_data_can_come_from_the_recipe(tiny_classifier_dir, toy_data, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "from-recipe",
                "model": str(tiny_classifier_dir),
                "data": {"path": str(toy_data)},
                "passes": ["export_onnx"],
            }
        )
    )
    out = tmp_path / "out"
    assert main(["run", str(recipe), "--out", str(out), *sets(FAST_BENCH)]) == 0
    assert json.loads((out / "report.json").read_text())["inputs"]["model"] == str(tiny_classifier_dir)


def test_training_run_reports_cost_and_resumes_after_a_crash(
    tiny_classifier_dir, toy_data, tmp_path, monkeypatch, capsys
):
    from dataclasses import replace

    from compress.errors import CompressError
    from compress.passes import REGISTRY

    recipe = tmp_path / "ft.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "ft-export",
                "passes": [{"finetune": {"epochs": 2, "batch_size": 16, "track_energy": False}}, "export_onnx"],
            }
        )
    )
    out = tmp_path / "out"
    argv = run_args(recipe, tiny_classifier_dir, toy_data, out, *sets(FAST_BENCH))

    def export_that_crashes(config, artifact):
        raise CompressError("disk full")

    with monkeypatch.context() as patch:
        patch.setitem(REGISTRY, "export_onnx", replace(REGISTRY["export_onnx"], function=export_that_crashes))
        assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    checkpoints = tmp_path / ".out.checkpoints"
    assert (checkpoints / "0-finetune" / "trainer-state.pt").is_file() and not out.exists()

    assert main([*argv, "--resume"]) == 0
    report = json.loads((out / "report.json").read_text())
    finetune = report["passes"][0]["details"]
    assert finetune["resumed_at_step"] == 2 * 6  # the finished fine-tune was restored, not redone
    assert "## Training cost" in (out / "report.md").read_text()
    assert not checkpoints.exists()
