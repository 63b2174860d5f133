"""The task's loss for a batch: cross-entropy over the labelled rows, each weighed by its label.

Rows without a label (a distillation transfer text) add no task loss but still count in the
batch mean, so every row's loss is its own and data-parallel shares average exactly; label
weights (`class_weight: balanced`) trade accuracy for the recall of rare labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

UNLABELLED = -100  # a training row without a label (a distillation transfer text): it adds no task loss


def task_loss(
    outputs: Any, labels: np.ndarray, device: torch.device, label_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The model's own loss, or where some rows have no label or labels are weighted,
    cross-entropy summed over the labelled rows (each times its label's weight) and divided by all
    of them: every row's loss is then its own (task loss if labelled, plus what hooks add), so the
    batch mean and the data-parallel shares stay exact."""
    unlabelled = labels == UNLABELLED
    if label_weights is None and not unlabelled.any():
        return outputs.loss
    logits = outputs.logits.float()
    target = torch.from_numpy(labels).to(device)
    weight = None if label_weights is None else label_weights.to(device)
    return F.cross_entropy(logits, target, weight=weight, ignore_index=UNLABELLED, reduction="sum") / len(labels)


def balanced_weights(labels: np.ndarray, label_count: int) -> torch.Tensor:
    """n / (labels x count) per label over the labelled training rows (scikit-learn's 'balanced');
    a label with no training row gets weight 0, as it has no loss to weigh."""
    known = labels[labels != UNLABELLED]
    counts = np.bincount(known, minlength=label_count).astype(np.float64)
    weights = np.where(counts > 0, len(known) / (label_count * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)
