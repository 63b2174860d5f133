"""Baseline against candidates, in one process, on the same inputs and threads.

The baseline is the input model in fp32 PyTorch. Every candidate is measured beside it:
batch-1 latency and batched throughput in interleaved rounds, size on disk, peak memory in
a child process, and accuracy/macro-F1 with bootstrap intervals on the held-out split.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compress.batching import encode
from compress.cpus import default_threads, torch_threads
from compress.data import Split
from compress.measure.classical import NAME as CLASSICAL
from compress.measure.classical import TextBatches, fit_classical
from compress.measure.environment import environment
from compress.measure.memory import peak_memory
from compress.measure.metrics import non_inferior, paired_change, quality
from compress.measure.settings import BenchmarkConfig
from compress.measure.timing import latency_and_throughput, ratio_summary
from compress.models import dtype_name
from compress.predictors import OnnxPredictor, Predictor, TorchPredictor, predict_logits
from compress.vocab.audit import audit_tokenizer

LATENCY_SAMPLES = 256  # distinct held-out examples cycled through for batch-1 timing
NOISE_MARGIN = 0.03  # a candidate is flagged slower only when it loses by more than this


@dataclass(frozen=True)
class Candidate:
    """A model to measure. `location` is a HF folder (torch) or an .onnx file."""

    name: str
    kind: str  # "torch" | "onnx"
    location: str
    model: Any = None  # an already-loaded torch model, to avoid loading twice
    tokenizer: Any = None  # its own tokenizer; None: the benchmark's default one


def run_benchmark(
    baseline: Candidate,
    candidates: list[Candidate],
    tokenizer: Any,
    evaluation: Split,
    label_names: tuple[str, ...],
    max_length: int,
    settings: BenchmarkConfig,
    log: Callable[[str], None] = print,
    train: Split | None = None,
    seed: int = 42,
) -> dict[str, Any]:
    """Measure `baseline` and `candidates` side by side; with `train` (and `settings.classical_baseline`)
    a character n-gram linear model trained on it is measured as one more row."""
    threads = settings.threads or default_threads()
    with torch_threads(threads):
        return _run(
            baseline, candidates, tokenizer, evaluation, label_names, max_length, settings, log, train, seed, threads
        )


def _run(
    baseline: Candidate,
    candidates: list[Candidate],
    tokenizer: Any,
    evaluation: Split,
    label_names: tuple[str, ...],
    max_length: int,
    settings: BenchmarkConfig,
    log: Callable[[str], None],
    train: Split | None,
    seed: int,
    threads: int,
) -> dict[str, Any]:
    split = evaluation.sample(settings.eval_limit)
    if train is not None and settings.classical_baseline:
        log("benchmark: fitting the classical baseline (character n-gram TF-IDF + linear SVM) on the training split")
        candidates = [*candidates, Candidate(CLASSICAL, "classical", "in memory", fit_classical(train, seed))]
    everyone = [baseline, *candidates]
    predictors = [_predictor(c, threads) for c in everyone]
    pairs = list(zip(everyone, predictors, strict=True))
    tokenizers = {p.name: c.tokenizer or tokenizer for c, p in pairs if c.kind != "classical"}
    encoded: dict[str, Any] = {name: encode(t, split.texts, max_length) for name, t in tokenizers.items()}
    encoded |= {p.name: TextBatches(split.texts) for c, p in pairs if c.kind == "classical"}

    log(f"benchmark: accuracy on {len(split)} examples of '{split.name}'")
    predictions = {p.name: predict_logits(p, encoded[p.name]).argmax(axis=1) for p in predictors}

    latency, throughput, one_batch = latency_and_throughput(
        predictors,
        encoded,
        batch_size=settings.batch_size,
        warmup=settings.warmup,
        min_iterations=settings.min_iterations,
        min_seconds=settings.min_seconds,
        rounds=settings.rounds,
        latency_samples=LATENCY_SAMPLES,
        log=lambda m: log(f"benchmark: {m}, {threads} threads"),
    )

    results = []
    for candidate, predictor in zip(everyone, predictors, strict=False):
        timing, batch_timing = latency[predictor.name], throughput[predictor.name]
        entry: dict[str, Any] = {
            "name": candidate.name,
            "kind": candidate.kind,
            "precision": dtype_name(predictor.model) if isinstance(predictor, TorchPredictor) else None,
            "location": candidate.location,
            "latency_ms": timing.percentiles_ms(),
            "latency_calls": len(timing.calls),
            "throughput": {
                "batch_size": settings.batch_size,
                "samples_per_second": float(np.median(batch_timing.round_throughputs())),
                "batches": len(batch_timing.calls),
            },
            "size_mb": candidate.model.size_mb() if candidate.kind == "classical" else _size_mb(candidate),
            "tokens_per_example": float(encoded[predictor.name].lengths().mean())
            if predictor.name in tokenizers
            else None,
            "tokenizer": audit_tokenizer(tokenizers[predictor.name], split.texts, max_length).to_dict()
            if predictor.name in tokenizers
            else None,
            "quality": quality(split.labels, predictions[predictor.name], len(label_names), settings.bootstrap),
            "agreement_with_baseline": float((predictions[predictor.name] == predictions[baseline.name]).mean()),
            "predictions": predictions[predictor.name].tolist(),  # label ids in split order, for paired comparisons
        }
        if settings.memory and candidate.kind != "classical":
            log(f"benchmark: peak memory of {candidate.name} (child process)")
            entry["memory"] = _memory(candidate, one_batch[predictor.name], threads)
        results.append(entry)

    base, base_latency, base_batch = results[0], latency[baseline.name], throughput[baseline.name]
    for entry, predictor in zip(results[1:], predictors[1:], strict=False):
        speed = base["latency_ms"]["p50"] / entry["latency_ms"]["p50"]
        rounds = ratio_summary(base_latency.round_medians(), latency[predictor.name].round_medians())
        change = paired_change(
            split.labels, predictions[baseline.name], [predictions[predictor.name]], settings.bootstrap
        )
        batch_rounds = ratio_summary(throughput[predictor.name].round_throughputs(), base_batch.round_throughputs())
        entry["vs_baseline"] = {
            "latency_p50_speedup": speed,
            "latency_p50_speedup_rounds": rounds,
            "throughput_speedup": entry["throughput"]["samples_per_second"] / base["throughput"]["samples_per_second"],
            "throughput_speedup_rounds": batch_rounds,
            "size_reduction": base["size_mb"] / entry["size_mb"],
            "accuracy_delta_points": change["value"],
            "accuracy_change": change,
            "non_inferior": non_inferior(change, settings.non_inferiority_margin),
        }
        worst = min(speed, entry["vs_baseline"]["throughput_speedup"])
        entry["slower_than_baseline"] = worst < 1.0 - NOISE_MARGIN
    return {
        "environment": environment(threads),
        "evaluation": {
            "split": split.name,
            "examples": len(split),
            "labels": list(label_names),
            "targets": split.labels.tolist(),
        },  # label ids in split order, beside each model's predictions
        "settings": settings.model_dump(mode="json"),
        "baseline": results[0],
        "candidates": results[1:],
    }


def _predictor(candidate: Candidate, threads: int) -> Predictor:
    if candidate.kind == "classical":
        return candidate.model
    if candidate.kind == "onnx":
        return OnnxPredictor(candidate.name, Path(candidate.location), threads)
    model = candidate.model
    if model is None:
        from compress.loading import load_model

        model = load_model(candidate.location, stored_dtype=True).model
    return TorchPredictor(candidate.name, model)


def _size_mb(candidate: Candidate) -> float:
    """Bytes of weights: the .onnx file (+ external data) or the folder's safetensors."""
    path = Path(candidate.location)
    if candidate.kind == "onnx":
        files = [path, *path.parent.glob(f"{path.name}_data"), *path.parent.glob(f"{path.name}.data")]
    elif path.is_dir():
        files = list(path.glob("*.safetensors"))
    else:
        files = []
    if not files and candidate.model is not None:
        with tempfile.TemporaryDirectory(prefix="compress-size-") as scratch:
            candidate.model.save_pretrained(scratch)
            return sum(f.stat().st_size for f in Path(scratch).glob("*.safetensors")) / 2**20
    return sum(f.stat().st_size for f in files if f.is_file()) / 2**20


def _memory(candidate: Candidate, batch: dict[str, np.ndarray], threads: int) -> dict[str, float] | None:
    try:
        return peak_memory(candidate.kind, candidate.location, batch, threads)
    except (RuntimeError, OSError) as exc:
        return {"error": str(exc)}  # type: ignore[dict-item]
