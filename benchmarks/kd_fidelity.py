"""How closely students follow their teacher, without test labels: agreement with the teacher's
labels on the selection split and on unlabelled texts none of them trained on, beside selection
accuracy. A student that agrees with its teacher on nearly every text cannot lose much accuracy
against it on any split; one that disagrees on many is a different classifier, whatever its score.

    python benchmarks/kd_fidelity.py --teacher T/model --data DATA --corpus CORPUS \
        --skip-sample 10000 --texts 3000 STUDENT [STUDENT ...]

`--skip-sample N` leaves out the N corpus lines a `transfer_lines: N` distillation sampled, so the
texts scored are ones no student saw.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import compress
from compress.data import load_task_data, read_corpus


def agreement(labels: list[str], reference: list[str]) -> float:
    return float(np.mean([a == b for a, b in zip(labels, reference, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("students", nargs="+")
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--skip-sample", type=int, default=0, help="the transfer_lines the students were taught on")
    parser.add_argument("--texts", type=int, default=3000, help="unseen corpus lines to score")
    args = parser.parse_args()

    lines = read_corpus(args.corpus, None, "kd_fidelity")
    sample = np.random.default_rng(0).choice(len(lines), args.skip_sample, replace=False) if args.skip_sample else []
    seen = set(sample)  # as compress.passes.teacher.transfer_texts samples them
    unseen = [text for i, text in enumerate(lines) if i not in seen][: args.texts]
    data = load_task_data(args.data)
    selection, names = data.selection, data.label_map.names
    teacher = compress.load(args.teacher)
    reference = {"dev": teacher.predict(list(selection.texts)), "corpus": teacher.predict(unseen)}
    truth = [names[i] for i in selection.labels]
    for path in [args.teacher, *args.students]:
        model = compress.load(path)
        dev, corpus = model.predict(list(selection.texts)), model.predict(unseen)
        row = {
            "model": path,
            "dev_accuracy": agreement(dev, truth),
            "dev_agreement": agreement(dev, reference["dev"]),
            "corpus_agreement": agreement(corpus, reference["corpus"]),
        }
        print(json.dumps(row), flush=True)
    print(f"{len(unseen)} unseen corpus lines, {len(selection)} '{selection.name}' examples")


if __name__ == "__main__":
    main()
