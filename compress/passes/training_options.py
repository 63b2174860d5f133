"""Settings every training pass shares, and the glue from a pass to the one training loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compress.artifact import Artifact
from compress.passes.base import PassConfig
from compress.training.settings import RunContext, TrainingOptions
from compress.training.summary import TrainingSummary


class TrainingPassConfig(PassConfig, TrainingOptions):
    """A pass that trains: its config is the loop's options."""


def run_context(artifact: Artifact, seed: int) -> RunContext:
    """The run this pass trains in: its checkpoint folder and resume flag."""
    return RunContext(seed=seed, checkpoint_dir=artifact.checkpoint_dir, resume=artifact.resume)


def option_hooks(options: TrainingOptions) -> list[Any]:
    """Hooks the shared options ask for."""
    from compress.training.param_groups import EmbeddingLearningRate

    if options.embedding_learning_rate is None:
        return []
    return [EmbeddingLearningRate(options.embedding_learning_rate, options.weight_decay)]


def run_training(
    model: Any,
    artifact: Artifact,
    options: TrainingOptions,
    hooks: Sequence[Any] = (),
    unlabelled: Sequence[str] = (),
) -> tuple[Any, dict[str, Any]]:
    """Train `model` on the artifact's data with these options, and on `unlabelled` texts after the
    training split (rows a hook teaches: a distillation transfer set); return the result and report
    details."""
    import numpy as np

    from compress.batching import encode
    from compress.training.loop import train
    from compress.training.task_loss import UNLABELLED

    data, tokenizer = artifact.data, artifact.tokenizer
    labels = np.concatenate([data.train.labels, np.full(len(unlabelled), UNLABELLED, dtype=data.train.labels.dtype)])
    result = train(
        model,
        (encode(tokenizer, [*data.train.texts, *unlabelled], artifact.max_length), labels),
        (encode(tokenizer, data.selection.texts, artifact.max_length), data.selection.labels),
        options,
        run_context(artifact, artifact.seed),
        [*hooks, *option_hooks(options)],
    )
    details = {
        "selection_split": data.selection.name,
        "train_examples": len(data.train),
        **({"unlabelled_examples": len(unlabelled)} if unlabelled else {}),
        **TrainingSummary.of(result, "accuracy").details(),
    }
    return result, details
