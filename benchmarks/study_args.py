"""Command-line arguments shared by the benchmark studies (a fine-tuned teacher, data, an output folder, seeds)."""

from __future__ import annotations

import argparse
from pathlib import Path


def study_parser(
    doc: str | None, teacher_help: str = "output folder of recipes/finetune.yaml", seeds: list[int] | None = None
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", required=True, type=Path, help=teacher_help)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=seeds or [1, 2])
    return parser
