"""Does `compress regress` tell apart what it should, every time, on this machine?

The baseline and the candidate are the same classifier; the candidate is made worse on purpose by
a known amount (`compress.measure.perturbed`): 10% slower (must pass) or 2x slower (must fail)
under a 20% speed threshold (min_speedup = 1/1.2), and, at a 1-point non-inferiority margin on the
held-out split, unchanged (must pass) or about 3 points less accurate (`Mislabelling`: the next
label on `--mislabel-share` of the examples; must fail). Each case is judged `--repeats` times with
the gate's default measuring settings.

    python benchmarks/regress_check.py --model runs/marathi-teacher/model --data ../shared/data/mahanews-shc \
        [--cases speed accuracy] [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from compress.cpus import default_threads
from compress.measure.environment import environment
from compress.measure.perturbed import Mislabelling, Slowed
from compress.regress import GateSettings, Thresholds, run_gate

SPEED, ACCURACY = "batch-1 speedup", "accuracy change, 95% low"


def cases(share: float) -> dict[str, tuple[Any, str, str]]:
    """name -> (how the candidate is wrapped, the check that decides, the verdict it must get)."""
    return {
        "slowed 1.1x": (lambda p: Slowed(p, 1.1), SPEED, "pass"),
        "slowed 2x": (lambda p: Slowed(p, 2.0), SPEED, "fail"),
        "equal": (None, ACCURACY, "pass"),
        f"mislabelling {share:.1%}": (lambda p: Mislabelling(p, share), ACCURACY, "fail"),
    }


def _kind(deciding: str) -> str:
    return "speed" if deciding == SPEED else "accuracy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder, .onnx file or run folder")
    parser.add_argument("--data", required=True)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--mislabel-share", type=float, default=0.04, help="about 3 points at 75%% accuracy")
    parser.add_argument("--cases", nargs="+", choices=["speed", "accuracy"], default=["speed", "accuracy"])
    args = parser.parse_args()
    chosen = {name: case for name, case in cases(args.mislabel_share).items() if _kind(case[1]) in args.cases}
    thresholds = Thresholds(min_speedup=1 / 1.2, max_accuracy_drop=1.0)
    settings = GateSettings()
    results = []
    for repeat in range(args.repeats):
        for name, (wrap, deciding, expected) in chosen.items():
            started = time.perf_counter()
            verdict = run_gate(
                args.model, args.model, args.data, thresholds, settings, log=lambda _: None, wrap_candidate=wrap
            )
            checks = {c.name: c for c in verdict.checks}
            change = verdict.candidate["accuracy_change"]
            results.append(
                {
                    "repeat": repeat + 1,
                    "case": name,
                    "speedup": round(checks[SPEED].measured, 4),
                    "rounds": [round(v, 4) for v in checks[SPEED].spread],
                    "change": [round(change["value"], 2), round(change["ci_low"], 2), round(change["ci_high"], 2)],
                    "deciding": "pass" if checks[deciding].passed else "fail",
                    "verdict": "pass" if verdict.passed else "fail",
                    "expected": expected,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(json.dumps(results[-1]), flush=True)
    print(
        "\n| case | runs | speedup (median of rounds), each run | accuracy change [paired 95% CI], points "
        "| verdicts | expected |"
    )
    print("|---|---|---|---|---|---|")
    for name, (_, _, expected) in chosen.items():
        mine = [r for r in results if r["case"] == name]
        speeds = ", ".join(f"{r['speedup']:.3f}" for r in mine)
        changes = ", ".join(sorted({f"{c[0]:+.1f} [{c[1]:+.1f}, {c[2]:+.1f}]" for c in (r["change"] for r in mine)}))
        verdicts = ", ".join(r["verdict"] for r in mine)
        print(f"| {name} | {len(mine)} | {speeds} | {changes} | {verdicts} | {expected} |")
    wrong = [r for r in results if r["verdict"] != r["expected"]]
    env = environment(default_threads())
    print(
        f"\n{len(results) - len(wrong)} of {len(results)} verdicts as expected. Thresholds: min_speedup "
        f"{1 / 1.2:.3f} (20% slower allowed), non-inferiority margin 1.0 point; {env['cpu']}, {env['threads']} "
        f"threads, commit {env['commit']}; settings {settings.model_dump()}"
    )


if __name__ == "__main__":
    main()
