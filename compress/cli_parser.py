"""The command line's arguments: every subcommand and flag of `compress` (see cli.py for what runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from compress.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compress", description="Make fine-tuned text classifiers smaller and faster."
    )
    parser.add_argument("--version", action="version", version=f"compress {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    common.add_argument(
        "--offline",
        action="store_true",
        help="never reach the hub: local folders, aliases and cached files only (HF_HUB_OFFLINE=1)",
    )

    run = commands.add_parser("run", help="run a recipe, then benchmark and report", parents=[common])
    run.add_argument("recipe", type=Path)
    _add_inputs(run)
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value, e.g. passes.0.finetune.epochs=1 (repeatable)",
    )
    run.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    run.add_argument("--resume", action="store_true", help="continue interrupted training from its last checkpoint")
    run.add_argument(
        "--benchmark-json", type=Path, help="also write github-action-benchmark customSmallerIsBetter JSON"
    )

    validate = commands.add_parser("validate", help="check a recipe without running it", parents=[common])
    validate.add_argument("recipe", type=Path)
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    bench = commands.add_parser("bench", help="benchmark models against a baseline classifier", parents=[common])
    bench.add_argument("candidates", nargs="+", help="model folders or .onnx files")
    bench.add_argument("--baseline", required=True, help="the reference classifier (folder or hub id)")
    _add_inputs(bench, with_model=False)
    bench.add_argument("--threads", type=int)
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--rounds", type=int, default=5)
    bench.add_argument("--min-seconds", type=float, default=8.0)
    bench.add_argument("--eval-limit", type=int, help="evaluate on N held-out examples drawn at random (fixed seed)")
    bench.add_argument("--max-length", type=int, default=128)
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes")
    bench.add_argument("--no-classical", action="store_true", help="skip the character n-gram baseline row")
    bench.add_argument(
        "--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)"
    )
    bench.add_argument(
        "--benchmark-json", type=Path, help="also write github-action-benchmark customSmallerIsBetter JSON"
    )

    regress = commands.add_parser(
        "regress",
        parents=[common],
        help="CI gate: fail (exit 1) when a candidate is slower or less accurate than a baseline",
        description="Measure baseline and candidate in this process (interleaved rounds) and compare ratios to "
        "thresholds. A model is a model folder, an .onnx file, or a compress run folder (its final output; RUN:OUTPUT "
        "for another).",
    )
    regress.add_argument("candidate")
    regress.add_argument("--baseline", required=True)
    regress.add_argument("--data", required=True, help="labelled data; its held-out split is measured")
    regress.add_argument("--thresholds", type=Path, help="YAML: min_speedup, min_throughput_speedup, max_accuracy_drop")
    regress.add_argument(
        "--min-speedup", type=float, help="batch-1 p50 baseline/candidate must reach this (0.8: at most 25%% slower)"
    )
    regress.add_argument("--min-throughput-speedup", type=float)
    regress.add_argument("--max-accuracy-drop", type=float, help="accuracy points the candidate may lose")
    regress.add_argument("--rounds", type=int, default=7)
    regress.add_argument("--min-seconds", type=float, default=6.0, help="measured time per model, all rounds together")
    regress.add_argument("--threads", type=int)
    regress.add_argument(
        "--max-round-spread",
        type=float,
        help="fail as unreliable when per-round speed ratios differ more than this factor (off by default)",
    )
    regress.add_argument("--eval-limit", type=int, help="evaluate on N held-out examples drawn at random (fixed seed)")
    regress.add_argument("--max-length", type=int, default=128)
    regress.add_argument(
        "--repair-encoding", action="store_true", help="repair mis-decoded texts (mojibake) before measuring"
    )
    regress.add_argument("--json", type=Path, help="write github-action-benchmark customSmallerIsBetter JSON here")
    regress.add_argument(
        "--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)"
    )

    audit = commands.add_parser(
        "audit",
        parents=[common],
        help="how well each model's tokenizer fits the data: characters lost, [UNK], tokens per example",
    )
    audit.add_argument("--model", action="append", required=True, help="a model reference (repeatable)")
    audit.add_argument("--data", required=True)
    audit.add_argument("--split", choices=["train", "selection", "evaluation"], default="train")
    audit.add_argument("--max-length", type=int, default=128)
    audit.add_argument("--text-column", default="text")
    audit.add_argument("--label-column", default="label")
    audit.add_argument("--json", type=Path, help="also write the figures here as JSON")
    audit.add_argument("--repair-encoding", action="store_true", help="audit the tokenizers on the mojibake repaired")

    predict = commands.add_parser(
        "predict", parents=[common], help="classify a CSV/JSONL/Parquet file (or - for lines on standard input)"
    )
    predict.add_argument("model", help="a model folder, .onnx file or compress run folder")
    predict.add_argument("--data", required=True, help="the texts: a file, or - to read one text a line from stdin")
    predict.add_argument("--out", type=Path, required=True, help="predictions: .csv or .jsonl")
    predict.add_argument("--text-column", default="text")
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="texts per call; 64 (the benchmark's) keeps dynamic-int8 labels equal to the report's",
    )
    predict.add_argument("--max-length", type=int, default=128)
    predict.add_argument("--threads", type=int)
    predict.add_argument(
        "--on-bad-row",
        choices=["skip", "fail"],
        default="skip",
        help="a row with an empty or non-UTF-8 text: report and skip it, or stop",
    )
    predict.add_argument("--no-progress", action="store_true")
    predict.add_argument("--trust-remote-code", action="store_true")

    serve = commands.add_parser(
        "serve", parents=[common], help="serve a model over HTTP (POST /predict, micro-batched)"
    )
    serve.add_argument("model", help="a model folder, .onnx file or compress run folder")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int)
    serve.add_argument("--max-length", type=int, default=128)
    serve.add_argument("--max-batch-size", type=int, default=32, help="texts per model call (1: no micro-batching)")
    serve.add_argument(
        "--max-wait-ms",
        type=float,
        default=0.0,
        help="also wait this long for more requests to join a batch (0: batch what queued meanwhile)",
    )
    serve.add_argument(
        "--max-padding",
        type=_max_padding,
        default="auto",
        help="batch only texts close in length: padding under this share of a model call's tokens "
        "(auto: 0.1 for ONNX, none for PyTorch; none: batch whatever queued)",
    )
    serve.add_argument(
        "--batching",
        choices=["adaptive", "always"],
        default="adaptive",
        help="adaptive: batch only while it serves more texts/s than a request per call, measured in turn "
        "under the server's own load; always: batch whatever queued",
    )
    serve.add_argument("--max-texts", type=int, default=256, help="texts per request")
    serve.add_argument("--max-text-chars", type=int, default=10_000)
    serve.add_argument("--trust-remote-code", action="store_true")

    sweep = commands.add_parser(
        "sweep", parents=[common], help="train a study's runs as Ray tasks (local Ray, or --address for a cluster)"
    )
    sweep.add_argument("file", type=Path, help="YAML/JSON: runs: [{name, recipe, model, set, cpus, gpus}]")
    sweep.add_argument("--model", help="model for runs that name none")
    sweep.add_argument("--data", required=True)
    sweep.add_argument("--out", required=True, type=Path, help="one folder per run; finished runs are skipped")
    sweep.add_argument("--address", help="an existing Ray cluster (default: start Ray on this machine)")

    commands.add_parser("passes", help="list the available passes", parents=[common])
    return parser


def _add_inputs(parser: argparse.ArgumentParser, with_model: bool = True) -> None:
    if with_model:
        parser.add_argument("--model", help="hub id, local folder, or alias (minilm = packaged all-MiniLM-L6-v2)")
    parser.add_argument("--data", help="CSV/JSON/Parquet file, folder of split files, or hub dataset id")
    parser.add_argument("--out", type=Path, required=True, help="output folder (written atomically)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--text-column")
    parser.add_argument("--label-column")
    parser.add_argument("--revision", help="branch, tag or commit of a hub model (the model, or bench's baseline)")
    parser.add_argument("--data-config", help="configuration of a hub dataset (e.g. --data glue --data-config sst2)")
    parser.add_argument(
        "--repair-encoding",
        action="store_true",
        help="repair texts whose UTF-8 was mis-read as a legacy code page (mojibake) in every split",
    )


def _max_padding(value: str) -> float | str | None:
    from compress.serve import parse_max_padding

    try:
        return parse_max_padding(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
