"""Shared fixtures: tiny random models built in memory, a toy labelled dataset, no network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from compress.testing import TOPICS, WORDS, make_rows, tiny_model, tiny_tokenizer, write_csv  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
MAHANEWS = REPO.parent / "shared" / "data" / "mahanews-shc"
FAST_BENCH = [
    "benchmark.rounds=2",
    "benchmark.min_iterations=4",
    "benchmark.min_seconds=0.05",
    "benchmark.warmup=1",
    "benchmark.bootstrap=50",
    "benchmark.memory=false",
]


@pytest.fixture
def toy_data(tmp_path: Path) -> Path:
    """A folder with train.csv (90 rows) and dev.csv (30 rows), three labels."""
    folder = tmp_path / "data"
    write_csv(folder / "train.csv", make_rows(90, seed=1))
    write_csv(folder / "dev.csv", make_rows(30, seed=2))
    return folder


@pytest.fixture
def tiny_classifier_dir(tmp_path: Path) -> Path:
    """A saved tiny BERT classifier for the toy labels, with its tokenizer."""
    folder = tmp_path / "tiny-bert"
    tokenizer = tiny_tokenizer(tmp_path / "vocab")
    model = tiny_model("bert", sorted(TOPICS), vocab_size=len(tokenizer))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _no_stray_files(monkeypatch, tmp_path):
    """Libraries write caches under HOME; keep them in the test's temporary folder."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.setenv("COMPRESS_CACHE", str(tmp_path / "compress-cache"))


WATCHED = (REPO, REPO / "tests", REPO / "recipes", REPO / "benchmarks", REPO / "scripts", Path.home())


@pytest.fixture(scope="session", autouse=True)
def _private_temp(tmp_path_factory):
    """The suite's temporary files (its subprocesses' too) go to a folder of its own, so the
    leftover check below sees only them: a `compress run` elsewhere on the machine makes its
    `compress-*` folders in the shared temporary folder while the tests run."""
    folder = tmp_path_factory.mktemp("tmp")
    saved = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    yield folder
    if saved[0] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved[0]
    tempfile.tempdir = saved[1]


def _entries() -> set[Path]:
    """What a test could leave behind: entries of the checkout's folders, home, the working
    folder, and compress's own temporary folders (bytecode caches aside)."""
    found = {
        Path(tempfile.gettempdir()) / name for name in os.listdir(tempfile.gettempdir()) if name.startswith("compress-")
    }
    for folder in {*WATCHED, Path.cwd()}:
        if folder.is_dir():
            found |= {folder / name for name in os.listdir(folder) if name != "__pycache__"}
    return found


@pytest.fixture(autouse=True)
def _leaves_nothing_behind():
    """Fails a test that leaves files outside its temporary folder."""
    before = _entries()
    yield
    left = sorted(str(path) for path in _entries() - before)
    assert not left, f"the test left files behind: {left}"


def run_args(recipe: Path | str, model: Path | str, data: Path | str, out: Path | str, *extra: str) -> list[str]:
    """`compress run`'s arguments (without the program name)."""
    return ["run", str(recipe), "--model", str(model), "--data", str(data), "--out", str(out), *extra]


def run_inline_recipe(text: str, model: Path, data: Path, out: Path, *extra: str) -> int:
    """Write a recipe given as YAML text beside `out` and `compress run` it; returns the exit status."""
    from compress.cli import main

    recipe = out.parent / f"{out.name}.recipe.yaml"
    recipe.write_text(text, encoding="utf-8")
    return main(run_args(recipe, model, data, out, *extra))


def run_int8(model: Path, data: Path, out: Path, *extra: str) -> int:
    """`compress run recipes/int8-dynamic.yaml` with a short benchmark."""
    from compress.cli import main

    recipe = str(REPO / "recipes" / "int8-dynamic.yaml")
    sets = [part for setting in FAST_BENCH for part in ("--set", setting)]
    return main(run_args(recipe, model, data, out, *sets, *extra))
