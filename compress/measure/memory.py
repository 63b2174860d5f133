"""Peak memory of loading a model and running one batch, measured in a fresh process.

Inside one long-lived process, peak RSS only ever grows and allocators keep freed pages,
so per-model figures there would be meaningless. Each probe is a child process; it
reports its peak RSS and the floor (interpreter and libraries, before the model loads),
and the difference is what the model costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would inherit its parent's peak."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory(kind: str, location: str, inputs: dict[str, np.ndarray], threads: int) -> dict[str, float]:
    """Run the probe in a child process; return {'peak_mb', 'floor_mb', 'model_mb'}."""
    with tempfile.TemporaryDirectory(prefix="compress-mem-") as scratch:
        batch = Path(scratch) / "batch.npz"
        np.savez(batch, **inputs)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
        command = [sys.executable, "-m", "compress.measure.memory", kind, location, str(batch), str(threads)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"memory probe failed for {location}: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _probe(kind: str, location: str, batch_file: str, threads: int) -> dict[str, float]:
    inputs = dict(np.load(batch_file))
    if kind == "torch":
        import torch
        import transformers  # noqa: F401  (count the library in the floor, not in the model)

        from compress.loading import load_model
        from compress.predictors import TorchPredictor

        torch.set_num_threads(threads)
        floor = _rss_mb()
        predictor: Any = TorchPredictor("probe", load_model(location, allow_new_head=True, stored_dtype=True).model)
    else:
        import onnxruntime  # noqa: F401  (count the library in the floor, not in the model)

        from compress.predictors import OnnxPredictor

        floor = _rss_mb()
        predictor = OnnxPredictor("probe", Path(location), threads)
    predictor(inputs)
    peak = _peak_mb()
    return {"peak_mb": round(peak, 1), "floor_mb": round(floor, 1), "model_mb": round(peak - floor, 1)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["torch", "onnx"])
    parser.add_argument("location")
    parser.add_argument("batch")
    parser.add_argument("threads", type=int)
    args = parser.parse_args()
    print(json.dumps(_probe(args.kind, args.location, args.batch, args.threads)))
