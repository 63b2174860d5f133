"""Marathi tasks shaped unlike MahaNews headlines, made from its own splits, to check that the
recipes were not fitted to one split (the project's recipes are also judged on Marathi tasks this
repository never sees: longer texts, less training data, a rare class).

- `paragraphs`: each example is 4 headlines of one label joined into a paragraph (the shape of
  L3Cube's paragraph task), built within each split, so no headline crosses from train to test.
  Four times longer: the MiniLM vocabulary truncates them at 128 tokens, the Marathi one mostly not.
- `small`: 400 training headlines (stratified by label, seeded); dev and test unchanged.
- `rare`: the training split's commonest label cut to 12 headlines (5% of it, seeded), every
  other label whole; dev and test unchanged, so the rare label's recall is measured on all of its
  test headlines (292 for Crime). Imbalanced tasks (hate speech, sentiment) have such a class.

The folders are written under OUT (never into the repository: they copy the data) with a README
that says how they were made.

    python benchmarks/derived_tasks.py --data ../shared/data/mahanews-shc --out runs/generalization/data
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

SPLITS = ("train", "dev", "test")


def read(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


def write(path: Path, rows: list[tuple[str, str]]) -> None:
    """Whole or not at all: a study reading the folder never meets half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    partial.replace(path)


def paragraphs(rows: list[tuple[str, str]], size: int, seed: int) -> list[tuple[str, str]]:
    """Headlines of one label, shuffled (seeded), joined `size` at a time; a label's last
    incomplete group is dropped. Returned in a seeded random order."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in rows:
        by_label[label].append(text.strip().rstrip("."))
    joined: list[tuple[str, str]] = []
    for label in sorted(by_label):
        texts = by_label[label]
        order = rng.permutation(len(texts))
        for start in range(0, len(texts) - size + 1, size):
            joined.append((". ".join(texts[i] for i in order[start : start + size]) + ".", label))
    return [joined[i] for i in rng.permutation(len(joined))]


def rare(rows: list[tuple[str, str]], keep: int, seed: int) -> tuple[list[tuple[str, str]], str]:
    """The commonest label (ties: the first by name) cut to `keep` rows (seeded), the rest whole, in
    file order; and that label."""
    counts: dict[str, int] = defaultdict(int)
    for _, label in rows:
        counts[label] += 1
    label = min(counts, key=lambda name: (-counts[name], name))
    indices = [i for i, (_, y) in enumerate(rows) if y == label]
    kept = set(np.random.default_rng(seed).choice(indices, size=min(keep, len(indices)), replace=False).tolist())
    return [row for i, row in enumerate(rows) if row[1] != label or i in kept], label


def stratified(rows: list[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    """About `n` rows with the split's label shares (at least one per label), in file order."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, (_, label) in enumerate(rows):
        by_label[label].append(i)
    keep: list[int] = []
    for label in sorted(by_label):
        indices = by_label[label]
        take = max(1, round(n * len(indices) / len(rows)))
        keep += rng.choice(indices, size=min(take, len(indices)), replace=False).tolist()
    return [rows[i] for i in sorted(keep)]


README = """# {name}: derived from MahaNews SHC by benchmarks/derived_tasks.py

Source: {source} (see its README for origin, licence and cleaning). Not for redistribution beyond
that licence; made for checking the recipes only.

{how}

| split | examples |
|---|---|
{counts}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with train/dev/test.csv")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--paragraph-size", type=int, default=4)
    parser.add_argument("--small-train", type=int, default=400)
    parser.add_argument("--rare-keep", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    source = {split: read(args.data / f"{split}.csv") for split in SPLITS}
    rare_train, rare_label = rare(source["train"], args.rare_keep, args.seed)
    tasks = {
        "paragraphs": (
            {s: paragraphs(rows, args.paragraph_size, args.seed) for s, rows in source.items()},
            f"Each example: {args.paragraph_size} headlines of one label, drawn within its split (seed "
            f"{args.seed}) and joined with '. '.",
        ),
        "small": (
            {**source, "train": stratified(source["train"], args.small_train, args.seed)},
            f"Training split cut to about {args.small_train} headlines, stratified by label (seed "
            f"{args.seed}); dev and test unchanged.",
        ),
        "rare": (
            {**source, "train": rare_train},
            f"Training split with its commonest label, {rare_label}, cut to {args.rare_keep} headlines (seed "
            f"{args.seed}); every other label whole; dev and test unchanged.",
        ),
    }
    for name, (splits, how) in tasks.items():
        for split, rows in splits.items():
            write(args.out / name / f"{split}.csv", rows)
        counts = "\n".join(f"| {split} | {len(rows)} |" for split, rows in splits.items())
        (args.out / name / "README.md").write_text(
            README.format(name=name, source=args.data, how=how, counts=counts), encoding="utf-8"
        )
        print(name, {split: len(rows) for split, rows in splits.items()})


if __name__ == "__main__":
    main()
