"""Training hooks that give parts of the model their own optimizer settings."""

from __future__ import annotations

from typing import Any

from compress.training.loop import TrainHook


class EmbeddingLearningRate(TrainHook):
    """The input embeddings train at their own learning rate: after a vocabulary transfer they are
    new (averages of old pieces) while the encoder is pretrained, so they need larger steps."""

    def __init__(self, learning_rate: float, weight_decay: float) -> None:
        self.learning_rate, self.weight_decay = learning_rate, weight_decay

    def param_groups(self, model: Any) -> list[dict[str, Any]]:
        embedding = model.get_input_embeddings()
        return [{"params": [embedding.weight], "lr": self.learning_rate, "weight_decay": self.weight_decay}]
