"""Tokenize once, then cut padded batches as numpy arrays.

Training, evaluation and benchmarking all feed models from here, so PyTorch and ONNX
Runtime see exactly the same token ids and padding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Encoded:
    """Token ids per example, unpadded; `features` are the model inputs the tokenizer produced."""

    features: dict[str, list[list[int]]]
    pad_id: int

    def __len__(self) -> int:
        return len(self.features["input_ids"])

    def lengths(self) -> np.ndarray:
        return np.array([len(ids) for ids in self.features["input_ids"]])

    def batch(self, rows: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        """Rows padded to the longest among them (dynamic padding)."""
        width = max(len(self.features["input_ids"][r]) for r in rows)
        out: dict[str, np.ndarray] = {}
        for name, values in self.features.items():
            pad = self.pad_id if name == "input_ids" else 0
            array = np.full((len(rows), width), pad, dtype=np.int64)
            for i, r in enumerate(rows):
                array[i, : len(values[r])] = values[r]
            out[name] = array
        return out


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> Encoded:
    tokens = tokenizer(list(texts), truncation=True, max_length=max_length)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokens]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Encoded({n: tokens[n] for n in names}, pad_id)


def batches(
    encoded: Encoded, batch_size: int, *, shuffle: bool = False, seed: int = 0
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Yield (row indices, padded inputs); shuffled order is reproducible from `seed`."""
    order = np.random.default_rng(seed).permutation(len(encoded)) if shuffle else np.arange(len(encoded))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield rows, encoded.batch(rows)


def length_groups(lengths: np.ndarray, max_padding: float) -> list[np.ndarray]:
    """Rows cut into runs of sorted length whose padding stays within `max_padding` of each run's
    padded tokens.

    For a model whose cost grows with padded tokens and whose fixed cost per call is small (an
    int8 ONNX graph: a random mix of 32 headlines padded to the longest saves little per text over
    single calls, or costs more with one thread, while equal lengths save about half), this
    batches only what shares a length closely enough to pay.
    """
    order = np.argsort(lengths, kind="stable")
    groups: list[np.ndarray] = []
    start, tokens = 0, 0
    for end, row in enumerate(order):
        tokens += int(lengths[row])
        padded = (end - start + 1) * int(lengths[row])  # sorted: this row is the longest so far
        if end > start and padded - tokens > max_padding * padded:
            groups.append(order[start:end])
            start, tokens = end, int(lengths[row])
    groups.append(order[start:])
    return groups
