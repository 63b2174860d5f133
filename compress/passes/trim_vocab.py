"""`trim_vocab`: drop the embedding rows of tokens the task's text never uses (TextPruner-style).

A smaller model on disk and in memory with the same logits on every text whose tokens were
kept; see `compress.vocab.trim` for how each tokenizer type is rebuilt. The training split alone
misses words that test text will use (names, numbers, English loanwords in Marathi news); an
unlabeled corpus of the language (`corpus:`) keeps the tokens those words are made of too.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import Field

from compress.artifact import Artifact
from compress.passes.base import PassConfig, Stage, register


class TrimVocabConfig(PassConfig):
    keep_characters: bool = Field(True, description="also keep every one-character token of the scripts the text uses")
    include_selection_split: bool = Field(False, description="count the selection split's tokens as used too")
    corpus: Path | None = Field(
        None, description="unlabeled text of the language (one example a line) whose tokens are kept too"
    )
    corpus_lines: int | None = Field(None, ge=1, description="use only the first N lines of the corpus")


@register(
    "trim_vocab",
    TrimVocabConfig,
    Stage.TORCH,
    "keep only the vocabulary the training text uses (smaller embedding)",
    changes_tokenizer=True,
    uses_head=False,
)
def trim_vocab(config: TrimVocabConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.data import read_corpus
    from compress.vocab.trim import tokens_to_keep, trim_embeddings, trim_tokenizer

    texts = list(artifact.data.train.texts) + (
        list(artifact.data.selection.texts) if config.include_selection_split else []
    )
    if config.corpus is not None:
        texts += read_corpus(config.corpus, config.corpus_lines, "trim_vocab")
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
