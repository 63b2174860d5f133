"""The MahaNews study's matrix around the Marathi teacher, judged on the test split.

    python benchmarks/reproduce.py --teacher runs/marathi-teacher --data ../shared/data/mahanews-shc \
        --out runs/reproduce [--old-teacher runs/minilm-finetuned] [--corpus UNLABELLED.txt] [--quick] [--margin 1.0]

`--teacher` is the output folder of `compress run recipes/marathi-teacher.yaml` (reused, never
retrained); `--old-teacher`, optional, one of `recipes/finetune.yaml` (the MiniLM vocabulary), is
measured as a row so that what the vocabulary transfer alone buys is in the same table.

Rows: int8 alone; KD into 3 layers (and + int8); the fastest chain (KD into 2 layers + int8,
`recipes/marathi-fastest.yaml`), its narrow variant (a third of the heads and half of the FFN
neurons removed, KD recovery, `recipes/marathi-fastest-narrow.yaml`) and, given `--corpus`, the
same chain with a transfer set of 10,000 unlabelled lines (`recipes/marathi-fastest-transfer.yaml`,
3 epochs); block movement pruning at
25/50/75% without KD (cross-entropy only) and with KD (and + int8). Where the CPU has bf16
instructions (avx512_bf16/AMX; `--bf16 always` to force it, `never` to leave it out; emulated bf16
is slower than fp32 and says nothing about a GPU): bf16 mixed-precision KD, the teacher with bf16
weights (`recipes/precision-bf16.yaml`, no training), and the key rows' PyTorch models cast to bf16
weights the same way after training (+ bf16 weights: the published recipe's mixed precision, as a
CPU serves it).
The rows the published claim rests on (KD, 25% + KD, the fastest chains, and their int8) train on 3
seeds, the others on 2. Train trains, dev selects (each training pass keeps its best dev epoch),
test reports; nothing here reads test before the benchmark.

Every output is measured in ONE `compress bench` process against the teacher (interleaved rounds,
each model through its own tokenizer; the classical character n-gram row comes with it). A row's
change is its seed-averaged accuracy minus the teacher's on the same test examples, with a paired
bootstrap 95% interval over examples; it is "non-inferior at δ" when that interval's lower end is
at least -δ (`--margin`, 1.0 point by default), the rule `compress regress` uses.

Trainings run as Ray tasks (`compress sweep`'s machinery): a local Ray by default, each asking for
`--cpus-per-run` CPUs (and using as many threads), or a cluster with `--address` (--out then on a
file system every node shares). A rerun with the same --out skips finished runs and resumes
checkpointed ones, so the matrix can span sessions; a failed run is reported and its row left out.
Writes OUT/RESULTS.md and OUT/results.png; copy them to benchmarks/ to publish. `--partial` trains
nothing and tabulates the runs finished so far (OUT/RESULTS-partial.md), for a matrix that spans
sessions; its timings are only as good as the machine was quiet. `--prune-levels 25` trains
only the 25% pruning rows (the published claim's), and the table says so. --quick: one seed,
25% pruning only, no narrow chain, one epoch per training pass (a smoke run of the whole path).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from matrix_configs import BF16_RECIPE, PRUNE_LEVELS, Config, matrix, run_name
from study_args import study_parser

from compress.cpu_features import cpu_flags
from compress.training.mixed_precision import NATIVE_BF16_CPU_FLAGS

REPO = Path(__file__).resolve().parent.parent


def seeds_of(config: Config, args: argparse.Namespace) -> list[int]:
    if not config.trained:
        return [0]
    return args.seeds[:1] if args.quick else args.seeds[: config.seeds]


def train_all(configs: list[Config], args: argparse.Namespace) -> set[str]:
    """Every (configuration, seed) as one Ray task (`compress sweep`'s machinery); the names of the
    runs that failed."""
    from compress.sweep import RunSpec

    return sweep(
        [
            RunSpec(
                name=run_name(config, seed),
                recipe=REPO / "recipes" / config.recipe,
                model=str(args.teacher / "model"),
                # each run's own benchmark is off: every output is measured once, together, below
                set=(*((f"seed={seed}",) if config.trained else ()), *config.sets, "benchmark.enabled=false"),
                cpus=args.cpus_per_run,
            )
            for config in configs
            for seed in seeds_of(config, args)
        ],
        args,
    )


def cast_all(configs: list[Config], args: argparse.Namespace, failed: set[str]) -> set[str]:
    """The bf16 copies (`precision`: seconds each, no training) of the trained runs whose rows ask for
    one, as runs of the same names under OUT/runs-bf16; the names of those that failed."""
    from compress.sweep import RunSpec

    trained = [run_name(c, seed) for c in configs if c.bf16_copy for seed in seeds_of(c, args)]
    return sweep(
        [
            RunSpec(
                name=run,
                recipe=REPO / "recipes" / BF16_RECIPE,
                model=str(args.out / "runs" / run / "model"),
                set=("benchmark.enabled=false",),
                cpus=args.cpus_per_run,
            )
            for run in trained
            if run not in failed
        ],
        args,
        "runs-bf16",
    )


def sweep(specs: list, args: argparse.Namespace, folder: str = "runs") -> set[str]:
    """Run `specs` into OUT/folder (one sweep.json there); the names of the runs that failed."""
    from compress.sweep import run_sweep

    if not specs:
        return set()
    outcomes = run_sweep(tuple(specs), None, args.data, args.out / folder, args.address)
    failed = {o.name for o in outcomes if o.status == "failed"}
    if failed:
        print(f"failed runs (their logs are in {args.out / folder}): {', '.join(sorted(failed))}", flush=True)
    return failed


def stored_bench(out: Path, candidates: list[str]) -> dict | None:
    """The benchmark already written in `out`, if it measured every one of `candidates` (a row
    added to the matrix after it was written is measured afresh with the others)."""
    path = out / "report.json"
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    measured = {entry["location"] for entry in report["benchmark"]["candidates"]}
    return report if {str(Path(c).resolve()) for c in candidates} <= measured else None


def measure(candidates: list[str], args: argparse.Namespace) -> tuple[dict, bool]:
    """All outputs against the teacher in one `compress bench` process (reused while it covers
    every output; a partial table is measured afresh every time, since the runs it covers change).
    Returns the report and whether it was measured now."""
    out = args.out / ("bench-partial" if args.partial else "bench")
    stored = None if args.partial else stored_bench(out, candidates)
    if stored is None:
        command = [
            sys.executable,
            "-m",
            "compress",
            "bench",
            *candidates,
            "--baseline",
            str(args.teacher / "model"),
            "--data",
            args.data,
            "--out",
            str(out),
            "--overwrite",
            "--no-memory",
            "--min-seconds",
            str(2.0 if args.quick else 5.0),
            "--rounds",
            "3" if args.quick else "5",
        ]
        print("+", " ".join(command[:8]), "...", flush=True)
        subprocess.run(command, check=True)
        return json.loads((out / "report.json").read_text()), True
    return stored, False


def main() -> None:
    from matrix_results import Row, write_results

    parser = study_parser(__doc__, teacher_help="output folder of recipes/marathi-teacher.yaml", seeds=[1, 2, 3])
    parser.add_argument("--old-teacher", type=Path, help="output folder of recipes/finetune.yaml: measured as a row")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--margin", type=float, default=1.0, help="δ in points for the non-inferiority verdicts")
    parser.add_argument(
        "--bf16", choices=["auto", "always", "never"], default="auto", help="the bf16 rows (training, weights)"
    )
    parser.add_argument(
        "--prune-levels",
        type=int,
        nargs="+",
        choices=PRUNE_LEVELS,
        default=list(PRUNE_LEVELS),
        help="block pruning levels to train (a matrix cut short: 25 keeps the published claim's rows)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        help="unlabelled text of the language, one example a line: adds the fastest chain with a transfer set "
        "(recipes/marathi-fastest-transfer.yaml); none of it may come from the test split",
    )
    parser.add_argument("--cpus-per-run", type=float, default=1, help="CPUs (and threads) each training asks Ray for")
    parser.add_argument("--address", help="an existing Ray cluster (default: start Ray on this machine)")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="train nothing: measure the runs finished so far into RESULTS-partial.md (a matrix spanning sessions)",
    )
    args = parser.parse_args()
    native_bf16 = bool(NATIVE_BF16_CPU_FLAGS & cpu_flags())
    bf16 = args.bf16 == "always" or (args.bf16 == "auto" and native_bf16)
    if args.corpus is not None and not args.corpus.is_file():
        parser.error(f"--corpus: no such file: {args.corpus}")
    configs = matrix(args.quick, bf16, tuple(args.prune_levels), args.corpus)
    started = time.monotonic()
    planned = [run_name(config, seed) for config in configs for seed in seeds_of(config, args)]
    casts = [run_name(c, seed) for c in configs if c.bf16_copy for seed in seeds_of(c, args)]
    if args.partial:
        failed = {name for name in planned if not (args.out / "runs" / name / "report.json").is_file()}
        not_cast = {name for name in casts if not (args.out / "runs-bf16" / name / "report.json").is_file()}
    else:
        failed = train_all(configs, args)
        not_cast = cast_all(configs, args, failed)
    trained = time.monotonic()

    rows: list[Row] = []
    for config in configs:
        runs = [args.out / "runs" / run_name(config, seed) for seed in seeds_of(config, args)]
        runs = [run for run in runs if run.name not in failed]
        if not runs:
            continue
        for suffix, output in config.outputs:
            rows.append(Row(config.name + suffix, [run / output for run in runs], config.trained))
        cast = [run for run in runs if run.name not in not_cast] if config.bf16_copy else []
        if cast:
            copies = [args.out / "runs-bf16" / run.name / "model" for run in cast]
            rows.append(Row(config.name + " + bf16 weights", copies, config.trained, runs=cast))
    if args.old_teacher is not None:
        rows.insert(0, Row("MiniLM vocabulary (before vocabulary transfer)", [args.old_teacher / "model"], False))
    candidates = [str(path) for row in rows for path in row.outputs]
    report, fresh_bench = measure(candidates, args)
    finished = time.monotonic()
    wall = (
        f"Wall time of this invocation: {(finished - started) / 60:.0f} min; training "
        f"{(trained - started) / 60:.0f} min (Ray tasks of {args.cpus_per_run:g} CPU), benchmark "
        f"{(finished - trained) / 60:.0f} min{'' if fresh_bench else ' (reused)'}."
    )
    bf16_note = (
        "bf16 rows (mixed-precision training; bf16 weights, measured in bf16 PyTorch): measured."
        if bf16
        else "bf16 rows: left out, this CPU has no native bf16 instructions (avx512_bf16/amx_bf16), so "
        "bf16 is emulated (on the AVX2 EPYC a training step took 15.6x as long as in fp32: "
        "`python benchmarks/bf16_step.py --model TEACHER/model`); `--bf16 always` forces them."
    )
    notes = [wall, bf16_note]
    if not args.quick and tuple(args.prune_levels) != PRUNE_LEVELS:
        levels = ", ".join(f"{level}%" for level in args.prune_levels)
        notes.append(
            f"Block pruning trained at {levels} only (`--prune-levels`); the other levels are not in this table."
        )
    if args.corpus is None and not args.quick:
        notes.append("The fastest chain with a transfer set is left out: it needs unlabelled text (`--corpus`).")
    if args.partial:
        notes.insert(
            0,
            f"Partial table: {len(planned) - len(failed)} of {len(planned)} runs had finished; unfinished: "
            f"{', '.join(sorted(failed)) or 'none'}. A row shows only its finished seeds.",
        )
    write_results(report["benchmark"], rows, args, notes, "RESULTS-partial" if args.partial else "RESULTS")


if __name__ == "__main__":
    main()
