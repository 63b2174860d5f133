"""github-action-benchmark's `customSmallerIsBetter` entries from a report's benchmark, so a
`compress run` or `compress bench` can feed the same dashboards and alerts as `compress regress`."""

from __future__ import annotations

from typing import Any


def benchmark_entries(bench: dict[str, Any]) -> list[dict[str, Any]]:
    """Per candidate: batch-1 p50, time relative to the baseline, time per example at batch, accuracy drop."""
    base = bench["baseline"]
    entries = []
    for entry in bench["candidates"]:
        vs, name = entry["vs_baseline"], entry["name"]
        change = vs["accuracy_change"]
        entries += [
            {
                "name": f"{name} batch-1 p50 latency",
                "unit": "ms",
                "value": round(entry["latency_ms"]["p50"], 4),
                "extra": f"baseline {base['latency_ms']['p50']:.4f} ms, same process",
            },
            {
                "name": f"{name} latency relative to baseline",
                "unit": "x",
                "value": round(1 / vs["latency_p50_speedup"], 4),
            },
            {
                "name": f"{name} time per example at batch {entry['throughput']['batch_size']}",
                "unit": "ms",
                "value": round(1000 / entry["throughput"]["samples_per_second"], 4),
            },
            {
                "name": f"{name} accuracy drop",
                "unit": "points",
                "value": round(-change["value"], 3),
                "range": f"{-change.get('ci_high', 0):.3f} to {-change.get('ci_low', 0):.3f}",
            },
        ]
    return entries
