"""`compress serve`: a small HTTP server for any output of the toolkit (FastAPI + uvicorn).

Concurrent requests are micro-batched: the requests that queued while the model was busy are
answered by one model call (up to `max_batch_size` texts; `max_wait_ms` > 0 also waits that long
for more, which pays only where batches are much cheaper per text than single calls); model calls
run one at a time on a worker thread, so the event loop keeps accepting requests. By default the
server batches only while batching serves more texts per second than a request per call, as it
measures both under its own load (`serve_batching.BatchingChooser`); `adaptive=False` always
batches. Requests are bounded (texts per request, characters per text, bytes per body) and every
bad request gets a 4xx with a message; nothing a client sends can take the server down.
"""

import asyncio  # no `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compress.extras import require
from compress.serve_batching import BatchingChooser

# Padding bound per backend when the user gives none (`--max-padding auto`), measured with
# benchmarks/batch_cost.py and shipping_bench.py (SHIPPING_RESULTS.md, 2026-12-02): an ONNX
# Runtime call costs little beyond its tokens and a padded mix loses most of what a batch saves,
# so it batches only texts of close length; PyTorch's fixed cost per call is large, so any batch
# beats none.
AUTO_MAX_PADDING: dict[str, float | None] = {"onnx": 0.1, "torch": None}


def parse_max_padding(value: str) -> float | str | None:
    """`--max-padding`: "auto" (by backend, resolved once the model is loaded), "none" (batch
    whatever queued), or a share of a call's tokens in [0, 1]."""
    if value in ("auto", "none"):
        return None if value == "none" else value
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"--max-padding must be auto, none or a share between 0 and 1, not {value!r}")
    return share


@dataclass(frozen=True)
class ServeLimits:
    max_batch_size: int = 32
    max_wait_ms: float = 0.0  # 0: batch what queued while the model was busy, never wait for more
    max_padding: float | None = None  # cut a batch where padding would pass this share of its tokens
    adaptive: bool = True  # batch only while batching serves more texts/s than a request per call (serve_batching)
    max_texts: int = 256  # per request
    max_text_chars: int = 10_000
    max_body_bytes: int = 1 << 20
    top_k: int = 3


def _timed(classifier: Any, texts: list[str], max_padding: float | None) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    probabilities = classifier.predict_proba(texts, max_padding)
    return probabilities, time.perf_counter() - started


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Collects jobs from concurrent requests into batches of at most `max_batch_size` texts."""

    def __init__(self, classifier: Any, limits: ServeLimits) -> None:
        self.classifier, self.limits = classifier, limits
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compress-model")
        self.batches = self.texts = 0
        self.model_seconds = 0.0  # against uptime: whether the model or the HTTP side bounds the server
        self.chooser = BatchingChooser() if limits.adaptive and limits.max_batch_size > 1 else None
        self.task: asyncio.Task | None = None

    async def submit(self, texts: list[str]) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put(_Job(texts, future))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0].texts)
            limit = self.limits.max_batch_size if self.chooser is None or self.chooser.batching() else size
            while size < limit and not self.queue.empty():  # whatever queued while the model ran
                job = self.queue.get_nowait()
                jobs.append(job)
                size += len(job.texts)
            deadline = loop.time() + self.limits.max_wait_ms / 1000
            while size < limit:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), remaining)
                except TimeoutError:
                    break
                jobs.append(job)
                size += len(job.texts)
            texts = [t for job in jobs for t in job.texts]
            try:
                probabilities, seconds = await loop.run_in_executor(
                    self.worker, _timed, self.classifier, texts, self.limits.max_padding
                )
            except Exception as exc:  # a model failure answers these requests with 500, the server stays up
                for job in jobs:
                    job.future.set_exception(exc)
                continue
            self.batches, self.texts = self.batches + 1, self.texts + len(texts)
            self.model_seconds += seconds
            if self.chooser:
                self.chooser.served(len(texts))
            start = 0
            for job in jobs:
                if not job.future.cancelled():
                    job.future.set_result(probabilities[start : start + len(job.texts)])
                start += len(job.texts)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        self.worker.shutdown(wait=True)


def _headline(reference: str) -> dict[str, Any]:
    """The report's headline figures, when the model comes from a compress run folder."""
    run = Path(reference.split(":")[0])
    try:
        report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    bench = report.get("benchmark") or {}
    last = (bench.get("candidates") or [{}])[0] if bench else {}
    rows = [c for c in bench.get("candidates", []) if c.get("kind") != "classical"]
    last = rows[-1] if rows else last
    if not last:
        return {"recipe": report.get("recipe", {}).get("name")}
    return {
        "recipe": report["recipe"]["name"],
        "split": bench["evaluation"]["split"],
        "candidate": last["name"],
        "accuracy": last["quality"]["accuracy"]["value"],
        "latency_p50_speedup": (last.get("vs_baseline") or {}).get("latency_p50_speedup"),
    }


def create_app(classifier: Any, reference: str, limits: ServeLimits = ServeLimits()) -> Any:
    fastapi = require("fastapi", "serve", "compress serve")
    from contextlib import asynccontextmanager

    from fastapi import Request
    from fastapi.responses import JSONResponse

    batcher = MicroBatcher(classifier, limits)

    @asynccontextmanager
    async def lifespan(app: Any):
        batcher.start()
        yield
        await batcher.stop()

    app = fastapi.FastAPI(title="compress serve", lifespan=lifespan)
    started = time.time()
    metadata = {
        "model": reference,
        "kind": classifier.kind,
        "labels": list(classifier.labels),
        "max_length": classifier.max_length,
        "limits": limits.__dict__,
        "report": _headline(reference),
    }

    def error(status: int, message: str) -> Any:
        return JSONResponse(status_code=status, content={"error": message})

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "uptime_s": round(time.time() - started, 1)}

    @app.get("/metadata")
    async def meta() -> dict[str, Any]:
        served: dict[str, Any] = {
            "batches": batcher.batches,
            "texts": batcher.texts,
            "model_seconds": round(batcher.model_seconds, 3),
        }
        if batcher.chooser:
            served["batching"] = batcher.chooser.state()
        return {**metadata, "served": served}

    @app.post("/predict")
    async def predict(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
            return error(413, f"request body over {limits.max_body_bytes} bytes")
        body = await request.body()
        if len(body) > limits.max_body_bytes:
            return error(413, f"request body over {limits.max_body_bytes} bytes")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error(400, "body is not valid JSON")
        if not isinstance(payload, dict) or ("texts" in payload) == ("text" in payload):
            return error(422, 'send {"texts": [...]} or {"text": "..."}')
        texts = payload["texts"] if "texts" in payload else [payload["text"]]
        if not isinstance(texts, list) or not texts:
            return error(422, "texts must be a non-empty list of strings")
        if len(texts) > limits.max_texts:
            return error(413, f"{len(texts)} texts; at most {limits.max_texts} per request")
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                return error(422, f"text {i} is empty or not a string")
            if len(text) > limits.max_text_chars:
                return error(413, f"text {i} has {len(text)} characters; at most {limits.max_text_chars}")
        try:
            probabilities = await batcher.submit(texts)
        except Exception as exc:
            return error(500, f"the model failed: {type(exc).__name__}")
        labels, k = classifier.labels, min(limits.top_k, len(classifier.labels))
        predictions = []
        for row in probabilities:
            order = row.argsort()[::-1][:k]
            predictions.append(
                {
                    "label": labels[order[0]],
                    "probability": float(row[order[0]]),
                    "top_k": [[labels[i], float(row[i])] for i in order],
                }
            )
        return {"predictions": predictions}

    return app


def serve(classifier: Any, reference: str, host: str, port: int, limits: ServeLimits) -> None:
    """Run until SIGINT/SIGTERM; uvicorn finishes the requests in flight, then the batcher stops."""
    uvicorn = require("uvicorn", "serve", "compress serve")
    uvicorn.run(
        create_app(classifier, reference, limits),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
