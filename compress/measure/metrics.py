"""Accuracy and macro-F1 with bootstrap 95% intervals, and paired accuracy changes.

Held-out splits for classifiers like these are small (hundreds of rows), so a point
estimate alone overstates what a 0.3-point difference means; the interval says how much.
Two models scored on the same examples share those examples' difficulty, so their
difference gets a paired interval, narrower than the two separate ones suggest when the
models mostly agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float((labels == predictions).mean())


def macro_f1(labels: np.ndarray, predictions: np.ndarray, num_labels: int) -> float:
    """Mean F1 over labels present in `labels` or `predictions` (sklearn's macro average)."""
    counts = np.bincount(labels * num_labels + predictions, minlength=num_labels * num_labels)
    return float(_macro_f1_from_confusion(counts.reshape(num_labels, num_labels)[None])[0])


def _macro_f1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """confusion: (resamples, true, predicted) counts -> macro-F1 per resample."""
    true_positive = np.diagonal(confusion, axis1=1, axis2=2)
    support = confusion.sum(axis=2)
    predicted = confusion.sum(axis=1)
    denominator = support + predicted
    present = denominator > 0
    f1 = np.where(present, 2 * true_positive / np.maximum(denominator, 1), 0.0)
    return f1.sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def quality(
    labels: np.ndarray, predictions: np.ndarray, num_labels: int, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Point estimates and percentile-bootstrap 95% intervals for accuracy and macro-F1."""
    result = {
        "accuracy": {"value": accuracy(labels, predictions)},
        "macro_f1": {"value": macro_f1(labels, predictions, num_labels)},
    }
    if resamples:
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, len(labels), size=(resamples, len(labels)))
        sampled_true, sampled_pred = labels[rows], predictions[rows]
        accuracies = (sampled_true == sampled_pred).mean(axis=1)
        codes = sampled_true * num_labels + sampled_pred + (np.arange(resamples) * num_labels * num_labels)[:, None]
        confusion = np.bincount(codes.ravel(), minlength=resamples * num_labels * num_labels)
        f1s = _macro_f1_from_confusion(confusion.reshape(resamples, num_labels, num_labels))
        for name, values in (("accuracy", accuracies), ("macro_f1", f1s)):
            low, high = np.percentile(values, [2.5, 97.5])
            result[name] |= {"ci_low": float(low), "ci_high": float(high)}
    return result


def paired_change(
    labels: np.ndarray, baseline: np.ndarray, candidates: Sequence[np.ndarray], resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Accuracy change in points against `baseline`, averaged over `candidates` (one model, or
    the seeds of one configuration), with a paired percentile-bootstrap 95% interval: every
    resample draws the examples once and scores all models on them. The interval covers the
    choice of examples, not the choice of seeds. `baseline` is one model's predictions, or one
    row per candidate (each student against the teacher it was distilled from)."""
    if not candidates:
        raise ValueError("no candidate predictions")
    baselines = np.asarray(baseline)
    if baselines.ndim == 1:
        baselines = np.broadcast_to(baselines, (len(candidates), len(baselines)))
    elif len(baselines) != len(candidates):
        raise ValueError(f"{len(baselines)} baselines for {len(candidates)} candidates: give one, or one per candidate")
    per_example = np.mean(
        [(labels == c).astype(float) - (labels == b).astype(float) for c, b in zip(candidates, baselines, strict=True)],
        axis=0,
    )
    result = {"value": float(100 * per_example.mean())}
    if resamples:
        rows = np.random.default_rng(seed).integers(0, len(labels), size=(resamples, len(labels)))
        low, high = np.percentile(100 * per_example[rows].mean(axis=1), [2.5, 97.5])
        result |= {"ci_low": float(low), "ci_high": float(high)}
    return result


def non_inferior(change: dict[str, float], margin: float) -> bool:
    """Non-inferiority at `margin` points: the lower end of the paired 95% interval of the accuracy
    change is at least -margin. A small split gives a wide interval, so a candidate is not called
    "as accurate" merely because its point estimate lands close; without an interval, the value decides."""
    return change.get("ci_low", change["value"]) >= -margin
