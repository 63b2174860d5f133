"""Block movement pruning as a training hook (Lagunas et al. 2021, "Block Pruning For Faster Transformers").

Structures ("hybrid"): attention Q/K/V/O weights in blocks (default 32x32), or whole heads (one
score per head shared by its Q/K/V rows and O columns); feed-forward neurons whole, one score
per neuron shared by its row in the first projection (and bias) and its column in the second.
Sparsity is the fraction of these prunable encoder weights that are masked; embeddings,
LayerNorms and the classifier are never pruned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn.utils import parametrize

from compress.architectures import architecture, encoder_layers
from compress.errors import CompressError
from compress.pruning.masks import BlockMasked, ScoreMask
from compress.pruning.options import MovementOptions
from compress.pruning.schedule import cubic, reached_final
from compress.training.loop import TrainHook

HARD_INITIAL_SCORE = 0.0
SOFT_INITIAL_SCORE = 0.0  # sigmoid(0) = 0.5: every block starts above any threshold < 0.5


class MovementHook(TrainHook):
    def __init__(self, model: torch.nn.Module, settings: MovementOptions) -> None:
        self.settings = settings
        self.masks: list[ScoreMask] = []
        arch = architecture(model.config.model_type)
        if settings.attention_unit == "head" and arch.self_attention is None:
            raise CompressError(
                f"block_movement: {model.config.model_type} heads cannot be pruned whole yet; use attention_unit: block"
            )
        initial = SOFT_INITIAL_SCORE if settings.method == "soft" else HARD_INITIAL_SCORE
        for layer in encoder_layers(model):
            if settings.attention_unit == "head":
                self._mask_heads(layer, arch, settings, initial)
            else:
                self._mask_blocks(layer, arch, settings, initial)
            ffn_in, ffn_out = layer.get_submodule(arch.ffn_in), layer.get_submodule(arch.ffn_out)
            neurons, hidden = ffn_in.weight.shape
            mask = ScoreMask((neurons, 1), settings.method, initial, 2 * hidden)
            parametrize.register_parametrization(ffn_in, "weight", BlockMasked(mask, (1, hidden)))
            if ffn_in.bias is not None:
                parametrize.register_parametrization(ffn_in, "bias", BlockMasked(mask, (1, 1)))
            parametrize.register_parametrization(ffn_out, "weight", BlockMasked(mask, (hidden, 1), transpose=True))
            self.masks.append(mask)
        self.final = False

    def _mask_blocks(self, layer: torch.nn.Module, arch: Any, settings: MovementOptions, initial: float) -> None:
        for name in (arch.query, arch.key, arch.value, arch.attention_output):
            linear = layer.get_submodule(name)
            rows, cols = linear.weight.shape
            if rows % settings.block[0] or cols % settings.block[1]:
                raise CompressError(f"block_movement: block {settings.block} does not tile {name} ({rows}x{cols})")
            unit = settings.block[0] * settings.block[1]
            mask = ScoreMask((rows // settings.block[0], cols // settings.block[1]), settings.method, initial, unit)
            parametrize.register_parametrization(linear, "weight", BlockMasked(mask, settings.block))
            self.masks.append(mask)

    def _mask_heads(self, layer: torch.nn.Module, arch: Any, settings: MovementOptions, initial: float) -> None:
        """One score per head: its rows of Q, K and V and its columns of O go together, so a
        pruned head is idle and `fold` removes it."""
        attention = layer.get_submodule(arch.self_attention)
        heads, size = attention.num_attention_heads, attention.attention_head_size
        hidden = layer.get_submodule(arch.query).weight.shape[1]
        mask = ScoreMask((heads, 1), settings.method, initial, 4 * size * hidden)
        for name in (arch.query, arch.key, arch.value):
            parametrize.register_parametrization(layer.get_submodule(name), "weight", BlockMasked(mask, (size, hidden)))
        output = layer.get_submodule(arch.attention_output)
        parametrize.register_parametrization(
            output, "weight", BlockMasked(mask, (output.weight.shape[0], size), transpose=True)
        )
        self.masks.append(mask)

    # --- hook interface -------------------------------------------------------------------
    def param_groups(self, model: torch.nn.Module) -> list[dict[str, Any]]:
        scores = [mask.scores for mask in self.masks]
        return [{"params": scores, "lr": self.settings.scores_learning_rate, "weight_decay": 0.0}]

    def loss(self, rows: np.ndarray, inputs: dict[str, torch.Tensor], outputs: Any, loss: torch.Tensor) -> torch.Tensor:
        if self.settings.method != "soft" or not self.settings.regularization:
            return loss
        current = self.masks[0].threshold / self.settings.final_threshold  # lambda grows with the threshold
        penalty = torch.stack([torch.sigmoid(mask.scores).mean() for mask in self.masks]).mean()
        return loss + self.settings.regularization * current * penalty

    def after_step(self, step: int, total_steps: int) -> None:
        warmup = int(total_steps * self.settings.warmup_ratio_pruning)
        cooldown = int(total_steps * self.settings.cooldown_ratio)
        for mask in self.masks:
            if self.settings.method == "soft":
                mask.threshold = cubic(step, total_steps, warmup, cooldown, 0.0, self.settings.final_threshold)
            else:
                mask.keep = cubic(step, total_steps, warmup, cooldown, 1.0, 1.0 - self.settings.sparsity)
        if self.settings.method == "hard" and self.settings.ranking == "global":
            self._set_global_cutoff(self.masks[0].keep)
        self.final = reached_final(step, total_steps, cooldown)

    def _set_global_cutoff(self, keep: float) -> None:
        """One cutoff for every matrix, placed so the kept units hold a `keep` share of the
        prunable weights. Matrices then compete: whole heads can empty (as with the paper's
        global threshold), which a per-matrix top-k never does. Units are ranked by score per
        weight: a unit's movement score sums its weights' first-order importance, so score / size
        is the loss given up per weight removed, comparable across blocks, neurons and heads."""
        density = torch.cat([(mask.scores.detach() / mask.unit_size).flatten().cpu() for mask in self.masks])
        sizes = torch.cat([torch.full((mask.scores.numel(),), mask.unit_size) for mask in self.masks])
        order = torch.argsort(density, descending=True)
        kept_weights = torch.cumsum(sizes[order], 0)
        count = int(torch.searchsorted(kept_weights, keep * float(sizes.sum())).clamp(max=len(order) - 1)) + 1
        cutoff = float(density[order[count - 1]])
        for mask in self.masks:
            mask.cutoff = cutoff

    def checkpoint_eligible(self) -> bool:
        """Only epochs at the final sparsity may be kept as 'best': earlier ones are denser."""
        return self.final

    def after_restore(self) -> None:
        """The loop loaded an earlier epoch's scores: place the global cutoff on them again, so the
        masks are the ones that epoch was evaluated with (a stale cutoff would change them)."""
        if self.settings.method == "hard" and self.settings.ranking == "global":
            self._set_global_cutoff(1.0 - self.settings.sparsity)

    # --- results ----------------------------------------------------------------------------
    def sparsity(self) -> float:
        """Fraction of prunable encoder weights currently masked."""
        total = sum(mask.weights for mask in self.masks)
        return 1.0 - sum(mask.density() * mask.weights for mask in self.masks) / total

    def bake(self, model: torch.nn.Module) -> None:
        """Multiply the masks into the weights and drop the parametrizations: a plain model with zeros."""
        for module in list(model.modules()):
            if parametrize.is_parametrized(module):
                for name in list(module.parametrizations.keys()):
                    parametrize.remove_parametrizations(module, name, leave_parametrized=True)
