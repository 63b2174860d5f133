"""How well a tokenizer fits a text collection: what it deletes, what it cannot spell, how long it makes examples.

A tokenizer built for another script can silently delete characters: bert-base-uncased's
normalizer strips every combining mark (Unicode class Mn), which in Devanagari is the virama
and most vowel signs, so a Marathi headline reaches the model with about 11% of its letters
gone. Characters lost are counted by comparing each text (NFC, case-folded, without spaces or
invisible format characters) with what the tokenizer's own decoding of its tokens gives back:
deleted marks and `[UNK]` pieces both count.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from compress.vocab.alphabet import is_invisible

WARN_LOST_SHARE = 0.01  # characters lost, or [UNK] tokens, above this deserve a loud warning


@dataclass(frozen=True)
class TokenizerAudit:
    examples: int
    characters: int
    characters_lost: int  # all characters that do not come back from the tokens
    characters_normalized_away: int  # of those, deleted by the normalizer (stripped marks, dropped characters)
    unk_tokens: int
    examples_with_unk: int  # examples with at least one [UNK]: what a reader of the model would notice
    tokens: int  # without special tokens
    tokens_per_example_mean: float  # with special tokens, before truncation
    tokens_per_example_p95: float
    truncated_share: float  # examples longer than max_length
    max_length: int
    vocabulary_used: int
    vocabulary_size: int
    most_lost: list[tuple[str, str, int]] = field(default_factory=list)  # (character, Unicode class, count)

    @property
    def lost_share(self) -> float:
        return self.characters_lost / max(1, self.characters)

    @property
    def unk_share(self) -> float:
        return self.unk_tokens / max(1, self.tokens)

    def warnings(self) -> list[str]:
        out = []
        if self.lost_share > WARN_LOST_SHARE:
            shown = " ".join(f"{c} ({cls}) {n}" for c, cls, n in self.most_lost[:6])
            out.append(
                f"the tokenizer deletes {100 * self.lost_share:.1f}% of the characters of this text "
                f"(most often: {shown}); the model never sees them"
            )
        if self.unk_share > WARN_LOST_SHARE:
            out.append(f"{100 * self.unk_share:.1f}% of the tokens are unknown ({self.unk_tokens} of {self.tokens})")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"lost_share": self.lost_share, "unk_share": self.unk_share}

    def summary(self) -> str:
        away = 100 * self.characters_normalized_away / max(1, self.characters)
        return (
            f"{100 * self.lost_share:.1f}% characters lost ({away:.1f}% deleted by normalization, the rest "
            f"inside [UNK]), {100 * self.unk_share:.2f}% [UNK] "
            f"(in {self.examples_with_unk} of {self.examples} examples), "
            f"{self.tokens_per_example_mean:.1f} tokens per example (p95 {self.tokens_per_example_p95:.0f}), "
            f"{100 * self.truncated_share:.1f}% truncated at {self.max_length}, "
            f"{self.vocabulary_used}/{self.vocabulary_size} vocabulary entries used"
        )


def _comparable(text: str) -> Counter[str]:
    """The characters a reader sees: not spaces, and not the invisible ones (zero-width joiners,
    variation selectors), which bert-base's normalizer and ours delete without changing a word."""
    return Counter(c for c in unicodedata.normalize("NFC", text).casefold() if not c.isspace() and not is_invisible(c))


def audit_tokenizer(tokenizer: Any, texts: Sequence[str], max_length: int = 128) -> TokenizerAudit:
    """Measure `tokenizer` on `texts` (the whole collection, no sampling)."""
    encoded = tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
    special = set(tokenizer.all_special_ids)
    unk = tokenizer.unk_token_id
    content = [[i for i in ids if i not in special or i == unk] for ids in encoded]
    decoded = tokenizer.batch_decode(content, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    normalizer = getattr(getattr(tokenizer, "backend_tokenizer", None), "normalizer", None)
    lost: Counter[str] = Counter()
    characters = normalized_away = 0
    for text, kept in zip(texts, decoded, strict=False):
        original = _comparable(text)
        characters += sum(original.values())
        lost += original - _comparable(kept)
        if normalizer is not None:
            normalized_away += sum((original - _comparable(normalizer.normalize_str(text))).values())
    lengths = np.array([len(ids) for ids in encoded]) if encoded else np.zeros(1)
    used = {i for ids in content for i in ids}
    return TokenizerAudit(
        examples=len(texts),
        characters=characters,
        characters_lost=sum(lost.values()),
        characters_normalized_away=normalized_away,
        unk_tokens=sum(ids.count(unk) for ids in content) if unk is not None else 0,
        examples_with_unk=sum(unk in ids for ids in content) if unk is not None else 0,
        tokens=sum(len(ids) for ids in content),
        tokens_per_example_mean=float(lengths.mean()),
        tokens_per_example_p95=float(np.percentile(lengths, 95)),
        truncated_share=float((lengths > max_length).mean()),
        max_length=max_length,
        vocabulary_used=len(used),
        vocabulary_size=len(tokenizer),
        most_lost=[(c, unicodedata.category(c), n) for c, n in lost.most_common(10)],
    )
