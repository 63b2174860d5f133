"""Accuracy on a split during training, shared across data-parallel processes: each process
scores its share of the examples and the counts are summed, so every process sees the same figure."""

from __future__ import annotations

import numpy as np
import torch

from compress.batching import Encoded


def evaluate_accuracy(
    model: torch.nn.Module, data: tuple[Encoded, np.ndarray], batch_size: int, rank: int = 0, world: int = 1
) -> float:
    """Accuracy over the whole split: each process scores its share, counts are summed."""
    from compress.predictors import TorchPredictor, predict_logits

    encoded, labels = data
    mine = np.arange(len(encoded))[rank::world]
    correct = 0
    if len(mine):
        shard = Encoded({k: [v[i] for i in mine] for k, v in encoded.features.items()}, encoded.pad_id)
        logits = predict_logits(TorchPredictor("training", model), shard, batch_size)
        correct = int((logits.argmax(axis=1) == labels[mine]).sum())
    device = next(model.parameters()).device
    return sum_across_processes(correct, device, world) / len(encoded)


def sum_across_processes(value: float, device: torch.device, world: int) -> float:
    """A count or loss summed over the data-parallel processes (itself in one process)."""
    if world == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(tensor)
    return float(tensor.item())
