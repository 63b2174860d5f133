"""Does `compress regress` tell a 10%-slower model from a 2x-slower one on this machine, every time?

The baseline and the candidate are the same classifier; the candidate is wrapped to run a known
factor slower (`compress.regress.Slowed`, spinning after each call). The gate allows 20% slower
(min_speedup = 1/1.2) and no accuracy loss; each factor is judged `--repeats` times with the
gate's default measuring settings.

    python benchmarks/regress_check.py --model runs/minilm-finetuned/model --data ../shared/data/mahanews-shc
"""

from __future__ import annotations

import argparse
import json
import time

from compress.cpus import default_threads
from compress.measure.environment import environment
from compress.regress import GateSettings, Slowed, Thresholds, run_gate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder, .onnx file or run folder")
    parser.add_argument("--data", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--factors", type=float, nargs="+", default=[1.1, 2.0])
    args = parser.parse_args()
    thresholds = Thresholds(min_speedup=1 / 1.2, max_accuracy_drop=0.0)
    settings = GateSettings()
    results = []
    for repeat in range(args.repeats):
        for factor in args.factors:
            started = time.perf_counter()
            verdict = run_gate(
                args.model,
                args.model,
                args.data,
                thresholds,
                settings,
                log=lambda _: None,
                wrap_candidate=lambda p, f=factor: Slowed(p, f),
            )
            speed = verdict.checks[0]
            results.append(
                {
                    "repeat": repeat + 1,
                    "factor": factor,
                    "speedup": round(speed.measured, 4),
                    "rounds": [round(v, 4) for v in speed.spread],
                    "passed": verdict.passed,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            print(json.dumps(results[-1]), flush=True)
    print("\n| slowed by | runs | measured speedup (median of rounds), each run | verdicts |")
    print("|---|---|---|---|")
    for factor in args.factors:
        mine = [r for r in results if r["factor"] == factor]
        verdicts = ", ".join("pass" if r["passed"] else "fail" for r in mine)
        speeds = ", ".join(f"{r['speedup']:.3f}" for r in mine)
        print(f"| {factor:g}x | {len(mine)} | {speeds} | {verdicts} |")
    env = environment(default_threads())
    print(
        f"\nthreshold: min_speedup {1 / 1.2:.3f} (20% slower allowed); {env['cpu']}, {env['threads']} threads, "
        f"commit {env['commit']}; settings {settings.model_dump()}"
    )


if __name__ == "__main__":
    main()
