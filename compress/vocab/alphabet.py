"""What a tokenizer trained here can spell: its normalization and its alphabet.

A WordPiece tokenizer calls a whole word `[UNK]` when one of its characters is missing from the
vocabulary, and its trainer's alphabet is only what the training text happened to contain. On a
few thousand Marathi headlines that leaves out real letters (the candra A of `ॲप`, "app"), digits
and signs, and every symbol the headlines never used (an emoji glued to a word in a tweet), so one
unseen character deletes a word the model would otherwise read. Three defences, each a setting of
`vocab_transfer`:

- complete the scripts the text is written in: every character of the Unicode pages where its
  main scripts' characters lie (letters, marks, digits, the danda), and printable ASCII, not just
  the ones seen;
- isolate symbols (Unicode class S: emoji, currency, box drawing) as tokens of their own, so an
  unseen one costs one `[UNK]`, not the word it is glued to;
- drop invisible characters (format characters such as the zero-width joiner and non-joiner,
  and variation selectors), which change how a word is drawn but not what it says; bert-base's
  own normalizer deletes format characters too.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

INVISIBLE = r"[\p{Cf}\x{FE00}-\x{FE0F}]"  # format characters and variation selectors
SYMBOL = r"\p{S}"
MAIN_SCRIPT_SHARE = 0.01  # a script with at least this share of the text's letters is completed
PAGE_BITS = 7  # scripts are completed over the 128-code-point pages their seen characters lie on


def is_invisible(character: str) -> bool:
    return unicodedata.category(character) == "Cf" or 0xFE00 <= ord(character) <= 0xFE0F


def build_normalizer(lowercase: bool, drop_invisible: bool) -> Any:
    """NFC (never accent stripping: the marks are letters of the script), then the options."""
    from tokenizers import Regex, normalizers

    steps = [normalizers.NFC()]
    if drop_invisible:
        steps.append(normalizers.Replace(Regex(INVISIBLE), ""))
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def symbol_isolation() -> Any:
    """A pre-tokenizer step that makes every symbol character a word of its own."""
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Split(Regex(SYMBOL), "isolated")


def _script(character: str) -> str | None:
    """The script a character belongs to, as its Unicode name starts ("DEVANAGARI LETTER KA",
    "DEVANAGARI DANDA"); ASCII digits are named "DIGIT ZERO", and form a script of their own.
    None for unassigned, control and private-use code points."""
    if unicodedata.category(character)[0] == "C":
        return None
    name = unicodedata.name(character, "")
    return name.split(" ", 1)[0] if name else None


def is_wordlike(character: str) -> bool:
    """A letter, mark or digit: what can stand inside a word (and needs a `##` form in WordPiece)."""
    return unicodedata.category(character)[0] in "LMN"


def character_counts(texts: Iterable[str], normalizer: Any) -> Counter[str]:
    """How often each non-space character occurs in the normalized texts."""
    return Counter(c for text in texts for c in normalizer.normalize_str(text) if not c.isspace())


def script_completion(counts: Counter[str], normalizer: Any) -> set[str]:
    """The characters of the text's main scripts that it does not contain (letters, marks, digits
    and the script's own punctuation, such as the danda), from the pages where the script's seen
    characters lie, and the printable ASCII characters, which text in every script borrows; only
    those the normalizer leaves as they are (no capitals after lowercasing)."""
    letters = Counter[str]()
    pages: dict[str, set[int]] = {}
    for character, count in counts.items():
        if is_wordlike(character) and (script := _script(character)) is not None:
            letters[script] += count
            pages.setdefault(script, set()).add(ord(character) >> PAGE_BITS)
    total = sum(letters.values())
    candidates = {chr(point) for point in range(0x21, 0x7F)}
    for script, count in letters.items():
        if count >= MAIN_SCRIPT_SHARE * total:
            for page in pages[script]:
                points = range(page << PAGE_BITS, (page + 1) << PAGE_BITS)
                candidates.update(chr(p) for p in points if _script(chr(p)) == script)
    return {c for c in candidates if c not in counts and normalizer.normalize_str(c) == c}
