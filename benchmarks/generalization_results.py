"""The tables of benchmarks/GENERALIZATION.md from the runs of benchmarks/generalization.sh.

Accuracy and the paired intervals come from each run's test predictions (every report keeps
them); a configuration run with several seeds shows the seeds' mean ± spread, and its change is
averaged over the seeds with one paired interval. No speed column: the study's runs shared the two
cores, so their timings are not clean; tokens per example (what the vocabulary changes) are
counted, not timed.

    python benchmarks/generalization_results.py --runs runs/generalization
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from compress.measure.metrics import non_inferior, paired_change
from compress.report.study import mean_spread

ROWS = (
    ("minilm", "MiniLM fine-tuned, its own vocabulary (`finetune.yaml`)"),
    ("teacher", "teacher (`marathi-teacher.yaml`)"),
    ("fastest", "2 layers + int8 (`marathi-fastest.yaml`)"),
    ("fastest-transfer", "2 layers + transfer set + int8 (`marathi-fastest-transfer.yaml`)"),
)


def shipped(bench: dict[str, Any]) -> dict[str, Any]:
    """The run's last output that is not the classical baseline: what its recipe ships."""
    return [c for c in bench["candidates"] if c.get("kind") != "classical"][-1]


def classical(bench: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in bench["candidates"] if c.get("kind") == "classical")


def seeds_of(task: Path, name: str) -> list[dict[str, Any]]:
    """The benchmarks of every finished seed of one configuration, in seed order."""
    runs = sorted(task.glob(f"{name}-s*/report.json"), key=lambda p: int(p.parent.name.rsplit("-s", 1)[1]))
    return [json.loads(p.read_text(encoding="utf-8"))["benchmark"] for p in runs]


def interval(change: dict[str, float]) -> str:
    return f"{change['value']:+.1f} [{change['ci_low']:+.1f}, {change['ci_high']:+.1f}]"


def task_table(task: Path, margin: float) -> list[str]:
    runs = {name: seeds_of(task, name) for name, _ in ROWS}
    first = next((benches[0] for benches in runs.values() if benches), None)
    if first is None:
        return [f"### {task.name}: no finished run yet", ""]
    labels = np.array(first["evaluation"]["targets"])
    base = classical(first)
    base_pred = np.array(base["predictions"])
    teacher_pred = np.array(shipped(runs["teacher"][0])["predictions"]) if runs["teacher"] else None
    base_acc = base["quality"]["accuracy"]
    lines = [
        f"### {task.name} (test: {len(labels)} examples)",
        "",
        "| model | seeds | test accuracy % (mean ± sd) | macro-F1 % | against the classical model [paired 95% CI] "
        "| against the teacher [paired 95% CI] | tokens/ex (truncated) |",
        "|---|---|---|---|---|---|---|",
        f"| classical: char n-gram TF-IDF + linear SVM | - | {100 * base_acc['value']:.1f} "
        f"| {100 * base['quality']['macro_f1']['value']:.1f} | - | - | - |",
    ]
    for name, title in ROWS:
        if not runs[name]:
            lines.append(f"| {title} | (not run) | | | | | |")
            continue
        measured = [shipped(bench) for bench in runs[name]]
        preds = [np.array(m["predictions"]) for m in measured]
        accuracy = [100 * m["quality"]["accuracy"]["value"] for m in measured]
        f1 = np.mean([100 * m["quality"]["macro_f1"]["value"] for m in measured])
        against_teacher = "-"
        if teacher_pred is not None and name != "teacher":
            change = paired_change(labels, teacher_pred, preds)
            verdict = "non-inferior" if non_inferior(change, margin) else "not non-inferior"
            against_teacher = f"{interval(change)}, {verdict} at {margin:g}"
        audit = measured[0]["tokenizer"]
        lines.append(
            f"| {title} | {len(preds)} | {mean_spread(accuracy)} | {f1:.1f} "
            f"| {interval(paired_change(labels, base_pred, preds))} | {against_teacher} "
            f"| {audit['tokens_per_example_mean']:.0f} ({100 * audit['truncated_share']:.0f}%) |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs/generalization"))
    parser.add_argument("--margin", type=float, default=1.0, help="non-inferiority margin, points")
    args = parser.parse_args()
    for task in sorted(p for p in args.runs.iterdir() if p.is_dir() and p.name != "data"):
        print("\n".join(task_table(task, args.margin)))


if __name__ == "__main__":
    main()
