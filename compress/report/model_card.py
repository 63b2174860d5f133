"""A Hugging Face model card (README.md) for every model folder a run writes, from its report.

The card says what was done (the resolved recipe), how accurate the model is on which split
(with intervals), how fast and small it is against the input model measured in the same
process, on which machine, and how to load it with stock libraries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from compress.report.markdown import change
from compress.report.per_label import LOW_RECALL, rarely_recognised

SCHEMA_VERSION = 2  # of report.json: 2 adds tokenizer audits, the classical row, schema_version itself


def _row(bench: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for c in bench.get("candidates", []) if c["name"] == name), None)


def _figures(entry: dict[str, Any], split: str) -> list[str]:
    quality, vs = entry["quality"], entry.get("vs_baseline") or {}
    accuracy, f1 = quality["accuracy"], quality["macro_f1"]
    lines = [
        f"- accuracy on `{split}`: {100 * accuracy['value']:.1f}% "
        f"[95% CI {100 * accuracy.get('ci_low', accuracy['value']):.1f}, "
        f"{100 * accuracy.get('ci_high', accuracy['value']):.1f}]; "
        f"macro-F1 {100 * f1['value']:.1f}%"
    ]
    if vs:
        lines.append(
            f"- against the input model (PyTorch fp32, same process): accuracy change "
            f"{change(vs['accuracy_change'])} points (paired 95% CI), batch-1 p50 {vs['latency_p50_speedup']:.2f}x, "
            f"batch-{entry['throughput']['batch_size']} throughput {vs['throughput_speedup']:.2f}x, "
            f"{vs['size_reduction']:.2f}x smaller"
        )
    lines.append(
        f"- batch-1 p50 {entry['latency_ms']['p50']:.2f} ms, {entry['throughput']['samples_per_second']:.1f} "
        f"examples/s at batch {entry['throughput']['batch_size']}, {entry['size_mb']:.1f} MB"
        + (f", {entry['tokens_per_example']:.1f} tokens per example" if entry.get("tokens_per_example") else "")
    )
    return lines


def model_card(report: dict[str, Any], output: str, kind: str, file_name: str | None = None) -> str:
    """The README.md text for one output: `model` (PyTorch) or an ONNX output's name and file."""
    recipe, inputs = report["recipe"], report["inputs"]
    bench = report.get("benchmark")
    metadata: dict[str, Any] = {
        "library_name": "transformers" if kind == "torch" else "onnx",
        "pipeline_tag": "text-classification",
        "tags": ["compress", recipe["name"]],
    }
    language = (recipe.get("data") or {}).get("language")
    if language:
        metadata["language"] = [language]
    if "/" in str(inputs["model"]) and not Path(str(inputs["model"])).exists():
        metadata["base_model"] = inputs["model"]
    metadata["metrics"] = ["accuracy", "f1"]
    lines = [
        "---",
        yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True).strip(),
        "---",
        "",
        f"# {recipe['name']}: {output}",
        "",
        f"Made by [compress](https://pypi.org/project/classifier-compress/) from `{inputs['model']}` "
        f"with the recipe `{recipe['name']}` on `{inputs['data']}`.",
        "",
    ]
    if recipe.get("description"):
        lines += [str(recipe["description"]).strip(), ""]
    lines += ["## Results", ""]
    entry = None
    if bench:
        split = bench["evaluation"]["split"]
        if kind == "torch":  # the trained or cast model, or the input itself when no pass changed it
            entry = next((c for c in bench["candidates"] if c["kind"] == "torch"), bench["baseline"])
        else:
            entry = _row(bench, output)
        if entry:
            lines += _figures(entry, split)
        env = bench["environment"]
        lines += [
            f"- measured on {env['cpu']}, {env['threads']} threads; "
            f"{bench['evaluation']['examples']} examples of `{split}`",
            "",
        ]
        classical = next((c for c in bench["candidates"] if c.get("kind") == "classical"), None)
        if classical and entry:
            level = classical["quality"]["accuracy"]["value"]
            verdict = "beats" if entry["quality"]["accuracy"]["value"] > level else "does **not** beat"
            lines += [
                f"This model {verdict} a character n-gram TF-IDF + linear SVM trained on the same split "
                f"({100 * level:.1f}%).",
                "",
            ]
        low = rarely_recognised(bench, entry) if entry else []
        if low:
            lines += [
                f"**Labels it almost never recognises** (recall under {100 * LOW_RECALL:.0f}% on `{split}`): "
                f"{', '.join(low)}. Its accuracy counts them only by their share of the examples.",
                "",
            ]
    else:
        lines += ["No benchmark was run for this output.", ""]
    lines += ["## How to load it", "", "```python"]
    if kind == "torch":
        lines += [
            "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
            "model = AutoModelForSequenceClassification.from_pretrained(PATH, trust_remote_code=True)  # "
            "pruned models need it",
            "tokenizer = AutoTokenizer.from_pretrained(PATH)",
        ]
    else:
        lines += [
            "from optimum.onnxruntime import ORTModelForSequenceClassification",
            f"model = ORTModelForSequenceClassification.from_pretrained(PATH, file_name={file_name!r})",
        ]
    lines += [
        "# or, with compress installed: compress.load(PATH).predict(texts)",
        "```",
        "",
        "## Recipe (as run)",
        "",
        "```yaml",
        yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_model_cards(workdir: Path, report: dict[str, Any]) -> None:
    """README.md in model/ and in the ONNX folder (one card for all its graphs, the last one's figures)."""
    outputs: dict[str, str] = report["outputs"]
    (workdir / "model" / "README.md").write_text(model_card(report, "model", "torch"), encoding="utf-8")
    onnx = [(name, path) for name, path in outputs.items() if path.endswith(".onnx")]
    if onnx:
        name, path = onnx[-1]
        card = model_card(report, name, "onnx", Path(path).name)
        (workdir / Path(path).parent / "README.md").write_text(card, encoding="utf-8")
