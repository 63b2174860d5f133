"""Show that a refactor changed no behaviour: run every recipe on the same tiny model and toy data
with this checkout and with an older revision, and compare the output models' logits.

    python scripts/compare_revisions.py OLD_REVISION [--recipes finetune kd-6to3 ...]

Each revision runs in its own process from its own git worktree (made in a temporary folder and
removed after), with one thread, fixed seeds and the benchmark off; the printout gives, per
recipe, the largest absolute logit difference between the two output models (0 means the same).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEXTS = ["alpha ball river", "chip stone north", "rice cloud green slow", "beta gamma chip ball"]
EXCLUDE = {"marathi-teacher-mlm"}  # needs a corpus; new in this line of work
# the tiny model has 2 encoder layers: students keep one of them
OVERRIDES = {
    "kd-6to3": ["passes.0.layer_drop.layers=[1]"],
    "marathi-fast": ["passes.0.distill.student.layers=[1]"],
    "marathi-fastest": ["passes.0.distill.student.layers=[1]"],
}


def run(checkout: Path, recipe: str, case: Path, out: Path) -> int:
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "COMPRESS_CACHE": str(out.parent / f"{out.name}-cache"),  # no run reads the other's cache
    }
    command = [
        sys.executable,
        "-m",
        "compress",
        "run",
        str(checkout / "recipes" / f"{recipe}.yaml"),
        "--model",
        str(case / "model"),
        "--data",
        str(case / "data"),
        "--out",
        str(out),
        "--set",
        "benchmark.enabled=false",
        *[f"--set={item}" for item in OVERRIDES.get(recipe, [])],
    ]
    return subprocess.run(command, env=env, cwd=out.parent, capture_output=True, text=True).returncode


def logits(folder: Path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(**{k: v for k, v in batch.items() if k in tokenizer.model_input_names}).logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("--recipes", nargs="*")
    args = parser.parse_args()
    from compress.testing import write_tiny_case

    recipes = args.recipes or sorted(p.stem for p in (REPO / "recipes").glob("*.yaml") if p.stem not in EXCLUDE)
    with tempfile.TemporaryDirectory(prefix="compress-compare-") as scratch:
        root = Path(scratch)
        case = write_tiny_case(root / "case")
        old = root / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old), args.old], check=True)
        try:
            print("| recipe | exit (old, new) | max abs logit difference |\n|---|---|---|")
            for recipe in recipes:
                (root / recipe).mkdir()
                codes = [
                    run(checkout, recipe, case, root / recipe / name)
                    for checkout, name in ((old, "old"), (REPO, "new"))
                ]
                if codes != [0, 0]:
                    print(f"| {recipe} | {codes} | - |")
                    continue
                diff = (logits(root / recipe / "old" / "model") - logits(root / recipe / "new" / "model")).abs().max()
                print(f"| {recipe} | 0, 0 | {float(diff):.2e} |", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
