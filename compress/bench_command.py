"""`compress bench`: measure models that already exist against a baseline, no passes.

The same measurement core and loader as a recipe run, so a `bench` figure and a `run` figure of the
same models mean the same thing; only where the models come from differs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from compress.errors import CompressError
from compress.outputs import atomic_folder, check_destination
from compress.report.files import write_report
from compress.report.model_card import SCHEMA_VERSION
from compress.runner import Log, RunOptions
from compress.text_encoding import checked_encoding


def bench_models(
    baseline_ref: str,
    candidate_refs: list[str],
    options: RunOptions,
    settings: Any,
    max_length: int = 128,
    log: Log = print,
) -> dict[str, Any]:
    """Each candidate against the baseline on `options.data`'s evaluation split, every model fed by
    its own tokenizer; the report goes to `options.out`, whole or not at all."""
    from compress.data import load_task_data
    from compress.loading import load_model
    from compress.measure.benchmark import Candidate, run_benchmark

    started = time.perf_counter()
    if not options.data:
        raise CompressError("no data: pass --data")
    inputs = (options.data, baseline_ref, *candidate_refs)
    out = check_destination(options.out, options.overwrite, inputs)
    data = load_task_data(
        options.data, options.text_column or "text", options.label_column or "label", config=options.data_config
    )
    data, encoding = checked_encoding(data, options.repair_encoding, log)
    loaded = load_model(
        baseline_ref, data.label_map.names, trust_remote_code=options.trust_remote_code, revision=options.revision
    )
    data = data.with_label_order(loaded.label_order)
    candidates = []
    for ref in candidate_refs:
        other = load_model(ref, data.label_map.names, stored_dtype=True, trust_remote_code=options.trust_remote_code)
        if other.label_order != loaded.label_order:
            raise CompressError(f"{ref}: label order {list(other.label_order)} differs from the baseline's")
        candidates.append(Candidate(other.name, other.kind, other.location, other.model, other.tokenizer))
    baseline = Candidate(f"baseline: {baseline_ref}", "torch", loaded.location, loaded.model, loaded.tokenizer)
    with atomic_folder(out, options.overwrite, inputs) as output:
        result = run_benchmark(
            baseline,
            candidates,
            loaded.tokenizer,
            data.evaluation,
            loaded.label_order,
            max_length,
            settings,
            log,
            train=data.train,
        )
        report = {
            "schema_version": SCHEMA_VERSION,
            "recipe": {"name": "bench"},
            "inputs": {"model": baseline_ref, "data": options.data, "encoding": encoding},
            "passes": [],
            "benchmark": result,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": time.perf_counter() - started,
        }
        write_report(output.path, report)
        output.manifest.update({"recipe": "bench", "outputs": {}})
    log(f"report: {options.out / 'report.md'}")
    return report
