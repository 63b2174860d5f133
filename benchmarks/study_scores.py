"""Accuracy of a study's variants on one split, seeds averaged, against the teacher: each variant
is a name and its seeds' models (any output `compress.load` reads: a model folder, an .onnx file).
On the selection split (dev, the default) this is what a study decides on; `--split test` reports,
and is read only after the decision. The change against the teacher is seed-averaged with a
paired bootstrap 95% interval (`compress.measure.metrics.paired_change`, the rule of every report).
`--teacher` may name one model per seed (comma-separated, in the variants' seed order): each seed
of a variant is then paired with its own (a study of two ways to train the teacher itself).

    python benchmarks/study_scores.py --teacher T/model --data DATA [--split test] \
        shipped=runs/a-s1/model,runs/a-s2/model classical=runs/b-s1/model,runs/b-s2/model
"""

from __future__ import annotations

import argparse

import numpy as np

import compress
from compress.data import load_task_data
from compress.measure.metrics import non_inferior, paired_change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="NAME=MODEL[,MODEL...]: one model per seed")
    parser.add_argument("--teacher", required=True, help="MODEL, or MODEL,MODEL,...: one per seed of every variant")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--margin", type=float, default=1.0, help="non-inferiority margin in points")
    args = parser.parse_args()

    data = load_task_data(args.data)
    split = data.selection if args.split == "dev" else data.evaluation
    texts, truth = list(split.texts), np.array([data.label_map.names[i] for i in split.labels])
    teachers = [np.array(compress.load(path, threads=1).predict(texts)) for path in args.teacher.split(",")]
    reference = teachers[0] if len(teachers) == 1 else np.stack(teachers)
    accuracies = [100 * np.mean(t == truth) for t in teachers]
    shown = ", ".join(f"{a:.1f}" for a in accuracies)
    print(f"'{split.name}', {len(split)} examples; teacher {np.mean(accuracies):.1f} ({shown})")
    print("| variant | accuracy %, mean (seeds) | change against the teacher [paired 95% CI] | non-inferior |")
    print("|---|---|---|---|")
    for variant in args.variants:
        name, _, paths = variant.partition("=")
        predictions = [np.array(compress.load(path, threads=1).predict(texts)) for path in paths.split(",")]
        accuracies = [100 * np.mean(p == truth) for p in predictions]
        change = paired_change(truth, reference, predictions)
        seeds = ", ".join(f"{a:.1f}" for a in accuracies)
        print(
            f"| {name} | {np.mean(accuracies):.1f} ({seeds}) | {change['value']:+.1f} "
            f"[{change['ci_low']:+.1f}, {change['ci_high']:+.1f}] | "
            f"{'yes' if non_inferior(change, args.margin) else 'no'} at {args.margin:g} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
