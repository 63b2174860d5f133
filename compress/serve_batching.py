"""Whether `compress serve` should combine queued requests into one model call, decided by the
texts per second each way serves under the server's own load.

Micro-batching pays where a model call's fixed cost is large against its cost per token (fp32
PyTorch: 1.5-2.5x the requests/s of one request per call in `benchmarks/SHIPPING_RESULTS.md`) and
costs where it is not: a 2-layer int8 ONNX graph answering in 0.4 ms, served on the same two cores
as its HTTP side, lost a fifth of its requests/s micro-batched, because a padded batch costs more
per text than single calls and holds every request in it until the batch is done. Which way wins
depends on the model, the CPU and the load, which no timing taken before serving sees; so the
server serves a window each way in turn, keeps the faster for a while, and measures both again.

Each way is judged on its own steady state: the server's first window (connections opening, first
calls) is not measured, and neither is the start of a measured window, where the queue still has
the shape the other way left (a 6-layer int8 graph on a Zen 4 EPYC measured batching at 183-200
texts/s in windows that began this way, and served 228 requests/s always batched, against 187
one per call: `benchmarks/SHIPPING_RESULTS.md`, 2026-12-03).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BATCHED, SINGLE = "batched", "one request per call"


@dataclass
class BatchingChooser:
    """A cycle of windows: one batched, one a request per call (both measured), then `exploit_windows`
    served the way whose recent windows served more texts per second (batched until one of each is
    measured), after `warmup_windows` served batched and not measured. A measured window counts
    the model calls that start once `settle_s` of it has passed, over the time from the first of
    them to the end of the last. A window with fewer than `min_texts` texts counted says the server
    was mostly idle and is not counted: then both ways serve what arrives and nothing is lost by
    either."""

    window_s: float = 2.0
    settle_s: float = 0.5
    warmup_windows: int = 1
    exploit_windows: int = 8
    min_texts: int = 64
    remembered: int = 3  # measured windows per way whose median decides
    clock: Callable[[], float] = time.monotonic
    rates: dict[str, deque[float]] = field(init=False)
    choice: str = field(init=False, default=BATCHED)
    _schedule: deque[str] = field(init=False)
    _window: str = field(init=False)
    _window_end: float = field(init=False)
    _texts: int = field(init=False, default=0)
    _last_served: float = field(init=False, default=0.0)
    _measuring: bool = field(init=False, default=True)
    _counting_from: float | None = field(init=False, default=None)  # start of the first counted call
    _call_counted: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.rates = {way: deque(maxlen=self.remembered) for way in (BATCHED, SINGLE)}
        self._schedule = deque([""] * self.warmup_windows)
        self._start_window(self.clock())

    def batching(self) -> bool:
        """Whether the dispatch starting now should combine the queued requests."""
        now = self.clock()
        if now >= self._window_end:
            self._close_window()
            self._start_window(now)
        self._call_counted = now >= self._window_end - self.window_s + self.settle_s
        if self._call_counted and self._counting_from is None:
            self._counting_from = now
        return self._window == BATCHED

    def served(self, texts: int) -> None:
        if self._call_counted:
            self._texts += texts
            self._last_served = self.clock()

    def state(self) -> dict[str, Any]:
        return {
            "now": self._window,
            "kept": self.choice,
            "texts_per_s": {way: [round(r, 1) for r in rates] for way, rates in self.rates.items()},
        }

    def _close_window(self) -> None:
        if not self._measuring:
            return
        # from the first counted call's start to the end of the last, if that ran past the window;
        # an idle spell after the window (nothing arrived to close it) is not the window's
        if self._counting_from is not None and self._texts >= self.min_texts:
            elapsed = max(self._last_served, self._window_end) - self._counting_from
            self.rates[self._window].append(self._texts / elapsed)
        if all(self.rates.values()):
            medians = {way: statistics.median(rates) for way, rates in self.rates.items()}
            self.choice = SINGLE if medians[SINGLE] > medians[BATCHED] else BATCHED

    def _start_window(self, now: float) -> None:
        if not self._schedule:
            self._schedule.extend([BATCHED, SINGLE] + [""] * self.exploit_windows)
        planned = self._schedule.popleft()
        self._measuring = bool(planned)
        self._window = planned or self.choice
        self._window_end, self._texts, self._counting_from = now + self.window_s, 0, None
