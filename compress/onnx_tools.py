"""Checks and optional rewrites shared by the ONNX passes.

`compare_with_torch` proves an ONNX file computes what the PyTorch model computes, on real
held-out text (the selection split's). `optimize_if_faster` applies optimum's transformer
fusions and keeps the result only when it is measurably faster here; otherwise the plain graph
stays. `fuse_transformer_graph` applies onnxruntime's fusions unconditionally, for the quantizer
to work on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from compress.artifact import Artifact
from compress.batching import encode
from compress.cpus import default_threads
from compress.predictors import OnnxPredictor, TorchPredictor, predict_logits

KEEP_IF_FASTER_BY = 0.03  # an optimized graph must be at least 3% faster to replace the plain one


def compare_with_torch(
    artifact: Artifact, path: Path, examples: int, reference_logits: np.ndarray | None = None
) -> dict[str, Any]:
    """Largest absolute logit difference and label agreement on `examples` texts of the selection
    split, drawn with a fixed seed: the check decides what is kept, and the test split only reports."""
    texts = artifact.data.selection.sample(examples).texts
    encoded = encode(artifact.tokenizer, texts, artifact.max_length)
    if reference_logits is None:
        reference_logits = predict_logits(TorchPredictor("torch", artifact.model), encoded)
    onnx_logits = predict_logits(OnnxPredictor("onnx", path, default_threads()), encoded)
    return {
        "examples": len(texts),
        "max_abs_diff": float(np.abs(onnx_logits - reference_logits).max()),
        "label_agreement": float((onnx_logits.argmax(1) == reference_logits.argmax(1)).mean()),
    }


def optimize_if_faster(artifact: Artifact, path: Path, level: str) -> tuple[Path, dict[str, Any]]:
    """Fuse with optimum's ORTOptimizer at `level`; return the faster file and both timings."""
    from optimum.onnxruntime import ORTOptimizer
    from optimum.onnxruntime.configuration import AutoOptimizationConfig

    from compress.measure.timing import measure

    optimizer = ORTOptimizer.from_pretrained(path.parent, file_names=[path.name])
    config = AutoOptimizationConfig.with_optimization_level(level)
    optimizer.optimize(config, save_dir=path.parent, file_suffix=f"{level.lower()}")
    optimized = path.with_name(f"{path.stem}_{level.lower()}.onnx")
    check = compare_with_torch(artifact, optimized, 32)

    encoded = encode(artifact.tokenizer, artifact.data.selection.sample(64).texts, artifact.max_length)
    samples = [encoded.batch([i]) for i in range(len(encoded))]
    threads = default_threads()
    plain, fused = OnnxPredictor("plain", path, threads), OnnxPredictor("optimized", optimized, threads)
    timings = measure([plain, fused], samples, warmup=5, min_iterations=100, min_seconds=2.0, rounds=4)
    p50 = {name: float(np.median(t.calls) * 1000) for name, t in timings.items()}
    keep = p50["optimized"] < p50["plain"] * (1 - KEEP_IF_FASTER_BY) and check["label_agreement"] == 1.0
    details = {
        "level": level,
        "plain_p50_ms": p50["plain"],
        "optimized_p50_ms": p50["optimized"],
        "kept": keep,
        "check": check,
    }
    if not keep:
        optimized.unlink()
        return path, details
    return optimized, details


def fuse_transformer_graph(source: Path, target: Path, model_type: str) -> dict[str, int]:
    """Write `source` with onnxruntime's transformer fusions (Attention, SkipLayerNormalization,
    BiasGelu, EmbedLayerNormalization) to `target`; return how many of each it made. Heads and
    hidden size are read from each layer's graph, so folded layers with fewer heads fuse too."""
    from onnxruntime.transformers.optimizer import optimize_model

    from compress.architectures import architecture

    fused = optimize_model(str(source), model_type=architecture(model_type).onnx_fusion, opt_level=1)
    fused.save_model_to_file(str(target))
    return {op: n for op, n in fused.get_fused_operator_statistics().items() if n}
