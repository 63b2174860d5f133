"""Metrics agree with scikit-learn; timing interleaves rounds and meets its minimums."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from compress.measure.metrics import macro_f1, paired_change, quality
from compress.measure.timing import measure, ratio_summary


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


def test_paired_change_is_exact_where_models_agree_and_narrower_than_separate_intervals():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    baseline = np.where(rng.random(300) < 0.7, labels, (labels + 1) % 3)  # ~70% right
    assert paired_change(labels, baseline, [baseline]) == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    candidate = baseline.copy()
    wrong = np.flatnonzero(candidate == labels)[:9]
    candidate[wrong] = (labels[wrong] + 1) % 3  # 9 of 300 examples lost: -3 points
    change = paired_change(labels, baseline, [candidate], resamples=500)
    assert change["value"] == pytest.approx(-3.0)
    assert change["ci_low"] < -3.0 < change["ci_high"] <= 0.0  # every resample loses or keeps, never gains
    separate = [quality(labels, p, 3, resamples=500)["accuracy"] for p in (baseline, candidate)]
    assert change["ci_high"] - change["ci_low"] < 100 * min(q["ci_high"] - q["ci_low"] for q in separate)
    # seeds average per example: one seed at -3, one at 0 -> -1.5
    assert paired_change(labels, baseline, [candidate, baseline], resamples=0) == {"value": pytest.approx(-1.5)}
    with pytest.raises(ValueError, match="no candidate"):
        paired_change(labels, baseline, [])


def test_paired_change_pairs_each_candidate_with_its_own_baseline():
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    teacher_a = labels.copy()
    teacher_b = labels.copy()
    teacher_b[:2] = (labels[:2] + 1) % 3  # a weaker teacher: 80%
    student_a = teacher_a.copy()
    student_a[0] = (labels[0] + 1) % 3  # its teacher -10 points
    student_b = teacher_b.copy()  # its teacher +0
    paired = paired_change(labels, np.stack([teacher_a, teacher_b]), [student_a, student_b], resamples=0)
    assert paired == {"value": pytest.approx(-5.0)}
    # against teacher a alone, student b would count teacher b's two mistakes as its own
    assert paired_change(labels, teacher_a, [student_a, student_b], resamples=0) == {"value": pytest.approx(-15.0)}
    with pytest.raises(ValueError, match="2 baselines for 3 candidates"):
        paired_change(labels, np.stack([teacher_a, teacher_b]), [student_a, student_b, student_a])


class Sleeper:
    def __init__(self, name, seconds):
        self.name, self.seconds, self.calls = name, seconds, []

    def __call__(self, inputs):
        self.calls.append(int(inputs["input_ids"][0, 0]))
        time.sleep(self.seconds)
        return np.zeros((1, 2))


@pytest.mark.slow
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
