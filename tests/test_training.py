"""The one training loop: accumulation, early stopping, precision, cost, resume, data parallelism."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, run_args

from compress.testing import assert_same_weights, logits, setup_problem, weights
from compress.training.loop import TrainHook, train
from compress.training.settings import RunContext, TrainingOptions

QUIET = RunContext(progress=False)


def test_gradient_accumulation_matches_a_larger_batch(toy_data, tmp_path):
    """Two accumulated micro-batches of 8 make the same updates as batches of 16 (dropout off)."""
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    initial = weights(model)
    train(
        model,
        train_split,
        selection,
        TrainingOptions(epochs=2, batch_size=16, learning_rate=1e-3, track_energy=False),
        QUIET,
    )
    one_batch = weights(model)
    model.load_state_dict(initial)
    result = train(
        model,
        train_split,
        selection,
        TrainingOptions(epochs=2, batch_size=8, gradient_accumulation=2, learning_rate=1e-3, track_energy=False),
        QUIET,
    )
    assert result.steps == 2 * int(np.ceil(len(train_split[0]) / 16))
    # Adam divides by the gradient's scale, so summation-order noise in near-zero gradients (rare
    # embedding rows) can move those weights by up to lr; compare what the model computes instead.
    accumulated = logits(model, selection)
    model.load_state_dict(one_batch)
    assert np.allclose(accumulated, logits(model, selection), atol=1e-3)


def test_early_stopping_stops_when_selection_accuracy_stalls(toy_data, tmp_path):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    options = TrainingOptions(
        epochs=10, batch_size=16, learning_rate=1e-12, early_stopping_patience=2, track_energy=False
    )
    result = train(model, train_split, selection, options, QUIET)
    assert len(result.epochs) == 3 and result.best_epoch == 1


@pytest.mark.parametrize(
    ("epochs", "min_steps_in_epochs", "expected_epochs"),
    [(1, 2.5, 3), (1, 2, 2), (3, 1, 3), (2, None, 2)],
)
def test_min_steps_adds_whole_epochs_on_a_small_split(toy_data, tmp_path, epochs, min_steps_in_epochs, expected_epochs):
    """A small training split gets at least `min_steps` updates, in whole epochs; a large one
    keeps its `epochs`."""
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    per_epoch = int(np.ceil(len(train_split[0]) / 16))
    min_steps = None if min_steps_in_epochs is None else int(min_steps_in_epochs * per_epoch)
    options = TrainingOptions(epochs=epochs, min_steps=min_steps, batch_size=16, track_energy=False)
    result = train(model, train_split, selection, options, QUIET)
    assert len(result.epochs) == expected_epochs and result.steps == expected_epochs * per_epoch


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU behaviour; test_cuda.py covers the GPU")
def test_balanced_class_weights_follow_scikit_learn_and_skip_unlabelled_rows():
    from sklearn.utils.class_weight import compute_class_weight

    from compress.training.task_loss import UNLABELLED, balanced_weights

    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, UNLABELLED, UNLABELLED])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels[labels != UNLABELLED])
    assert balanced_weights(labels, 3).numpy() == pytest.approx(expected)
    assert balanced_weights(np.array([0, 0, 1]), 3)[2] == 0  # no training row, no loss to weigh


def test_weighted_task_loss_weighs_each_row_by_its_label_and_divides_by_all_rows():
    from types import SimpleNamespace

    from compress.training.task_loss import UNLABELLED, task_loss

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, -1.0]])
    labels = np.array([0, 1, 1, UNLABELLED])
    per_row = torch.nn.functional.cross_entropy(logits[:3], torch.tensor([0, 1, 1]), reduction="none")
    outputs = SimpleNamespace(logits=logits, loss=None)
    weights = torch.tensor([3.0, 0.5])
    loss = task_loss(outputs, labels, torch.device("cpu"), weights)
    assert loss.item() == pytest.approx(((3.0 * per_row[0] + 0.5 * per_row[1] + 0.5 * per_row[2]) / 4).item())
    # equal weights on a fully labelled batch: the model's own mean cross-entropy
    mean = torch.nn.functional.cross_entropy(logits[:3], torch.tensor([0, 1, 1]))
    same = task_loss(SimpleNamespace(logits=logits[:3], loss=None), labels[:3], torch.device("cpu"), torch.ones(2))
    assert same.item() == pytest.approx(mean.item())


def test_class_weight_changes_training_and_masked_lm_refuses_it(toy_data, tmp_path):
    from pydantic import ValidationError

    from compress.batching import Encoded
    from compress.passes.adapt_mlm import AdaptMlmConfig

    model, ((encoded, labels), selection) = setup_problem(toy_data, tmp_path / "v")
    rows = np.concatenate([np.flatnonzero(labels == 0), np.flatnonzero(labels != 0)[:3]])  # one label common
    imbalanced = (Encoded({k: [v[i] for i in rows] for k, v in encoded.features.items()}, encoded.pad_id), labels[rows])
    initial = weights(model)
    losses = {}
    for class_weight in (None, "balanced"):
        model.load_state_dict(initial)
        options = TrainingOptions(epochs=1, batch_size=16, class_weight=class_weight, track_energy=False)
        losses[class_weight] = train(model, imbalanced, selection, options, QUIET).epochs[0]["train_loss"]
    assert losses[None] != pytest.approx(losses["balanced"], rel=1e-4)
    with pytest.raises(ValidationError, match="masked-LM targets are tokens"):
        AdaptMlmConfig(class_weight="balanced")


def test_bf16_trains_on_cpu_and_fp16_falls_back_to_fp32(toy_data, tmp_path):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    bf16 = train(
        model,
        train_split,
        selection,
        TrainingOptions(epochs=1, batch_size=16, precision="bf16", track_energy=False),
        QUIET,
    )
    assert bf16.precision["used"] == "bf16" and np.isfinite(bf16.epochs[0]["train_loss"])
    messages: list[str] = []
    fp16 = train(
        model,
        train_split,
        selection,
        TrainingOptions(epochs=1, batch_size=16, precision="fp16", track_energy=False),
        QUIET,
        log=messages.append,
    )
    assert fp16.precision["used"] == "fp32" and "needs a CUDA GPU" in fp16.precision["note"]
    assert any("fp16" in m for m in messages)


def test_training_cost_is_reported_with_its_method(toy_data, tmp_path):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    result = train(
        model,
        train_split,
        selection,
        TrainingOptions(epochs=1, batch_size=16, track_energy=True),
        RunContext(progress=False),
    )
    cost = result.cost
    assert cost["wall_seconds"] > 0 and cost["samples"] == len(train_split[0]) and cost["samples_per_second"] > 0
    assert cost["peak_memory_mb"] > 0
    from compress.training.cost import RAPL

    energy = cost["energy"]
    assert energy["method"].startswith("hardware counter" if RAPL.exists() else "estimate"), energy
    assert energy["kwh"] > 0 and energy["co2_kg"] > 0 and energy["country"]


class Interrupt(TrainHook):
    """Simulates a kill: raises after a given optimizer step."""

    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def after_step(self, step: int, total_steps: int) -> None:
        if step == self.at_step:
            raise KeyboardInterrupt


@pytest.mark.parametrize("stop_at", [4, 6])  # mid-epoch (after a checkpoint at step 3), and at an epoch boundary
def test_resume_after_interruption_reaches_the_same_weights(toy_data, tmp_path, stop_at):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v", dropout=0.1)
    initial = weights(model)
    options = TrainingOptions(epochs=3, batch_size=16, learning_rate=1e-3, checkpoint_every=3, track_energy=False)

    train(model, train_split, selection, options, QUIET)
    uninterrupted = weights(model)

    model.load_state_dict(initial)
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(KeyboardInterrupt):
        train(
            model,
            train_split,
            selection,
            options,
            RunContext(progress=False, checkpoint_dir=checkpoints),
            [Interrupt(stop_at)],
        )
    model.load_state_dict(initial)  # a new process would start from the input model again
    resumed = train(
        model,
        train_split,
        selection,
        options,
        RunContext(progress=False, checkpoint_dir=checkpoints, resume=True),
    )
    assert resumed.resumed_at_step is not None and 0 < resumed.resumed_at_step < stop_at + 1
    assert_same_weights(uninterrupted, weights(model), atol=1e-5)


def torchrun(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Two local processes under torchrun. One retry: a start-up failure of the local rendezvous
    was seen once in a full-suite run and could not be reproduced; the training itself is deterministic."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    done = subprocess.run(command, env=env, timeout=300, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        done = subprocess.run(command, env=env, timeout=300, capture_output=True, text=True)
    return done


def test_data_parallel_two_processes_match_one(toy_data, tmp_path):
    """torchrun with 2 CPU processes (gloo) and the same global batch gives the same losses as 1 process."""
    worker = REPO / "tests" / "ddp_worker.py"
    single = tmp_path / "single.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "tests")}
    subprocess.run([sys.executable, str(worker), str(toy_data), str(single)], check=True, env=env, timeout=300)
    double = tmp_path / "double.json"
    done = torchrun([str(worker), str(toy_data), str(double)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    one, two = json.loads(single.read_text()), json.loads(double.read_text())
    assert two["processes"] == 2 and one["processes"] == 1
    assert np.allclose(one["losses"], two["losses"], rtol=1e-4), (one["losses"], two["losses"])
    # all-reduce sums in another order, and Adam magnifies that noise on near-zero gradients,
    # so compare what the trained models compute rather than every weight
    difference = np.abs(np.array(one["selection_logits"]) - np.array(two["selection_logits"])).max()
    assert difference < 1e-2, difference
    assert one["selection_accuracy"] == two["selection_accuracy"]


def test_compress_run_under_torchrun_trains_in_two_processes_and_writes_once(tiny_classifier_dir, toy_data, tmp_path):
    import yaml

    recipe = tmp_path / "ft.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "ft",
                "passes": [{"finetune": {"epochs": 1, "batch_size": 16, "track_energy": False}}],
                "benchmark": {"enabled": False},
            }
        )
    )
    out = tmp_path / "out"
    done = torchrun(
        ["-m", "compress", *run_args(recipe, tiny_classifier_dir, toy_data, out, "--overwrite")],
        {**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["passes"][0]["details"]["processes"] == 2
    assert (out / "model" / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"ACCELERATE_USE_FSDP": "true"}, "FSDP"),
        ({"ACCELERATE_USE_DEEPSPEED": "true"}, "DeepSpeed"),
        ({"ACCELERATE_MIXED_PRECISION": "bf16"}, "set the pass's precision"),
        ({"ACCELERATE_GRADIENT_ACCUMULATION_STEPS": "4"}, "gradient_accumulation"),
    ],
)
def test_a_launch_asking_for_what_the_loop_does_not_do_is_refused(toy_data, tmp_path, monkeypatch, variables, message):
    from compress.errors import CompressError

    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CompressError, match=message):
        train(model, train_split, selection, TrainingOptions(epochs=1, track_energy=False), QUIET)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")  # what a plain `accelerate launch` sets: accepted
    monkeypatch.delenv(next(iter(variables)), raising=False)
    if "ACCELERATE_MIXED_PRECISION" not in variables:
        train(model, train_split, selection, TrainingOptions(epochs=1, track_energy=False), QUIET)
