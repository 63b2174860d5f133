"""What a user who ships the classifier sees: `compress predict` rows/s and `compress serve`
requests/s and latency, for an fp32 PyTorch baseline against a compressed model, same machine.

    python benchmarks/shipping_bench.py --baseline runs/vocab/teacher-s42/model --candidate runs/vocab/fast-s42 \\
        --data ../shared/data/mahanews-shc/test.csv --seconds 30 --clients 8

- predict: the whole file through `compress predict`'s code, each model with its own tokenizer;
  the candidate's labels are checked against `compress bench`'s predictions in its run report, or
  in `--bench-report` (a `compress bench` report.json that measured the candidate, given as a file:
  a matrix run of `reproduce.py` has no benchmark of its own).
- serve: `compress serve` in a child process per configuration (localhost only), `--clients`
  threads each sending one headline per request for `--seconds` (bounded in time and count);
  each model is served micro-batched with serve's defaults (`--batching adaptive`: it batches
  only while batching serves more than a request per call; `--max-padding auto`) and with batch 1,
  to show what micro-batching buys, and the candidate also always batched (`--batching always`);
  `--rounds` repeats the six runs interleaved and reports medians and every round's ratio. Each
  run also says where the time went: the model's busy share of the wall time, its milliseconds
  per text, and the CPU seconds per request of the server and of the client threads (which
  share this machine's cores). A model that costs nothing, served the same way, gives the bound
  that HTTP, JSON and the clients set.
"""

from __future__ import annotations

import argparse
import csv
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

MAX_REQUESTS = 200_000  # a bound on each load run, whatever the machine's speed
ZERO_COST = "zero-cost"  # a model that answers instantly: what HTTP, JSON and the clients alone allow


class ZeroCostClassifier:
    """Uniform probabilities at no cost, served through the same app as a real model."""

    kind, labels, max_length = "zero-cost", ("a", "b", "c"), 128

    def predict_proba(self, texts: list[str], max_padding: float | None = None) -> np.ndarray:
        return np.full((len(texts), len(self.labels)), 1 / len(self.labels))


def serve_zero_cost(port: int, batch: int, batching: str) -> None:
    import uvicorn

    from compress.serve import ServeLimits, create_app

    limits = ServeLimits(max_batch_size=batch, adaptive=batching == "adaptive")
    app = create_app(ZeroCostClassifier(), ZERO_COST, limits)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def predict_rate(reference: str, data: str, out: Path) -> tuple[float, list[str]]:
    import compress
    from compress.predict import predict_file

    classifier = compress.load(reference)
    result = predict_file(classifier, data, out, progress=False, log=lambda m: None)
    labels = [json.loads(line)["label"] for line in out.read_text(encoding="utf-8").splitlines()]
    return result["rows_per_second"], labels


def bench_labels(candidate: Path, data: str, bench_report: Path | None) -> list[str] | None:
    """The candidate's predicted labels in its run report (or in `bench_report`, found by location),
    when that benchmark's split is this file."""
    try:
        report = json.loads((bench_report or candidate / "report.json").read_text(encoding="utf-8"))
    except OSError:
        return None
    bench = report.get("benchmark")
    if bench is None:
        return None
    rows = [c for c in bench["candidates"] if c.get("kind") not in ("classical",)]
    if bench_report is not None:
        # a run report keeps locations relative to its run folder, a `compress bench` report as given
        places = [Path(), bench_report.parent]
        rows = [
            c
            for c in rows
            if c.get("location") and candidate.resolve() in {(place / c["location"]).resolve() for place in places}
        ]
    if bench["evaluation"]["split"] != Path(data).stem or not rows:
        return None
    names = bench["evaluation"]["labels"]
    return [names[i] for i in rows[-1]["predictions"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_test(reference: str, texts: list[str], seconds: float, clients: int, batch: int, batching: str) -> dict:
    import httpx

    port = free_port()
    if reference == ZERO_COST:
        command = [sys.executable, __file__, "--serve-zero-cost", str(port), str(batch), batching]
    else:
        command = [sys.executable, "-m", "compress", "serve", reference, "--port", str(port)]
        command += ["--max-batch-size", str(batch), "--batching", batching]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server for {reference} did not start: {server.stderr.read() if server.stderr else ''}")
        latencies: list[float] = []
        failures = [0]
        lock = threading.Lock()
        stop = time.time() + seconds

        def client(offset: int) -> None:
            with httpx.Client(base_url=url, timeout=30) as session:
                i = offset
                while time.time() < stop and len(latencies) < MAX_REQUESTS:
                    started = time.perf_counter()
                    try:
                        ok = session.post("/predict", json={"text": texts[i % len(texts)]}).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed) if ok else failures.__setitem__(0, failures[0] + 1)
                    i += clients

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        server_cpu = psutil.Process(server.pid)
        server_cpu_before, clients_cpu_before = sum(server_cpu.cpu_times()[:2]), time.process_time()
        before = httpx.get(f"{url}/metadata", timeout=5).json()["served"]
        began = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - began
        server_cpu_s = sum(server_cpu.cpu_times()[:2]) - server_cpu_before
        clients_cpu_s = time.process_time() - clients_cpu_before
        after = httpx.get(f"{url}/metadata", timeout=5).json()["served"]
        served = {k: after[k] - before[k] for k in ("batches", "texts", "model_seconds")}
    finally:
        server.terminate()
        server.wait(timeout=60)
    ms = np.array(latencies) * 1000
    return {
        "requests_per_second": len(latencies) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "failed": failures[0],
        "requests": len(latencies),
        "texts_per_model_call": served["texts"] / max(1, served["batches"]),
        # where the two cores went: the model's share of the wall time bounds what batching can buy
        "model_busy_share": served["model_seconds"] / wall,
        "model_ms_per_text": 1000 * served["model_seconds"] / max(1, served["texts"]),
        "server_cpu_s_per_request": server_cpu_s / max(1, len(latencies)),
        "clients_cpu_s_per_request": clients_cpu_s / max(1, len(latencies)),
        "batching": after.get("batching"),  # the adaptive server's measured rates and the way it kept
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the fp32 PyTorch model")
    parser.add_argument("--candidate", required=True, help="the compressed model (a run folder, or an output in one)")
    parser.add_argument("--bench-report", type=Path, help="a `compress bench` report.json that measured the candidate")
    parser.add_argument("--data", required=True, help="a CSV file of texts (the test split)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="serve load runs per configuration, interleaved; medians")
    parser.add_argument("--out", type=Path, default=Path("runs/shipping"))
    parser.add_argument(
        "--batching-only",
        action="store_true",
        help="only the candidate served three ways (adaptive, always batched, batch 1), no predict: "
        "rounds enough to tell micro-batching's effect from the machine's spread",
    )
    args = parser.parse_args()
    from compress.measure.environment import environment

    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    rates = {}
    for name, reference in () if args.batching_only else (("baseline", args.baseline), ("candidate", args.candidate)):
        rates[name], labels = predict_rate(reference, args.data, args.out / f"predict-{name}.jsonl")
        results[f"predict {name}"] = {"rows_per_second": rates[name]}
        if name == "candidate":
            expected = bench_labels(Path(args.candidate), args.data, args.bench_report)
            results["predict candidate"]["same_labels_as_bench"] = (
                None if expected is None else float(labels == expected)
            )
    with open(args.data, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    configs = (  # micro-batched: serve's default, which batches only while that serves more (--batching adaptive)
        ("baseline, micro-batched", args.baseline, 32, "adaptive"),
        ("baseline, batch 1", args.baseline, 1, "always"),
        ("candidate, micro-batched", args.candidate, 32, "adaptive"),
        ("candidate, always batched", args.candidate, 32, "always"),
        ("candidate, batch 1", args.candidate, 1, "always"),
        ("zero-cost model, micro-batched", ZERO_COST, 32, "always"),
    )
    if args.batching_only:
        configs = tuple(c for c in configs if c[0].startswith("candidate"))
    rounds: dict[str, list[dict]] = {name: [] for name, *_ in configs}
    for _ in range(args.rounds):  # interleaved, so a slow spell of the machine hits every configuration
        for name, reference, batch, batching in configs:
            rounds[name].append(load_test(reference, texts, args.seconds, args.clients, batch, batching))
    for name, runs in rounds.items():
        median = sorted(runs, key=lambda r: r["requests_per_second"])[len(runs) // 2]
        results[f"serve {name}"] = {
            **median,
            "requests_per_second_rounds": [r["requests_per_second"] for r in runs],
            "failed_all_rounds": sum(r["failed"] for r in runs),
        }
    env = environment(0)

    def per_round(model: str, how: str = "micro-batched") -> list[float]:
        micro, single = rounds[f"{model}, {how}"], rounds[f"{model}, batch 1"]
        return [m["requests_per_second"] / b["requests_per_second"] for m, b in zip(micro, single, strict=True)]

    models = ("candidate",) if args.batching_only else ("baseline", "candidate")
    summary = {
        "command": " ".join(sys.argv),
        "cpu": env["cpu"],
        "int8": env["int8_instructions"],
        "results": results,
        "micro_batching_gain": {model: float(np.median(per_round(model))) for model in models},
        "micro_batching_gain_rounds": {model: per_round(model) for model in models},
        "always_batched_gain_rounds": {"candidate": per_round("candidate", "always batched")},
    }
    if not args.batching_only:
        summary["predict_speedup"] = rates["candidate"] / rates["baseline"]
        summary["serve_speedup"] = (
            results["serve candidate, micro-batched"]["requests_per_second"]
            / results["serve baseline, micro-batched"]["requests_per_second"]
        )
    (args.out / "shipping.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-zero-cost"]:  # the child process load_test starts for ZERO_COST
        serve_zero_cost(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
