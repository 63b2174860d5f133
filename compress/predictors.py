"""Uniform `inputs -> logits` callables over PyTorch models and ONNX Runtime sessions.

Evaluation and benchmarking call models only through these, so every backend is fed
the same numpy arrays and measured the same way.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from compress.batching import Encoded, length_groups


class Predictor(Protocol):
    name: str

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray: ...


class TorchPredictor:
    """A PyTorch classifier in eval mode under inference_mode."""

    def __init__(self, name: str, model: Any) -> None:
        import torch

        self.name = name
        self.model = model.eval()
        self._torch = torch
        self._accepts = set(inspect.signature(model.forward).parameters)

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        device = next(self.model.parameters()).device
        feed = {k: torch.from_numpy(v).to(device) for k, v in inputs.items() if k in self._accepts}
        with torch.inference_mode():
            return self.model(**feed).logits.float().cpu().numpy()


class OnnxPredictor:
    """An ONNX Runtime CPU session with a fixed thread count; feeds only the inputs the graph takes."""

    def __init__(self, name: str, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.name = name
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: inputs[k] for k in self._inputs}
        return self.session.run(None, feed)[0]


EVALUATION_BATCH = 64  # examples per call when scoring a split; predict and load use it too, see below


def predict_logits(
    predictor: Predictor, encoded: Encoded, batch_size: int = EVALUATION_BATCH, max_padding: float | None = None
) -> np.ndarray:
    """Logits for every example, in order; batches sorted by length to waste little padding, and
    with `max_padding` also cut wherever padding would pass that share (see `length_groups`).

    Dynamic int8 graphs compute activation ranges per call, so a near-tie can go either way with
    another batching; scoring everything with the same batch size and order keeps `compress
    predict`'s labels equal to the report's."""
    lengths = encoded.lengths()
    runs = [np.argsort(lengths, kind="stable")] if max_padding is None else length_groups(lengths, max_padding)
    out: np.ndarray | None = None
    for rows in (run[start : start + batch_size] for run in runs for start in range(0, len(run), batch_size)):
        logits = predictor(encoded.batch(rows))
        if out is None:
            out = np.empty((len(encoded), logits.shape[1]), dtype=np.float32)
        out[rows] = logits
    assert out is not None, "no examples to predict"
    return out
