"""What a report leaves on disk: the one place `run` and `bench` write their reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress.outputs import write_json


def write_report(folder: Path, report: dict[str, Any]) -> None:
    """report.json, report.md and the plots of one run or bench, side by side in its output folder."""
    from compress.report.markdown import render
    from compress.report.plot import pareto_plot
    from compress.report.structure import pruning_record, structure_plot

    write_json(folder / "report.json", report)
    pareto_plot(report, folder / "pareto.png")
    pruning = pruning_record(report.get("passes", []))
    if pruning:
        structure_plot(pruning, folder / "structure.png")
    (folder / "report.md").write_text(render(report), encoding="utf-8")
