"""`vocab_transfer`: move the model onto a tokenizer trained for the task's own text (FVT).

The packaged MiniLM's tokenizer deletes Devanagari's combining marks and spells every Marathi
word letter by letter; a tokenizer trained on the training split (and, optionally, an
unlabeled corpus of the language) keeps the script and makes sequences about 1.7x shorter.
The new embeddings start as means of the old ones (see `compress.vocab.transfer`); a training
pass after this one (`finetune` or `distill`) teaches the model the new tokens.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from compress.artifact import Artifact
from compress.errors import CompressError
from compress.passes.base import PassConfig, Stage, register


class VocabTransferConfig(PassConfig):
    vocab_size: int = Field(8000, ge=8)
    algorithm: Literal["wordpiece", "bpe", "unigram"] = "wordpiece"
    lowercase: bool = True
    min_frequency: int = Field(2, ge=1)
    # what keeps one character the training text lacks from deleting a word (compress.vocab.alphabet)
    complete_scripts: bool = Field(True, description="add the main scripts' characters and ASCII the text lacks")
    isolate_symbols: bool = Field(True, description="WordPiece: each symbol (emoji, ₹, box drawing) a token of its own")
    drop_invisible: bool = Field(True, description="delete zero-width joiners, format characters, variation selectors")
    corpus: Path | None = Field(None, description="extra unlabeled text (one example a line) to train the tokenizer on")
    corpus_lines: int | None = Field(None, ge=1, description="use only the first N lines of the corpus")
    include_training_split: bool = Field(True, description="train the tokenizer on the training split's texts too")
    cache: bool = Field(True, description="reuse a tokenizer trained on the same texts and settings ($COMPRESS_CACHE)")


def _trained_once(config: VocabTransferConfig, artifact: Artifact) -> Any:
    """The tokenizer, trained once per run and kept with the run's checkpoints.

    WordPiece and BPE training is deterministic here (see `train_tokenizer`), Unigram's is not bit
    for bit: a resumed run, or a second process of a data-parallel run, reads the tokenizer the
    first one trained, so the model's embeddings always meet the vocabulary they were built for."""
    from transformers import AutoTokenizer

    from compress.training.accelerated import process_state

    saved = artifact.checkpoint_dir / "tokenizer" if artifact.checkpoint_dir else None
    if saved is not None and artifact.resume and (saved / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(saved)
    state = process_state(training=False)
    new = None
    if state.is_main_process:
        new = _cached_or_trained(config, artifact)
        if saved is not None:
            new.save_pretrained(saved)
    state.wait_for_everyone()
    if new is None:
        if saved is None:
            raise CompressError("vocab_transfer: several processes need a checkpoint folder to share the tokenizer")
        new = AutoTokenizer.from_pretrained(saved)
    return new


def _cached_or_trained(config: VocabTransferConfig, artifact: Artifact) -> Any:
    """Training costs seconds to minutes on a large corpus; the key is everything the training reads."""
    from transformers import AutoTokenizer

    from compress import cache
    from compress.vocab.transfer import train_tokenizer

    texts = training_texts(config, artifact)
    settings = config.model_dump(mode="json", exclude={"corpus", "corpus_lines", "include_training_split", "cache"})
    key = cache.content_key(
        "vocab_transfer-4", settings, cache.tokenizer_definition(artifact.tokenizer), "\n".join(texts)
    )
    if config.cache and (hit := cache.entry("tokenizers", key)) is not None:
        return AutoTokenizer.from_pretrained(hit)
    new = train_tokenizer(
        texts,
        artifact.tokenizer,
        config.algorithm,
        config.vocab_size,
        config.lowercase,
        config.min_frequency,
        complete_scripts=config.complete_scripts,
        isolate_symbols=config.isolate_symbols,
        drop_invisible=config.drop_invisible,
    )
    if config.cache:
        with cache.writing("tokenizers", key) as folder:
            new.save_pretrained(folder)
    return new


def training_texts(config: VocabTransferConfig, artifact: Artifact) -> list[str]:
    from compress.data import read_corpus

    texts = list(artifact.data.train.texts) if config.include_training_split else []
    if config.corpus is not None:
        texts += read_corpus(config.corpus, config.corpus_lines, "vocab_transfer")
    return texts


@register(
    "vocab_transfer",
    VocabTransferConfig,
    Stage.TORCH,
    "train an in-domain tokenizer and move the embeddings onto it (fast vocabulary transfer)",
    changes_tokenizer=True,
    uses_head=False,
)
def vocab_transfer(config: VocabTransferConfig, artifact: Artifact) -> tuple[Artifact, dict[str, Any]]:
    from compress.vocab.audit import audit_tokenizer
    from compress.vocab.transfer import transfer_embeddings

    old = artifact.tokenizer
    if not getattr(old, "is_fast", False):
        raise CompressError("vocab_transfer: the model's tokenizer is not a fast (tokenizers) tokenizer")
    new = _trained_once(config, artifact)
    embedding_before = artifact.model.get_input_embeddings().weight.numel()
    stats = transfer_embeddings(artifact.model, old, new)
    train = artifact.data.train.texts
    before, after = audit_tokenizer(old, train, artifact.max_length), audit_tokenizer(new, train, artifact.max_length)
    details = {
        **asdict(stats),
        "embedding_parameters": [embedding_before, artifact.model.get_input_embeddings().weight.numel()],
        "train_tokens_per_example": [round(before.tokens_per_example_mean, 2), round(after.tokens_per_example_mean, 2)],
        "train_characters_lost": [round(before.lost_share, 4), round(after.lost_share, 4)],
        "train_unk_share": [round(before.unk_share, 4), round(after.unk_share, 4)],
    }
    return replace(artifact, tokenizer=new, model_changed=True), details
