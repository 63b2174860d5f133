"""The one training loop. Fine-tuning, distillation and pruning all run through `train`.

Techniques that change training (a distillation loss, movement scores and their schedule,
adapters) are `TrainHook`s passed in, never subclasses of a trainer: the loop owns batching,
the optimizer, the schedule, evaluation and best-checkpoint selection, and nothing else.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from compress.batching import Encoded, batches
from compress.predictors import TorchPredictor, predict_logits


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    gradient_accumulation: int = 1
    max_grad_norm: float = 1.0
    early_stopping_patience: int | None = None
    seed: int = 42
    eval_batch_size: int = 64
    progress: bool = True


class TrainHook:
    """Extension points of the loop; each method's default changes nothing."""

    def param_groups(self, model: torch.nn.Module) -> list[dict[str, Any]]:
        """Extra optimizer groups (e.g. pruning scores with their own learning rate)."""
        return []

    def loss(self, rows: np.ndarray, inputs: dict[str, torch.Tensor], outputs: Any, loss: torch.Tensor) -> torch.Tensor:
        """Replace or extend the task loss for this batch."""
        return loss

    def after_step(self, step: int, total_steps: int) -> None:
        """Called after each optimizer step (schedules live here)."""


@dataclass
class TrainResult:
    best_epoch: int
    best_accuracy: float
    epochs: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    samples_per_second: float = 0.0
    steps: int = 0


def train(
    model: torch.nn.Module,
    train_data: tuple[Encoded, np.ndarray],
    selection_data: tuple[Encoded, np.ndarray],
    settings: TrainSettings,
    hooks: Sequence[TrainHook] = (),
) -> TrainResult:
    """Train in place; on return the model holds the weights of its best epoch on the selection split."""
    torch.manual_seed(settings.seed)
    encoded, labels = train_data
    steps_per_epoch = math.ceil(math.ceil(len(encoded) / settings.batch_size) / settings.gradient_accumulation)
    total_steps = steps_per_epoch * settings.epochs
    optimizer = torch.optim.AdamW(_param_groups(model, settings, hooks), lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_then_linear(total_steps, settings.warmup_ratio))

    result = TrainResult(best_epoch=-1, best_accuracy=-1.0)
    best_state: dict[str, torch.Tensor] | None = None
    stale_epochs, step, samples = 0, 0, 0
    started = time.perf_counter()
    for epoch in range(settings.epochs):
        model.train()
        bar = tqdm(
            total=len(encoded), desc=f"epoch {epoch + 1}/{settings.epochs}", unit="ex", disable=not settings.progress,
            mininterval=0.5 if sys.stderr.isatty() else 15.0,
        )
        losses: list[float] = []
        pending = 0
        for rows, batch in batches(encoded, settings.batch_size, shuffle=True, seed=settings.seed + epoch):
            inputs = {k: torch.from_numpy(v) for k, v in batch.items()}
            outputs = model(**inputs, labels=torch.from_numpy(labels[rows]))
            loss = outputs.loss
            for hook in hooks:
                loss = hook.loss(rows, inputs, outputs, loss)
            (loss / settings.gradient_accumulation).backward()
            losses.append(loss.item())
            pending += 1
            samples += len(rows)
            if pending == settings.gradient_accumulation:
                step = _optimizer_step(model, optimizer, schedule, settings, hooks, step, total_steps)
                pending = 0
            bar.update(len(rows))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", samples_s=f"{samples / (time.perf_counter() - started):.1f}", refresh=False)
        if pending:
            step = _optimizer_step(model, optimizer, schedule, settings, hooks, step, total_steps)
        bar.close()

        accuracy = evaluate_accuracy(model, selection_data, settings.eval_batch_size)
        result.epochs.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "selection_accuracy": accuracy})
        if accuracy > result.best_accuracy:
            result.best_epoch, result.best_accuracy = epoch + 1, accuracy
            best_state = copy.deepcopy(model.state_dict())
            stale_epochs = 0
        else:
            stale_epochs += 1
            if settings.early_stopping_patience is not None and stale_epochs >= settings.early_stopping_patience:
                break

    result.seconds = time.perf_counter() - started
    result.samples_per_second = samples / result.seconds if result.seconds else 0.0
    result.steps = step
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def evaluate_accuracy(model: torch.nn.Module, data: tuple[Encoded, np.ndarray], batch_size: int) -> float:
    encoded, labels = data
    logits = predict_logits(TorchPredictor("training", model), encoded, batch_size)
    return float((logits.argmax(axis=1) == labels).mean())


def _optimizer_step(model, optimizer, schedule, settings: TrainSettings, hooks, step: int, total_steps: int) -> int:
    if settings.max_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    for hook in hooks:
        hook.after_step(step + 1, total_steps)
    return step + 1


def _param_groups(model: torch.nn.Module, settings: TrainSettings, hooks: Sequence[TrainHook]) -> list[dict[str, Any]]:
    """No weight decay on biases and LayerNorm weights, as in BERT's recipe."""
    extra = [group for hook in hooks for group in hook.param_groups(model)]
    claimed = {id(p) for group in extra for p in group["params"]}
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad or id(parameter) in claimed:
            continue
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
    return [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
        *extra,
    ]


def _warmup_then_linear(total_steps: int, warmup_ratio: float):
    warmup = max(1, int(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor
