"""The `compress` command: run, validate, bench, regress, passes.

Exit status: 0 success (regress: pass), 1 regression (regress only), 2 a problem with the
user's input (one line on stderr), 3 an internal error (one line; `--debug` shows the
traceback), 130/143 interrupted by SIGINT/SIGTERM. The heavy libraries are imported only by
the subcommands that need them, so `validate` is quick.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from compress.cli_commands import (
    audit_command,
    log,
    predict_command,
    regress_command,
    serve_command,
    settings_from_flags,
)
from compress.cli_parser import build_parser
from compress.errors import CompressError, first_line

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (docker stop, CI cancellation), handled like Ctrl-C: temporary files are removed."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging()
    message, status = None, 0
    with _sigterm_as_interrupt(), _offline(args.offline):
        try:
            status = _dispatch(args)
        except CompressError as exc:
            message, status = f"compress: error: {exc}", EXIT_USER_ERROR
        except Terminated:
            message, status = "compress: terminated; no output was written", EXIT_TERMINATED
        except KeyboardInterrupt:
            message, status = "compress: interrupted; no output was written", EXIT_INTERRUPTED
        except Exception as exc:  # a bug or an unforeseen library failure: say so, never as a verdict
            if args.debug:
                traceback.print_exc()
            where = "" if args.debug else "; rerun with --debug for the traceback"
            message = f"compress: internal error: {type(exc).__name__}: {first_line(exc)}{where}"
            status = EXIT_INTERNAL_ERROR
    if message:
        gc.collect()  # progress bars held by the traceback's frames close (and redraw) now, not after the message
        sys.stderr.flush()
        print(message, file=sys.stderr)
    return status


@contextmanager
def _offline(enabled: bool) -> Iterator[None]:
    """--offline: the hub is off for this command (HF_HUB_OFFLINE, read by compress, transformers and
    datasets); the variables come back as they were."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {name: os.environ.get(name) for name in names}
    if enabled:
        os.environ.update({name: "1" for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into an exception for the duration of one command; the old handler comes back."""

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    from compress.recipe import load_recipe

    if args.command == "validate":
        checked = load_recipe(args.recipe, args.overrides)
        print(f"{args.recipe}: ok ({checked.name}: {len(checked.passes)} passes)")
        return 0
    if args.command == "passes":
        from compress.passes import REGISTRY

        for spec in REGISTRY.values():
            print(f"{spec.name:<17} {spec.stage.value:<7} {spec.summary}")
        return 0

    _quiet_libraries()
    handler = {"regress": regress_command, "audit": audit_command, "predict": predict_command, "serve": serve_command}
    if args.command in handler:
        return handler[args.command](args)
    if args.command == "sweep":
        from compress.sweep import load_sweep, run_sweep

        outcomes = run_sweep(load_sweep(args.file), args.model, args.data, args.out, args.address)
        failed = [o.name for o in outcomes if o.status == "failed"]
        print(f"sweep: {len(outcomes) - len(failed)} of {len(outcomes)} runs finished; {args.out / 'sweep.json'}")
        return 1 if failed else 0
    from compress.bench_command import bench_models
    from compress.outputs import check_writable
    from compress.runner import RunOptions, run_recipe

    recipe = load_recipe(args.recipe, args.overrides) if args.command == "run" else None
    options = RunOptions(
        args.model if args.command == "run" else None,
        args.data,
        args.out,
        args.overwrite,
        args.text_column,
        args.label_column,
        args.trust_remote_code,
        getattr(args, "resume", False),
        recipe_path=getattr(args, "recipe", None),
        revision=args.revision,
        data_config=args.data_config,
        repair_encoding=args.repair_encoding,
    )
    if args.benchmark_json:
        check_writable(args.benchmark_json)
    if recipe is not None:
        report = run_recipe(recipe, options, log=log)
    else:
        from compress.measure.settings import BenchmarkConfig

        settings = settings_from_flags(
            BenchmarkConfig,
            threads=args.threads,
            batch_size=args.batch_size,
            rounds=args.rounds,
            min_seconds=args.min_seconds,
            eval_limit=args.eval_limit,
            memory=not args.no_memory,
            classical_baseline=not args.no_classical,
        )
        report = bench_models(args.baseline, args.candidates, options, settings, args.max_length, log=log)
    _write_action_benchmark(args.benchmark_json, report)
    return 0


def _write_action_benchmark(path: Path | None, report: dict[str, Any]) -> None:
    if path is None:
        return
    if "benchmark" not in report:
        raise CompressError("--benchmark-json: this run measured nothing (benchmark.enabled is false)")
    from compress.outputs import write_json
    from compress.report.action_benchmark import benchmark_entries

    write_json(path.expanduser(), benchmark_entries(report["benchmark"]))


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (it may be replaced after set-up, e.g. by pytest)."""

    @property
    def stream(self):
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
