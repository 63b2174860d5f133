"""`compress predict`: classify a file of texts (or standard input) with any output of the toolkit.

Rows are read one by one so that a bad row (empty text, bytes that are not UTF-8, a JSON line
that does not parse) is reported by its number and skipped, or stops the run, as the user
chooses; the output file appears only when every row has been classified.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from compress.errors import CompressError

CHUNK = (
    20_000  # rows classified per step, sorted by length inside: a file of this size is batched as the benchmark does
)


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row (header not counted)
    text: str | None
    problem: str | None = None


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start})"


def _check(number: int, text: Any) -> Row:
    if not isinstance(text, str):
        return Row(number, None, "text missing or not a string")
    if any("\udc80" <= c <= "\udcff" for c in text):  # surrogateescape's stand-ins for undecodable bytes
        return Row(number, None, "not UTF-8")
    if not text.strip():
        return Row(number, None, "empty text")
    return Row(number, text)


def read_rows(source: str, text_column: str) -> Iterator[Row]:
    """Rows of a CSV/TSV/JSONL/Parquet file, or lines of standard input ('-')."""
    if source == "-":
        yield from _lines(sys.stdin.buffer)
        return
    path = Path(source).expanduser()
    if not path.is_file():
        raise CompressError(f"data not found: {source}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            if text_column not in (reader.fieldnames or []):
                raise CompressError(
                    f"{source}: no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])}); "
                    "use --text-column"
                )
            for number, record in enumerate(reader, start=1):
                yield _check(number, record.get(text_column))
    elif suffix in (".jsonl", ".json"):
        with open(path, "rb") as handle:
            for number, raw in enumerate((line for line in handle if line.strip()), start=1):
                text, problem = _decode(raw)
                if problem:
                    yield Row(number, None, problem)
                    continue
                try:
                    record = json.loads(text or "")
                except ValueError:
                    yield Row(number, None, "not a JSON object")
                    continue
                yield _check(number, record.get(text_column) if isinstance(record, dict) else None)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow's errors are many and untyped
            raise CompressError(f"{source}: not a readable Parquet file ({exc})") from None
        if text_column not in table.column_names:
            raise CompressError(f"{source}: no column {text_column!r}; use --text-column")
        for number, text in enumerate(table.column(text_column).to_pylist(), start=1):
            yield _check(number, text)
    else:
        raise CompressError(f"{source}: expected .csv, .tsv, .jsonl or .parquet (or - for standard input)")


def _lines(stream: BinaryIO) -> Iterator[Row]:
    for number, raw in enumerate(stream, start=1):
        text, problem = _decode(raw.rstrip(b"\r\n"))
        yield Row(number, None, problem) if problem else _check(number, text)


class Writer:
    """CSV or JSONL (by the output's suffix), written to a temporary file and renamed at the end."""

    def __init__(self, out: Path, top_k: int) -> None:
        self.out, self.top_k = out, top_k
        self.jsonl = out.suffix.lower() in (".jsonl", ".json")
        if not (self.jsonl or out.suffix.lower() == ".csv"):
            raise CompressError(f"--out {out}: expected a .csv or .jsonl file name")
        self.scratch = out.with_name(f".{out.name}.partial-{os.getpid()}")
        self.handle: io.TextIOWrapper = open(self.scratch, "w", encoding="utf-8", newline="")
        self.csv = None if self.jsonl else csv.writer(self.handle)
        if self.csv:
            self.csv.writerow(["row", "label", "probability", "top_k"])

    def write(self, number: int, ranked: list[tuple[str, float]]) -> None:
        label, probability = ranked[0]
        top = [[name, round(p, 6)] for name, p in ranked[: self.top_k]]
        if self.csv:
            self.csv.writerow([number, label, f"{probability:.6f}", json.dumps(top, ensure_ascii=False)])
        else:
            record = {"row": number, "label": label, "probability": round(probability, 6), "top_k": top}
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        self.handle.close()
        self.scratch.replace(self.out)

    def abandon(self) -> None:
        self.handle.close()
        self.scratch.unlink(missing_ok=True)


def predict_file(
    classifier: Any,
    source: str,
    out: Path,
    *,
    text_column: str = "text",
    top_k: int = 3,
    on_bad_row: str = "skip",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Classify every row of `source` into `out`; returns counts and throughput."""
    from tqdm.auto import tqdm

    from compress.outputs import check_writable

    check_writable(out)
    writer = Writer(out, max(1, min(top_k, len(classifier.labels))))
    skipped: list[tuple[int, str]] = []
    done = 0
    seconds = 0.0
    bar = tqdm(unit="row", disable=not progress, file=sys.stderr, desc="predict")
    try:
        chunk: list[Row] = []
        for row in [*read_rows(source, text_column), None]:
            if row is not None and row.problem:
                if on_bad_row == "fail":
                    raise CompressError(f"{source}: row {row.number}: {row.problem}")
                skipped.append((row.number, row.problem))
                continue
            if row is not None:
                chunk.append(row)
            if chunk and (row is None or len(chunk) >= CHUNK):
                started = time.perf_counter()
                probabilities = classifier.predict_proba([r.text for r in chunk])
                seconds += time.perf_counter() - started
                for r, p in zip(chunk, probabilities, strict=False):
                    order = p.argsort()[::-1]
                    writer.write(r.number, [(classifier.labels[i], float(p[i])) for i in order])
                done += len(chunk)
                bar.update(len(chunk))
                chunk = []
    except BaseException:
        bar.close()
        writer.abandon()
        raise
    bar.close()
    writer.commit()
    for number, problem in skipped[:10]:
        log(f"skipped row {number}: {problem}")
    if len(skipped) > 10:
        log(f"skipped {len(skipped) - 10} more rows")
    rate = done / seconds if seconds else 0.0
    log(
        f"classified {done} rows in {seconds:.2f} s of model time: {rate:.1f} rows/s "
        f"({classifier.kind}, {classifier.threads} threads, batch {classifier.batch_size}); wrote {out}"
    )
    return {"rows": done, "skipped": len(skipped), "seconds": seconds, "rows_per_second": rate}
