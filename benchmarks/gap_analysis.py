"""What the gap between the teacher and the classical baseline is made of, on the split reported.

Reads the test predictions that `compress run` stored in each seed's `report.json` (the teacher's
and the character n-gram model's, measured on the same examples) and splits the accuracy gap by
the script a headline is written in, and by label. Each group's share of the whole gap is its
accuracy difference weighted by its size; the change is seed-averaged with a paired bootstrap 95%
interval (`compress.measure.metrics.paired_change`, the rule of every report).

    python benchmarks/gap_analysis.py runs/vocab/teacher-s42 runs/vocab/teacher-s1 runs/vocab/teacher-s2 \
        --data ../shared/data/mahanews-shc

Script groups, by the letters of a headline (spaces, digits and punctuation aside): Latin letters
anywhere (the code-mixed headlines: brand, team and place names, English phrases); mostly
Cyrillic or box-drawing characters (UTF-8 that was decoded as CP866 upstream, see the data
README); Devanagari only.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path

import numpy as np

from compress.data import load_task_data
from compress.measure.metrics import paired_change

CLASSICAL = "classical"


def script_group(text: str) -> str:
    names = [unicodedata.name(c, "") for c in text if c.isalpha()]
    mangled = sum("CYRILLIC" in n or "BOX DRAWINGS" in n for n in names)
    if names and mangled > 0.2 * len(names):
        return "mojibake (CP866-decoded UTF-8)"
    if any("LATIN" in n for n in names):
        return "with Latin letters (code-mixed)"
    return "Devanagari only"


def stored_predictions(run: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, str]:
    """Labels, targets, the run's own model's predictions and the classical row's, from one report."""
    benchmark = json.loads((run / "report.json").read_text())["benchmark"]
    evaluation = benchmark["evaluation"]
    rows = {c["name"]: c for c in benchmark["candidates"]}
    classical = next(c for name, c in rows.items() if name.startswith(CLASSICAL))
    model = next(c for name, c in rows.items() if not name.startswith(CLASSICAL))
    return (
        evaluation["labels"],
        np.asarray(evaluation["targets"]),
        np.asarray(model["predictions"]),
        np.asarray(classical["predictions"]),
        evaluation["split"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of one recipe, one per seed")
    parser.add_argument("--data", required=True)
    args = parser.parse_args()

    stored = [stored_predictions(run) for run in args.runs]
    labels, targets, _, classical, split = stored[0]
    if any(s[4] != split or not np.array_equal(s[1], targets) for s in stored):
        raise SystemExit("the runs were not measured on the same examples")
    models = [s[2] for s in stored]
    data = load_task_data(args.data)
    names = [data.label_map.names[i] for i in data.evaluation.labels]
    if data.evaluation.name != split or names != [labels[t] for t in targets]:
        raise SystemExit(f"{args.data}'s {data.evaluation.name} split is not the one the reports measured ({split})")
    texts = data.evaluation.texts

    def row(name: str, mask: np.ndarray) -> str:
        accuracy = np.mean([100 * (m[mask] == targets[mask]).mean() for m in models])
        base = 100 * (classical[mask] == targets[mask]).mean()
        change = paired_change(targets[mask], classical[mask], [m[mask] for m in models])
        share = change["value"] * mask.sum() / len(targets)
        interval = f"{change['value']:+.1f} [{change['ci_low']:+.1f}, {change['ci_high']:+.1f}]"
        return f"| {name} | {mask.sum()} | {accuracy:.1f} | {base:.1f} | {interval} | {share:+.2f} |"

    header = (
        f"| {split} examples | n | teacher % (mean of {len(models)}) | classical % | "
        "teacher - classical, points [paired 95% CI] | of the whole gap, points |\n|---|---|---|---|---|---|"
    )
    groups = np.asarray([script_group(t) for t in texts])
    print(header)
    print(row("all", np.ones(len(targets), dtype=bool)))
    for group in sorted(set(groups)):
        print(row(group, groups == group))
    print()
    print(header.replace(f"| {split} examples |", "| label |", 1))
    for index, label in enumerate(labels):
        print(row(label, targets == index))
    votes = np.stack(models)
    majority = np.array([np.bincount(column).argmax() for column in votes.T])
    both = ((models[0] == targets) & (classical == targets)).mean()
    either = ((models[0] == targets) | (classical == targets)).mean()
    print(f"\nMajority vote of the {len(models)} seeds: {100 * (majority == targets).mean():.1f}%.")
    print(f"First seed and classical both right: {100 * both:.1f}%; at least one right: {100 * either:.1f}%.")


if __name__ == "__main__":
    main()
