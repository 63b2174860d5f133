"""Labelled text data: load through `datasets`, check it, and fix the label map.

Splits are resolved so that the report is honest: the split that measures accuracy is
never the one used to pick a checkpoint. With train/dev/test files, dev selects and test
reports. With train/dev only, dev reports and a stratified slice of train selects.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compress.errors import CompressError, first_line
from compress.models import hub_offline, looks_local

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
SPLIT_NAMES = {"train": ("train",), "dev": ("dev", "validation", "valid", "val"), "test": ("test",)}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class LabelMap:
    """Label names in id order; `values` keeps the original values (ints stay ints)."""

    values: tuple[Any, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.values)

    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def reordered(self, names: Sequence[str]) -> LabelMap:
        by_name = {str(v): v for v in self.values}
        return LabelMap(tuple(by_name[name] for name in names))


@dataclass(frozen=True)
class Split:
    name: str
    texts: tuple[str, ...]
    labels: np.ndarray  # int64 ids into the label map

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int | None, seed: int = 0) -> Split:
        """At most `n` examples drawn at random (seeded), kept in the split's order. Not the first
        `n`: data files are often sorted by label (MahaNews' test.csv is), and their first rows
        would be one or two classes."""
        if n is None or n >= len(self):
            return self
        rows = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return Split(self.name, tuple(self.texts[i] for i in rows), self.labels[rows])


@dataclass(frozen=True)
class TaskData:
    train: Split
    selection: Split  # picks the best checkpoint
    evaluation: Split  # the report's held-out split
    label_map: LabelMap
    source: str

    def with_label_order(self, names: Sequence[str]) -> TaskData:
        """Renumber labels to follow an existing classifier's id2label."""
        new = self.label_map.reordered(names)
        remap = np.array([new.names.index(name) for name in self.label_map.names])
        train, selection, evaluation = (
            Split(s.name, s.texts, remap[s.labels]) for s in (self.train, self.selection, self.evaluation)
        )
        return TaskData(train, selection, evaluation, label_map=new, source=self.source)

    def with_repaired_encoding(self) -> tuple[TaskData, dict[str, int]]:
        """Every split with its mojibake repaired (`text_encoding`), and how many texts each had."""
        from compress.text_encoding import repair_texts

        repaired: dict[str, int] = {}

        def fixed(split: Split) -> Split:
            texts, repaired[split.name] = repair_texts(split.texts)
            return Split(split.name, texts, split.labels)

        splits = fixed(self.train), fixed(self.selection), fixed(self.evaluation)
        return TaskData(*splits, label_map=self.label_map, source=self.source), repaired


def load_task_data(
    source: str,
    text_column: str = "text",
    label_column: str = "label",
    selection_fraction: float = 0.1,
    seed: int = 42,
    config: str | None = None,
) -> TaskData:
    """Load a file, a folder of split files or a hub dataset (`config`: its configuration, e.g.
    sst2 of glue); raise CompressError on bad input."""
    raw = _read_splits(source, config)
    columns: dict[str, tuple[list[str], list[Any]]] = {}
    for split_name, table in raw.items():
        missing = [c for c in (text_column, label_column) if c not in table.column_names]
        if missing:
            raise CompressError(
                f"{source} [{split_name}]: missing column {missing[0]!r} (columns: {', '.join(table.column_names)}); "
                "use --text-column/--label-column"
            )
        texts, labels = table[text_column], table[label_column]
        if len(texts) == 0:
            raise CompressError(f"{source}: split {split_name!r} is empty")
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()), None)
        if bad is not None:
            raise CompressError(f"{source} [{split_name}] row {bad}: text is empty or not a string")
        if any(v is None or v == "" for v in labels):
            raise CompressError(f"{source} [{split_name}]: {label_column!r} has empty values")
        columns[split_name] = (texts, labels)

    label_map = _label_map(columns["train"][1], source)
    for split_name, (_, labels) in columns.items():
        unseen = Counter(v for v in labels if v not in set(label_map.values))
        if unseen:
            value, count = unseen.most_common(1)[0]
            raise CompressError(f"{source}: label {value!r} in {split_name!r} ({count} rows) never appears in train")

    index = {v: i for i, v in enumerate(label_map.values)}
    splits = {
        name: Split(name, tuple(t), np.array([index[v] for v in y], dtype=np.int64)) for name, (t, y) in columns.items()
    }
    train = splits["train"]
    if "test" in splits:
        evaluation = splits["test"]
        selection = splits.get("dev") or _carve(train, selection_fraction, seed)[1]
        if "dev" not in splits:
            train = _carve(train, selection_fraction, seed)[0]
    elif "dev" in splits:
        evaluation = splits["dev"]
        train, selection = _carve(train, selection_fraction, seed)
    else:
        rest, evaluation = _carve(train, 0.15, seed, name="test (held out from train)")
        train, selection = _carve(rest, selection_fraction, seed)
    for split, role in ((train, "train"), (selection, "selection"), (evaluation, "evaluation")):
        if len(split) == 0:
            raise CompressError(
                f"{source}: the {role} split ({split.name}) is empty: too few rows per label to hold one out; "
                "add rows or a dev file"
            )
    return TaskData(train, selection, evaluation, label_map, source)


def _label_map(values: list[Any], source: str) -> LabelMap:
    kinds = {type(v) for v in values}
    if kinds - {int, str}:
        raise CompressError(f"{source}: labels must be strings or integers, found {sorted(k.__name__ for k in kinds)}")
    if len(kinds) > 1:
        raise CompressError(f"{source}: labels mix strings and integers")
    distinct = sorted(set(values))
    if len(distinct) < 2:
        raise CompressError(f"{source}: train has {len(distinct)} distinct label(s); a classifier needs at least 2")
    return LabelMap(tuple(distinct))


def _carve(
    split: Split, fraction: float, seed: int, name: str = "selection (held out from train)"
) -> tuple[Split, Split]:
    """Stratified hold-out: every label keeps at least one example on the training side."""
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for label in np.unique(split.labels):
        rows = np.flatnonzero(split.labels == label)
        take = min(len(rows) - 1, round(len(rows) * fraction))
        held += rng.permutation(rows)[:take].tolist()
    held_set = set(held)
    kept = [i for i in range(len(split)) if i not in held_set]
    held.sort()

    def pick(rows: list[int], split_name: str) -> Split:
        return Split(split_name, tuple(split.texts[i] for i in rows), split.labels[rows])

    return pick(kept, split.name), pick(held, name)


def _read_splits(source: str, config: str | None = None) -> dict[str, Any]:
    path = Path(source).expanduser()
    if config and path.exists():
        raise CompressError(f"a dataset configuration ({config}) applies to hub datasets, not to {source}")
    if path.is_dir():
        files = _split_files(path)
    elif path.is_file():
        files = {"train": path}
    elif HUB_ID.match(source) and not looks_local(source) and path.suffix.lower() not in FORMATS:
        if hub_offline():
            raise CompressError(
                f"data not found: {source} (no such file or folder, and the hub is off: HF_HUB_OFFLINE is set)"
            )
        return _load_hub(source, config)
    else:
        raise CompressError(f"data not found: {source}")
    formats = {FORMATS.get(f.suffix.lower()) for f in files.values()}
    if None in formats or len(formats) != 1:
        raise CompressError(f"{source}: expected .csv, .tsv, .json, .jsonl or .parquet files of one format")
    for file in files.values():
        _check_text_file(file)
    (builder,) = formats
    options: dict[str, Any] = {}
    if builder == "csv":  # "NA", "None", "null" are labels and texts, not missing values
        options = {"keep_default_na": False, "na_values": None}
        if next(iter(files.values())).suffix.lower() == ".tsv":
            options["delimiter"] = "\t"
    import datasets

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="compress-data-") as cache:
        try:
            loaded = datasets.load_dataset(
                builder,
                data_files={k: str(v) for k, v in files.items()},
                cache_dir=cache,
                keep_in_memory=True,
                **options,
            )
        except Exception as exc:  # datasets wraps parser errors in several types
            raise CompressError(f"{source}: could not be read as {builder}: {first_line(exc)}") from None
        return {name: loaded[name] for name in files}


def _split_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        for split, names in SPLIT_NAMES.items():
            if file.stem.lower() in names and file.suffix.lower() in FORMATS:
                if split in found:
                    raise CompressError(f"{folder}: two files for split {split!r}: {found[split].name}, {file.name}")
                found[split] = file
    if "train" not in found:
        raise CompressError(f"{folder}: no train file (expected train.csv/.json/.jsonl/.parquet)")
    return found


def _check_text_file(file: Path) -> None:
    if file.stat().st_size == 0:
        raise CompressError(f"{file}: file is empty")
    if file.suffix.lower() == ".parquet":
        return
    with open(file, "rb") as handle:
        head = handle.read(200)
        if head.startswith(b"version https://git-lfs"):
            raise CompressError(f"{file}: is a git-lfs pointer, not data; run `git lfs pull`")
        handle.seek(0)
        rows = sum(1 for line, _ in zip(handle, range(2), strict=False) if line.strip())
        if file.suffix.lower() in (".csv", ".tsv") and rows < 2:
            raise CompressError(f"{file}: split is empty (a header and no rows)")
        handle.seek(0)
        offset = 0
        decoder = codecs.getincrementaldecoder("utf-8")()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise CompressError(f"{file}: not UTF-8 (invalid byte at offset {offset + exc.start})") from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise CompressError(f"{file}: not UTF-8 (truncated character at the end)") from None


def _load_hub(dataset_id: str, config: str | None = None) -> dict[str, Any]:
    import datasets

    try:
        loaded = datasets.load_dataset(dataset_id, config)
    except Exception as exc:
        raise CompressError(f"could not load dataset {dataset_id!r} from the hub: {first_line(exc)}") from None
    found = {}
    for split, names in SPLIT_NAMES.items():
        match = next((n for n in names if n in loaded), None)
        if match:
            found[split] = loaded[match]
    if "train" not in found:
        raise CompressError(f"dataset {dataset_id!r} has no train split (splits: {', '.join(loaded)})")
    return found


def read_corpus(path: Path | str, max_lines: int | None, what: str) -> list[str]:
    """Unlabeled text, one example a line (blank lines skipped), the first `max_lines` lines if set."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise CompressError(f"{what}: corpus not found: {path}")
    try:
        with open(file, encoding="utf-8") as handle:
            lines = [line.strip() for _, line in zip(range(max_lines or 10**12), handle, strict=False)]
    except UnicodeDecodeError as exc:
        raise CompressError(f"{what}: {file} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return [line for line in lines if line]
