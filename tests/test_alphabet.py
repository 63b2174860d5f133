"""A tokenizer trained on a small sample of a language must not delete a word for one character
the sample lacked: script completion, symbol isolation and invisible characters."""

from __future__ import annotations

from collections import Counter

import pytest
from test_vocab import stripping_tokenizer

from compress.vocab.alphabet import build_normalizer, character_counts, script_completion
from compress.vocab.audit import audit_tokenizer
from compress.vocab.transfer import train_tokenizer

# Marathi headlines without the candra A (ॲ), the Devanagari digits, or any emoji
MARATHI = ["युरोपवर पाऊस पडला", "पुण्यात पाऊस", "मुंबईत गर्दी वाढली", "शाळा आज बंद", "युरोपवर संकट"] * 4
OFF = {"complete_scripts": False, "isolate_symbols": False, "drop_invisible": False}


def train(tmp_path, **settings):
    old, _ = stripping_tokenizer(tmp_path / "v")
    return train_tokenizer(MARATHI, old, "wordpiece", vocab_size=400, min_frequency=1, **(OFF | settings))


@pytest.mark.parametrize(
    "setting, text, kept_word",
    [
        ("complete_scripts", "व्हॉट्सॲप पाऊस", "व्हॉट्सॲप"),  # a Marathi letter the sample never used
        ("complete_scripts", "पाऊस ४२", "४२"),  # Devanagari digits
        ("complete_scripts", "पाऊस (आज)", "(आज)"),  # ASCII punctuation the sample never used
        ("complete_scripts", "पाऊसआज", "पाऊसआज"),  # आ, seen only at a word's start, inside one
        ("isolate_symbols", "पाऊस😊 आज", "पाऊस"),  # an emoji glued to a word
        ("drop_invisible", "पा\u200cऊस आज", "पाऊस"),  # a zero-width non-joiner inside a word
    ],
)
def test_one_unseen_character_no_longer_deletes_its_word(tmp_path, setting, text, kept_word):
    without, with_it = train(tmp_path), train(tmp_path, **{setting: True})
    assert without.unk_token in without.tokenize(text)  # the whole word was one unknown token
    assert kept_word in with_it.decode(with_it(text)["input_ids"], skip_special_tokens=True).replace(" ", "")
    assert audit_tokenizer(with_it, [text]).characters_lost < audit_tokenizer(without, [text]).characters_lost


def test_the_defaults_keep_every_character_and_reload_with_stock_apis(tmp_path):
    from transformers import AutoTokenizer

    old, _ = stripping_tokenizer(tmp_path / "v")
    new = train_tokenizer(MARATHI, old, "wordpiece", vocab_size=400, min_frequency=1)
    text = "व्हॉट्सॲप😊 ४२ पा\u200cऊस"
    assert new.tokenize(text).count(new.unk_token) == 1  # the emoji, alone
    assert audit_tokenizer(new, [text]).characters_lost == 1
    new.save_pretrained(tmp_path / "saved")
    assert AutoTokenizer.from_pretrained(tmp_path / "saved")(text)["input_ids"] == new(text)["input_ids"]


def test_script_completion_fills_the_main_scripts_and_leaves_a_stray_letter_alone():
    normalizer = build_normalizer(lowercase=True, drop_invisible=True)
    counts = character_counts(["कमल नयन", "कमल", "Ab"] * 50 + ["ж"], normalizer)
    added = script_completion(counts, normalizer)
    assert {"ॲ", "अ", "४", "ः", "।"} <= added and "क" not in added  # Devanagari (danda too), seen ones excluded
    assert {"z", "(", "%"} <= added and "Z" not in added  # printable ASCII; capitals never reach the model
    assert not any("\u0400" <= c <= "\u04ff" for c in added)  # one Cyrillic letter in 751: not a main script
    assert not any("\u0980" <= c <= "\u09ff" for c in added)  # nor a script the text does not use (Bengali)
    assert script_completion(Counter(), normalizer) == {chr(p) for p in range(0x21, 0x7F) if not "A" <= chr(p) <= "Z"}


def test_invisible_characters_are_not_counted_as_characters_a_tokenizer_loses(tmp_path):
    new = train(tmp_path, drop_invisible=True)
    audit = audit_tokenizer(new, ["पा\u200cऊस", "पाऊस\ufe0f"])
    assert audit.characters == 8 and audit.characters_lost == 0
