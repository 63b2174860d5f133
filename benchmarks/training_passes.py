"""Training passes on MahaNews SHC: distillation vs cross-entropy students, LoRA, bf16.

Runs the shipped recipes through `compress run` (each run benchmarks its output against its
input model in the same process) and gathers their reports into one Markdown table.

    python benchmarks/training_passes.py --teacher runs/minilm-finetuned --data ../shared/data/mahanews-shc \
        --out runs/bench-training

`--teacher` is the output folder of `compress run recipes/finetune.yaml` (its report gives the
full fine-tuning row). `--only kd,ce,cache,lora,bf16` picks rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from statistics import mean, pstdev

from study_args import study_parser

REPO = Path(__file__).resolve().parent.parent
BENCH = ["--set", "benchmark.min_seconds=4"]


def run(recipe: str, model: str, data: str, out: Path, *sets: str) -> dict:
    if not (out / "report.json").is_file():
        command = [
            sys.executable,
            "-m",
            "compress",
            "run",
            str(REPO / "recipes" / recipe),
            "--model",
            model,
            "--data",
            data,
            "--out",
            str(out),
            "--overwrite",
            *BENCH,
        ]
        for item in sets:
            command += ["--set", item]
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True)
    return json.loads((out / "report.json").read_text())


def row(name: str, seed: int | str, report: dict) -> dict:
    candidate = report["benchmark"]["candidates"][0]
    details = report["passes"][0]["details"]
    cost = details.get("training_cost", {})
    energy = cost.get("energy", {})
    return {
        "name": name,
        "seed": seed,
        "accuracy": 100 * candidate["quality"]["accuracy"]["value"],
        "macro_f1": 100 * candidate["quality"]["macro_f1"]["value"],
        "baseline_accuracy": 100 * report["benchmark"]["baseline"]["quality"]["accuracy"]["value"],
        "speedup": candidate["vs_baseline"]["latency_p50_speedup"],
        "train_seconds": cost.get("wall_seconds"),
        "samples_per_second": cost.get("samples_per_second"),
        "peak_memory_mb": cost.get("peak_memory_mb"),
        "energy_kwh": energy.get("kwh"),
        "energy_method": energy.get("method"),
        "trainable": details.get("trainable_parameters"),
        "precision": details.get("precision", {}).get("used"),
        "teacher_logits": details.get("teacher_logits"),
        "teacher_cache_seconds": details.get("teacher_cache_seconds"),
        "extra": details.get("versus_full_finetuning"),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| run | seed | accuracy % | macro-F1 % | batch-1 speedup vs input | train s | samples/s | peak MB | "
        "energy kWh (estimate) | trainable params | precision |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['seed']} | {r['accuracy']:.1f} | {r['macro_f1']:.1f} | {r['speedup']:.2f}x | "
            f"{_f(r['train_seconds'], '.0f')} | {_f(r['samples_per_second'], '.1f')} | "
            f"{_f(r['peak_memory_mb'], '.0f')} | "
            f"{_f(r['energy_kwh'], '.5f')} | {_f(r['trainable'], ',')} | {r['precision'] or 'fp32'} |"
        )
    return "\n".join(lines)


def _f(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def summary(rows: list[dict], name: str) -> str:
    values = [r["accuracy"] for r in rows if r["name"] == name]
    return f"{mean(values):.2f} ± {pstdev(values):.2f} (n={len(values)})" if values else "n/a"


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--only", default="kd,ce,cache,lora,bf16")
    args = parser.parse_args()
    only = set(args.only.split(","))
    teacher_model = str(args.teacher / "model")
    rows = [row("full fine-tune (teacher)", "42", json.loads((args.teacher / "report.json").read_text()))]
    for seed in args.seeds:
        if "kd" in only:
            rows.append(
                row(
                    "3-layer student, KD",
                    seed,
                    run("kd-6to3.yaml", teacher_model, args.data, args.out / f"kd-{seed}", f"seed={seed}"),
                )
            )
        if "ce" in only:
            rows.append(
                row(
                    "3-layer student, CE only",
                    seed,
                    run(
                        "kd-6to3.yaml",
                        teacher_model,
                        args.data,
                        args.out / f"ce-{seed}",
                        f"seed={seed}",
                        "passes.1.distill.alpha=0",
                    ),
                )
            )
    if "cache" in only:
        rows.append(
            row(
                "3-layer student, KD, live teacher",
                args.seeds[0],
                run(
                    "kd-6to3.yaml",
                    teacher_model,
                    args.data,
                    args.out / "kd-live",
                    f"seed={args.seeds[0]}",
                    "passes.1.distill.cache_teacher_logits=false",
                ),
            )
        )
    if "lora" in only:
        rows.append(
            row("LoRA fine-tune (merged)", 42, run("lora-finetune.yaml", "minilm", args.data, args.out / "lora"))
        )
    if "bf16" in only:
        rows.append(row("full fine-tune, bf16", 42, run("finetune-bf16.yaml", "minilm", args.data, args.out / "bf16")))

    text = [
        "# Training passes on MahaNews SHC",
        "",
        f"Command: `python benchmarks/training_passes.py --teacher {args.teacher} --data {args.data} --out {args.out}`",
        "",
        "Accuracy on dev (349 headlines); speedup is batch-1 p50 of the output against the run's input model "
        "(the 6-layer teacher for students, the untrained base for fine-tunes) in fp32 PyTorch, same process.",
        "",
        table(rows),
        "",
        f"- 3-layer student, KD: {summary(rows, '3-layer student, KD')}",
        f"- 3-layer student, CE only: {summary(rows, '3-layer student, CE only')}",
    ]
    for r in rows:
        if r["extra"]:
            text.append(f"- LoRA against full fine-tuning: {json.dumps(r['extra'])}")
        if r["teacher_logits"]:
            text.append(
                f"- {r['name']} (seed {r['seed']}): teacher logits {r['teacher_logits']}"
                + (f", cache built in {r['teacher_cache_seconds']} s" if r["teacher_cache_seconds"] is not None else "")
            )
    methods = {r["energy_method"] for r in rows if r["energy_method"]}
    text += ["", "Energy: " + "; ".join(sorted(methods)), ""]
    (args.out / "TRAINING.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
