"""The server's choice between micro-batching and a request per call, made from what each served."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from compress.serve import MicroBatcher, ServeLimits
from compress.serve_batching import BATCHED, SINGLE, BatchingChooser


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def serve_window(chooser: BatchingChooser, clock: FakeClock, texts: int) -> bool:
    """One window: the way it was served, after a call of `texts` texts that starts once the window
    has settled and ends with it (so a measured rate is texts / (window_s - settle_s))."""
    start = clock.now
    batching = chooser.batching()
    clock.now = start + chooser.settle_s
    chooser.batching()
    clock.now = start + chooser.window_s
    chooser.served(texts)
    return batching


def measured(texts: float, chooser: BatchingChooser | None = None) -> float:
    chooser = chooser or BatchingChooser()
    return round(texts / (chooser.window_s - chooser.settle_s), 1)  # as `state()` shows it


@pytest.mark.parametrize(
    "batched_texts, single_texts, kept",
    [(1000, 800, BATCHED), (800, 1000, SINGLE), (1000, 1000, BATCHED)],
)
def test_the_way_that_served_more_texts_is_kept_until_both_are_measured_again(batched_texts, single_texts, kept):
    clock = FakeClock()
    chooser = BatchingChooser(exploit_windows=3, warmup_windows=0, clock=clock)
    assert serve_window(chooser, clock, batched_texts) is True  # measuring: batched first
    assert serve_window(chooser, clock, single_texts) is False  # then a request per call
    ways = [serve_window(chooser, clock, 500) for _ in range(3)]
    assert ways == [kept == BATCHED] * 3
    assert chooser.state()["kept"] == kept
    assert chooser.state()["texts_per_s"] == {BATCHED: [measured(batched_texts)], SINGLE: [measured(single_texts)]}
    assert [serve_window(chooser, clock, 500) for _ in range(2)] == [True, False]  # the next cycle measures again


def test_windows_of_an_idle_server_are_not_counted():
    clock = FakeClock()
    chooser = BatchingChooser(exploit_windows=1, warmup_windows=0, min_texts=64, clock=clock)
    for _ in range(2):  # two cycles: batching busy, one per call idle (10 texts in 2 s)
        serve_window(chooser, clock, 1000)
        serve_window(chooser, clock, 10)
        serve_window(chooser, clock, 0)
    assert chooser.state()["texts_per_s"][SINGLE] == [] and chooser.choice == BATCHED


def test_an_idle_spell_after_a_window_does_not_count_as_its_time():
    clock = FakeClock()
    chooser = BatchingChooser(warmup_windows=0, clock=clock)
    chooser.batching()
    clock.now = 0.5
    chooser.batching()
    clock.now = 2.0
    chooser.served(1000)
    clock.now = 60.0  # nothing arrives for a minute, so the window closes at the next request
    chooser.batching()
    assert chooser.state()["texts_per_s"][BATCHED] == [measured(1000)]


def test_one_odd_window_does_not_overturn_the_median():
    clock = FakeClock()
    chooser = BatchingChooser(exploit_windows=1, warmup_windows=0, clock=clock)
    for single in (800, 800, 1200):  # batched serves 1000 in every window; the last single window is a fluke
        serve_window(chooser, clock, 1000)
        serve_window(chooser, clock, single)
        serve_window(chooser, clock, 1000)
    assert chooser.choice == BATCHED


def test_the_first_window_and_the_start_of_each_measured_window_are_not_counted():
    clock = FakeClock()
    chooser = BatchingChooser(exploit_windows=1, clock=clock)  # one warm-up window
    assert serve_window(chooser, clock, 5000) is True  # the server's first window: batched, not measured
    assert chooser.state()["texts_per_s"] == {BATCHED: [], SINGLE: []}
    # a measured window: a call that starts while it settles is not counted; the time counts from
    # the first call that starts after that
    assert chooser.batching() is True
    chooser.served(900)
    clock.now += 1.0
    chooser.batching()
    chooser.served(300)
    clock.now += 1.0
    assert chooser.batching() is False  # the next window: a request per call
    assert chooser.state()["texts_per_s"][BATCHED] == [300.0]


class CallSizes:
    """A classifier that records the texts of each model call."""

    kind, labels, max_length = "fake", ("a", "b"), 16

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_proba(self, texts: list[str], max_padding: float | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        return np.full((len(texts), 2), 0.5)


@pytest.mark.parametrize("elapsed, calls", [(0.0, [5]), (2.0, [1, 1, 1, 1, 1])])
def test_the_batcher_combines_queued_requests_only_while_the_chooser_says_so(elapsed, calls):
    """Five requests queued before the batcher starts: one call in a batching window, five after it
    (the next window serves a request per call)."""

    async def scenario() -> list[int]:
        classifier, clock = CallSizes(), FakeClock()
        batcher = MicroBatcher(classifier, ServeLimits(max_batch_size=32))
        batcher.chooser = BatchingChooser(warmup_windows=0, clock=clock)
        clock.now = elapsed
        requests = [asyncio.ensure_future(batcher.submit([f"text {i}"])) for i in range(5)]
        await asyncio.sleep(0)  # every request queued
        batcher.start()
        answers = await asyncio.gather(*requests)
        await batcher.stop()
        assert [a.shape for a in answers] == [(1, 2)] * 5
        return classifier.calls

    assert asyncio.run(scenario()) == calls


@pytest.mark.parametrize(
    "limits, adaptive",
    [(ServeLimits(), True), (ServeLimits(adaptive=False), False), (ServeLimits(max_batch_size=1), False)],
)
def test_a_chooser_exists_only_where_there_is_a_choice(limits, adaptive):
    batcher = MicroBatcher(CallSizes(), limits)
    assert (batcher.chooser is not None) == adaptive
    batcher.worker.shutdown()
