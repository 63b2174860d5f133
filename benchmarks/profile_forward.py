"""Where batch-1 time goes in PyTorch, and the most that removing weights can buy.

Pruning shrinks the matrix multiplies (GEMMs) of the encoder's linear layers and nothing else:
embeddings, layer norms, activations, attention softmax and Python dispatch cost what they cost.
This script profiles the baseline and each candidate on the same real examples and prints, per
model, the wall time per call, the share spent in GEMMs, and the realized cut in encoder linear
parameters. From the baseline it derives an upper bound: the speedup if GEMM time fell exactly
in proportion to the removed linear parameters and everything else stayed as it was.

    python benchmarks/profile_forward.py --baseline runs/minilm-finetuned/model \
        --data ../shared/data/mahanews-shc runs/gpu-prune25-kd/model --threads 2

Wall times come from interleaved rounds, as in `compress bench` (which remains the place for
speedups to report); the GEMM share comes from one profiled pass per model.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from compress.batching import encode
from compress.data import load_task_data
from compress.measure.timing import measure
from compress.predictors import TorchPredictor
from compress.pruning.flops import encoder_cost
from compress.pruning.folding import load_pruned

GEMM_OPS = {"aten::addmm", "aten::mm", "aten::bmm", "aten::matmul"}
ATTENTION_OPS = {"aten::_scaled_dot_product_flash_attention_for_cpu", "aten::_softmax"}


def op_split(predictor: TorchPredictor, inputs: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """One profiled pass: per call, the wall time under the profiler and the op time by kind."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        for feed in inputs:
            predictor(feed)
        wall = time.perf_counter() - started
    events = prof.key_averages()

    def ms_per_call(ops: set[str]) -> float:
        return sum(e.self_cpu_time_total for e in events if e.key in ops) / len(inputs) / 1000

    return {
        "profiled_wall_ms": 1000 * wall / len(inputs),
        "gemm_ms": ms_per_call(GEMM_OPS),
        "attention_ms": ms_per_call(ATTENTION_OPS),
    }


def gemm_rates(tokens: int, hidden: int, widths: list[int], calls: int = 300) -> list[tuple[int, float, float]]:
    """GFLOPS of the FFN's two GEMMs (tokens x hidden by hidden x width, and back) at several
    widths: if the rate is flat, time is linear in width and there is no alignment effect to chase."""
    out = []
    with torch.inference_mode():
        for width in widths:
            for k, n in ((hidden, width), (width, hidden)):
                x, w, b = torch.randn(tokens, k), torch.randn(n, k), torch.randn(n)
                for _ in range(20):
                    torch.nn.functional.linear(x, w, b)
                times = []
                for _ in range(calls):
                    started = time.perf_counter()
                    torch.nn.functional.linear(x, w, b)
                    times.append(time.perf_counter() - started)
                seconds = float(np.median(times))
                out.append((width, 1e6 * seconds, 2 * tokens * k * n / seconds / 1e9))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("candidates", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds, each over every example")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.baseline)
    split = load_task_data(args.data).evaluation.sample(args.examples)
    encoded = encode(tokenizer, split.texts, max_length=128)
    inputs = [encoded.batch([i]) for i in range(len(encoded))]
    tokens = float(np.mean(encoded.lengths()))

    predictors, cuts = [], []
    for path in [args.baseline, *args.candidates]:
        model = load_pruned(path)
        cuts.append(encoder_cost(model)["linear_parameters"])
        predictors.append(TorchPredictor(str(path), model))
    cuts = [1 - params / cuts[0] for params in cuts]
    timings = measure(predictors, inputs, min_iterations=args.repeats * len(inputs), min_seconds=0, rounds=args.repeats)
    rows = []
    for predictor, cut in zip(predictors, cuts, strict=False):
        stats = op_split(predictor, inputs)
        stats["gemm_share"] = stats["gemm_ms"] / stats["profiled_wall_ms"]
        stats["linear_cut"] = cut
        stats["wall_ms"] = timings[predictor.name].percentiles_ms()["p50"]
        stats["rounds"] = timings[predictor.name].round_medians()
        rows.append((predictor.name, stats))

    base = rows[0][1]
    print(
        f"{len(inputs)} examples of the evaluation split, {tokens:.1f} tokens on average, {args.threads} threads, "
        f"torch {torch.__version__}\n"
    )
    print(
        "| model | batch-1 p50 ms | speedup (rounds) | GEMM share of a call | GEMM ms | attention ms | "
        "linear params cut | bound if GEMMs shrink with the cut |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, s in rows:
        ratios = base["rounds"] / s["rounds"]
        bound = 1 / (1 - base["gemm_share"] * s["linear_cut"])
        print(
            f"| {name} | {s['wall_ms']:.2f} | {np.median(ratios):.2f}x ({ratios.min():.2f}-{ratios.max():.2f}) "
            f"| {s['gemm_share']:.0%} | {s['gemm_ms']:.2f} | {s['attention_ms']:.2f} | {s['linear_cut']:.1%} "
            f"| {bound:.2f}x |"
        )
    print(
        f"\nAt the baseline's GEMM share, a 1.25x speedup needs a linear-parameter cut of "
        f"{(1 - 1 / 1.25) / base['gemm_share']:.1%}."
    )

    hidden = predictors[0].model.config.hidden_size
    widths = [384, 768, 992, 1016, 1024, 1152, 1536]
    rates = gemm_rates(round(tokens), hidden, widths)
    print(f"\nFFN GEMMs at {round(tokens)} tokens, median of 300 calls each (in, then out):\n")
    print("| FFN width | in us | in GFLOPS | out us | out GFLOPS |\n|---|---|---|---|---|")
    for i, width in enumerate(widths):
        (_, t_in, r_in), (_, t_out, r_out) = rates[2 * i], rates[2 * i + 1]
        print(f"| {width} | {t_in:.0f} | {r_in:.0f} | {t_out:.0f} | {r_out:.0f} |")


if __name__ == "__main__":
    main()
