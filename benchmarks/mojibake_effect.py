"""What the mojibake in a data set is worth to a model: accuracy on the held-out split, on its
clean rows and on its garbled rows, with the texts as stored and with them repaired.

    python benchmarks/mojibake_effect.py --data ../shared/data/mahanews-shc \\
        --model runs/vocab/teacher-s42/model --model runs/vocab/teacher-repaired-s42/model

The classical model (character n-gram TF-IDF + linear SVM) is fitted here twice, on the training
split as stored and repaired, and scored on the matching test text. Each `--model` is scored on
both versions of the test text as it is (a model trained on garbled text meets repaired text,
and the reverse). The rows are told apart by `compress.text_encoding.repaired` on the stored text.
"""

from __future__ import annotations

import argparse

import numpy as np

import compress
from compress.data import load_task_data
from compress.measure.classical import fit_classical
from compress.text_encoding import audit_encoding, repaired


def scores(correct: np.ndarray, garbled: np.ndarray, labelled: np.ndarray) -> str:
    cells = (correct, correct[~garbled], correct[garbled], correct[labelled])
    return " | ".join(f"{100 * c.mean():.1f}" for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--label", default="Fashion", help="the label the garbling gives away, shown on its own")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    stored = load_task_data(args.data)
    fixed, counts = stored.with_repaired_encoding()
    test = stored.evaluation
    names = stored.label_map.names
    audit = audit_encoding(test.texts, [names[i] for i in test.labels])
    garbled = np.array([repaired(t) is not None for t in test.texts])
    labelled = test.labels == names.index(args.label)
    print(f"mojibake repaired: {counts}; {audit.warnings()[0] if audit.warnings() else 'none in the test split'}")
    print(
        f"\n| model | test text | accuracy % | clean rows ({(~garbled).sum()}) | garbled rows ({garbled.sum()}) "
        f"| {args.label} ({labelled.sum()}) |\n|---|---|---|---|---|---|"
    )
    for version, data in (("as stored", stored), ("repaired", fixed)):
        classical = fit_classical(data.train, args.seed)
        predicted = classical({"text": np.array(data.evaluation.texts, dtype=object)}).argmax(axis=1)
        row = scores(predicted == data.evaluation.labels, garbled, labelled)
        print(f"| classical, fitted on train {version} | {version} | {row} |")
    for reference in args.model:
        model = compress.load(reference)
        for version, split in (("as stored", test), ("repaired", fixed.evaluation)):
            ids = {name: i for i, name in enumerate(names)}
            predicted = np.array([ids[label] for label in model.predict(list(split.texts))])
            print(f"| {reference} | {version} | {scores(predicted == split.labels, garbled, labelled)} |")


if __name__ == "__main__":
    main()
