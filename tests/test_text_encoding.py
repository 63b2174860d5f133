"""Mojibake: UTF-8 text once mis-read as a legacy code page is found, attributed and repaired."""

from __future__ import annotations

import json

import pytest
from conftest import run_int8

from compress.cli import main
from compress.data import load_task_data
from compress.testing import make_rows, write_csv
from compress.text_encoding import audit_encoding, checked_encoding, repair_texts, repaired

MARATHI = "लेखनासाठी सोडली नोकरीची संधी"


def garbled(text: str, codec: str) -> str:
    return text.encode("utf-8").decode(codec)


# (text as stored, the text its author wrote and the code page it was mis-read with, or None)
CASES = [
    (garbled(MARATHI, "cp866"), (MARATHI, "cp866")),  # MahaNews' Fashion headlines
    (garbled("\u200b" + MARATHI, "cp866"), ("\u200b" + MARATHI, "cp866")),  # a zero-width space in front
    (garbled("café crème", "cp1252"), ("café crème", "cp1252")),
    (garbled("Привет", "cp1252"), ("Привет", "cp1252")),
    (MARATHI, None),  # clean Devanagari has no bytes in any legacy code page
    ("plain ascii", None),
    ("Привет, мир", None),  # real Cyrillic: its cp866 bytes are not UTF-8
    ("café", None),  # real Latin-1: é alone is not UTF-8
]


@pytest.mark.parametrize(("stored", "expected"), CASES)
def test_a_mis_read_text_is_found_and_repaired_and_a_clean_one_left_alone(stored, expected):
    assert repaired(stored) == expected


def test_repair_texts_repairs_only_the_garbled_and_counts_them():
    texts = [garbled(MARATHI, "cp866"), MARATHI, "plain ascii"]
    assert repair_texts(texts) == ((MARATHI, MARATHI, "plain ascii"), 1)


def test_the_audit_names_the_label_the_garbling_gives_away():
    texts = [garbled(MARATHI, "cp866")] * 9 + [garbled(MARATHI, "cp1252")] + [MARATHI] * 10
    labels = ["fashion"] * 9 + ["travel"] * 2 + ["crime"] * 9
    audit = audit_encoding(texts, labels)
    assert (audit.mis_decoded, audit.share, audit.codecs) == (10, 0.5, {"cp866": 9, "cp1252": 1})
    assert audit.by_label == {"fashion": (9, 9), "travel": (1, 2)}
    (warning,) = audit.warnings()
    assert "10 of 20 texts (50.0%)" in warning and "90% of them are labelled 'fashion'" in warning
    assert audit.to_dict()["by_label"]["travel"] == [1, 2]
    assert audit_encoding([MARATHI, "plain ascii"], ["a", "b"]).warnings() == []
    spread = audit_encoding([garbled(MARATHI, "cp866"), MARATHI] * 2, ["a", "a", "b", "b"])  # as common under both
    assert spread.label_cue() is None and "labelled" not in spread.warnings()[0]


@pytest.fixture
def garbled_data(tmp_path):
    folder = tmp_path / "garbled"
    rows = make_rows(60, seed=1)
    rows[:6] = [(garbled(f"{MARATHI} {i}", "cp866"), "sport") for i in range(6)]
    write_csv(folder / "train.csv", rows)
    write_csv(folder / "dev.csv", [(garbled(MARATHI, "cp866"), "sport"), *make_rows(20, seed=2)])
    return folder


def test_a_run_warns_about_mojibake_or_repairs_every_split(garbled_data):
    data = load_task_data(str(garbled_data))
    said: list[str] = []
    same, record = checked_encoding(data, False, said.append)
    assert same is data and record["train"]["mis_decoded"] == 6 and record["repaired"] is None
    assert len(said) == 1 and f"6 of {len(data.train)} texts" in said[0] and "labelled 'sport'" in said[0]
    said.clear()
    fixed, record = checked_encoding(data, True, said.append)
    assert record["repaired"] == {"train": 6, fixed.selection.name: 0, fixed.evaluation.name: 1}
    assert said == [f"repaired mis-decoded texts: train 6, {fixed.selection.name} 0, {fixed.evaluation.name} 1"]
    assert sum(MARATHI in text for text in fixed.train.texts) == 6 and MARATHI in fixed.evaluation.texts
    assert (fixed.train.labels == data.train.labels).all()
    assert [t for t in fixed.train.texts if MARATHI not in t] == [t for t in data.train.texts if t.isascii()]


def test_the_audit_command_reports_mojibake(tiny_classifier_dir, garbled_data, tmp_path, capsys):
    report = tmp_path / "audit.json"
    args = ["audit", "--model", str(tiny_classifier_dir), "--data", str(garbled_data), "--json", str(report)]
    assert main(args) == 0
    assert "mis-decoded texts (mojibake) in 'train': 6 of " in capsys.readouterr().out
    assert json.loads(report.read_text())["encoding"]["mis_decoded"] == 6
    assert main([*args, "--repair-encoding"]) == 0
    assert json.loads(report.read_text())["repaired_encoding"] is True


def test_the_report_says_whether_the_mojibake_was_repaired():
    from compress.report.markdown import _encoding

    found = {"train": {"mis_decoded": 6}, "repaired": None}
    assert "6 training texts are mojibake" in _encoding({"encoding": found})
    assert _encoding({"encoding": found | {"repaired": {"train": 6, "dev": 1}}}).endswith("repaired: train 6, dev 1")
    assert _encoding({"encoding": {"train": {"mis_decoded": 0}, "repaired": None}}) == _encoding({}) == ""


def test_the_regression_gate_warns_or_repairs_too(tiny_classifier_dir, garbled_data):
    from compress.regress import GateSettings, Thresholds, run_gate

    for repair, said in ((False, "WARNING: 6 of"), (True, "repaired mis-decoded texts: train 6")):
        log: list[str] = []
        run_gate(
            str(tiny_classifier_dir),
            str(tiny_classifier_dir),
            str(garbled_data),
            Thresholds(min_speedup=0.01),
            GateSettings(rounds=3, min_seconds=0.1, min_iterations=3, warmup=1, threads=1, eval_limit=8),
            log=log.append,
            repair_encoding=repair,
        )
        assert any(line.startswith(said) for line in log), log


def test_a_run_repairs_on_request_and_its_report_says_so(tiny_classifier_dir, garbled_data, tmp_path):
    assert run_int8(tiny_classifier_dir, garbled_data, tmp_path / "out", "--repair-encoding") == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["inputs"]["encoding"]["train"]["mis_decoded"] == 6
    assert report["inputs"]["encoding"]["repaired"]["train"] == 6
    assert "mojibake) repaired: train 6" in (tmp_path / "out" / "report.md").read_text()
