"""What a batch costs per text, for one model: the ceiling on what micro-batching can buy.

    python benchmarks/batch_cost.py runs/fastest-s1/onnx/model_int8_dynamic.onnx \\
        --data ../shared/data/mahanews-shc/test.csv --threads 1 2

For each thread count and batch size, `Classifier.predict_proba` (tokenizer, model, softmax: what
`compress serve` runs per model call) is timed on batches of test texts drawn three ways:
- random: any texts, padded to the longest (what micro-batching concurrent requests gives);
- padding-bounded: random texts cut by `length_groups` at `--max-padding` (what serve does with it);
- equal length: texts with the same token count (no padding: the best a batch can do).
Each figure is the median of `--rounds` timed spells of `--seconds`, in milliseconds per text.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

import compress
from compress.api import Classifier
from compress.batching import encode

Call = Callable[[list[str]], object]
Draw = Callable[[int], list[str]]


def per_text_ms(call: Call, draw: Draw, size: int, seconds: float) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call(draw(size))
        done += size
    return (time.perf_counter() - started) / done * 1000


def ways_to_batch(classifier: Classifier, texts: list[str], largest: int, max_padding: float) -> dict:
    """The three ways of drawing and running a batch, each a (call, draw) pair."""
    rng = np.random.default_rng(0)
    lengths = encode(classifier.loaded.tokenizer, texts, classifier.max_length).lengths()
    by_length: dict[int, list[str]] = defaultdict(list)
    for text, length in zip(texts, lengths, strict=True):
        by_length[int(length)].append(text)
    common = [n for n, group in by_length.items() if len(group) >= largest]

    def random_texts(size: int) -> list[str]:
        return [texts[i] for i in rng.integers(0, len(texts), size)]

    def equal_length(size: int) -> list[str]:
        group = by_length[common[rng.integers(len(common))]]
        return [group[i] for i in rng.integers(0, len(group), size)]

    def bounded(batch: list[str]) -> object:
        return classifier.predict_proba(batch, max_padding)

    return {
        "random": (classifier.predict_proba, random_texts),
        "padding-bounded": (bounded, random_texts),
        "equal length": (classifier.predict_proba, equal_length),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a model folder, .onnx file or compress run folder")
    parser.add_argument("--data", required=True, help="a CSV file with a text column")
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 32])
    parser.add_argument("--max-padding", type=float, default=0.1)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    with open(args.data, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    results: dict[str, dict[str, float]] = {}
    for threads in args.threads:
        classifier = compress.load(args.model, threads=threads)
        for way, (call, draw) in ways_to_batch(classifier, texts, max(args.sizes), args.max_padding).items():
            row = results.setdefault(f"{way}, {threads} thread(s)", {})
            for size in args.sizes:
                spells = [per_text_ms(call, draw, size, args.seconds) for _ in range(args.rounds)]
                row[str(size)] = float(np.median(spells))
            print(f"{way:>16}, {threads} thread(s): " + "  ".join(f"b{s} {v:.3f}" for s, v in row.items()), flush=True)
    summary = {"command": " ".join(sys.argv), "ms_per_text": results}
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
