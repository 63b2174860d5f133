"""The handlers of `compress regress`, `predict`, `serve` and `audit`: flags in, the library's
functions called, an exit status out (`compress.cli` dispatches to them and turns errors into
statuses)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from compress.errors import CompressError

EXIT_REGRESSION = 1  # compress regress: a threshold was missed


def regress_command(args: argparse.Namespace) -> int:
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
    settings = settings_from_flags(
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
        log=log,
        trust_remote_code=args.trust_remote_code,
        repair_encoding=args.repair_encoding,
    )
    print(table(verdict))
    if args.json:
        write_benchmark_json(args.json, verdict)
    return 0 if verdict.passed else EXIT_REGRESSION


def predict_command(args: argparse.Namespace) -> int:
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
        log=log,
    )
    return 0


def serve_command(args: argparse.Namespace) -> int:
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
    log(f"serving {args.model} ({classifier.kind}, {len(classifier.labels)} labels) on http://{args.host}:{args.port}")
    serve(classifier, args.model, args.host, args.port, limits)
    return 0


def audit_command(args: argparse.Namespace) -> int:
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


def settings_from_flags(model: Any, **values: Any) -> Any:
    """Build a settings model from command-line flags; a bad value is reported under its flag's name."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as exc:
        raise CompressError(
            "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        ) from None


def log(message: str) -> None:
    logging.getLogger("compress").info(message)
