"""The `compress` command: run, validate, bench, passes.

Problems with the user's input end in one line on stderr and exit status 2; the heavy
libraries are imported only by the subcommands that need them, so `validate` is quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from compress import __version__
from compress.errors import CompressError

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="compress", description="Make fine-tuned text classifiers smaller and faster.")
    parser.add_argument("--version", action="version", version=f"compress {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a recipe, then benchmark and report")
    run.add_argument("recipe", type=Path)
    _add_inputs(run)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a recipe value, e.g. passes.0.finetune.epochs=1 (repeatable)")
    run.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    run.add_argument("--resume", action="store_true", help="continue interrupted training from its last checkpoint")

    validate = commands.add_parser("validate", help="check a recipe without running it")
    validate.add_argument("recipe", type=Path)
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    bench = commands.add_parser("bench", help="benchmark models against a baseline classifier")
    bench.add_argument("candidates", nargs="+", help="model folders or .onnx files")
    bench.add_argument("--baseline", required=True, help="the reference classifier (folder or hub id)")
    _add_inputs(bench, with_model=False)
    bench.add_argument("--threads", type=int)
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--rounds", type=int, default=5)
    bench.add_argument("--min-seconds", type=float, default=8.0)
    bench.add_argument("--eval-limit", type=int)
    bench.add_argument("--max-length", type=int, default=128)
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes")

    commands.add_parser("passes", help="list the available passes")
    return parser


def _add_inputs(parser: argparse.ArgumentParser, with_model: bool = True) -> None:
    if with_model:
        parser.add_argument("--model", help="hub id, local folder, or alias (minilm = packaged all-MiniLM-L6-v2)")
    parser.add_argument("--data", help="CSV/JSON/Parquet file, folder of split files, or hub dataset id")
    parser.add_argument("--out", type=Path, required=True, help="output folder (written atomically)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--text-column")
    parser.add_argument("--label-column")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging()
    try:
        return _dispatch(args)
    except CompressError as exc:
        print(f"compress: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("compress: interrupted; no output was written", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from compress.recipe import load_recipe

    if args.command == "validate":
        recipe = load_recipe(args.recipe, args.overrides)
        print(f"{args.recipe}: ok ({recipe.name}: {len(recipe.passes)} passes)")
        return 0
    if args.command == "passes":
        from compress.passes import REGISTRY

        for spec in REGISTRY.values():
            print(f"{spec.name:<17} {spec.stage.value:<7} {spec.summary}")
        return 0

    _quiet_libraries()
    from compress.runner import RunOptions, bench_models, run_recipe

    if args.command == "run":
        recipe = load_recipe(args.recipe, args.overrides)
        options = RunOptions(args.model, args.data, args.out, args.overwrite, args.text_column, args.label_column,
                             args.trust_remote_code, args.resume)
        run_recipe(recipe, options, log=_log)
        return 0
    from pydantic import ValidationError

    from compress.recipe import BenchmarkConfig

    try:
        settings = BenchmarkConfig(threads=args.threads, batch_size=args.batch_size, rounds=args.rounds,
                                   min_seconds=args.min_seconds, eval_limit=args.eval_limit, memory=not args.no_memory)
    except ValidationError as exc:
        raise CompressError("; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())) from None
    options = RunOptions(None, args.data, args.out, args.overwrite, args.text_column, args.label_column)
    bench_models(args.baseline, args.candidates, options, settings, args.max_length, log=_log)
    return 0


def _log(message: str) -> None:
    logging.getLogger("compress").info(message)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (it may be replaced after set-up, e.g. by pytest)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _setup_logging() -> None:
    logger = logging.getLogger("compress")
    if not logger.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("[compress] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _quiet_libraries() -> None:
    """Keep library chatter (TF/JAX probes, tokenizer fork warnings) out of the user's way."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import transformers

    transformers.logging.set_verbosity_error()
