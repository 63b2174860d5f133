"""`finetune`: full fine-tuning of encoder and classification head on the recipe's data."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register


class FinetuneConfig(PassConfig):
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_grad_norm: float = Field(1.0, ge=0)
    early_stopping_patience: int | None = Field(None, ge=1)


@register("finetune", FinetuneConfig, Stage.TORCH, "full fine-tuning, best epoch on the selection split kept")
def finetune(config: FinetuneConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.batching import encode
    from compress.training.loop import TrainSettings, train

    data, tokenizer = artifact.data, artifact.tokenizer
    settings = TrainSettings(**config.model_dump(), seed=artifact.seed)
    result = train(
        artifact.model,
        (encode(tokenizer, data.train.texts, artifact.max_length), data.train.labels),
        (encode(tokenizer, data.selection.texts, artifact.max_length), data.selection.labels),
        settings,
    )
    details = {
        "best_epoch": result.best_epoch,
        "selection_split": data.selection.name,
        "selection_accuracy": round(result.best_accuracy, 4),
        "train_examples": len(data.train),
        "train_seconds": round(result.seconds, 1),
        "train_samples_per_second": round(result.samples_per_second, 1),
        "epochs": result.epochs,
    }
    return replace(artifact, model_changed=True), details
