"""Run a recipe: load inputs, loop over the passes with one Artifact, save, benchmark, report.

No global state: everything a pass needs travels in the Artifact, and the runner records
each pass's settings, wall time and measurements in the artifact's history.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compress.artifact import Artifact, PassRecord
from compress.cpus import torch_thread_cap, torch_threads
from compress.errors import CompressError
from compress.outputs import atomic_folder, check_destination, write_json
from compress.passes import Stage, spec_for
from compress.pruning.standalone import add_standalone_loader
from compress.recipe import Recipe, dump_recipe
from compress.report.files import write_report
from compress.report.model_card import SCHEMA_VERSION, write_model_cards
from compress.text_encoding import checked_encoding

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None
    data: str | None = None
    out: Path = Path("runs/out")
    overwrite: bool = False
    text_column: str | None = None
    label_column: str | None = None
    trust_remote_code: bool = False
    resume: bool = False
    recipe_path: Path | None = None  # an input too: an output folder may never hold it
    revision: str | None = None  # of a hub model
    data_config: str | None = None  # of a hub dataset
    repair_encoding: bool = False  # or the recipe's data.repair_encoding


def run_recipe(recipe: Recipe, options: RunOptions, log: Log = print) -> dict[str, Any]:
    """Execute `recipe`; returns the report dict. The output folder appears only on success.

    Under `accelerate launch`/torchrun every process runs the training passes together; only
    the main process exports, benchmarks and writes. Torch's thread count and random state are
    put back afterwards: a caller of the Python API finds them as they were.
    """
    started = time.perf_counter()
    model_ref, data_ref = options.model or recipe.model, options.data or recipe.data.path
    if not model_ref:
        raise CompressError("no model: pass --model or set 'model' in the recipe")
    if not data_ref:
        raise CompressError("no data: pass --data or set 'data.path' in the recipe")
    inputs = (model_ref, data_ref, options.recipe_path)
    out = check_destination(options.out, options.overwrite, inputs)
    import torch

    with torch_threads(torch_thread_cap(log)), torch.random.fork_rng(devices=[]):
        return _run_recipe(recipe, options, model_ref, data_ref, out, inputs, started, log)


def _run_recipe(
    recipe: Recipe,
    options: RunOptions,
    model_ref: str,
    data_ref: str,
    out: Path,
    inputs: tuple[Any, ...],
    started: float,
    log: Log,
) -> dict[str, Any]:
    from compress.training.accelerated import process_state

    source, loaded, data, encoding = _load_inputs(recipe, options, model_ref, data_ref, log)
    state = process_state(training=False)
    checkpoints = out.parent / f".{out.name}.checkpoints"

    if not state.is_main_process:
        state.wait_for_everyone()  # the main process has locked the output and prepared the checkpoints
        with tempfile.TemporaryDirectory(prefix="compress-worker-") as scratch:
            artifact = Artifact(
                loaded.model,
                loaded.tokenizer,
                data,
                Path(scratch),
                recipe.data.max_length,
                recipe.seed,
                source=source,
                label_order=loaded.label_order,
                resume=options.resume,
            )
            _run_passes([p for p in recipe.passes if spec_for(p).stage is Stage.TORCH], artifact, checkpoints, log)
        return {}

    with atomic_folder(out, options.overwrite, inputs) as output:
        _prepare_checkpoints(checkpoints, recipe, model_ref, data_ref, options.resume)
        state.wait_for_everyone()
        workdir = output.path
        artifact = Artifact(
            loaded.model,
            loaded.tokenizer,
            data,
            workdir,
            recipe.data.max_length,
            recipe.seed,
            source=source,
            label_order=loaded.label_order,
            resume=options.resume,
        )
        try:
            artifact = _run_passes(list(recipe.passes), artifact, checkpoints, log)
        except BaseException:
            if any(checkpoints.glob("*/*.pt")):
                log(f"training state kept in {checkpoints}; rerun the same command with --resume to continue")
            else:
                _remove_checkpoints(checkpoints)
            raise
        add_standalone_loader(artifact.model, artifact.model_dir)  # a pruned model then loads without compress
        artifact.model.save_pretrained(artifact.model_dir, safe_serialization=True)
        artifact.tokenizer.save_pretrained(artifact.model_dir)
        (workdir / "recipe.resolved.yaml").write_text(dump_recipe(recipe), encoding="utf-8")

        report: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "recipe": recipe.to_data(),
            "inputs": {"model": model_ref, "data": data_ref, "encoding": encoding},
            "passes": [vars(r) for r in artifact.history],
            "outputs": {"model": "model", **{name: str(p.relative_to(workdir)) for name, p in artifact.onnx.items()}},
        }
        if recipe.benchmark.enabled:
            report["benchmark"] = _benchmark(recipe, source, loaded, artifact, options.trust_remote_code, log)
        report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        report["seconds"] = time.perf_counter() - started
        if "benchmark" in report:
            write_report(workdir, report)
        else:
            write_json(workdir / "report.json", report)
        write_model_cards(workdir, report)
        output.manifest.update({"recipe": recipe.name, "outputs": report["outputs"]})
        _remove_checkpoints(checkpoints)
    log(f"report: {options.out / ('report.md' if 'benchmark' in report else 'report.json')}")
    return report


def _load_inputs(recipe: Recipe, options: RunOptions, model_ref: str, data_ref: str, log: Log):
    import torch

    from compress.data import load_task_data
    from compress.loading import load_model
    from compress.models import resolve_model

    source = resolve_model(model_ref, options.revision)
    log(f"data: {data_ref}")
    data = load_task_data(
        data_ref,
        options.text_column or recipe.data.text_column,
        options.label_column or recipe.data.label_column,
        recipe.data.selection_fraction,
        recipe.seed,
        options.data_config or recipe.data.config,
    )
    log(
        f"  train {len(data.train)}, selection {len(data.selection)} ({data.selection.name}), "
        f"evaluation {len(data.evaluation)} ({data.evaluation.name}), {len(data.label_map.names)} labels"
    )
    data, encoding = checked_encoding(data, options.repair_encoding or recipe.data.repair_encoding, log)
    first_training = next((spec_for(p) for p in recipe.passes if spec_for(p).uses_head), None)
    trains_head = first_training is not None and first_training.trains_head
    torch.manual_seed(recipe.seed)
    loaded = load_model(
        source, data.label_map.names, allow_new_head=trains_head, trust_remote_code=options.trust_remote_code
    )
    if loaded.label_order != data.label_map.names:
        data = data.with_label_order(loaded.label_order)
    parameters = sum(p.numel() for p in loaded.model.parameters()) / 1e6
    head = "new classification head" if loaded.new_head else "its own classification head"
    log(f"model: {model_ref} ({parameters:.1f} M parameters, {head} for {len(loaded.label_order)} labels)")
    _log_audit(loaded.tokenizer, data.train.texts, recipe.data.max_length, log)
    return source, loaded, data, encoding


def _log_audit(tokenizer: Any, texts: Any, max_length: int, log: Log) -> None:
    """Say how well the model's tokenizer fits the training text, loudly when it deletes or cannot spell it."""
    from compress.vocab.audit import audit_tokenizer

    audit = audit_tokenizer(tokenizer, texts, max_length)
    log(f"tokenizer on train: {audit.summary()}")
    for warning in audit.warnings():
        log(
            f"WARNING: {warning}; a vocabulary fitted to this text (vocab_transfer, see recipes/marathi-teacher.yaml) "
            "keeps it and shortens sequences"
        )


def _run_passes(passes: list[Any], artifact: Artifact, checkpoints: Path, log: Log) -> Artifact:
    for index, config in enumerate(passes):
        spec = spec_for(config)
        log(f"pass {index + 1}/{len(passes)}: {spec.name}")
        pass_started = time.perf_counter()
        artifact = replace(artifact, checkpoint_dir=checkpoints / f"{index}-{spec.name}")
        artifact, details = spec.function(config, artifact)
        record = PassRecord(spec.name, config.model_dump(mode="json"), time.perf_counter() - pass_started, details)
        artifact = replace(artifact, history=(*artifact.history, record))
    return artifact


def run_fingerprint(recipe: Recipe, model_ref: str, data_ref: str) -> str:
    """What a checkpoint belongs to: the recipe's explicitly set values (not its defaults, so a
    newer compress that adds a setting can still resume an older run), the model and the data."""
    import json

    settings = recipe.model_dump(mode="json", exclude_defaults=True, exclude={"passes"})
    passes = [{spec_for(p).name: p.model_dump(mode="json", exclude_defaults=True)} for p in recipe.passes]
    text = json.dumps({"recipe": settings, "passes": passes}, sort_keys=True)
    return hashlib.sha256("\n".join([text, model_ref, data_ref]).encode()).hexdigest()


def _prepare_checkpoints(root: Path, recipe: Recipe, model_ref: str, data_ref: str, resume: bool) -> None:
    """Training state lives beside the output (not inside its temporary folder) so it survives a crash."""
    fingerprint = run_fingerprint(recipe, model_ref, data_ref)
    stamp = root / "fingerprint"
    if resume and stamp.is_file() and stamp.read_text() != fingerprint:
        raise CompressError(f"--resume: {root} belongs to a different recipe, model or data; run without --resume")
    if not resume:
        _remove_checkpoints(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)


def _remove_checkpoints(root: Path) -> None:
    """Remove a checkpoint folder only if compress made it (it holds the run's fingerprint)."""
    if not root.is_dir():
        return
    if not (root / "fingerprint").is_file() and any(root.iterdir()):
        raise CompressError(f"{root} is in the way of this run's checkpoints and was not made by compress; move it")
    shutil.rmtree(root, ignore_errors=True)


def _benchmark(
    recipe: Recipe, source: Any, loaded: Any, artifact: Artifact, trust_remote_code: bool, log: Log
) -> dict[str, Any]:
    """Baseline = the input model as loaded, fp32 PyTorch; candidates = every output."""
    import torch

    from compress.loading import load_model
    from compress.measure.benchmark import Candidate, run_benchmark
    from compress.models import dtype_name

    if artifact.model_changed:
        torch.manual_seed(recipe.seed)
        baseline_model = load_model(
            source, loaded.label_order, allow_new_head=True, trust_remote_code=trust_remote_code
        ).model
    else:
        baseline_model = artifact.model
    baseline = Candidate("baseline: input, pytorch fp32", "torch", source.location, baseline_model, loaded.tokenizer)
    candidates = []
    if artifact.model_changed:
        candidates.append(
            Candidate(
                f"pytorch {dtype_name(artifact.model)}",
                "torch",
                str(artifact.model_dir),
                artifact.model,
                artifact.tokenizer,
            )
        )
    candidates += [
        Candidate(name, "onnx", str(path), tokenizer=artifact.tokenizer) for name, path in artifact.onnx.items()
    ]
    if not candidates:
        log("benchmark: no pass changed the model; measuring the baseline alone")
    result = run_benchmark(
        baseline,
        candidates,
        artifact.tokenizer,
        artifact.data.evaluation,
        loaded.label_order,
        artifact.max_length,
        recipe.benchmark,
        log,
        train=artifact.data.train,
        seed=recipe.seed,
    )
    for entry in result["candidates"]:
        if entry["kind"] != "classical":
            entry["location"] = str(Path(entry["location"]).relative_to(artifact.workdir))
    if loaded.new_head:
        result["baseline"]["note"] = "the input model had no classifier for these labels: its head is untrained"
    return result
