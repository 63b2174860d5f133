"""Knowledge distillation as a hook into the training loop.

loss = alpha * T^2 * KL(teacher/T || student/T) + (1 - alpha) * CE
       + hidden_weight * MSE(hidden states) + attention_weight * MSE(attention maps)

The teacher is frozen and in eval mode, so its logits on a training example never change:
they can be computed once per dataset and reused every epoch (`cached_logits`), which is exact,
not an approximation. Hidden-state and attention losses need the live teacher.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from compress.training.loop import TrainHook
from compress.training.settings import DistillationOptions


class DistillationHook(TrainHook):
    """Reads its weights from `options`; the teacher is live, or present only as its logits on
    every training example (`cached_logits`, row-indexed like the training set)."""

    def __init__(
        self,
        options: DistillationOptions,
        teacher: torch.nn.Module | None = None,
        cached_logits: np.ndarray | None = None,
        layer_map: Sequence[int] = (),
    ) -> None:
        if teacher is None and cached_logits is None:
            raise ValueError("distillation needs a teacher or its cached logits")
        if (options.hidden_weight or options.attention_weight) and teacher is None:
            raise ValueError("hidden-state and attention losses need the live teacher")
        self.teacher = teacher
        self.alpha, self.temperature = options.alpha, options.temperature
        self.cached = torch.from_numpy(cached_logits) if cached_logits is not None else None
        self.hidden_weight, self.attention_weight = options.hidden_weight, options.attention_weight
        self.layer_map = list(layer_map)
        if teacher is not None:
            teacher.eval().requires_grad_(False)

    def forward_kwargs(self) -> dict[str, Any]:
        return {"output_hidden_states": bool(self.hidden_weight), "output_attentions": bool(self.attention_weight)}

    def loss(self, rows: np.ndarray, inputs: dict[str, torch.Tensor], outputs: Any, loss: torch.Tensor) -> torch.Tensor:
        teacher_out: Any = None
        if self.cached is not None and not (self.hidden_weight or self.attention_weight):
            teacher_logits = self.cached[torch.from_numpy(rows)].to(outputs.logits.device)
        else:  # the constructor made sure there is a live teacher whenever this branch is taken
            teacher: Any = self.teacher
            teacher.to(outputs.logits.device)
            with torch.no_grad():
                teacher_out = teacher(**inputs, **self.forward_kwargs())
            teacher_logits = teacher_out.logits
        total = self.alpha * kd_loss(outputs.logits, teacher_logits, self.temperature) + (1 - self.alpha) * loss
        if self.hidden_weight:
            pairs = [(0, 0)] + [(i + 1, t + 1) for i, t in enumerate(self.layer_map)]
            total = (
                total
                + self.hidden_weight
                * torch.stack(
                    [
                        F.mse_loss(outputs.hidden_states[s].float(), teacher_out.hidden_states[t].float())
                        for s, t in pairs
                    ]
                ).mean()
            )
        if self.attention_weight:
            total = (
                total
                + self.attention_weight
                * torch.stack(
                    [
                        F.mse_loss(outputs.attentions[i].float(), teacher_out.attentions[t].float())
                        for i, t in enumerate(self.layer_map)
                    ]
                ).mean()
            )
        return total


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2-scaled KL divergence between softened distributions (Hinton et al. 2015)."""
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    return F.kl_div(student, teacher, log_target=True, reduction="batchmean") * temperature**2
