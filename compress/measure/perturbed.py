"""Predictors made worse on purpose by a known amount, to check that the regression gate catches
what it should (`benchmarks/regress_check.py`, `tests/test_regress.py`): slower by a factor, or
wrong on a known share of examples."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np


class Slowed:
    """A predictor made `factor` times slower: after each call it spins for (factor - 1) times that
    call's duration (spinning, not sleeping: sleep is too coarse for millisecond calls)."""

    def __init__(self, inner: Any, factor: float) -> None:
        self.inner, self.factor, self.name = inner, factor, f"{inner.name} (slowed {factor:g}x)"

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        started = time.perf_counter()
        out = self.inner(inputs)
        until = time.perf_counter() + (self.factor - 1) * (time.perf_counter() - started)
        while time.perf_counter() < until:
            pass
        return out


class Mislabelling:
    """A predictor whose answer moves to the next label on about `share` of the examples, picked
    by a hash of each example's token ids: the same examples in every batch, round and process,
    whatever the padding. Examples it had right become wrong, so accuracy drops by about `share`
    times its accuracy."""

    def __init__(self, inner: Any, share: float) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"share must be in [0, 1], got {share}")
        self.inner, self.share, self.name = inner, share, f"{inner.name} (mislabelling {share:.1%})"

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        logits = np.array(self.inner(inputs), copy=True)
        ids, mask = inputs["input_ids"], inputs.get("attention_mask")
        for row in range(len(logits)):
            tokens = ids[row] if mask is None else ids[row][mask[row].astype(bool)]
            digest = hashlib.blake2b(np.ascontiguousarray(tokens, dtype=np.int64).tobytes(), digest_size=8).digest()
            if int.from_bytes(digest, "little") / 2**64 < self.share:
                logits[row] = np.roll(logits[row], 1)  # the old top label's score goes to the next label
        return logits
