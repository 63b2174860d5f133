"""Fast vocabulary transfer (Gee et al., EMNLP 2022 industry track): an in-domain tokenizer, and
embeddings for its tokens built from the old ones.

A tokenizer trained on the task's own text keeps the script intact (NFC, no accent stripping)
and cuts words into far fewer pieces, so sequences get shorter (speed) and the embedding
matrix smaller (size). Each new token starts as the mean of the old embeddings of the pieces
the old tokenizer cuts its string into (a token the old vocabulary has keeps its embedding;
special tokens keep theirs by role), so fine-tuning starts from what the model knew rather
than from noise.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from compress.errors import CompressError
from compress.vocab.alphabet import (
    build_normalizer,
    character_counts,
    is_wordlike,
    script_completion,
    symbol_isolation,
)

Algorithm = Literal["wordpiece", "bpe", "unigram"]
ROLES = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
WORD_START = "\u2581"  # Metaspace's word-start marker, used by the BPE and Unigram tokenizers built here


@dataclass(frozen=True)
class TransferStats:
    old_vocabulary: int
    new_vocabulary: int
    copied: int  # tokens the old vocabulary had (special tokens included)
    averaged: int  # tokens built from the old tokenizer's pieces
    fallback: int  # tokens the old tokenizer could only call unknown: they start as its unknown token


def _special_tokens(old: Any) -> dict[str, str]:
    """The new tokenizer's special tokens, named as the old one names them (so the model's conventions hold)."""
    fallback = {
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }
    return {role: str(getattr(old, role, None) or fallback[role]) for role in ROLES}


def train_tokenizer(
    texts: Sequence[str],
    old: Any,
    algorithm: Algorithm = "wordpiece",
    vocab_size: int = 8000,
    lowercase: bool = True,
    min_frequency: int = 2,
    *,
    complete_scripts: bool = True,
    isolate_symbols: bool = True,
    drop_invisible: bool = True,
) -> Any:
    """A fast tokenizer trained on `texts` that keeps every character of the script; the last three
    settings keep one character the text lacks from deleting a word (`compress.vocab.alphabet`).

    WordPiece and BPE give the same vocabulary for the same text in every process (Unigram's
    parallel training varies in the last bits of its scores)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [t for t in texts if t and t.strip()]
    if len(texts) < 2:
        raise CompressError(f"vocab_transfer: {len(texts)} training text(s); a tokenizer needs a real corpus")
    specials = _special_tokens(old)
    normalizer = build_normalizer(lowercase, drop_invisible)
    counts = character_counts(texts, normalizer)
    unseen = script_completion(counts, normalizer) if complete_scripts else set()
    letters = set(counts) | unseen
    floor = len(set(specials.values())) + len(letters)
    if vocab_size < floor:
        raise CompressError(
            f"vocab_transfer: vocab_size {vocab_size} is below the special tokens plus the alphabet (the "
            f"training text's characters and its scripts' other letters: {floor}); raise it"
        )
    # in the old ids' order, so that ids the model's config names (pad_token_id) keep their meaning
    special_list = sorted(dict.fromkeys(specials.values()), key=lambda t: old.convert_tokens_to_ids(t) or 0)
    if algorithm == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=specials["unk_token"]))
        words = pre_tokenizers.BertPreTokenizer()
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([words, symbol_isolation()]) if isolate_symbols else words
        tokenizer.decoder = decoders.WordPiece()
        anywhere = letters if complete_scripts else set()  # a letter seen only at a word start fits inside one too
        continuations = _continuation_symbols(texts, normalizer, tokenizer.pre_tokenizer, anywhere)
        if vocab_size < floor + len(continuations):
            raise CompressError(
                f"vocab_transfer: vocab_size {vocab_size} is below the special tokens, the alphabet and its "
                f"`##` continuations of the training text ({floor + len(continuations)}); raise it"
            )
        trainer: Any = trainers.WordPieceTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=special_list + continuations,
            initial_alphabet=sorted(letters),
        )
    elif algorithm == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=specials["unk_token"]))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=special_list,
            initial_alphabet=sorted(letters),
        )
    elif algorithm == "unigram":
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size,
            special_tokens=special_list,
            unk_token=specials["unk_token"],
            initial_alphabet=sorted(letters),
        )
    else:
        raise CompressError(f"vocab_transfer: no tokenizer algorithm {algorithm!r}")
    tokenizer.normalizer = normalizer
    tokenizer.train_from_iterator(texts, trainer)
    tokenizer = _without_training_specials(tokenizer, special_list)
    cls, sep = specials["cls_token"], specials["sep_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, model_input_names=list(old.model_input_names), **specials
    )


def _continuation_symbols(
    texts: Sequence[str], normalizer: Any, pre_tokenizer: Any, letters: Collection[str]
) -> list[str]:
    """Every `##c` a word of the text needs, and one for each letter, mark or digit of `letters`, sorted.

    `tokenizers`' WordPiece trainer (0.22-0.23) creates these lazily while iterating a hash map of
    word counts, so their ids, and with them how it breaks ties between equally frequent merges,
    change from process to process (huggingface/tokenizers#1794): the same text gave about 200 of
    8,000 entries different. Declared up front, they get fixed ids and training is deterministic.
    """
    symbols = {
        f"##{c}"
        for text in texts
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        for c in word[1:]
    }
    return sorted(symbols | {f"##{c}" for c in letters if is_wordlike(c)})


def _without_training_specials(trained: Any, specials: list[str]) -> Any:
    """The trained tokenizer with only the real special tokens as added tokens (the `##c` symbols
    were special only to fix their ids during training; they are ordinary vocabulary)."""
    import json

    from tokenizers import Tokenizer

    state = json.loads(trained.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] in specials]
    return Tokenizer.from_str(json.dumps(state))


def _old_pieces(token: str, old: Any, old_vocab: dict[str, int]) -> list[int]:
    """Ids of the old tokenizer's pieces for a new token's string; a `##` continuation stays one.

    A WordPiece vocabulary calls a whole word unknown when it lacks one of its letters
    (bert-base-uncased lacks इ, घ, छ, फ, ळ and the Devanagari digits, so `घोषणा` is one `[UNK]`);
    such a token is spelled letter by letter instead, and the letters the old vocabulary knows
    give its embedding. Without this, 1,416 of the 8,000 Marathi tokens (13% of the test text) all
    started as the one unknown-token embedding."""
    continuation = token.startswith("##")
    text = token[2:] if continuation else token.replace(WORD_START, " ").strip()
    text = unicodedata.normalize("NFC", text)
    ids = old(text, add_special_tokens=False)["input_ids"] if text else []
    if old.unk_token_id in ids:
        ids = [i for position, letter in enumerate(text) for i in _letter(letter, position > 0, old, old_vocab)]
    if continuation and ids:
        ids = [_glued(ids[0], old, old_vocab), *ids[1:]]
    return [i for i in ids if i != old.unk_token_id]


def _letter(letter: str, inside_word: bool, old: Any, old_vocab: dict[str, int]) -> list[int]:
    ids = old(letter, add_special_tokens=False)["input_ids"]
    return [_glued(ids[0], old, old_vocab), *ids[1:]] if inside_word and ids else ids


def _glued(piece: int, old: Any, old_vocab: dict[str, int]) -> int:
    """The old vocabulary's `##` form of a word-initial piece, where it has one."""
    first = old.convert_ids_to_tokens(piece)
    return old_vocab.get(first if first.startswith("##") else f"##{first}", piece)


def transfer_embeddings(model: Any, old: Any, new: Any) -> TransferStats:
    """Give `model` an input embedding for `new`'s vocabulary, each row built from the old one's (in place)."""
    import torch

    embedding = model.get_input_embeddings()
    weights = embedding.weight.detach().clone()
    old_vocab, new_vocab = old.get_vocab(), new.get_vocab()
    rows = torch.empty(len(new), weights.shape[1], dtype=weights.dtype)
    by_role = {getattr(new, role): getattr(old, role) for role in ROLES if getattr(new, role, None)}
    copied = averaged = fallback = 0
    for token, index in new_vocab.items():
        same = old_vocab.get(by_role.get(token, token))
        if same is not None:
            rows[index], copied = weights[same], copied + 1
            continue
        pieces = _old_pieces(token, old, old_vocab)
        if pieces:
            rows[index], averaged = weights[pieces].mean(dim=0), averaged + 1
        else:
            rows[index], fallback = weights[old.unk_token_id], fallback + 1
    model.resize_token_embeddings(len(new))
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(rows)
    model.config.vocab_size = len(new)
    model.config.pad_token_id = new.pad_token_id
    return TransferStats(len(old), len(new), copied, averaged, fallback)
