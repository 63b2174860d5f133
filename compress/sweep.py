"""Fan a study's training runs out over Ray: one task per run, with its own CPU/GPU needs.

`ray.init()` starts a local Ray on this machine unless an `address` joins an existing cluster
(then every node must see the same model, data and output paths: a shared file system). Each
task runs `compress run` in a child process with as many threads as CPUs it asked for. A run
whose output folder is finished is skipped, one with checkpoints beside it resumes, and a
failing run is reported with its log's last line without stopping the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compress.errors import CompressError, first_line


class RunSpec(BaseModel):
    """One training run of a study: a recipe with `--set` overrides, on a model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="its output folder under --out")
    recipe: Path
    model: str | None = Field(None, description="default: the sweep's --model")
    set: tuple[str, ...] = ()
    cpus: float = Field(1, gt=0)
    gpus: float = Field(0, ge=0)


class SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    runs: tuple[RunSpec, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Outcome:
    name: str
    status: Literal["done", "skipped", "failed"]
    seconds: float = 0.0
    error: str | None = None
    selection_accuracy: float | None = None  # of the run's last training pass: what a sweep selects by


def selection_accuracy(out: Path) -> float | None:
    """The selection-split accuracy a finished run's last training pass kept."""
    try:
        passes = json.loads((out / "report.json").read_text(encoding="utf-8"))["passes"]
    except (OSError, ValueError, KeyError):
        return None
    from compress.training.summary import TrainingSummary

    found = (TrainingSummary.from_details(p.get("details", {})) for p in passes)
    scores = [s.best_score for s in found if s is not None and s.selection == "accuracy"]
    return scores[-1] if scores else None


def load_sweep(path: Path) -> tuple[RunSpec, ...]:
    """Runs from a YAML or JSON file; recipe paths are taken relative to the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        sweep = SweepFile.model_validate(raw if isinstance(raw, dict) else {"runs": raw})
    except OSError as exc:
        raise CompressError(f"{path}: {first_line(exc)}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise CompressError(f"{path}: not a sweep file ({first_line(exc)})") from None
    names = [run.name for run in sweep.runs]
    if len(set(names)) != len(names):
        raise CompressError(f"{path}: run names repeat; each is an output folder")
    base = Path(path).parent
    return tuple(run.model_copy(update={"recipe": base / run.recipe}) for run in sweep.runs)


def _absolute(reference: str) -> str:
    """A local file or folder as an absolute path; anything else (a hub id, an alias) as it is."""
    path = Path(reference).expanduser()
    return str(path.resolve()) if path.exists() else reference


def finished(out: Path) -> bool:
    return (out / "manifest.json").is_file()


def train_one(spec: RunSpec, model: str, data: str, root: Path) -> float:
    """Run one `compress run` (the benchmark off: the study measures its outputs together later)."""
    out, log = root / spec.name, root / f"{spec.name}.log"
    threads = str(max(1, int(spec.cpus)))
    command = [
        sys.executable,
        "-m",
        "compress",
        "run",
        str(spec.recipe),
        "--model",
        spec.model or model,
        "--data",
        data,
        "--out",
        str(out),
        "--set",
        "benchmark.enabled=false",
    ]
    command += [part for item in spec.set for part in ("--set", item)]
    if (root / f".{spec.name}.checkpoints").is_dir():
        command.append("--resume")
    started = time.perf_counter()
    with open(log, "a", encoding="utf-8") as handle:
        code = subprocess.run(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=os.environ | {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads},
        ).returncode
    if code != 0:
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        raise RuntimeError(f"exit {code}: {lines[-1] if lines else 'no output'} (log: {log})")
    return time.perf_counter() - started


def run_sweep(
    runs: tuple[RunSpec, ...], model: str | None, data: str, root: Path, address: str | None = None, log: Any = print
) -> list[Outcome]:
    """Every run not yet finished, as Ray tasks; outcomes in the runs' order (also in root/sweep.json)."""
    from compress.extras import require

    missing = [run.name for run in runs if not (run.model or model)]
    if missing:
        raise CompressError(f"no model for {', '.join(missing)}: give --model or a model per run")
    # a Ray worker does not share this process's working folder: every local path goes absolute
    root, data, model = root.resolve(), _absolute(data), _absolute(model) if model else model
    runs = tuple(
        run.model_copy(update={"recipe": run.recipe.resolve(), "model": _absolute(run.model) if run.model else None})
        for run in runs
    )
    root.mkdir(parents=True, exist_ok=True)
    todo = [run for run in runs if not finished(root / run.name)]
    outcomes = {
        run.name: Outcome(run.name, "skipped", selection_accuracy=selection_accuracy(root / run.name))
        for run in runs
        if run not in todo
    }
    if todo:
        ray = require("ray", "study", "fanning a study out")
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        try:
            task = ray.remote(train_one)
            futures = {
                run.name: task.options(num_cpus=run.cpus, num_gpus=run.gpus).remote(run, model or "", data, root)
                for run in todo
            }
            log(f"sweep: {len(todo)} run(s) on Ray ({len(outcomes)} already finished)")
            for name, future in futures.items():
                try:
                    seconds = round(ray.get(future), 1)
                    outcomes[name] = Outcome(name, "done", seconds, selection_accuracy=selection_accuracy(root / name))
                except Exception as exc:  # a failed task re-raises its error here, wrapped by Ray
                    outcomes[name] = Outcome(name, "failed", error=first_line(getattr(exc, "cause", None) or exc))
                log(
                    f"  {name}: {outcomes[name].status}"
                    + (f" ({outcomes[name].error})" if outcomes[name].error else "")
                )
        finally:
            if started_here:
                ray.shutdown()
    ordered = [outcomes[run.name] for run in runs]
    (root / "sweep.json").write_text(json.dumps([asdict(o) for o in ordered], indent=2), encoding="utf-8")
    return ordered
