"""`compress serve` over HTTP on localhost: predictions, metadata, micro-batching, and 4xx for bad requests."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
import httpx
import uvicorn

import compress
from compress.cli import main
from compress.serve import ServeLimits, create_app, parse_max_padding


@pytest.fixture
def server(tiny_classifier_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    classifier = compress.load(tiny_classifier_dir, threads=1)
    limits = ServeLimits(
        max_batch_size=64,
        max_wait_ms=50,
        max_padding=0.1,
        adaptive=False,  # always batch: the adaptive choice has its own tests (test_serve_batching.py)
        max_texts=100,
        max_text_chars=2000,
        max_body_bytes=200_000,
    )
    instance = uvicorn.Server(
        uvicorn.Config(
            create_app(classifier, str(tiny_classifier_dir), limits), host="127.0.0.1", port=port, log_level="error"
        )
    )
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    assert instance.started
    yield f"http://127.0.0.1:{port}", classifier
    instance.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive(), "the server shuts down cleanly"


def test_predict_health_and_metadata(server):
    url, classifier = server
    texts = ["alpha ball river", "chip green", "rice north slow"]
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/health").json()["status"] == "ok"
        answer = client.post("/predict", json={"texts": texts}).json()["predictions"]
        assert [p["label"] for p in answer] == classifier.predict(texts)
        assert all(len(p["top_k"]) == 3 and p["top_k"][0][0] == p["label"] for p in answer)
        assert client.post("/predict", json={"text": texts[0]}).json()["predictions"][0]["label"] == answer[0]["label"]
        meta = client.get("/metadata").json()
        assert meta["labels"] == list(classifier.labels) and meta["kind"] == "torch" and meta["served"]["texts"] == 4
        assert 0 < meta["served"]["model_seconds"] < meta["served"]["batches"] * 30


@pytest.mark.slow
def test_concurrent_requests_are_micro_batched(server):
    url, classifier = server
    texts = [f"alpha ball {'river ' * (i % 5)}{i}" for i in range(32)]  # lengths differ: batches are cut by padding
    with httpx.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(16) as pool:
        before = client.get("/metadata").json()["served"]
        answers = list(pool.map(lambda text: client.post("/predict", json={"text": text}), texts))
        after = client.get("/metadata").json()["served"]
    assert [a.status_code for a in answers] == [200] * 32
    assert [a.json()["predictions"][0]["label"] for a in answers] == classifier.predict(texts)
    assert after["texts"] - before["texts"] == 32 and after["batches"] - before["batches"] < 32


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"texts": ["alpha"] * 10_000}, 413, None),  # over the body limit already
        ({"texts": ["alpha"] * 101}, 413, "at most 100 per request"),
        ({"texts": ["x" * 3000]}, 413, "at most 2000"),
        ({"text": "x" * 1_000_000}, 413, "bytes"),
        ({"texts": []}, 422, "non-empty list"),
        ({"texts": ["ok", ""]}, 422, "text 1 is empty"),
        ({"texts": [3]}, 422, "not a string"),
        ({"wrong": 1}, 422, "send"),
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_stays_up(server, body, status, message):
    url, _ = server
    with httpx.Client(base_url=url, timeout=30) as client:
        response = (
            client.post("/predict", content=body, headers={"content-type": "application/json"})
            if isinstance(body, bytes)
            else client.post("/predict", json=body)
        )
        assert response.status_code == status
        assert message is None or message in response.json()["error"]
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "value, expected",
    [("auto", "auto"), ("none", None), ("0", 0.0), ("0.1", 0.1), ("1", 1.0)],
)
def test_max_padding_values(value, expected):
    assert parse_max_padding(value) == expected


@pytest.mark.parametrize("value", ["-0.1", "1.5", "lots", ""])
def test_bad_max_padding_is_one_line_with_exit_2(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "no-such-model", "--max-padding", value])
    assert stop.value.code == 2
    assert "--max-padding must be auto, none or a share between 0 and 1" in capsys.readouterr().err
