"""The tables of benchmarks/GENERALIZATION.md from the runs of benchmarks/generalization.sh.

Accuracy and the paired intervals come from each run's test predictions (every report keeps
them); a configuration run with several seeds shows the seeds' mean ± spread, and its change is
averaged over the seeds with one paired interval, each student paired with the teacher it was
distilled from (and the MiniLM fine-tuning with the teacher of its seed). No speed column: the
study's runs shared the two cores, so their timings are not clean; tokens per example (what the
vocabulary changes) are counted, not timed.

    python benchmarks/generalization_results.py --runs runs/generalization
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from compress.measure.metrics import non_inferior, paired_change
from compress.report.per_label import label_recalls, shipped
from compress.report.study import mean_spread

ROWS = (
    ("minilm", "MiniLM fine-tuned, its own vocabulary (`finetune.yaml`)"),
    ("teacher", "teacher (`marathi-teacher.yaml`)"),
    ("fastest", "2 layers + int8 (`marathi-fastest.yaml`)"),
    ("fastest-transfer", "2 layers + transfer set + int8 (`marathi-fastest-transfer.yaml`)"),
)


def classical(bench: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in bench["candidates"] if c.get("kind") == "classical")


def finished_runs(task: Path, name: str) -> list[tuple[int, dict[str, Any]]]:
    """(teacher seed, benchmark) of every finished run of one configuration, in directory order:
    `NAME-sT` for the teacher and the MiniLM fine-tuning (seed T), `NAME-tT-sS` for a student of
    teacher T trained with seed S."""
    pattern = re.compile(rf"{re.escape(name)}-(?:t(\d+)-)?s(\d+)")
    runs = []
    for report in sorted(task.glob("*/report.json")):
        match = pattern.fullmatch(report.parent.name)
        if match:
            teacher_seed = int(match.group(1) or match.group(2))
            runs.append((teacher_seed, json.loads(report.read_text(encoding="utf-8"))["benchmark"]))
    return runs


def interval(change: dict[str, float]) -> str:
    return f"{change['value']:+.1f} [{change['ci_low']:+.1f}, {change['ci_high']:+.1f}]"


def rarest_training_label(task_data: Path) -> tuple[str, int]:
    """The label with the fewest training examples (ties: the first by name) and its count."""
    with (task_data / "train.csv").open(encoding="utf-8", newline="") as handle:
        counts = Counter(row["label"] for row in csv.DictReader(handle))
    label = min(counts, key=lambda name: (counts[name], name))
    return label, counts[label]


def recall(labels: np.ndarray, predictions: np.ndarray, label_id: int, label_count: int) -> float:
    return 100 * float(label_recalls(labels, predictions, label_count)[label_id])


def task_table(task: Path, task_data: Path, margin: float) -> list[str]:
    runs = {name: finished_runs(task, name) for name, _ in ROWS}
    first = next((benches[0][1] for benches in runs.values() if benches), None)
    if first is None:
        return [f"### {task.name}: no finished run yet", ""]
    labels = np.array(first["evaluation"]["targets"])
    rare, rare_count = rarest_training_label(task_data)
    rare_id, label_count = first["evaluation"]["labels"].index(rare), len(first["evaluation"]["labels"])
    base = classical(first)
    base_pred = np.array(base["predictions"])
    teachers = {seed: np.array(shipped(bench)["predictions"]) for seed, bench in runs["teacher"]}
    base_acc = base["quality"]["accuracy"]
    lines = [
        f"### {task.name} (test: {len(labels)} examples)",
        "",
        "| model | runs (teacher seeds) | test accuracy % (mean ± sd) | macro-F1 % | against the classical model "
        f"[paired 95% CI] | against its teacher [paired 95% CI] | recall of {rare} % ({rare_count} training, "
        f"{int(np.sum(labels == rare_id))} test examples) | tokens/ex (truncated) |",
        "|---|---|---|---|---|---|---|---|",
        f"| classical: char n-gram TF-IDF + linear SVM | - | {100 * base_acc['value']:.1f} "
        f"| {100 * base['quality']['macro_f1']['value']:.1f} | - | - "
        f"| {recall(labels, base_pred, rare_id, label_count):.1f} | - |",
    ]
    for name, title in ROWS:
        if not runs[name]:
            lines.append(f"| {title} | (not run) | | | | | | |")
            continue
        seeds = [seed for seed, _ in runs[name]]
        measured = [shipped(bench) for _, bench in runs[name]]
        preds = [np.array(m["predictions"]) for m in measured]
        accuracy = [100 * m["quality"]["accuracy"]["value"] for m in measured]
        f1 = np.mean([100 * m["quality"]["macro_f1"]["value"] for m in measured])
        against_teacher = "-"
        if name != "teacher" and all(seed in teachers for seed in seeds):
            change = paired_change(labels, np.stack([teachers[seed] for seed in seeds]), preds)
            verdict = "non-inferior" if non_inferior(change, margin) else "not non-inferior"
            against_teacher = f"{interval(change)}, {verdict} at {margin:g}"
        audit = measured[0]["tokenizer"]
        lines.append(
            f"| {title} | {len(preds)} ({', '.join(str(s) for s in dict.fromkeys(seeds))}) | {mean_spread(accuracy)} "
            f"| {f1:.1f} | {interval(paired_change(labels, base_pred, preds))} | {against_teacher} "
            f"| {mean_spread([recall(labels, p, rare_id, label_count) for p in preds])} "
            f"| {audit['tokens_per_example_mean']:.0f} ({100 * audit['truncated_share']:.0f}%) |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs/generalization"))
    parser.add_argument("--margin", type=float, default=1.0, help="non-inferiority margin, points")
    args = parser.parse_args()
    for task in sorted(p for p in args.runs.iterdir() if p.is_dir() and p.name != "data"):
        print("\n".join(task_table(task, args.runs / "data" / task.name, args.margin)))


if __name__ == "__main__":
    main()
