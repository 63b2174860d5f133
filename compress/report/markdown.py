"""The human-readable report: one table of baseline against outputs, then how it was made."""

from __future__ import annotations

from typing import Any

from compress.report.per_label import per_label_section
from compress.report.structure import pruning_record, pruning_section


def _ci(metric: dict[str, float]) -> str:
    value = f"{100 * metric['value']:.1f}"
    if "ci_low" in metric:
        return f"{value} [{100 * metric['ci_low']:.1f}, {100 * metric['ci_high']:.1f}]"
    return value


def change(points: dict[str, float]) -> str:
    """A signed change in points, with its interval where there is one."""
    value = f"{points['value']:+.1f}"
    return f"{value} [{points['ci_low']:+.1f}, {points['ci_high']:+.1f}]" if "ci_low" in points else value


def _ratio(vs: dict[str, Any] | None, key: str) -> str:
    if vs is None:
        return "1.00x"
    rounds = vs.get(f"{key}_rounds")
    spread = f" ({rounds['min']:.2f}-{rounds['max']:.2f})" if rounds else ""
    return f"{vs[key]:.2f}x{spread}"


def results_table(bench: dict[str, Any]) -> str:
    header = (
        "| model | accuracy % [95% CI] | change, points [paired 95% CI] | macro-F1 % [95% CI] | agrees with "
        "baseline | tokens/example | p50 ms | p90 ms | p95 ms | p99 ms "
        "| batch-1 speedup (round range) | throughput/s @b{b} | throughput speedup (round range) | size MB | "
        "smaller | peak MB (model) |"
    ).format(b=bench["settings"]["batch_size"])
    columns = header.count("|") - 1
    lines = [header, "|" + "---|" * columns]
    for entry in [bench["baseline"], *bench["candidates"]]:
        vs = entry.get("vs_baseline")
        latency, memory = entry["latency_ms"], entry.get("memory") or {}
        name = entry["name"] + (" ⚠ slower than baseline" if entry.get("slower_than_baseline") else "")
        peak = f"{memory['peak_mb']:.0f} ({memory['model_mb']:.0f})" if "peak_mb" in memory else "n/a"
        lines.append(
            f"| {name} | {_ci(entry['quality']['accuracy'])} | {change(vs['accuracy_change']) if vs else '-'} "
            f"| {_ci(entry['quality']['macro_f1'])} "
            f"| {100 * entry['agreement_with_baseline']:.1f}% | {_tokens(entry)} | {latency['p50']:.2f} | "
            f"{latency['p90']:.2f} "
            f"| {latency['p95']:.2f} | {latency['p99']:.2f} | {_ratio(vs, 'latency_p50_speedup')} "
            f"| {entry['throughput']['samples_per_second']:.1f} | {_ratio(vs, 'throughput_speedup')} "
            f"| {entry['size_mb']:.1f} | {(vs['size_reduction'] if vs else 1.0):.2f}x | {peak} |"
        )
    return "\n".join(lines)


def _tokens(entry: dict[str, Any]) -> str:
    return "n/a" if entry.get("tokens_per_example") is None else f"{entry['tokens_per_example']:.1f}"


def classical_note(bench: dict[str, Any]) -> str:
    """Say plainly which transformer rows do not beat the classical baseline on accuracy."""
    rows = [bench["baseline"], *bench["candidates"]]
    classical = next((r for r in rows if r.get("kind") == "classical"), None)
    if classical is None:
        return ""
    level = classical["quality"]["accuracy"]["value"]
    behind = [r["name"] for r in rows if r.get("kind") != "classical" and r["quality"]["accuracy"]["value"] <= level]
    if not behind:
        return f"Every transformer row beats the classical baseline ({100 * level:.1f}%) on accuracy."
    return (
        f"**Not better than the classical baseline** ({100 * level:.1f}%, a character n-gram linear model trained "
        f"in seconds on the same split): {', '.join(behind)}."
    )


def non_inferiority_note(bench: dict[str, Any]) -> str:
    """Which rows are shown as accurate as the baseline, by the paired interval, not the point estimate."""
    margin = bench["settings"].get("non_inferiority_margin")
    rows = [c for c in bench["candidates"] if "non_inferior" in (c.get("vs_baseline") or {})]
    if margin is None or not rows:
        return ""
    shown = [c["name"] for c in rows if c["vs_baseline"]["non_inferior"]]
    not_shown = [c["name"] for c in rows if not c["vs_baseline"]["non_inferior"]]
    return (
        f"Non-inferior to the baseline at {margin:g} point (the paired 95% interval of the accuracy change stays "
        f"above -{margin:g}): {', '.join(shown) or 'none'}. Not shown non-inferior: {', '.join(not_shown) or 'none'}. "
        f"On {bench['evaluation']['examples']} examples a change can only be resolved to about the width of "
        "its interval."
    )


def tokenizer_table(bench: dict[str, Any]) -> str:
    """The tokenizer audit per model on the report split: what each tokenizer loses and how long it makes examples."""
    lines = [
        "| model | characters lost | of which by normalization | [UNK] | tokens/example (p95) | truncated | "
        "vocabulary used |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in [bench["baseline"], *bench["candidates"]]:
        audit = entry.get("tokenizer")
        if not audit:
            continue
        away = audit["characters_normalized_away"] / max(1, audit["characters"])
        lines.append(
            f"| {entry['name']} | {100 * audit['lost_share']:.1f}% | {100 * away:.1f}% | "
            f"{100 * audit['unk_share']:.2f}% "
            f"| {audit['tokens_per_example_mean']:.1f} ({audit['tokens_per_example_p95']:.0f}) "
            f"| {100 * audit['truncated_share']:.1f}% | {audit['vocabulary_used']}/{audit['vocabulary_size']} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def _encoding(inputs: dict[str, Any]) -> str:
    """A clause on the mojibake in the training split, where there was any (older reports have no record)."""
    encoding = inputs.get("encoding") or {}
    found = (encoding.get("train") or {}).get("mis_decoded", 0)
    if not found:
        return ""
    if encoding.get("repaired"):
        return "; mis-decoded texts (mojibake) repaired: " + ", ".join(
            f"{name} {n}" for name, n in encoding["repaired"].items()
        )
    return f"; **{found} training texts are mojibake (UTF-8 mis-read as a legacy code page), not repaired**"


def render(report: dict[str, Any]) -> str:
    bench, recipe, env = report["benchmark"], report["recipe"], report["benchmark"]["environment"]
    evaluation = bench["evaluation"]
    parts = [
        f"# compress report: {recipe['name']}",
        "",
        f"- model: `{report['inputs']['model']}`; data: `{report['inputs']['data']}`{_encoding(report['inputs'])}",
        f"- accuracy measured on split `{evaluation['split']}` ({evaluation['examples']} examples, "
        f"{len(evaluation['labels'])} labels)",
        f"- baseline: the input model in PyTorch fp32, measured in this process on the same inputs and "
        f"{env['threads']} threads; rounds interleaved ({bench['settings']['rounds']})",
        f"- finished {report['finished']}; total wall time {report['seconds']:.0f} s",
        "",
        "## Results",
        "",
        results_table(bench),
        "",
        "Latency is per call at batch 1 over real held-out examples (unpadded); throughput pads each "
        "batch to its longest example. Speedups are baseline/candidate from the same run; the range is "
        "across rounds. Peak memory comes from a fresh process per model (load + one batch); in brackets "
        "what the model adds to the interpreter and libraries.",
        "",
    ]
    slower = [c["name"] for c in bench["candidates"] if c.get("slower_than_baseline") and c.get("kind") != "classical"]
    if slower:
        parts += [f"**Warning:** slower than the baseline: {', '.join(slower)}.", ""]
    note = classical_note(bench)
    if note:
        parts += [note, ""]
    verdicts = non_inferiority_note(bench)
    if verdicts:
        parts += [verdicts, ""]
    labels = per_label_section(bench)
    if labels:
        parts += ["## Recall per label", "", labels, ""]
    tokenizers = tokenizer_table(bench)
    if tokenizers:
        parts += [
            "## Tokenizers",
            "",
            tokenizers,
            "",
            "Characters lost: characters of the text (NFC, case-folded, spaces aside) that do not come back from "
            "the tokens: deleted by the tokenizer's normalization, or inside an [UNK].",
            "",
        ]
    parts += ["![speedup against accuracy](pareto.png)", "", "## Passes", ""]
    for record in report["passes"]:
        parts.append(f"- **{record['name']}** ({record['seconds']:.1f} s): {_summary(record['details'])}")
    pruning = pruning_record(report["passes"])
    if pruning:
        parts += ["", "## Pruning", "", pruning_section(pruning)]
    training = training_table(report["passes"])
    if training:
        parts += ["", "## Training cost", "", training]
    parts += [
        "",
        "## Environment",
        "",
        f"- CPU: {env['cpu']} ({env['logical_cpus']} logical CPUs; int8 instructions: "
        f"{', '.join(env['int8_instructions']) or 'none'})",
        f"- Python {env['python']} on {env['platform']}; compress {env['compress']} "
        f"({env['commit'] or 'not a git checkout'})",
        "- " + ", ".join(f"{k} {v}" for k, v in env["libraries"].items() if v),
        "",
    ]
    return "\n".join(parts)


def training_table(passes: list[dict[str, Any]]) -> str:
    """One row per training pass: time, throughput, memory, energy (with how it was measured)."""
    from compress.training.summary import TrainingSummary

    rows = [(p, s) for p in passes if (s := TrainingSummary.from_details(p["details"])) is not None]
    if not rows:
        return ""
    lines = [
        "| pass | precision | processes | wall s | samples/s | peak MB | energy kWh | CO2 kg | trainable "
        "params | energy method |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for record, summary in rows:
        details, cost, energy = record["details"], summary.cost, summary.energy
        lines.append(
            f"| {record['name']} | {summary.precision['used']} | {summary.processes} | {summary.wall_seconds:.0f} "
            f"| {cost['samples_per_second'] or 0:.1f} | {_fmt(cost['peak_memory_mb'])} | "
            f"{_fmt(energy.get('kwh', 'n/a'))} "
            f"| {_fmt(energy.get('co2_kg', 'n/a'))} | "
            f"{_count(details.get('trainable_parameters', details.get('student_parameters')))} "
            f"| {energy.get('method', 'n/a')} |"
        )
    notes = [s.precision["note"] for _, s in rows if s.precision.get("note")]
    return "\n".join(lines + [f"\nNote: {n}" for n in notes])


def _summary(details: dict[str, Any]) -> str:
    shown = []
    for key, value in details.items():
        if isinstance(value, list):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={_fmt(v)}" for k, v in value.items() if not isinstance(v, (dict, list)))
            shown.append(f"{key}: {value}")
        else:
            shown.append(f"{key}={_fmt(value)}")
    return "; ".join(shown)


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 else f"{value:.4g}"
    return str(value)
