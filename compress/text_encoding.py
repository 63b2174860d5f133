"""Texts whose UTF-8 bytes were once decoded with a legacy code page (mojibake), found and repaired.

A Devanagari headline whose UTF-8 bytes were read as DOS code page 866 reaches the model as
Cyrillic letters and box-drawing signs (`लेखन` becomes `рд▓реЗрдЦрди`). When such rows come from one
source they also come with one label: in MahaNews SHC, 122 of the 203 Fashion training headlines
are garbled this way and almost no others, so a model can learn "garbled means Fashion" and score
well on a test split garbled the same way, while clean Fashion text gets no such help. The check
is exact, not a guess: a text counts only when every character has a byte in the code page and
those bytes are valid UTF-8 that differs from the text (plain text in another script fails
one or the other), and the repair is that decoding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compress.data import TaskData

# code pages UTF-8 text is most often mis-read with; the first that repairs a text wins
LEGACY_CODECS = ("cp866", "cp1252", "latin-1", "cp1251", "cp437", "mac_roman")
WARN_SHARE = 0.001  # a garbled text in a thousand deserves a warning


def repaired(text: str) -> tuple[str, str] | None:
    """The text as its author wrote it and the code page it was mis-read with, or None if it was not."""
    for codec in LEGACY_CODECS:
        try:
            raw = text.encode(codec)
        except UnicodeEncodeError:
            continue
        if raw.isascii():
            return None  # plain ASCII reads the same in every code page: nothing was mis-read
        try:
            original = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if original != text:
            return original, codec
    return None


def repair_texts(texts: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """`texts` with every mis-decoded one repaired, and how many were."""
    fixed = [repaired(t) for t in texts]
    return tuple(f[0] if f else t for f, t in zip(fixed, texts, strict=True)), sum(f is not None for f in fixed)


@dataclass(frozen=True)
class EncodingAudit:
    """How many texts of a split are mojibake, read with which code page, under which labels."""

    examples: int
    mis_decoded: int
    codecs: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, tuple[int, int]] = field(default_factory=dict)  # label: (garbled, all examples)

    @property
    def share(self) -> float:
        return self.mis_decoded / max(1, self.examples)

    def warnings(self) -> list[str]:
        if self.share <= WARN_SHARE:
            return []
        codecs = ", ".join(f"{codec} {n}" for codec, n in self.codecs.items())
        message = (
            f"{self.mis_decoded} of {self.examples} texts ({100 * self.share:.1f}%) are UTF-8 mis-read as a legacy "
            f"code page ({codecs}): the model sees the garbling, not the words"
        )
        if cue := self.label_cue():
            label, (garbled, total) = cue
            message += (
                f"; {100 * garbled / self.mis_decoded:.0f}% of them are labelled {label!r} ({garbled} of its "
                f"{total} examples), a cue that clean text never carries"
            )
        return [message + "; --repair-encoding (data.repair_encoding in a recipe) repairs them"]

    def label_cue(self) -> tuple[str, tuple[int, int]] | None:
        """The label that holds most of the garbled texts, if they are at least 3 times as common
        under it as under the other labels: then the garbling tells the label."""
        if not self.by_label:
            return None
        label, (garbled, total) = max(self.by_label.items(), key=lambda item: item[1][0])
        rest = self.examples - total
        rate_elsewhere = (self.mis_decoded - garbled) / rest if rest else 1.0
        if garbled / self.mis_decoded >= 0.5 and garbled / total >= 3 * rate_elsewhere:
            return label, (garbled, total)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "mis_decoded": self.mis_decoded,
            "share": round(self.share, 4),
            "codecs": self.codecs,
            "by_label": {label: list(counts) for label, counts in self.by_label.items()},
        }


def audit_encoding(texts: Sequence[str], labels: Sequence[str] | None = None) -> EncodingAudit:
    """The mojibake in `texts`; with `labels` (one name per text), per label too."""
    found = [repaired(t) for t in texts]
    codecs = Counter(f[1] for f in found if f)
    by_label: dict[str, tuple[int, int]] = {}
    if labels is not None:
        garbled = Counter(label for label, f in zip(labels, found, strict=True) if f)
        totals = Counter(labels)
        by_label = {label: (garbled[label], totals[label]) for label in sorted(garbled)}
    return EncodingAudit(len(texts), sum(codecs.values()), dict(codecs.most_common()), by_label)


def checked_encoding(data: TaskData, repair: bool, log: Callable[[str], None]) -> tuple[TaskData, dict[str, Any]]:
    """Say how many training texts are mojibake (and under which label), loudly unless `repair`
    is asked for; with it, every split repaired. Also the record for the report."""
    train = data.train
    audit = audit_encoding(train.texts, [data.label_map.names[i] for i in train.labels])
    record: dict[str, Any] = {"train": audit.to_dict(), "repaired": None}
    if not repair:
        for warning in audit.warnings():
            log(f"WARNING: {warning}")
        return data, record
    data, record["repaired"] = data.with_repaired_encoding()
    log("repaired mis-decoded texts: " + ", ".join(f"{name} {n}" for name, n in record["repaired"].items()))
    return data, record
