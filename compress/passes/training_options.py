"""Settings every training pass shares, and the glue from a pass to the one training loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import PassConfig


class TrainingOptions(PassConfig):
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1, description="global batch; split across processes when data-parallel")
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_grad_norm: float = Field(1.0, ge=0)
    early_stopping_patience: int | None = Field(None, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="autocast precision for training")
    checkpoint_every: int = Field(
        200, ge=1, description="optimizer steps between resumable checkpoints (and every epoch)"
    )
    track_energy: bool = True
    embedding_learning_rate: float | None = Field(
        None,
        gt=0,
        description="own learning rate for the input embeddings (new ones after vocab_transfer learn faster)",
    )


def _loop_fields() -> tuple[str, ...]:
    from compress.training.loop import TrainSettings

    return tuple(name for name in TrainingOptions.model_fields if name in TrainSettings.__dataclass_fields__)


def loop_settings(options: TrainingOptions, artifact: Artifact, seed: int) -> Any:
    """The loop's settings for this pass: its options, the run's checkpoint folder and resume flag."""
    from compress.training.loop import TrainSettings

    return TrainSettings(
        **{name: getattr(options, name) for name in _loop_fields()},
        seed=seed,
        checkpoint_dir=artifact.checkpoint_dir,
        resume=artifact.resume,
    )


def option_hooks(options: TrainingOptions) -> list[Any]:
    """Hooks the shared options ask for."""
    from compress.training.param_groups import EmbeddingLearningRate

    if options.embedding_learning_rate is None:
        return []
    return [EmbeddingLearningRate(options.embedding_learning_rate, options.weight_decay)]


def run_training(
    model: Any, artifact: Artifact, options: TrainingOptions, hooks: Sequence[Any] = ()
) -> tuple[Any, dict[str, Any]]:
    """Train `model` on the artifact's data with these options; return the result and report details."""
    from compress.batching import encode
    from compress.training.loop import train

    data, tokenizer = artifact.data, artifact.tokenizer
    result = train(
        model,
        (encode(tokenizer, data.train.texts, artifact.max_length), data.train.labels),
        (encode(tokenizer, data.selection.texts, artifact.max_length), data.selection.labels),
        loop_settings(options, artifact, artifact.seed),
        [*hooks, *option_hooks(options)],
    )
    details = {
        "best_epoch": result.best_epoch,
        "selection_split": data.selection.name,
        "selection_accuracy": round(result.best_score, 4),
        "train_examples": len(data.train),
        "precision": result.precision,
        "processes": result.processes,
        "training_cost": result.cost,
        "epochs": result.epochs,
    }
    if result.resumed_at_step is not None:
        details["resumed_at_step"] = result.resumed_at_step
    return result, details
