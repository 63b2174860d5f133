"""What fewer tokens buy at batch 1: a model's batch-1 latency by sequence length.

    python benchmarks/length_cost.py runs/vocab/teacher-s42/model --lengths 8 12 16 20 26 32 40 48 64

A vocabulary fitted to the text shortens sequences (MahaNews: 48.2 tokens a headline with the
MiniLM vocabulary, 26.0 with the 8k WordPiece of `vocab_transfer`), and nothing else about the
encoder changes, so the speed a new vocabulary can buy at batch 1 is this curve read at the two
lengths. Its floor is what a call costs at any length: in fp32 every call reads all the weights.
The model is timed on one sequence of each length (token ids drawn at random from the
vocabulary: the arithmetic does not depend on which), all lengths in interleaved rounds by the
project's measurement core; figures are the median call of all rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from compress.cpu_features import cpu_flags, cpu_model, int8_preset
from compress.cpus import default_threads, torch_threads
from compress.loading import load_model
from compress.measure.timing import measure
from compress.predictors import TorchPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a PyTorch model folder")
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 12, 16, 20, 26, 32, 40, 48, 64])
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--seconds", type=float, default=1.0, help="per length and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    loaded = load_model(args.model)
    rng = np.random.default_rng(0)
    vocabulary = loaded.model.config.vocab_size
    predictors, inputs = [], {}
    for length in args.lengths:
        name = f"{length} tokens"
        ids = rng.integers(1000 if vocabulary > 2000 else 0, vocabulary, size=(1, length), dtype=np.int64)
        predictors.append(TorchPredictor(name, loaded.model))
        inputs[name] = [{"input_ids": ids, "attention_mask": np.ones_like(ids)}]
    with torch_threads(args.threads), torch.inference_mode():
        timings = measure(
            predictors,
            inputs,
            warmup=5,
            min_iterations=args.rounds * 10,
            min_seconds=args.seconds * args.rounds,
            rounds=args.rounds,
        )
    p50 = {length: timings[f"{length} tokens"].percentiles_ms()["p50"] for length in args.lengths}
    shortest = min(args.lengths)
    machine = f"{cpu_model()} ({int8_preset(cpu_flags())}, avx512_bf16: {'avx512_bf16' in cpu_flags()})"
    print(f"{args.model}, {args.threads} thread(s), {machine}")
    print("| tokens | batch-1 p50 ms | against the longest |\n|---|---|---|")
    longest = p50[max(args.lengths)]
    for length, ms in p50.items():
        print(f"| {length} | {ms:.2f} | {longest / ms:.2f}x |")
    print(f"floor: {p50[shortest]:.2f} ms at {shortest} tokens, {100 * p50[shortest] / longest:.0f}% of the longest")
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(sys.argv), "machine": machine, "p50_ms": p50}, indent=2))


if __name__ == "__main__":
    main()
