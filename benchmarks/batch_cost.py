"""What a batch costs per text, for one model: the ceiling on what micro-batching can buy.

    python benchmarks/batch_cost.py runs/fastest-s1/onnx/model_int8_dynamic.onnx \\
        --data ../shared/data/mahanews-shc/test.csv --threads 1 2

For each thread count and batch size, `Classifier.predict_proba` (tokenizer, model, softmax: what
`compress serve` runs per model call) is timed on batches of test texts drawn three ways:
- random: any texts, padded to the longest (what micro-batching concurrent requests gives);
- padding-bounded: random texts cut by `length_groups` at `--max-padding` (what serve does with it);
- equal length: texts with the same token count (no padding: the best a batch can do).
The three ways at one size are timed by the project's measurement core (`measure`: warm-up, then
`--rounds` interleaved rounds of at least `--seconds` each); each figure is milliseconds per
text from the median round's throughput.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import compress
from compress.api import Classifier
from compress.batching import encode
from compress.measure.timing import measure

BATCHES = 64  # drawn per way and size, then cycled by the timer


class TextCall:
    """`predict_proba` on a batch of texts, as a predictor the measurement core can time: its
    inputs carry the texts, so tokenizing is timed with the model, as in the server."""

    def __init__(self, name: str, classifier: Classifier, max_padding: float | None) -> None:
        self.name, self.classifier, self.max_padding = name, classifier, max_padding

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.classifier.predict_proba(list(inputs["texts"]), self.max_padding)


def draws(classifier: Classifier, texts: list[str], size: int, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """`BATCHES` batches of `size` random texts, and as many of texts with one token count each."""
    rng = np.random.default_rng(seed)
    lengths = encode(classifier.loaded.tokenizer, texts, classifier.max_length).lengths()
    by_length: dict[int, list[str]] = defaultdict(list)
    for text, length in zip(texts, lengths, strict=True):
        by_length[int(length)].append(text)
    common = [group for group in by_length.values() if len(group) >= size]
    random = [[texts[i] for i in rng.integers(0, len(texts), size)] for _ in range(BATCHES)]
    equal = []
    for _ in range(BATCHES):
        group = common[rng.integers(len(common))]
        equal.append([group[i] for i in rng.integers(0, len(group), size)])
    return random, equal


def per_text_ms(classifier: Classifier, texts: list[str], size: int, args: argparse.Namespace) -> dict[str, float]:
    """The three ways at one batch size, timed together in interleaved rounds by `measure`."""
    random, equal = draws(classifier, texts, size, seed=size)
    ways = {
        "random": (TextCall("random", classifier, None), random),
        "padding-bounded": (TextCall("padding-bounded", classifier, args.max_padding), random),
        "equal length": (TextCall("equal length", classifier, None), equal),
    }
    inputs = {
        name: [{"texts": np.array(batch, dtype=object)} for batch in batches] for name, (_, batches) in ways.items()
    }
    timings = measure(
        [call for call, _ in ways.values()],
        inputs,
        warmup=5,
        min_iterations=args.rounds,
        min_seconds=args.seconds * args.rounds,
        rounds=args.rounds,
    )
    return {name: 1000 / float(np.median(t.round_throughputs())) for name, t in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a model folder, .onnx file or compress run folder")
    parser.add_argument("--data", required=True, help="a CSV file with a text column")
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 32])
    parser.add_argument("--max-padding", type=float, default=0.1)
    parser.add_argument("--seconds", type=float, default=1.0, help="per way, size and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    with open(args.data, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    results: dict[str, dict[str, float]] = {}
    for threads in args.threads:
        classifier = compress.load(args.model, threads=threads)
        for size in args.sizes:
            for way, ms in per_text_ms(classifier, texts, size, args).items():
                results.setdefault(f"{way}, {threads} thread(s)", {})[str(size)] = ms
        for way, row in results.items():
            if way.endswith(f", {threads} thread(s)"):
                print(f"{way:>28}: " + "  ".join(f"b{s} {v:.3f}" for s, v in row.items()), flush=True)
    summary = {"command": " ".join(sys.argv), "ms_per_text": results}
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
