"""Padding-bounded batches (`length_groups`, `predict_logits(max_padding=...)`): every row once,
padding within the bound, and the same logits as fixed-size batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import compress
from compress.batching import length_groups

LENGTHS = st.lists(st.integers(min_value=1, max_value=128), min_size=1, max_size=80)


@settings(max_examples=200, deadline=None)
@given(LENGTHS, st.floats(min_value=0.0, max_value=1.0))
def test_groups_cover_every_row_once_and_bound_padding(lengths, max_padding):
    lengths = np.array(lengths)
    groups = length_groups(lengths, max_padding)
    rows = np.concatenate(groups)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    assert (np.diff(lengths[rows]) >= 0).all(), "runs follow length order"
    for group in groups:
        padded = len(group) * lengths[group].max()
        assert padded - lengths[group].sum() <= max_padding * padded + 1e-9


@pytest.mark.parametrize(
    "lengths, max_padding, expected",
    [
        ([20, 20, 20], 0.0, [[0, 1, 2]]),  # equal lengths always share a batch
        ([20, 21, 20], 0.0, [[0, 2], [1]]),
        ([20, 21, 20], 0.05, [[0, 2, 1]]),  # 2 padded tokens of 63: within 5%
        ([10, 40], 0.3, [[0], [1]]),  # 30 of 80 padded tokens: 37.5%
        ([10, 40], 0.4, [[0, 1]]),
    ],
)
def test_groups_on_known_cases(lengths, max_padding, expected):
    assert [g.tolist() for g in length_groups(np.array(lengths), max_padding)] == expected


def test_padding_bounded_batches_give_the_same_logits(tiny_classifier_dir):
    classifier = compress.load(tiny_classifier_dir, threads=1, batch_size=4)
    texts = ["alpha", "alpha ball river chip green", "rice", "north slow ball", "chip chip chip chip chip chip", "g"]
    fixed = classifier.logits(texts)
    for max_padding in (0.0, 0.1, 1.0):
        np.testing.assert_allclose(classifier.logits(texts, max_padding), fixed, atol=1e-5)
    assert classifier.predict_proba(texts, 0.1).shape == (len(texts), len(classifier.labels))
