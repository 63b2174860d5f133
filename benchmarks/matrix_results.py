"""RESULTS.md and the plot of `reproduce.py`'s matrix: one line per row, seeds aggregated, verdicts
against the teacher at margin δ, and the figures the issue's targets are read from."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from compress.measure.metrics import non_inferior
from compress.report.markdown import change
from compress.report.study import mean_spread, seed_change, study_plot, training_cost


@dataclass(frozen=True)
class Row:
    """One line of the table: a configuration's output, once per seed (or once if untrained)."""

    name: str
    outputs: list[Path]
    trained: bool
    runs: list[Path] = field(default_factory=list)  # what trained each output, where it is not its own folder

    def folders(self) -> list[Path]:
        """The run that trained each output (its report has the dev accuracy and training cost)."""
        return self.runs or [_folder(output) for output in self.outputs]

    def reports(self) -> list[dict[str, Any]]:
        return [json.loads((folder / "report.json").read_text(encoding="utf-8")) for folder in self.folders()]


HEADER = (
    "| configuration | seeds | dev % (selects) | accuracy % | macro-F1 % | change, points [paired 95% CI] "
    "| non-inferior at δ | tokens/ex | batch-1 p50 ms | batch-1 speedup | batch-32/s | batch-32 speedup | MB | smaller "
    "| train s | energy kWh (estimate) |"
)


def write_results(
    bench: dict[str, Any], rows: list[Row], args: argparse.Namespace, notes: list[str], stem: str = "RESULTS"
) -> None:
    """OUT/{stem}.md and its plot OUT/{stem lowercased}.png."""
    by_location = {str(Path(c["location"]).resolve()): c for c in bench["candidates"] if c.get("location")}
    base = bench["baseline"]
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    lines.append(
        f"| baseline: the teacher, PyTorch fp32 | - | - | {_interval(base['quality']['accuracy'])} | "
        f"{100 * base['quality']['macro_f1']['value']:.1f} | - | - | {base['tokens_per_example']:.1f} | "
        f"{base['latency_ms']['p50']:.2f} | 1.00x | {base['throughput']['samples_per_second']:.0f} | 1.00x | "
        f"{base['size_mb']:.1f} | 1.00x | - | - |"
    )
    points, verdicts, run_seconds = [], [], {}  # training seconds per run folder, each counted once
    for row in rows:
        entries = [by_location[str(path.resolve())] for path in row.outputs]
        costs = [training_cost(report) for report in row.reports()] if row.trained else []
        run_seconds |= {folder: cost[0] for folder, cost in zip(row.folders(), costs, strict=False)}
        line, verdict = _line(row, entries, costs, bench, args.margin)
        lines.append(line)
        verdicts.append(verdict)
        points.append((row.name, mean(e["vs_baseline"]["latency_p50_speedup"] for e in entries), verdict["accuracy"]))
    for classical in (c for c in bench["candidates"] if c.get("kind") == "classical"):
        line, _ = _line(Row(classical["name"], [], False), [classical], [], bench, args.margin)
        lines.append(line)
    environment = bench["environment"]
    baseline_accuracy = 100 * base["quality"]["accuracy"]["value"]
    text = [
        "# Reproduction: the MahaNews matrix around the Marathi teacher, on the test split",
        "",
        "Command: `" + _command() + "`",
        "",
        *notes,
        f"Training: {sum(run_seconds.values()) * args.cpus_per_run / 3600:.2f} CPU-hours "
        "(each run's training seconds × its CPUs).",
        "",
        f"Environment: {environment.get('cpu')}, {environment.get('threads')} threads, int8 instructions "
        f"{environment.get('int8_instructions', 'n/a')}, Python {environment.get('python')}, compress commit "
        f"{environment.get('commit')}; libraries {json.dumps(environment.get('libraries'))}.",
        "",
        f"Accuracy on '{bench['evaluation']['split']}' ({bench['evaluation']['examples']} examples); each training "
        "pass kept its best epoch on dev. Every row was measured in one process with the baseline, each model "
        "through its own tokenizer, batch-1 latency in interleaved rounds. Trained rows: mean ± population standard "
        "deviation over seeds (as many as the seeds column says, taken in order from "
        + ", ".join(map(str, args.seeds[:1] if args.quick else args.seeds))
        + "; a single run shows its bootstrap 95% interval). Dev: the selection-split accuracy of each run's last "
        "training pass, which chose its epoch (for a + int8 or + bf16 weights row, of the model before). "
        "The change is the seed-averaged accuracy minus the "
        "teacher's on the same examples, with a paired bootstrap 95% interval over examples (it covers the choice "
        f"of examples, not of seeds). Non-inferior at δ = {args.margin:g}: that interval's lower end is at least "
        f"-{args.margin:g}. Energy is codecarbon's estimate where no hardware counter exists.",
        "",
        *lines,
        "",
        *_summary(verdicts, args.margin),
    ]
    (args.out / f"{stem}.md").write_text("\n".join(text) + "\n", encoding="utf-8")
    study_plot(points, baseline_accuracy, args.out / f"{stem.lower()}.png", margin=args.margin)
    print("\n".join(text))


def _line(row: Row, entries: list[dict], costs: list[tuple], bench: dict, margin: float) -> tuple[str, dict[str, Any]]:
    accuracy = [100 * e["quality"]["accuracy"]["value"] for e in entries]
    found = seed_change(bench, entries)
    verdict = {
        "name": row.name,
        "accuracy": mean(accuracy),
        "change": found,
        "non_inferior": found is not None and non_inferior(found, margin),
        "batch1": mean(e["vs_baseline"]["latency_p50_speedup"] for e in entries),
        "batch32": mean(e["vs_baseline"]["throughput_speedup"] for e in entries),
    }
    shown = _interval(entries[0]["quality"]["accuracy"]) if len(entries) == 1 else mean_spread(accuracy)
    tokens = [e.get("tokens_per_example") for e in entries]
    kwh = [c[1] for c in costs if c[1] is not None]
    cells = [
        row.name,
        str(len(entries)) if row.trained else "-",
        mean_spread([_dev_accuracy(report) for report in row.reports()]) if row.trained else "-",
        shown,
        mean_spread([100 * e["quality"]["macro_f1"]["value"] for e in entries]),
        change(found) if found is not None else "n/a",
        "yes" if verdict["non_inferior"] else "no",
        mean_spread(tokens, ".1f") if None not in tokens else "-",
        mean_spread([e["latency_ms"]["p50"] for e in entries], ".2f"),
        f"{mean_spread([e['vs_baseline']['latency_p50_speedup'] for e in entries], '.2f')}x",
        mean_spread([e["throughput"]["samples_per_second"] for e in entries], ".0f"),
        f"{mean_spread([e['vs_baseline']['throughput_speedup'] for e in entries], '.2f')}x",
        mean_spread([e["size_mb"] for e in entries], ".1f"),
        f"{mean(e['vs_baseline']['size_reduction'] for e in entries):.2f}x",
        mean_spread([c[0] for c in costs], ".0f") if costs else "-",
        mean_spread(kwh, ".5f") if kwh else "-",
    ]
    return "| " + " | ".join(cells) + " |", verdict


def _summary(verdicts: list[dict[str, Any]], margin: float) -> list[str]:
    """The figures the targets are read from: the published configuration and the best rows."""
    lines = ["## Read from the table", ""]
    for verdict in verdicts:
        if verdict["name"].startswith("prune 25% + KD") and verdict["change"] is not None:
            lines.append(
                f"- {verdict['name']}: mean change {change(verdict['change'])}; non-inferior at {margin:g}: "
                f"{'yes' if verdict['non_inferior'] else 'no'}."
            )
    fine = [v for v in verdicts if v["non_inferior"]]
    for key, label in (("batch1", "batch-1 p50"), ("batch32", "batch-32 throughput")):
        if fine:
            best = max(fine, key=lambda v: v[key])
            lines.append(
                f"- Fastest non-inferior row at {label}: {best['name']}, {best[key]:.2f}x "
                f"(batch-1 {best['batch1']:.2f}x, batch-32 {best['batch32']:.2f}x)."
            )
    return lines


def _dev_accuracy(report: dict[str, Any]) -> float:
    """The selection-split accuracy (%) of a run's last training pass: what chose its epoch."""
    found = [p["details"]["selection_accuracy"] for p in report["passes"] if "selection_accuracy" in p["details"]]
    return 100 * found[-1]


def _folder(output: Path) -> Path:
    """The run folder of an output: RUN/model or RUN/onnx/FILE."""
    return output.parent if output.name == "model" else output.parent.parent


def _interval(accuracy: dict) -> str:
    return f"{100 * accuracy['value']:.1f} [{100 * accuracy['ci_low']:.1f}, {100 * accuracy['ci_high']:.1f}]"


def _command() -> str:
    """The invocation as typed: rebuilt from parsed options, it dropped every option added later."""
    return shlex.join(["python", "benchmarks/reproduce.py", *sys.argv[1:]])
