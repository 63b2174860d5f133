"""Model loading: aliases, local folders, label handling, and clear errors for broken downloads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TOPICS, tiny_model, tiny_tokenizer

from compress.errors import CompressError
from compress.loading import load_model as load_classifier
from compress.models import check_safetensors, resolve_model

LABELS = tuple(sorted(TOPICS))


def test_alias_resolves_to_the_packaged_minilm():
    source = resolve_model("minilm")
    assert source.is_local and (Path(source.location) / "model.safetensors").is_file()


def test_hub_ids_are_left_to_the_hub_unless_it_is_off_or_the_path_is_local(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    source = resolve_model("l3cube-pune/marathi-bert-v2")
    assert not source.is_local and source.location == "l3cube-pune/marathi-bert-v2"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    with pytest.raises(CompressError, match="model not found: runs/ft"):  # runs/ is here: a missing folder
        resolve_model("runs/ft")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CompressError, match="the hub is off"):
        resolve_model("l3cube-pune/marathi-bert-v2")


def test_existing_classifier_keeps_its_label_order(tiny_classifier_dir):
    loaded = load_classifier(resolve_model(str(tiny_classifier_dir)), ("tech", "sport", "food"), allow_new_head=False)
    assert loaded.label_order == LABELS and not loaded.new_head


def test_new_head_only_when_allowed(tmp_path):
    folder = tmp_path / "other"
    tokenizer = tiny_tokenizer(tmp_path / "v")
    tiny_model("bert", ["x", "y"], vocab_size=len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with pytest.raises(CompressError, match="do not match the data's labels"):
        load_classifier(resolve_model(str(folder)), LABELS, allow_new_head=False)
    loaded = load_classifier(resolve_model(str(folder)), LABELS, allow_new_head=True)
    assert loaded.new_head and loaded.model.config.id2label == dict(enumerate(LABELS))


def test_base_encoder_is_not_a_classifier():
    with pytest.raises(CompressError, match="not a fine-tuned classifier"):
        load_classifier(resolve_model("minilm"), LABELS, allow_new_head=False)


def _broken(tmp_path: Path, tiny_classifier_dir: Path, case: str) -> tuple[str, str]:
    folder = tmp_path / case.replace(" ", "-")
    shutil.copytree(tiny_classifier_dir, folder)
    weights = folder / "model.safetensors"
    if case == "missing path":
        return str(tmp_path / "does" / "not" / "exist"), "model not found"
    if case == "truncated safetensors":
        weights.write_bytes(weights.read_bytes()[:-100])
        return str(folder), "truncated or corrupt"
    if case == "corrupt safetensors":
        weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
        return str(folder), "corrupt safetensors header"
    if case == "lfs pointer":
        weights.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n")
        return str(folder), "git-lfs pointer"
    if case == "pickle only":
        weights.unlink()
        (folder / "pytorch_model.bin").write_bytes(b"pickle")
        return str(folder), "pickle weights are refused"
    if case == "no config":
        (folder / "config.json").unlink()
        return str(folder), "no config.json"
    if case == "bad config":
        (folder / "config.json").write_text("{oops")
        return str(folder), "not valid JSON"
    if case == "file not folder":
        return str(weights), "got a file"
    raise ValueError(case)


@pytest.mark.parametrize(
    "case",
    [
        "missing path",
        "truncated safetensors",
        "corrupt safetensors",
        "lfs pointer",
        "pickle only",
        "no config",
        "bad config",
        "file not folder",
    ],
)
def test_broken_model_folders_get_one_clear_error(tmp_path, tiny_classifier_dir, case):
    reference, message = _broken(tmp_path, tiny_classifier_dir, case)
    with pytest.raises(CompressError) as error:
        resolve_model(reference)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_tokenizer_larger_than_embedding_is_refused(tmp_path):
    folder = tmp_path / "mismatch"
    tokenizer = tiny_tokenizer(tmp_path / "v")
    tiny_model("bert", list(LABELS), vocab_size=len(tokenizer) - 5).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with pytest.raises(CompressError, match=r"tokenizer has .* tokens but the model's embedding has"):
        load_classifier(resolve_model(str(folder)), LABELS, allow_new_head=False)


def test_safetensors_check_accepts_a_real_file(tiny_classifier_dir):
    check_safetensors(tiny_classifier_dir / "model.safetensors")
    header = json.loads((tiny_classifier_dir / "config.json").read_text())
    assert header["id2label"]["0"] == LABELS[0]
