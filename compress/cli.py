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

from compress.cli_parser import build_parser
from compress.errors import CompressError, first_line

EXIT_REGRESSION = 1  # compress regress: a threshold was missed
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
    if args.command == "regress":
        return _regress(args)
    if args.command == "audit":
        return _audit(args)
    if args.command == "predict":
        return _predict(args)
    if args.command == "serve":
        return _serve(args)
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
        report = run_recipe(recipe, options, log=_log)
    else:
        from compress.measure.settings import BenchmarkConfig

        settings = _from_flags(
            BenchmarkConfig,
            threads=args.threads,
            batch_size=args.batch_size,
            rounds=args.rounds,
            min_seconds=args.min_seconds,
            eval_limit=args.eval_limit,
            memory=not args.no_memory,
            classical_baseline=not args.no_classical,
        )
        report = bench_models(args.baseline, args.candidates, options, settings, args.max_length, log=_log)
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


def _regress(args: argparse.Namespace) -> int:
    from compress.outputs import check_writable
    from compress.regress import GateSettings, load_thresholds, run_gate, table, write_benchmark_json

    thresholds = load_thresholds(
        args.thresholds,
        {
            "min_speedup": args.min_speedup,
            "min_throughput_speedup": args.min_throughput_speedup,
            "max_accuracy_drop": args.max_accuracy_drop,
        },
    )
    settings = _from_flags(
        GateSettings,
        rounds=args.rounds,
        min_seconds=args.min_seconds,
        threads=args.threads,
        eval_limit=args.eval_limit,
        max_round_spread=args.max_round_spread,
    )
    if args.json:
        check_writable(args.json)
    verdict = run_gate(
        args.baseline,
        args.candidate,
        args.data,
        thresholds,
        settings,
        args.max_length,
        log=_log,
        trust_remote_code=args.trust_remote_code,
        repair_encoding=args.repair_encoding,
    )
    print(table(verdict))
    if args.json:
        write_benchmark_json(args.json, verdict)
    return 0 if verdict.passed else EXIT_REGRESSION


def _predict(args: argparse.Namespace) -> int:
    from compress.api import load
    from compress.predict import predict_file

    if args.top_k < 1 or args.batch_size < 1 or args.max_length < 2:
        raise CompressError("--top-k and --batch-size must be at least 1, --max-length at least 2")
    classifier = load(
        args.model,
        threads=args.threads,
        max_length=args.max_length,
        batch_size=args.batch_size,
        trust_remote_code=args.trust_remote_code,
    )
    predict_file(
        classifier,
        args.data,
        args.out.expanduser(),
        text_column=args.text_column,
        top_k=args.top_k,
        on_bad_row=args.on_bad_row,
        progress=not args.no_progress,
        log=_log,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from compress.api import load
    from compress.serve import AUTO_MAX_PADDING, ServeLimits, serve

    if min(args.max_batch_size, args.max_texts, args.max_text_chars) < 1 or args.max_wait_ms < 0:
        raise CompressError("--max-batch-size, --max-texts and --max-text-chars must be at least 1, --max-wait-ms >= 0")
    classifier = load(
        args.model,
        threads=args.threads,
        max_length=args.max_length,
        batch_size=args.max_batch_size,
        trust_remote_code=args.trust_remote_code,
    )
    max_padding = AUTO_MAX_PADDING.get(classifier.kind) if args.max_padding == "auto" else args.max_padding
    limits = ServeLimits(
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_padding=max_padding,
        adaptive=args.batching == "adaptive",
        max_texts=args.max_texts,
        max_text_chars=args.max_text_chars,
    )
    _log(f"serving {args.model} ({classifier.kind}, {len(classifier.labels)} labels) on http://{args.host}:{args.port}")
    serve(classifier, args.model, args.host, args.port, limits)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from compress.data import load_task_data
    from compress.loading import load_tokenizer
    from compress.outputs import check_writable, write_json
    from compress.vocab.audit import audit_tokenizer

    if args.json:
        check_writable(args.json)
    from compress.text_encoding import audit_encoding

    data = load_task_data(args.data, args.text_column, args.label_column)
    split = getattr(data, args.split)
    encoding = audit_encoding(split.texts, [data.label_map.names[i] for i in split.labels])
    print(f"mis-decoded texts (mojibake) in '{split.name}': {encoding.mis_decoded} of {encoding.examples}")
    for warning in encoding.warnings():
        print(f"  WARNING: {warning}")
    if args.repair_encoding:
        split = getattr(data.with_repaired_encoding()[0], args.split)
        print("  repaired before the tokenizers are audited (--repair-encoding)")
    results = {}
    print(
        f"{'model':<40} {'chars lost':>10} {'[UNK]':>7} {'tokens/ex':>9} {'p95':>5} {'truncated':>9} {'vocab used':>14}"
    )
    for reference in args.model:
        audit = audit_tokenizer(load_tokenizer(reference), split.texts, args.max_length)
        results[reference] = audit.to_dict()
        print(
            f"{reference[-40:]:<40} {100 * audit.lost_share:>9.1f}% {100 * audit.unk_share:>6.2f}% "
            f"{audit.tokens_per_example_mean:>9.1f} {audit.tokens_per_example_p95:>5.0f} "
            f"{100 * audit.truncated_share:>8.1f}% {audit.vocabulary_used:>6}/{audit.vocabulary_size:<7}"
        )
        for warning in audit.warnings():
            print(f"  WARNING: {warning}")
    print(f"({len(split)} examples of '{split.name}', max_length {args.max_length})")
    if args.json:
        record = {"split": split.name, "examples": len(split), "encoding": encoding.to_dict(), "models": results}
        write_json(args.json, record | {"repaired_encoding": args.repair_encoding})
    return 0


def _from_flags(model: Any, **values: Any) -> Any:
    """Build a settings model from command-line flags; a bad value is reported under its flag's name."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as exc:
        raise CompressError(
            "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        ) from None


def _log(message: str) -> None:
    logging.getLogger("compress").info(message)


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
