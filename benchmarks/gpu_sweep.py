"""Hyper-parameter sweep: many short `compress run` jobs in parallel (no benchmark), scored by
dev accuracy. Made for a GPU machine, where the loop trains on CUDA; timings are not measured.

    python benchmarks/gpu_sweep.py JOBS.json RESULTS.json WORKERS

with the teacher in .carry/teacher, the base model in .carry/base and the data in .carry/data
(how the sweeps in benchmarks/sweeps/ ran on a lent H100; see benchmarks/TRAINING_RESULTS.md).
A job is {"name", "recipe", "seed", "set": [overrides], "model": "BASE" | folder (default teacher)}.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = str(REPO / ".carry/data")
TEACHER = str(REPO / ".carry/teacher")
BASE = str(REPO / ".carry/base")


def evaluate(folder: str) -> dict:

    from compress.batching import encode
    from compress.data import load_task_data
    from compress.loading import load_model
    from compress.models import resolve_model
    from compress.predictors import TorchPredictor, predict_logits

    data = load_task_data(DATA)
    loaded = load_model(resolve_model(folder), data.label_map.names, allow_new_head=False)
    data = data.with_label_order(loaded.label_order)
    encoded = encode(loaded.tokenizer, data.evaluation.texts, 128)
    logits = predict_logits(TorchPredictor("m", loaded.model), encoded)
    acc = float((logits.argmax(1) == data.evaluation.labels).mean())
    return {"dev_accuracy": round(100 * acc, 2)}


def run(job: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [
            sys.executable,
            "-m",
            "compress",
            "run",
            str(REPO / job["recipe"]),
            "--model",
            {"BASE": BASE}.get(job.get("model"), job.get("model", TEACHER)),
            "--data",
            DATA,
            "--out",
            str(out),
            "--set",
            "benchmark.enabled=false",
            "--set",
            f"seed={job['seed']}",
        ]
        for item in job.get("set", []):
            cmd += ["--set", item]
        started = time.time()
        env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        result = {**job, "seconds": round(time.time() - started, 1)}
        if proc.returncode:
            return result | {"error": proc.stderr[-1500:]}
        report = json.loads((out / "report.json").read_text())
        for record in report["passes"]:
            d = record["details"]
            if record["name"] == "fold":
                result["layout"] = d["layout"]
                result["flops_reduction"] = d["encoder_flops_reduction"]
            if record["name"] == "block_movement":
                result["masked_fraction"] = d["masked_fraction"]
        ev = subprocess.run([sys.executable, __file__, "eval", str(out / "model")], capture_output=True, text=True)
        try:
            result |= json.loads(ev.stdout.strip().splitlines()[-1])
        except Exception:
            result["error"] = ev.stderr[-1500:]
        return result


def main(jobs_file: str, out_file: str, workers: int) -> None:
    jobs = json.loads(Path(jobs_file).read_text())
    results = []
    with ThreadPoolExecutor(workers) as pool:
        for future in as_completed([pool.submit(run, job) for job in jobs]):
            r = future.result()
            results.append(r)
            brief = {k: v for k, v in r.items() if k not in ("layout", "recipe")}
            print(json.dumps(brief)[:600], flush=True)
            Path(out_file).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "eval":
        print(json.dumps(evaluate(sys.argv[2])))
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
