"""`trim_vocab`: drop the embedding rows of tokens the task's text never uses (TextPruner-style).

A smaller model on disk and in memory with the same logits on every text whose tokens were
kept; see `compress.vocab.trim` for how each tokenizer type is rebuilt.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register


class TrimVocabConfig(PassConfig):
    keep_characters: bool = Field(True, description="also keep every one-character token of the scripts the text uses")
    include_selection_split: bool = Field(False, description="count the selection split's tokens as used too")


@register(
    "trim_vocab",
    TrimVocabConfig,
    Stage.TORCH,
    "keep only the vocabulary the training text uses (smaller embedding)",
    changes_tokenizer=True,
    uses_head=False,
)
def trim_vocab(config: TrimVocabConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.vocab.trim import tokens_to_keep, trim_embeddings, trim_tokenizer

    texts = list(artifact.data.train.texts) + (
        list(artifact.data.selection.texts) if config.include_selection_split else []
    )
    before_tokens, before_parameters = len(artifact.tokenizer), sum(p.numel() for p in artifact.model.parameters())
    result = trim_tokenizer(artifact.tokenizer, tokens_to_keep(artifact.tokenizer, texts, config.keep_characters))
    trim_embeddings(artifact.model, result.kept_ids, result.tokenizer.pad_token_id)
    after_parameters = sum(p.numel() for p in artifact.model.parameters())
    details = {
        "tokens": [before_tokens, len(result.tokenizer)],
        "tokens_removed": before_tokens - len(result.tokenizer),
        "parameters": [before_parameters, after_parameters],
        "parameters_removed": before_parameters - after_parameters,
    }
    return replace(artifact, tokenizer=result.tokenizer, model_changed=True), details
