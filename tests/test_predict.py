"""Applying what the toolkit makes: `compress predict`, the Python API, bad rows and bad models."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_rows, run_args, write_csv

import compress
from compress.cli import main


@pytest.fixture
def int8_run(tiny_classifier_dir, toy_data, tmp_path) -> Path:
    out = tmp_path / "int8"
    code = main(
        run_args(
            str(REPO / "recipes" / "int8-dynamic.yaml"),
            str(tiny_classifier_dir),
            str(toy_data),
            str(out),
            "--set",
            "passes.1.quantize.min_agreement=0",
            "--set",
            "benchmark.rounds=1",
            "--set",
            "benchmark.min_iterations=2",
            "--set",
            "benchmark.min_seconds=0",
            "--set",
            "benchmark.memory=false",
            "--set",
            "benchmark.bootstrap=10",
        )
    )
    assert code == 0
    return out


def test_load_gives_a_classifier_for_every_output_kind(int8_run, tiny_classifier_dir, toy_data):
    texts = [t for t, _ in make_rows(7, seed=3)]
    report = json.loads((int8_run / "report.json").read_text())
    for reference in (
        str(tiny_classifier_dir),
        str(int8_run),
        f"{int8_run}:model",
        f"{int8_run}:onnx-fp32",
        str(int8_run / "onnx" / "model_int8_dynamic.onnx"),
    ):
        classifier = compress.load(reference)
        probabilities = classifier.predict_proba(texts)
        assert probabilities.shape == (7, 3) and np.allclose(probabilities.sum(axis=1), 1)
        assert classifier.predict(texts) == [classifier.labels[i] for i in probabilities.argmax(axis=1)]
    # the same labels as the benchmark's predictions for that model, on the report's split
    data = compress.load(str(int8_run))
    from compress.data import load_task_data

    split = load_task_data(str(toy_data)).with_label_order(data.labels).evaluation
    int8 = next(c for c in report["benchmark"]["candidates"] if c["name"] == "onnx-int8-dynamic")
    assert data.predict(split.texts) == [data.labels[i] for i in int8["predictions"]]


def test_run_and_bench_from_python(tiny_classifier_dir, toy_data, tmp_path):
    recipe = {"name": "py", "passes": [{"export_onnx": {}}], "benchmark": {"enabled": False}}
    report = compress.run(recipe, model=tiny_classifier_dir, data=toy_data, out=tmp_path / "py", log=lambda m: None)
    assert report["outputs"]["onnx-fp32"] == "onnx/model.onnx" and (tmp_path / "py" / "manifest.json").is_file()
    bench = compress.bench(
        tiny_classifier_dir,
        [tmp_path / "py"],
        data=toy_data,
        out=tmp_path / "b",
        rounds=1,
        min_iterations=2,
        min_seconds=0,
        memory=False,
        bootstrap=10,
        log=lambda m: None,
    )
    assert bench["benchmark"]["candidates"][0]["agreement_with_baseline"] == 1.0
    with pytest.raises(compress.errors.CompressError, match="list of texts"):
        compress.load(tiny_classifier_dir).predict("one string")


def write_bad_csv(path: Path) -> Path:
    rows = b'text\nalpha ball\n""\nchip \xff\xfe river\nrice north\n'
    path.write_bytes(rows)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_predict_writes_label_probability_and_top_k_and_skips_bad_rows(int8_run, tmp_path, capsys, suffix):
    out = tmp_path / f"pred{suffix}"
    code = main(
        [
            "predict",
            str(int8_run),
            "--data",
            str(write_bad_csv(tmp_path / "in.csv")),
            "--out",
            str(out),
            "--top-k",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "skipped row 2: empty text" in err and "skipped row 3: not UTF-8" in err and "rows/s" in err
    if suffix == ".csv":
        records = list(csv.DictReader(out.open(encoding="utf-8")))
        top = [json.loads(r["top_k"]) for r in records]
    else:
        records = [json.loads(line) for line in out.read_text().splitlines()]
        top = [r["top_k"] for r in records]
    assert [int(r["row"]) for r in records] == [1, 4]
    assert all(len(t) == 2 and t[0][0] == r["label"] and t[0][1] >= t[1][1] for t, r in zip(top, records, strict=False))


def test_predict_can_fail_on_a_bad_row_and_leaves_nothing(int8_run, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            str(int8_run),
            "--data",
            str(write_bad_csv(tmp_path / "in.csv")),
            "--out",
            str(out),
            "--on-bad-row",
            "fail",
            "--no-progress",
        ]
    )
    assert code == 2 and "row 2: empty text" in capsys.readouterr().err
    assert not list(tmp_path.glob("*pred*"))


def test_predict_reads_jsonl_parquet_and_standard_input(int8_run, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [t for t, _ in make_rows(5, seed=4)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"body": t}) + "\n" for t in texts) + "not json\n")
    pq.write_table(pa.table({"body": texts}), tmp_path / "in.parquet")
    outputs = []
    for source in ("in.jsonl", "in.parquet"):
        out = tmp_path / f"{source}.jsonl"
        assert (
            main(
                [
                    "predict",
                    str(int8_run),
                    "--data",
                    str(tmp_path / source),
                    "--text-column",
                    "body",
                    "--out",
                    str(out),
                    "--no-progress",
                ]
            )
            == 0
        )
        outputs.append([json.loads(line)["label"] for line in out.read_text().splitlines()])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(texts).encode())))
    assert main(["predict", str(int8_run), "--data", "-", "--out", str(tmp_path / "stdin.jsonl"), "--no-progress"]) == 0
    outputs.append([json.loads(line)["label"] for line in (tmp_path / "stdin.jsonl").read_text().splitlines()])
    assert outputs[0] == outputs[1] == outputs[2] and len(outputs[0]) == 5


def test_predict_refuses_a_model_without_a_tokenizer(tiny_classifier_dir, tmp_path, capsys):
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / name).write_bytes((tiny_classifier_dir / name).read_bytes())
    write_csv(tmp_path / "in.csv", make_rows(3, seed=1))
    code = main(["predict", str(folder), "--data", str(tmp_path / "in.csv"), "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("compress: error: could not load") and not (tmp_path / "p.csv").exists()
