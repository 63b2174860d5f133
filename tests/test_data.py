"""Data loading: formats, label maps, split resolution, and one clear error per kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_rows, write_csv

from compress.data import load_task_data
from compress.errors import CompressError


def test_train_and_dev_folder_reports_on_dev_and_selects_on_a_train_slice(toy_data):
    data = load_task_data(str(toy_data))
    assert data.label_map.names == ("food", "sport", "tech")
    assert data.evaluation.name == "dev" and len(data.evaluation) == 30
    assert len(data.train) + len(data.selection) == 90
    assert set(np.unique(data.selection.labels)) == {0, 1, 2}  # stratified: every label held out


def test_test_split_reports_and_dev_selects(toy_data):
    write_csv(toy_data / "test.csv", make_rows(12, seed=3))
    data = load_task_data(str(toy_data))
    assert (data.evaluation.name, data.selection.name, len(data.train)) == ("test", "dev", 90)


def test_single_file_is_split_three_ways(toy_data):
    data = load_task_data(str(toy_data / "train.csv"))
    assert len(data.train) + len(data.selection) + len(data.evaluation) == 90
    assert data.evaluation.name.startswith("test")


def test_hold_out_is_reproducible(toy_data):
    first, second = load_task_data(str(toy_data), seed=7), load_task_data(str(toy_data), seed=7)
    assert first.selection.texts == second.selection.texts


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_other_formats(tmp_path, fmt):
    import pandas as pd

    for split, seed in (("train", 1), ("validation", 2)):
        frame = pd.DataFrame(make_rows(30, seed), columns=["text", "label"])
        path = tmp_path / f"{split}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path)
        elif fmt == "json":
            path.write_text(json.dumps(frame.to_dict(orient="records")))
        else:
            frame.to_json(path, orient="records", lines=True)
    data = load_task_data(str(tmp_path))
    assert data.evaluation.name == "dev" and len(data.label_map.names) == 3


def test_integer_labels_including_negative_keep_their_values(tmp_path):
    rows = [(text, {"sport": -1, "tech": 0, "food": 7}[label]) for text, label in make_rows(30, 1)]
    write_csv(tmp_path / "train.csv", rows)
    data = load_task_data(str(tmp_path / "train.csv"))
    assert data.label_map.values == (-1, 0, 7)
    assert data.label_map.id2label() == {0: "-1", 1: "0", 2: "7"}


def test_custom_columns_and_label_reordering(tmp_path):
    write_csv(tmp_path / "train.csv", make_rows(30, 1), header=("headline", "topic"))
    data = load_task_data(str(tmp_path / "train.csv"), text_column="headline", label_column="topic")
    reordered = data.with_label_order(["tech", "food", "sport"])
    pairs = zip((data.train, data.evaluation), (reordered.train, reordered.evaluation), strict=True)
    for split_before, split_after in pairs:
        before = [data.label_map.names[i] for i in split_before.labels]
        after = [reordered.label_map.names[i] for i in split_after.labels]
        assert before == after


def _bad_inputs(tmp_path):
    rows = make_rows(30, 1)
    cases = {}
    cases["missing path"] = (str(tmp_path / "nope" / "train.csv"), "data not found")
    write_csv(tmp_path / "a" / "train.csv", rows, header=("body", "label"))
    cases["missing column"] = (str(tmp_path / "a"), "missing column 'text'")
    write_csv(tmp_path / "b" / "train.csv", rows)
    write_csv(tmp_path / "b" / "dev.csv", [])
    cases["empty split"] = (str(tmp_path / "b"), "empty")
    write_csv(tmp_path / "c" / "train.csv", rows)
    write_csv(tmp_path / "c" / "dev.csv", [*rows[:5], ("some headline", "weather")])
    cases["unseen dev label"] = (str(tmp_path / "c"), "label 'weather' in 'dev' (1 rows) never appears in train")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train.csv").write_bytes("text,label\ncaf\xe9 news,a\nb,b\n".encode("latin-1"))
    cases["non-UTF-8"] = (str(tmp_path / "d"), "not UTF-8")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "train.csv").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    cases["lfs pointer"] = (str(tmp_path / "e"), "git-lfs pointer")
    write_csv(tmp_path / "f" / "train.csv", [(t, "same") for t, _ in rows])
    cases["one label"] = (str(tmp_path / "f"), "at least 2")
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "dev.csv").write_text("text,label\na,b\n")
    cases["no train file"] = (str(tmp_path / "g"), "no train file")
    write_csv(tmp_path / "h" / "train.csv", [*rows[:3], ("", "sport")])
    cases["empty text"] = (str(tmp_path / "h"), "text is empty")
    (tmp_path / "i").mkdir()
    (tmp_path / "i" / "train.csv").write_text("")
    cases["empty file"] = (str(tmp_path / "i"), "file is empty")
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "missing path",
        "missing column",
        "empty split",
        "unseen dev label",
        "non-UTF-8",
        "lfs pointer",
        "one label",
        "no train file",
        "empty text",
        "empty file",
    ],
)
def test_bad_data_gets_one_clear_error(tmp_path, case):
    source, message = _bad_inputs(tmp_path)[case]
    with pytest.raises(CompressError) as error:
        load_task_data(source)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_sample_draws_across_a_file_sorted_by_label():
    """`--eval-limit` must not read only the first classes of a label-sorted file (MahaNews' test.csv)."""
    from compress.data import Split

    labels = np.repeat(np.arange(5), 40)
    split = Split("test", tuple(f"text {i}" for i in range(200)), labels)
    sample = split.sample(50)
    assert len(sample) == 50 and set(sample.labels) == set(range(5))
    assert sample.texts == split.sample(50).texts and sample.texts != split.sample(50, seed=1).texts
    rows = [int(t.split()[1]) for t in sample.texts]
    assert rows == sorted(rows) and all(labels[r] == y for r, y in zip(rows, sample.labels, strict=True))
    assert split.sample(None) is split and split.sample(500) is split
