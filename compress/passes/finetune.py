"""`finetune`: fine-tuning on the recipe's data, full or with LoRA adapters merged back.

With `lora`, peft wraps the model so only low-rank adapters (and the classification head)
train; at the end the adapters are merged into the dense weights, h = (W + BA)x, so the
output is a plain transformers model that every later pass and loader understands.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register
from compress.passes.training_options import TrainingPassConfig, run_training


class LoraOptions(PassConfig):
    rank: int = Field(8, ge=1)
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    target_modules: tuple[str, ...] | None = Field(
        None, description="default: the architecture's attention and FFN linears"
    )
    modules_to_save: tuple[str, ...] = Field(
        (), description="modules trained in full beside the adapters (the classifier always is), e.g. [pooler]"
    )


class FinetuneConfig(TrainingPassConfig):
    lora: LoraOptions | None = None


@register(
    "finetune", FinetuneConfig, Stage.TORCH, "fine-tuning (full or LoRA, merged), best epoch kept", trains_head=True
)
def finetune(config: FinetuneConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    model = artifact.model
    parameters = sum(p.numel() for p in model.parameters())
    if config.lora is None:
        _, details = run_training(model, artifact, config)
        details["trainable_parameters"] = parameters
        return replace(artifact, model_changed=True), details

    wrapped = _with_adapters(model, config.lora)
    trainable = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    _result, details = run_training(wrapped, artifact, config)
    merged = wrapped.merge_and_unload()
    details |= {
        "lora": config.lora.model_dump(mode="json")
        | {"target_modules": list(wrapped.peft_config["default"].target_modules)},
        "trainable_parameters": trainable,
        "total_parameters": parameters,
        "trainable_reduction": round(parameters / trainable, 1),
        "versus_full_finetuning": _compare_with_full(merged, artifact, config, trainable, parameters, config.lora),
    }
    return replace(artifact, model=merged.eval(), model_changed=True), details


def _with_adapters(model: Any, lora: LoraOptions) -> Any:
    from compress.extras import require

    peft = require("peft", "train", "finetune with lora")
    LoraConfig, TaskType, get_peft_model = peft.LoraConfig, peft.TaskType, peft.get_peft_model

    from compress.architectures import lora_targets

    targets = list(lora.target_modules) if lora.target_modules else lora_targets(model.config.model_type)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        modules_to_save=list(lora.modules_to_save) or None,
    )
    return get_peft_model(model, config)


def _compare_with_full(
    model: Any, artifact: Artifact, config: FinetuneConfig, trainable: int, total: int, lora: LoraOptions
) -> dict[str, Any]:
    """What full fine-tuning would cost instead: step time measured on a copy, training state counted.

    Training state = gradients plus AdamW's two moments, 12 bytes per trainable fp32 parameter;
    step time is the median of a few measured steps of each kind on the same batches.
    """
    import copy

    return {
        "training_state_mb": {"lora": round(12 * trainable / 2**20, 1), "full": round(12 * total / 2**20, 1)},
        "step_seconds": {
            "lora": _median_step_seconds(_with_adapters(copy.deepcopy(model), lora), artifact, config),
            "full": _median_step_seconds(copy.deepcopy(model), artifact, config),
        },
        "method": "12 bytes x trainable parameters (grad + AdamW moments); median of 6 measured steps after 2 warm-up",
    }


def _median_step_seconds(model: Any, artifact: Artifact, config: FinetuneConfig, steps: int = 8) -> float:
    import numpy as np
    import torch

    from compress.batching import encode

    encoded = encode(artifact.tokenizer, artifact.data.train.texts[: config.batch_size * steps], artifact.max_length)
    labels = artifact.data.train.labels
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    times = []
    for step in range(steps):
        rows = np.arange(step * config.batch_size, min(len(encoded), (step + 1) * config.batch_size))
        if not len(rows):
            break
        inputs = {k: torch.from_numpy(v) for k, v in encoded.batch(rows).items()}
        started = time.perf_counter()
        model(**inputs, labels=torch.from_numpy(labels[rows])).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return round(float(np.median(times[2:] or times)), 4)
