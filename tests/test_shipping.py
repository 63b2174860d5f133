"""What a user ships: pruned models that load with transformers alone, model cards, report schema,
benchmark JSON for dashboards."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from conftest import FAST_BENCH, run_args, run_inline_recipe

from compress.cli import main

NO_COMPRESS = "import sys; sys.modules['compress'] = None  # any import of compress now fails\n"


def test_a_pruned_model_loads_with_transformers_alone_and_gives_the_same_logits(
    tiny_classifier_dir, toy_data, tmp_path
):
    out = tmp_path / "out"
    recipe = (
        "name: pruned\npasses:\n  - structured_prune: {heads: 0.5, neurons: 0.25, importance: magnitude}\n"
        "benchmark: {enabled: false}\n"
    )
    assert run_inline_recipe(recipe, tiny_classifier_dir, toy_data, out) == 0
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["compress_layout"]["heads"] != [4, 4] and "auto_map" in config
    texts = ["alpha ball river", "chip green north", "rice slow"]
    import compress

    expected = compress.load(out / "model").logits(texts)
    script = NO_COMPRESS + (
        "import json, torch\n"
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer\n"
        f"path = {str(out / 'model')!r}\n"
        "model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True).eval()\n"
        "tokenizer = AutoTokenizer.from_pretrained(path)\n"
        f"texts = {texts!r}\n"
        "rows = []\n"
        "with torch.no_grad():\n"
        "    for text in texts:\n"
        "        rows.append(model(**tokenizer(text, return_tensors='pt')).logits[0].tolist())\n"
        "print(json.dumps(rows))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    logits = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    assert np.abs(logits - expected).max() <= 1e-5


def test_every_output_model_folder_has_a_model_card_and_the_report_a_schema_version(
    tiny_classifier_dir, toy_data, tmp_path
):
    from huggingface_hub import ModelCard

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: card\ndata: {language: mr}\npasses:\n  - export_onnx: {}\n  - quantize: {min_agreement: 0}\n"
    )
    out = tmp_path / "out"
    argv = run_args(recipe, tiny_classifier_dir, toy_data, out, "--benchmark-json", str(tmp_path / "bench.json"))
    assert main(argv + [a for item in FAST_BENCH for a in ("--set", item)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == 2
    for folder, library in (("model", "transformers"), ("onnx", "onnx")):
        card = ModelCard.load(out / folder / "README.md")
        data = card.data.to_dict()
        assert data["pipeline_tag"] == "text-classification" and data["library_name"] == library
        assert data["language"] == ["mr"] and data["metrics"] == ["accuracy", "f1"]
        assert "accuracy on `dev`" in card.text and "How to load it" in card.text
    assert "model_int8_dynamic.onnx" in (out / "onnx" / "README.md").read_text()
    # a card names the labels its model almost never recognises
    from compress.report.model_card import model_card

    bench = report["benchmark"]
    int8 = next(c for c in bench["candidates"] if c["name"] == "onnx-int8-dynamic")
    first, other = bench["evaluation"]["labels"][0], 1
    int8["predictions"] = [other if t == 0 else t for t in bench["evaluation"]["targets"]]
    card = model_card(report, "onnx-int8-dynamic", "onnx", "model_int8_dynamic.onnx")
    assert f"**Labels it almost never recognises** (recall under 25% on `dev`): {first} (0%)." in card
    int8["predictions"] = list(bench["evaluation"]["targets"])
    assert "almost never" not in model_card(report, "onnx-int8-dynamic", "onnx", "model_int8_dynamic.onnx")
    entries = json.loads((tmp_path / "bench.json").read_text())
    names = [e["name"] for e in entries]
    assert "onnx-int8-dynamic batch-1 p50 latency" in names and all(e["unit"] in ("ms", "x", "points") for e in entries)
