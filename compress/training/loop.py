"""The one training loop. Fine-tuning, distillation and pruning all run through `train`.

Techniques that change training (a distillation loss, movement scores and their schedule,
adapters) are `TrainHook`s passed in, never subclasses of a trainer: the loop owns batching,
the optimizer and schedule, precision, data parallelism, checkpoints, evaluation and
best-checkpoint selection, and nothing else.

Each call runs under an `accelerate.Accelerator` (`compress.training.accelerated`): it wraps the
model for data parallelism when launched with `accelerate launch` or torchrun, runs the forward
pass in the pass's mixed precision (fp16 with loss scaling), and does backward and clipping. The
loop keeps the batching: every process takes a weighted share of each global batch, so that an
uneven last batch averages exactly as in one process and hooks can index the training set by
row; metrics are summed across processes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from compress.batching import Encoded
from compress.training.accelerated import accelerator_for, process_state
from compress.training.checkpoint import Checkpointer, Position
from compress.training.cost import CostMeter
from compress.training.evaluation import evaluate_accuracy, sum_across_processes
from compress.training.launch import check_launch
from compress.training.mixed_precision import PrecisionPlan, plan_precision
from compress.training.settings import RunContext, TrainingOptions
from compress.training.task_loss import balanced_weights, task_loss

LOG = logging.getLogger("compress")


class TrainHook:
    """Extension points of the loop; each method's default changes nothing."""

    def param_groups(self, model: torch.nn.Module) -> list[dict[str, Any]]:
        """Extra optimizer groups (e.g. pruning scores with their own learning rate)."""
        return []

    def model_inputs(self, rows: np.ndarray, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The model's arguments for this batch (the tokenized inputs and `labels`); an objective
        other than the task's (masked LM) rewrites them."""
        return batch

    def forward_kwargs(self) -> dict[str, Any]:
        """Extra model arguments, e.g. output_hidden_states for a hidden-state loss."""
        return {}

    def loss(self, rows: np.ndarray, inputs: dict[str, torch.Tensor], outputs: Any, loss: torch.Tensor) -> torch.Tensor:
        """Replace or extend the task loss for this batch; `rows` index the training set."""
        return loss

    def after_step(self, step: int, total_steps: int) -> None:
        """Called after each optimizer step (schedules live here), and once on resuming."""

    def checkpoint_eligible(self) -> bool:
        """Whether the model as it is now may be kept as the best epoch (e.g. a schedule has finished)."""
        return True

    def after_restore(self) -> None:
        """Called after the best epoch's weights are loaded back, to rebuild state derived from them."""


@dataclass(frozen=True)
class Selection:
    """How the best epoch is chosen: a score of the model as it is, higher is better, and its
    name in the epoch records. The default is accuracy on the selection split."""

    name: str
    score: Callable[[torch.nn.Module], float]


@dataclass
class TrainResult:
    best_epoch: int = -1
    best_score: float = -math.inf
    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    cost: dict[str, Any] = field(default_factory=dict)
    precision: dict[str, str] = field(default_factory=dict)
    processes: int = 1
    resumed_at_step: int | None = None


def train(
    model: torch.nn.Module,
    train_data: tuple[Encoded, np.ndarray],
    selection_data: tuple[Encoded, np.ndarray],
    options: TrainingOptions,
    context: RunContext | None = None,
    hooks: Sequence[TrainHook] = (),
    log: Callable[[str], None] | None = None,
    selection: Selection | None = None,
) -> TrainResult:
    """Train in place on accelerate's device (a GPU when there is one).

    On return the model holds the weights of its best epoch on the selection split and is back on
    the device it came from (also after an interruption), so the passes after training (fold,
    export, benchmark) and a resumed run see no change.
    """
    home = next(model.parameters()).device
    context, log = context or RunContext(), log or LOG.info
    check_launch(options)
    state = process_state()
    if selection is None:
        selection = Selection(
            "accuracy",
            lambda m: evaluate_accuracy(
                m, selection_data, context.eval_batch_size, state.process_index, state.num_processes
            ),
        )
    try:
        model.to(state.device)
        plan = plan_precision(options.precision, state.device, log if state.is_main_process else lambda _: None)
        with accelerator_for(plan.used, model) as accelerator:
            return _train(accelerator, state, plan, model, train_data, options, context, hooks, log, selection)
    finally:
        model.to(home).eval()


def _train(
    accelerator: Any,
    state: Any,
    plan: PrecisionPlan,
    model: torch.nn.Module,
    train_data: tuple[Encoded, np.ndarray],
    options: TrainingOptions,
    context: RunContext,
    hooks: Sequence[TrainHook],
    log: Callable[[str], None],
    selection: Selection,
) -> TrainResult:
    torch.manual_seed(context.seed)
    rank, world, device = state.process_index, state.num_processes, state.device
    encoded, labels = train_data
    config: Any = model.config  # a transformers model's
    label_weights = balanced_weights(labels, int(config.num_labels)) if options.class_weight == "balanced" else None
    batches_per_epoch = math.ceil(len(encoded) / options.batch_size)
    steps_per_epoch = math.ceil(batches_per_epoch / options.gradient_accumulation)
    epochs = planned_epochs(options, steps_per_epoch)
    total_steps = steps_per_epoch * epochs
    optimizer = torch.optim.AdamW(_param_groups(model, options, hooks), lr=options.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_then_linear(total_steps, options.warmup_ratio))
    runner, optimizer, schedule = accelerator.prepare(model, optimizer, schedule)  # DDP-wrapped when launched so
    scaler = accelerator.scaler  # fp16 only
    checkpoints = Checkpointer(context.checkpoint_dir, options.checkpoint_every) if context.checkpoint_dir else None

    result = TrainResult(precision={"requested": plan.requested, "used": plan.used, "note": plan.note}, processes=world)
    position, best_state, stale = Position(), None, 0
    if checkpoints and context.resume and checkpoints.exists():
        position, progress, best_state = checkpoints.load(model, optimizer, schedule, scaler)
        result.best_epoch, result.best_score, result.epochs = (
            progress["best_epoch"],
            progress["best_score"],
            progress["epochs"],
        )
        stale, result.resumed_at_step = progress["stale"], position.step
        for hook in hooks:  # bring schedules to where the run stopped
            hook.after_step(position.step, total_steps)
        log(f"resuming at epoch {position.epoch + 1}, step {position.step}")
    meter = CostMeter(
        device, options.track_energy and state.is_main_process and not position.finished, context.country_iso_code
    )
    forward_kwargs = {k: v for hook in hooks for k, v in hook.forward_kwargs().items()}

    def save(finished: bool = False) -> None:
        position.finished = finished
        progress = {
            "best_epoch": result.best_epoch,
            "best_score": result.best_score,
            "epochs": result.epochs,
            "stale": stale,
        }
        if checkpoints and state.is_main_process:
            checkpoints.save(model, optimizer, schedule, scaler, position, progress, best_state)
        state.wait_for_everyone()

    for epoch in range(position.epoch, position.epoch if position.finished else epochs):  # none left if finished
        model.train()
        order = np.random.default_rng(context.seed + epoch).permutation(len(encoded))
        bar = tqdm(
            total=len(encoded),
            initial=min(len(encoded), position.batches_done * options.batch_size),
            desc=f"epoch {epoch + 1}/{epochs}",
            unit="ex",
            disable=not (context.progress and state.is_main_process),
            mininterval=0.5 if sys.stderr.isatty() else 15.0,
        )
        losses: list[float] = []
        pending = 0
        for index in range(position.batches_done, batches_per_epoch):
            global_rows = order[index * options.batch_size : (index + 1) * options.batch_size]
            rows, share = _my_share(global_rows, rank, world)
            inputs = {k: torch.from_numpy(v).to(device) for k, v in encoded.batch(rows).items()}
            batch = {**inputs, "labels": torch.from_numpy(labels[rows]).to(device)}
            for hook in hooks:
                batch = hook.model_inputs(rows, batch)
            group_start = index - index % options.gradient_accumulation
            group_size = min(options.gradient_accumulation, batches_per_epoch - group_start)
            # gradients of a group's earlier micro-batches stay local; the last one all-reduces their sum
            sync = contextlib.nullcontext() if pending + 1 == group_size else accelerator.no_sync(runner)
            with sync:
                with accelerator.autocast():
                    outputs = runner(**batch, **forward_kwargs)
                    loss = task_loss(outputs, labels[rows], device, label_weights)
                    for hook in hooks:
                        loss = hook.loss(rows, inputs, outputs, loss)
                    loss = loss * share
                # a short last group still averages, not shrinks, its gradient
                accelerator.backward(loss.float() / group_size)
            losses.append(loss.item())
            pending += 1
            position.samples += len(global_rows)
            last = index == batches_per_epoch - 1
            if pending == group_size:
                if options.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), options.max_grad_norm)  # unscales fp16 first
                optimizer.step()  # skipped by the fp16 scaler on overflow, and then so is the schedule
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                position.step += 1
                pending = 0
                for hook in hooks:
                    hook.after_step(position.step, total_steps)
                position.batches_done = index + 1
                if checkpoints and checkpoints.due(position.step) and not last:
                    save()
            bar.update(len(global_rows))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", refresh=False)
        bar.close()

        score = selection.score(model)
        # each process logged its share-weighted loss; their mean across processes is the global batch mean
        mean_loss = sum_across_processes(float(np.mean(losses)) if losses else 0.0, device, world) / world
        result.epochs.append({"epoch": epoch + 1, "train_loss": mean_loss, f"selection_{selection.name}": score})
        eligible = all(hook.checkpoint_eligible() for hook in hooks)
        if eligible and score > result.best_score:
            result.best_epoch, result.best_score = epoch + 1, score
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            stale = 0
        elif eligible:
            stale += 1
        position.epoch, position.batches_done = epoch + 1, 0
        stop = options.early_stopping_patience is not None and stale >= options.early_stopping_patience
        if stop or epoch + 1 == epochs:
            save(finished=True)
            break
        save()

    result.steps = position.step
    result.cost = meter.finish(position.samples)
    if best_state is not None:
        model.load_state_dict(best_state)
        for hook in hooks:
            hook.after_restore()
    return result


def planned_epochs(options: TrainingOptions, steps_per_epoch: int) -> int:
    """`epochs`, or more where `min_steps` asks for more optimizer steps than they give."""
    if options.min_steps is None:
        return options.epochs
    return max(options.epochs, math.ceil(options.min_steps / steps_per_epoch))


def _my_share(global_rows: np.ndarray, rank: int, world: int) -> tuple[np.ndarray, float]:
    """This process's rows of a global batch and the weight that makes DDP's gradient average
    equal the global batch mean, even when shares are uneven. A process with no rows runs one
    row at weight 0 so that every process still takes part in the gradient all-reduce."""
    rows = global_rows[rank::world]
    if not len(rows):
        return global_rows[:1], 0.0
    return rows, len(rows) * world / len(global_rows)


def _param_groups(model: torch.nn.Module, options: TrainingOptions, hooks: Sequence[TrainHook]) -> list[dict[str, Any]]:
    """No weight decay on biases and LayerNorm weights, as in BERT's recipe."""
    extra = [group for hook in hooks for group in hook.param_groups(model)]
    claimed = {id(p) for group in extra for p in group["params"]}
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad or id(parameter) in claimed:
            continue
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(parameter)
    return [{"params": decay, "weight_decay": options.weight_decay}, {"params": no_decay, "weight_decay": 0.0}, *extra]


def _warmup_then_linear(total_steps: int, warmup_ratio: float):
    warmup = max(1, int(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor
