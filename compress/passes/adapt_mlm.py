"""`adapt_mlm`: masked-LM adaptation (continued pretraining) on unlabeled text of the task's language.

After `vocab_transfer` the model's new embeddings are averages of English letter pieces: it has
never read a word of the language. A masked-LM pass over an unlabeled corpus (and the training
split's texts) teaches it, before `finetune` teaches the task. The classification head is left
as it is. The result is cached by a hash of everything it depends on (encoder weights,
tokenizer, texts, settings), so the seeds of a study, or a rerun, adapt once; the run's
checkpoints make an interrupted adaptation resumable.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import Stage, register
from compress.passes.training_options import TrainingPassConfig, option_hooks, run_context

CACHE_KIND = "adapt_mlm"
MIN_TEXTS = 10


class AdaptMlmConfig(TrainingPassConfig):
    epochs: int = Field(1, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    corpus: Path | None = Field(None, description="unlabeled text of the task's language, one example a line")
    corpus_lines: int | None = Field(None, ge=1, description="use only the first N lines of the corpus")
    include_training_split: bool = Field(True, description="adapt on the training split's texts too (task-adaptive)")
    heldout_lines: int = Field(512, ge=1, description="texts kept out of training for the held-out masked-LM loss")
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    max_length: int | None = Field(None, ge=8, description="tokens per text; default: the recipe's max_length")
    seed: int = Field(
        0,
        description="order and masking; the recipe's seed does not change them, so a study's seeds "
        "share one adaptation",
    )
    cache: bool = Field(True, description="reuse an adaptation of the same weights, tokenizer, texts and settings")

    @model_validator(mode="after")
    def _masked_lm_targets_are_tokens(self) -> AdaptMlmConfig:
        if self.class_weight is not None:
            raise ValueError("class_weight weighs labels; masked-LM targets are tokens")
        return self


def _texts(config: AdaptMlmConfig, artifact: Artifact) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts): the corpus and the training split, shuffled by the pass's seed."""
    import numpy as np

    from compress.data import read_corpus

    texts = read_corpus(config.corpus, config.corpus_lines, "adapt_mlm") if config.corpus is not None else []
    texts += list(artifact.data.train.texts) if config.include_training_split else []
    texts = [t for t in texts if t.strip()]
    if len(texts) < MIN_TEXTS:
        raise CompressError(f"adapt_mlm: {len(texts)} text(s) to adapt on; give a corpus of at least {MIN_TEXTS} lines")
    order = np.random.default_rng(config.seed).permutation(len(texts))
    held = min(config.heldout_lines, len(texts) // 10)
    return [texts[i] for i in order[held:]], [texts[i] for i in order[:held]]


def _cache_key(config: AdaptMlmConfig, artifact: Artifact, train_texts: list[str], max_length: int) -> str:
    from compress import cache

    encoder = getattr(artifact.model, artifact.model.base_model_prefix).state_dict()
    settings = config.model_dump(mode="json", exclude={"cache", "checkpoint_every", "track_energy", "corpus"})
    return cache.content_key(
        "adapt_mlm-2",
        json.dumps(settings, sort_keys=True),
        max_length,
        artifact.model.config.to_json_string(use_diff=False),
        cache.tokenizer_definition(artifact.tokenizer),
        "\n".join(train_texts),
        *[part for name, tensor in encoder.items() for part in (name, tensor)],
    )


@register(
    "adapt_mlm",
    AdaptMlmConfig,
    Stage.TORCH,
    "masked-LM adaptation on unlabeled text (continued pretraining), cached by content",
    uses_head=False,
)
def adapt_mlm(config: AdaptMlmConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress import cache
    from compress.training.accelerated import process_state

    if getattr(artifact.tokenizer, "mask_token_id", None) is None:
        raise CompressError("adapt_mlm: the model's tokenizer has no mask token")
    train_texts, held_texts = _texts(config, artifact)
    max_length = config.max_length or artifact.max_length
    key = _cache_key(config, artifact, train_texts, max_length)
    if config.cache and (hit := cache.entry(CACHE_KIND, key)) is not None:
        _load_encoder(artifact.model, hit / "encoder.safetensors")
        details = json.loads((hit / "details.json").read_text()) | {"cached": str(hit)}
        return replace(artifact, model_changed=True), details

    details = _adapt(config, artifact, train_texts, held_texts, max_length)
    if config.cache and process_state(training=False).is_main_process:
        with cache.writing(CACHE_KIND, key) as folder:
            _save_encoder(artifact.model, folder / "encoder.safetensors")
            (folder / "details.json").write_text(json.dumps(details, indent=2))
    return replace(artifact, model_changed=True), details | {"cached": False}


def _adapt(
    config: AdaptMlmConfig, artifact: Artifact, train_texts: list[str], held_texts: list[str], max_length: int
) -> dict[str, Any]:
    import numpy as np

    from compress.batching import encode
    from compress.training.loop import Selection, train
    from compress.training.masked_lm import MaskedLanguageModeling, copy_encoder, heldout_loss, masked_lm_over
    from compress.training.summary import TrainingSummary

    tokenizer, started = artifact.tokenizer, time.perf_counter()
    model = masked_lm_over(artifact.model, config.seed)
    train_encoded, held = encode(tokenizer, train_texts, max_length), encode(tokenizer, held_texts, max_length)

    def held_loss(m: Any) -> float:
        return heldout_loss(m, held, tokenizer, config.mlm_probability, config.seed)

    before = held_loss(model)
    result = train(
        model,
        (train_encoded, np.zeros(len(train_texts), dtype=np.int64)),
        (held, np.zeros(len(held), dtype=np.int64)),
        config,
        run_context(artifact, config.seed),
        [MaskedLanguageModeling(tokenizer, config.mlm_probability, config.seed), *option_hooks(config)],
        selection=Selection("heldout_mlm_score", lambda m: -held_loss(m)),
    )
    copy_encoder(model, artifact.model)
    return {
        "texts": {"train": len(train_texts), "heldout": len(held_texts)},
        "tokens_per_text": round(float(train_encoded.lengths().mean()), 2),
        "heldout_mlm_loss": [round(before, 4), round(-result.best_score, 4)],
        "steps": result.steps,
        "seconds": round(time.perf_counter() - started, 1),
        **TrainingSummary.of(result, "heldout_mlm_score").details(),
    }


def _save_encoder(model: Any, file: Path) -> None:
    from safetensors.torch import save_file

    encoder = getattr(model, model.base_model_prefix)
    save_file({k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}, str(file))


def _load_encoder(model: Any, file: Path) -> None:
    from safetensors.torch import load_file

    encoder = getattr(model, model.base_model_prefix)
    missing, unexpected = encoder.load_state_dict(load_file(str(file)), strict=False)
    if missing or unexpected:
        raise CompressError(f"adapt_mlm: cached encoder {file} does not fit this model; remove it")
