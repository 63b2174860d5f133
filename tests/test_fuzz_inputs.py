"""Property-based: random bytes and random CSV/JSONL/YAML fed to the loaders end in a one-line
error with exit 2 (or load), never a traceback, and write nothing outside a temporary folder."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compress.cli import main
from compress.data import load_task_data
from compress.errors import CompressError

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)  # any Unicode but lone surrogates
VALUES = st.one_of(TEXT, st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False))


@contextlib.contextmanager
def quiet_empty_cwd():
    """Run in a fresh empty folder and check it is still empty afterwards."""
    with tempfile.TemporaryDirectory(prefix="compress-fuzz-cwd-") as cwd:
        before = os.getcwd()
        os.chdir(cwd)
        try:
            with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
                yield err
        finally:
            os.chdir(before)
        assert not os.listdir(cwd), f"files written: {os.listdir(cwd)}"


def load_or_one_line(path: Path) -> None:
    try:
        load_task_data(str(path))
    except CompressError as exc:
        assert "\n" not in str(exc) and str(exc)


@FUZZ
@given(content=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
def test_random_bytes_as_data(content, suffix):
    with tempfile.TemporaryDirectory() as folder, quiet_empty_cwd():
        path = Path(folder) / f"train{suffix}"
        path.write_bytes(content)
        load_or_one_line(path)


@FUZZ
@given(rows=st.lists(st.tuples(TEXT, TEXT), max_size=25), header=st.sampled_from([("text", "label"), ("x", "label")]))
def test_random_csv_rows(rows, header):
    with tempfile.TemporaryDirectory() as folder, quiet_empty_cwd():
        path = Path(folder) / "train.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])
        load_or_one_line(path)


@FUZZ
@given(records=st.lists(st.dictionaries(st.sampled_from(["text", "label", "other"]), VALUES), max_size=25))
def test_random_jsonl_records(records):
    with tempfile.TemporaryDirectory() as folder, quiet_empty_cwd():
        path = Path(folder) / "train.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        load_or_one_line(path)


RECIPES = st.recursive(
    VALUES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["name", "passes", "finetune", "epochs", "quantize", "include", "benchmark", "data", "seed", "mode"]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@FUZZ
@given(recipe=RECIPES, raw=st.booleans(), content=st.binary(max_size=200))
def test_random_recipes_validate_or_fail_in_one_line(recipe, raw, content):
    with tempfile.TemporaryDirectory() as folder, quiet_empty_cwd() as err:
        path = Path(folder) / "recipe.yaml"
        if raw:
            path.write_bytes(content)
        else:
            path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
        code = main(["validate", str(path)])
        lines = err.getvalue().strip().splitlines()
        assert code in (0, 2), lines
        if code == 2:
            assert len(lines) == 1 and lines[0].startswith("compress: error:"), lines
