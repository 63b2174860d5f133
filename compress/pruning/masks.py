"""What decides and what is masked: learned scores per block, turned into a binary mask.

A mask is a `torch.nn.utils.parametrize` parametrization: the layer's weight becomes
W * mask(scores) without touching the layer's code. The forward pass uses the binary mask;
the straight-through estimator hands the mask's gradient to the scores unchanged, so a
block's score accumulates -W * dL/dW over its entries: its movement (Sanh et al. 2020).

- hard: keep the top `keep` fraction of blocks by score (the schedule moves `keep`), or, with
  a global ranking, every block whose score per weight is at least a `cutoff` shared by all
  matrices;
- soft: keep blocks with sigmoid(score) > `threshold` (the schedule moves the threshold, and an
  L1 penalty on sigmoid(scores) pushes scores down, so sparsity is learned, not set).
"""

from __future__ import annotations

import torch


class _StraightThrough(torch.autograd.Function):
    """Forward: a precomputed 0/1 mask. Backward: the gradient passes to the scores as is."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


class ScoreMask(torch.nn.Module):
    """Scores over a grid of blocks, shared by every weight that registers this mask."""

    def __init__(self, grid: tuple[int, int], method: str, initial_score: float, unit_size: float = 1.0) -> None:
        super().__init__()
        self.unit_size = float(unit_size)  # weights governed by one score (global ranking is per weight)
        self.scores = torch.nn.Parameter(torch.full(grid, float(initial_score)))
        self.method = method
        self.keep = 1.0  # hard: fraction of blocks kept
        self.cutoff: float | None = None  # hard, global ranking: keep blocks with score / unit_size >= this
        self.threshold = 0.0  # soft: sigmoid(score) must exceed this

    def binary(self) -> torch.Tensor:
        scores = self.scores.detach()
        if self.method == "soft":
            return (torch.sigmoid(scores) > self.threshold).to(scores.dtype)
        if self.cutoff is not None:
            return (scores / self.unit_size >= self.cutoff).to(scores.dtype)
        count = scores.numel()
        keep = max(1, min(count, round(self.keep * count)))
        mask = torch.zeros(count, dtype=scores.dtype, device=scores.device)
        mask[torch.topk(scores.flatten(), keep, sorted=False).indices] = 1.0
        return mask.view_as(scores)

    def forward_mask(self) -> torch.Tensor:
        """The mask over the block grid, with gradients flowing to the scores."""
        source = torch.sigmoid(self.scores) if self.method == "soft" else self.scores
        return _StraightThrough.apply(source, self.binary())

    def density(self) -> float:
        return float(self.binary().mean())

    @property
    def weights(self) -> float:
        """Prunable weights this mask governs."""
        return self.scores.numel() * self.unit_size


class BlockMasked(torch.nn.Module):
    """Parametrization W -> W * mask expanded from a (rows, cols) block grid to W's shape.

    `block` is (block_rows, block_cols); a whole-row mask is (1, in_features) blocks over a
    (out_features, 1) grid, a whole-column mask is (out_features, 1) blocks over (1, in_features).
    A 1-D tensor (a bias) takes the row part of the mask.
    """

    def __init__(self, mask: ScoreMask, block: tuple[int, int], transpose: bool = False) -> None:
        super().__init__()
        self.mask = mask
        self.block = block
        self.transpose = transpose  # the grid describes W's columns (e.g. FFN output by neuron)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        grid = self.mask.forward_mask()
        if self.transpose:
            grid = grid.t()
        full = grid.repeat_interleave(self.block[0], dim=0).repeat_interleave(self.block[1], dim=1)
        if weight.ndim == 1:
            full = full[:, 0]
        return weight * full.to(weight.dtype)
