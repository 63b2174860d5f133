"""Summaries of a study (several runs of the same recipes over seeds): mean and spread, the
accuracy change against the baseline averaged over seeds with its paired interval, training
cost, and the speed-against-accuracy plot. The benchmark scripts call these; they stay thin."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from statistics import mean, pstdev
from typing import Any

import numpy as np


def mean_spread(values: Sequence[float], spec: str = ".1f") -> str:
    """`mean ± population standard deviation`, or the value alone for a single seed."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(mean(values), spec)} ± {format(pstdev(values), spec)}"


def seed_change(
    bench: dict[str, Any], entries: Sequence[dict[str, Any]], resamples: int = 1000
) -> dict[str, float] | None:
    """A row's accuracy change against the baseline on the same examples, in points, averaged
    over its seeds (`entries`, each a benchmark entry with `predictions`), with a paired bootstrap
    95% interval; None for reports written before predictions were recorded."""
    from compress.measure.metrics import paired_change

    targets = bench.get("evaluation", {}).get("targets")
    if targets is None or any("predictions" not in e for e in [bench.get("baseline", {}), *entries]):
        return None
    predictions = [np.array(e["predictions"]) for e in entries]
    return paired_change(np.array(targets), np.array(bench["baseline"]["predictions"]), predictions, resamples)


def training_cost(report: dict[str, Any]) -> tuple[float, float | None, str | None]:
    """Training seconds and energy (kWh) summed over a run report's passes, and how energy was known."""
    from compress.training.summary import TrainingSummary

    found = (TrainingSummary.from_details(p.get("details", {})) for p in report["passes"])
    summaries = [s for s in found if s is not None]
    kwh = [s.energy["kwh"] for s in summaries if s.energy.get("kwh") is not None]
    methods = {str(s.energy["method"]) for s in summaries if s.energy.get("method")}
    seconds = sum(s.wall_seconds for s in summaries)
    return seconds, (sum(kwh) if kwh else None), "; ".join(sorted(methods)) or None


def study_plot(
    points: Sequence[tuple[str, float, float]], baseline_accuracy: float, path: Path, margin: float = 1.0
) -> None:
    """Each row as (name, batch-1 speedup, accuracy %), against the baseline and its margin line.
    Points carry numbers and a key beside the axes names them: with twenty rows, names written at
    the points cover each other."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (axes, key) = plt.subplots(1, 2, figsize=(12, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    axes.scatter([1.0], [baseline_accuracy], marker="*", s=160, color="black", label="baseline")
    for number, (_, speed, accuracy) in enumerate(points, start=1):
        axes.scatter([speed], [accuracy], s=40)
        axes.annotate(str(number), (speed, accuracy), fontsize=7, xytext=(3, 3), textcoords="offset points")
    axes.axhline(
        baseline_accuracy - margin, color="grey", linestyle=":", linewidth=1, label=f"baseline - {margin:g} point"
    )
    axes.set_xscale("log")
    axes.set_xlabel("batch-1 speedup vs fp32 PyTorch (log scale)")
    axes.set_ylabel("accuracy % (mean over seeds)")
    axes.legend(loc="lower left", fontsize=8)
    key.axis("off")
    lines = [f"{number:>2}  {name[:80]}" for number, (name, _, _) in enumerate(points, start=1)]
    key.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=7, family="monospace", transform=key.transAxes)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def group_change(
    labels: np.ndarray,
    baselines: Sequence[np.ndarray],
    candidates: Sequence[np.ndarray],
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Accuracy change in points of one configuration against another, each averaged over its own
    seeds, with a paired percentile-bootstrap 95% interval over the examples (both sides scored on
    the same resampled examples). With one baseline seed it equals `paired_change`."""
    if not baselines or not candidates:
        raise ValueError("no predictions")
    per_example = np.mean([(labels == c).astype(float) for c in candidates], axis=0) - np.mean(
        [(labels == b).astype(float) for b in baselines], axis=0
    )
    rows = np.random.default_rng(seed).integers(0, len(labels), size=(resamples, len(labels)))
    low, high = np.percentile(100 * per_example[rows].mean(axis=1), [2.5, 97.5])
    return {"value": float(100 * per_example.mean()), "ci_low": float(low), "ci_high": float(high)}
