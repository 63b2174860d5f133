"""Metrics agree with scikit-learn; timing interleaves rounds and meets its minimums."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from compress.bench.metrics import macro_f1, quality
from compress.bench.timing import measure, ratio_summary


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels, predictions = rng.integers(0, 5, 200), rng.integers(0, 6, 200) % 5
    predictions[:20] = 4  # a label present only in predictions for part of the data
    assert macro_f1(labels, predictions, 5) == pytest.approx(f1_score(labels, predictions, average="macro"))
    result = quality(labels, predictions, 5, resamples=300)
    assert result["accuracy"]["value"] == pytest.approx(accuracy_score(labels, predictions))
    for metric in result.values():
        assert metric["ci_low"] <= metric["value"] <= metric["ci_high"]
        assert metric["ci_high"] - metric["ci_low"] > 0.01


def test_bootstrap_interval_narrows_with_more_data():
    rng = np.random.default_rng(0)
    small = quality(rng.integers(0, 3, 50), rng.integers(0, 3, 50), 3, resamples=500)["accuracy"]
    large = quality(rng.integers(0, 3, 5000), rng.integers(0, 3, 5000), 3, resamples=500)["accuracy"]
    assert large["ci_high"] - large["ci_low"] < small["ci_high"] - small["ci_low"]


class Sleeper:
    def __init__(self, name, seconds):
        self.name, self.seconds, self.calls = name, seconds, []

    def __call__(self, inputs):
        self.calls.append(int(inputs["input_ids"][0, 0]))
        time.sleep(self.seconds)
        return np.zeros((1, 2))


def test_measure_interleaves_rounds_and_meets_minimums():
    fast, slow = Sleeper("fast", 0.001), Sleeper("slow", 0.004)
    inputs = [{"input_ids": np.array([[i]])} for i in range(7)]
    timings = measure([fast, slow], inputs, warmup=2, min_iterations=12, min_seconds=0.06, rounds=3)
    for name in ("fast", "slow"):
        assert len(timings[name].rounds) == 3
        assert len(timings[name].calls) >= 12 and timings[name].calls.sum() >= 0.06
    assert slow.calls[2:6] == fast.calls[2:6]  # both start each round on the same inputs
    ratio = ratio_summary(timings["slow"].round_medians(), timings["fast"].round_medians())
    assert ratio["min"] > 1.5  # sleeping 4x longer is measured as clearly slower in every round
    assert timings["fast"].percentiles_ms()["p50"] <= timings["fast"].percentiles_ms()["p99"]
