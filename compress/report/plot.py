"""Speedup against accuracy: the one picture that says whether compression paid."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pareto_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bench = report["benchmark"]
    rows = [(bench["baseline"], 1.0, (1.0, 1.0))] + [
        (c, c["vs_baseline"]["latency_p50_speedup"], _range(c)) for c in bench["candidates"]
    ]
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for entry, speedup, (low, high) in rows:
        acc = entry["quality"]["accuracy"]
        x = 100 * acc["value"]
        xerr = [[x - 100 * acc.get("ci_low", acc["value"])], [100 * acc.get("ci_high", acc["value"]) - x]]
        yerr = [[max(0.0, speedup - low)], [max(0.0, high - speedup)]]
        is_base = entry is bench["baseline"]
        axes.errorbar(
            x, speedup, xerr=xerr, yerr=yerr, fmt="s" if is_base else "o", capsize=3, color="black" if is_base else None
        )
        axes.annotate(entry["name"], (x, speedup), textcoords="offset points", xytext=(6, 6), fontsize=8)
    axes.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel(f"accuracy on {bench['evaluation']['split']} (%), bootstrap 95% CI")
    axes.set_ylabel("batch-1 p50 speedup vs baseline (x), round range")
    axes.set_title(f"{report['recipe']['name']}: speed against accuracy")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _range(candidate: dict[str, Any]) -> tuple[float, float]:
    rounds = candidate["vs_baseline"]["latency_p50_speedup_rounds"]
    return rounds["min"], rounds["max"]
