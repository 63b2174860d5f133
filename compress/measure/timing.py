"""Latency and throughput of several predictors, measured in interleaved rounds.

Machines drift (frequency, neighbours, caches), so candidates are measured in turn within
each round, the order rotating, and every one gets at least `min_iterations` calls and
`min_seconds` of measured time in all. Percentiles use every call; the spread of a ratio uses
the per-round medians, so a speedup comes with the range it took across rounds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compress.predictors import Predictor

Inputs = dict[str, np.ndarray]


@dataclass
class Timings:
    """Seconds per call for one predictor, grouped by round."""

    rounds: list[list[float]] = field(default_factory=list)
    items_per_call: list[int] = field(default_factory=list)

    @property
    def calls(self) -> np.ndarray:
        return np.array([t for r in self.rounds for t in r])

    def percentiles_ms(self) -> dict[str, float]:
        calls = self.calls * 1000
        return {f"p{q}": float(np.percentile(calls, q)) for q in (50, 90, 95, 99)} | {"mean": float(calls.mean())}

    def round_medians(self) -> np.ndarray:
        return np.array([np.median(r) for r in self.rounds])

    def round_throughputs(self) -> np.ndarray:
        """Items per second in each round (for batched calls)."""
        out, start = [], 0
        for r in self.rounds:
            items = sum(self.items_per_call[start : start + len(r)])
            out.append(items / sum(r))
            start += len(r)
        return np.array(out)


def measure(
    predictors: Sequence[Predictor],
    inputs: Sequence[Inputs] | Mapping[str, Sequence[Inputs]],
    *,
    warmup: int = 10,
    min_iterations: int = 200,
    min_seconds: float = 8.0,
    rounds: int = 5,
) -> dict[str, Timings]:
    """Time each predictor on the same inputs in `rounds` interleaved rounds.

    `inputs` is one list for all, or a list per predictor name (each model tokenizes the same
    examples its own way; the i-th inputs of every list are the same examples). In every round each
    predictor makes at least min_iterations/rounds calls and runs for at least min_seconds/rounds,
    so the totals meet both minimums. Each round starts every predictor at the same input, and
    rotates who goes first.
    """
    own = inputs if isinstance(inputs, Mapping) else {p.name: inputs for p in predictors}
    if not all(own.get(p.name) for p in predictors):
        raise ValueError("no inputs to time")
    for predictor in predictors:
        for i in range(warmup):
            predictor(own[predictor.name][i % len(own[predictor.name])])
    results = {p.name: Timings() for p in predictors}
    calls_per_round = max(1, math.ceil(min_iterations / rounds))
    seconds_per_round = min_seconds / rounds
    cursor = 0
    for round_index in range(rounds):
        shift = round_index % len(predictors)
        longest = 0
        for predictor in list(predictors[shift:]) + list(predictors[:shift]):
            times: list[float] = []
            while len(times) < calls_per_round or sum(times) < seconds_per_round:
                mine = own[predictor.name]
                sample = mine[(cursor + len(times)) % len(mine)]
                started = time.perf_counter()
                predictor(sample)
                times.append(time.perf_counter() - started)
                results[predictor.name].items_per_call.append(len(next(iter(sample.values()))))
            results[predictor.name].rounds.append(times)
            longest = max(longest, len(times))
        cursor += longest
    return results


def latency_and_throughput(
    predictors: Sequence[Predictor],
    encoded: Any,
    *,
    batch_size: int,
    warmup: int,
    min_iterations: int,
    min_seconds: float,
    rounds: int,
    log: Callable[[str], None] = print,
    latency_samples: int = 256,
) -> tuple[dict[str, Timings], dict[str, Timings], dict[str, Inputs]]:
    """Batch-1 latency over distinct held-out examples, then throughput over full batches of
    `batch_size` (half the measuring time); both interleaved. `encoded` is one `Encoded` for all,
    or one per predictor name. Timing uses a fixed sample (`latency_samples` examples drawn with a
    fixed seed, and as many full batches as cover them), so its cost does not grow with the split.
    Returns both timings and one full batch per predictor."""
    per_model = encoded if isinstance(encoded, Mapping) else {p.name: encoded for p in predictors}
    count = len(next(iter(per_model.values())))
    log(f"batch-1 latency, {rounds} interleaved rounds, >= {min_seconds} s per model")
    order = np.random.default_rng(0).permutation(count)  # a file sorted by label must not time one class
    singles = {name: [e.batch([i]) for i in order[:latency_samples]] for name, e in per_model.items()}
    latency = measure(
        predictors, singles, warmup=warmup, min_iterations=min_iterations, min_seconds=min_seconds, rounds=rounds
    )
    rows = order[: max(batch_size, math.ceil(latency_samples / batch_size) * batch_size)]
    starts = [i for i in range(0, len(rows), batch_size) if i + batch_size <= len(rows)] or [0]
    batched = {name: [e.batch(rows[i : i + batch_size]) for i in starts] for name, e in per_model.items()}
    log(f"throughput at batch {len(next(iter(batched.values()))[0]['input_ids'])}, {len(starts)} batches")
    throughput = measure(
        predictors,
        batched,
        warmup=min(2, warmup),
        min_iterations=len(starts) * rounds,
        min_seconds=min_seconds / 2,
        rounds=rounds,
    )
    return latency, throughput, {name: b[0] for name, b in batched.items()}


def ratio_summary(baseline: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Median and range of per-round ratios baseline/candidate (> 1 means the candidate is better for times)."""
    ratios = baseline / candidate
    return {"median": float(np.median(ratios)), "min": float(ratios.min()), "max": float(ratios.max())}
