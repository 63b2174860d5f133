"""Would the classical model make a better teacher beside the transformer? Accuracy on the
selection split (dev) of the teacher, of the calibrated classical model (character n-gram TF-IDF
+ linear SVM, fitted on the training split) and of their mixtures (1 - w) * p_teacher + w * p_classical,
the targets a `distill` pass with `classical_weight: w` teaches. Dev only: it selects w.

    python benchmarks/co_teacher.py --teacher T/model --data DATA [--weights 0.3 0.5 0.7]
"""

from __future__ import annotations

import argparse

import numpy as np

import compress
from compress.data import load_task_data
from compress.measure.classical import classical_probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    teacher = compress.load(args.teacher)
    data = load_task_data(args.data).with_label_order(teacher.labels)
    selection = data.selection
    p_teacher = teacher.predict_proba(list(selection.texts))
    p_classical = classical_probabilities(data.train, selection.texts, len(teacher.labels), args.seed)
    print(f"'{selection.name}', {len(selection)} examples")
    for w in [0.0, *args.weights, 1.0]:
        mixed = (1 - w) * p_teacher + w * p_classical
        print(f"classical weight {w:.2f}: accuracy {np.mean(mixed.argmax(axis=1) == selection.labels):.4f}")


if __name__ == "__main__":
    main()
