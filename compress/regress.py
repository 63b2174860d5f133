"""`compress regress`: a CI gate that fails when a model got slower or less accurate.

Baseline and candidate are measured in the same process, on the same inputs and threads, in
interleaved rounds (`bench.timing.measure`), so a busy or throttled CI machine slows both alike.
The verdict uses the median of the per-round latency ratios (robust to a noisy round), and every
round runs at least `min_seconds / rounds` seconds. Thresholds are ratios, never absolute times:
an absolute millisecond budget would fail on a slower runner for no fault of the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compress.errors import CompressError


class Thresholds(BaseModel):
    """What the candidate must reach against the baseline; unset checks are skipped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_speedup: float | None = Field(
        None, gt=0, description="batch-1 p50: baseline / candidate (0.8 = at most 25% slower)"
    )
    min_throughput_speedup: float | None = Field(None, gt=0, description="batched samples/s: candidate / baseline")
    max_accuracy_drop: float | None = Field(
        None, ge=0, description="non-inferiority margin in points: the paired 95% interval's lower end must reach -this"
    )


class GateSettings(BaseModel):
    """How long and how often to measure; defaults favour a stable verdict over a fast one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(7, ge=3)
    min_seconds: float = Field(6.0, ge=0)
    min_iterations: int = Field(140, ge=1)
    warmup: int = Field(10, ge=0)
    batch_size: int = Field(32, ge=1)
    threads: int | None = Field(None, ge=1)
    eval_limit: int | None = Field(None, ge=1, description="evaluate on N held-out examples drawn at random (seeded)")
    max_round_spread: float | None = Field(
        None, gt=1, description="if set, fail as unreliable when per-round speed ratios differ more than this factor"
    )


def load_thresholds(path: Path | None, overrides: dict[str, float | None]) -> Thresholds:
    """Thresholds from a small YAML file, then flags on top; at least one check must be set."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CompressError(f"{path}: cannot read thresholds: {exc}") from None
        if not isinstance(loaded, dict):
            raise CompressError(f"{path}: expected a mapping like 'min_speedup: 0.8'")
        values.update(loaded)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        thresholds = Thresholds(**values)
    except ValidationError as exc:
        raise CompressError(
            "thresholds: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    if not thresholds.model_dump(exclude_none=True):
        raise CompressError(
            "no thresholds: give --min-speedup, --min-throughput-speedup, --max-accuracy-drop or --thresholds FILE"
        )
    return thresholds


@dataclass
class Check:
    name: str
    measured: float
    limit: float
    passed: bool
    spread: tuple[float, float] | None = None  # min and max over rounds, where there are rounds
    upper_bound: bool = False  # the limit is a maximum (a drop, a spread), not a minimum
    advice: str | None = None  # printed when the check fails


@dataclass
class Verdict:
    baseline: dict[str, Any]
    candidate: dict[str, Any]
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def compare(
    baseline: Any,
    candidate: Any,
    encoded: Any,
    labels: np.ndarray,
    thresholds: Thresholds,
    settings: GateSettings,
    log: Callable[[str], None] = print,
) -> Verdict:
    """Measure two predictors (callables on padded numpy batches) side by side and judge them.
    `encoded` is one `Encoded` for both, or one per predictor name (each model its own tokenizer)."""
    from compress.measure.metrics import accuracy, non_inferior, paired_change
    from compress.measure.timing import latency_and_throughput, ratio_summary
    from compress.predictors import predict_logits

    pair = [baseline, candidate]
    own = encoded if isinstance(encoded, dict) else {p.name: encoded for p in pair}
    predictions = {p.name: predict_logits(p, own[p.name]).argmax(axis=1) for p in pair}
    acc = {name: 100 * accuracy(labels, predicted) for name, predicted in predictions.items()}
    latency, throughput, _ = latency_and_throughput(
        pair,
        own,
        batch_size=settings.batch_size,
        warmup=settings.warmup,
        min_iterations=settings.min_iterations,
        min_seconds=settings.min_seconds,
        rounds=settings.rounds,
        log=lambda m: log(f"regress: {m}"),
    )

    def describe(p: Any) -> dict[str, Any]:
        return {
            "name": p.name,
            "accuracy": acc[p.name],
            "latency_ms": latency[p.name].percentiles_ms(),
            "samples_per_second": float(np.median(throughput[p.name].round_throughputs())),
        }

    verdict = Verdict(describe(baseline), describe(candidate))
    speed = ratio_summary(latency[baseline.name].round_medians(), latency[candidate.name].round_medians())
    batch = ratio_summary(throughput[candidate.name].round_throughputs(), throughput[baseline.name].round_throughputs())
    change = paired_change(labels, predictions[baseline.name], [predictions[candidate.name]])
    verdict.candidate |= {"speedup": speed, "throughput_speedup": batch, "accuracy_change": change}
    if thresholds.min_speedup is not None:
        verdict.checks.append(
            Check(
                "batch-1 speedup",
                speed["median"],
                thresholds.min_speedup,
                speed["median"] >= thresholds.min_speedup,
                (speed["min"], speed["max"]),
            )
        )
    if thresholds.min_throughput_speedup is not None:
        verdict.checks.append(
            Check(
                "throughput speedup",
                batch["median"],
                thresholds.min_throughput_speedup,
                batch["median"] >= thresholds.min_throughput_speedup,
                (batch["min"], batch["max"]),
            )
        )
    if verdict.checks and settings.max_round_spread is not None:
        verdict.checks.append(_round_agreement(verdict.checks, settings.max_round_spread))
    if thresholds.max_accuracy_drop is not None:
        margin = thresholds.max_accuracy_drop
        lower = change.get("ci_low", change["value"])
        verdict.checks.append(
            Check(
                "accuracy change, 95% low",
                lower,
                -margin,
                non_inferior(change, margin),
                advice=f"not shown non-inferior at {margin:g} points: the paired 95% interval of the "
                f"accuracy change reaches {lower:+.2f}; more held-out examples narrow it",
            )
        )
    return verdict


def _round_agreement(speed_checks: list[Check], limit: float) -> Check:
    """Fail when rounds disagree wildly (largest/smallest ratio above `limit`). Opt-in: the median
    already discounts a minority of disturbed rounds, and on a shared CI runner a stall of a few
    rounds is common (a 5x spread was seen there with a verdict the median got right). Set it
    where a disturbed measurement should fail loudly rather than rest on the undisturbed rounds."""
    spread = max(hi / lo for lo, hi in (c.spread for c in speed_checks if c.spread))
    return Check(
        "round spread (max/min)",
        spread,
        limit,
        spread <= limit,
        upper_bound=True,
        advice="rounds disagree: the machine was busy or throttling; rerun alone, or raise --min-seconds",
    )


def table(verdict: Verdict) -> str:
    from compress.report.markdown import change

    lines = [
        f"{'check':<24} {'measured':>10} {'limit':>10} {'rounds (min-max)':>18}  result",
    ]
    for check in verdict.checks:
        bound = "<=" if check.upper_bound else ">="
        spread = f"{check.spread[0]:.3f}-{check.spread[1]:.3f}" if check.spread else ""
        lines.append(
            f"{check.name:<24} {check.measured:>10.3f} {bound + format(check.limit, '.3f'):>10} "
            f"{spread:>18}  {'pass' if check.passed else 'FAIL'}"
        )
    b, c = verdict.baseline, verdict.candidate
    lines.append(
        f"baseline  {b['name']}: p50 {b['latency_ms']['p50']:.2f} ms, {b['samples_per_second']:.1f}/s, "
        f"accuracy {b['accuracy']:.1f}"
    )
    lines.append(
        f"candidate {c['name']}: p50 {c['latency_ms']['p50']:.2f} ms, {c['samples_per_second']:.1f}/s, "
        f"accuracy {c['accuracy']:.1f} (change {change(c['accuracy_change'])}, paired 95% CI)"
    )
    lines += [check.advice for check in verdict.checks if check.advice and not check.passed]
    lines.append("verdict: " + ("pass" if verdict.passed else "REGRESSION"))
    return "\n".join(lines)


def benchmark_json(verdict: Verdict) -> list[dict[str, Any]]:
    """github-action-benchmark's `customSmallerIsBetter` entries: every value is better when lower."""
    c, b = verdict.candidate, verdict.baseline
    slowdown = 1 / c["speedup"]["median"]
    return [
        {
            "name": f"{c['name']} batch-1 p50 latency",
            "unit": "ms",
            "value": round(c["latency_ms"]["p50"], 4),
            "extra": f"baseline {b['latency_ms']['p50']:.4f} ms, same process",
        },
        {
            "name": f"{c['name']} latency relative to baseline",
            "unit": "x",
            "value": round(slowdown, 4),
            "range": f"{1 / c['speedup']['max']:.4f}-{1 / c['speedup']['min']:.4f}",
            "extra": "median over interleaved rounds of candidate/baseline batch-1 time",
        },
        {
            "name": f"{c['name']} time per sample at batch",
            "unit": "ms",
            "value": round(1000 / c["samples_per_second"], 4),
        },
        {"name": f"{c['name']} accuracy drop", "unit": "points", "value": round(b["accuracy"] - c["accuracy"], 3)},
    ]


def write_benchmark_json(path: Path, verdict: Verdict) -> None:
    from compress.outputs import write_json

    write_json(path, benchmark_json(verdict))


def run_gate(
    baseline_ref: str,
    candidate_ref: str,
    data_ref: str,
    thresholds: Thresholds,
    settings: GateSettings,
    max_length: int = 128,
    log: Callable[[str], None] = print,
    wrap_candidate: Callable[[Any], Any] | None = None,
    trust_remote_code: bool = False,
    repair_encoding: bool = False,
) -> Verdict:
    """Load both models (the one loader: safetensors only, ONNX graphs checked against the labels
    before any timing) and the held-out split, then `compare`. `wrap_candidate` is for tests
    that slow a candidate down on purpose."""
    from compress.batching import encode
    from compress.cpus import default_threads, torch_threads
    from compress.data import load_task_data
    from compress.loading import load_model
    from compress.text_encoding import checked_encoding

    data, _ = checked_encoding(load_task_data(data_ref), repair_encoding, log)
    baseline_model = load_model(
        baseline_ref, data.label_map.names, stored_dtype=True, trust_remote_code=trust_remote_code
    )
    candidate_model = load_model(
        candidate_ref, data.label_map.names, stored_dtype=True, trust_remote_code=trust_remote_code
    )
    if candidate_model.label_order != baseline_model.label_order:
        raise CompressError(f"regress: {candidate_ref} orders its labels differently from {baseline_ref}")
    split = data.with_label_order(baseline_model.label_order).evaluation.sample(settings.eval_limit)
    threads = settings.threads or default_threads()
    with torch_threads(threads):
        baseline = baseline_model.predictor(threads)
        candidate = candidate_model.predictor(threads)
        if candidate.name == baseline.name:
            candidate.name += " (candidate)"
        if wrap_candidate:
            candidate = wrap_candidate(candidate)
        log(
            f"regress: {candidate.name} against {baseline.name} on {len(split)} examples of '{split.name}', "
            f"{threads} threads"
        )
        encoded = {
            baseline.name: encode(baseline_model.tokenizer, split.texts, max_length),
            candidate.name: encode(candidate_model.tokenizer, split.texts, max_length),
        }
        return compare(baseline, candidate, encoded, split.labels, thresholds, settings, log)
