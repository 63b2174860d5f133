"""A study's runs fan out as Ray tasks: a 2-run tiny sweep through local Ray, resumed, and a failure
reported per run without losing the others."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import REPO

from compress.errors import CompressError
from compress.sweep import load_sweep, run_sweep

TINY = ["passes.0.finetune.epochs=1", "passes.0.finetune.track_energy=false"]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for these tests, its session files in a short temporary folder (Ray's socket
    paths must fit in 107 bytes), no token written to the home folder; shut down and removed after."""
    ray = pytest.importorskip("ray")
    folder = tempfile.mkdtemp(prefix="r")
    saved = {name: os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_TMPDIR")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_TMPDIR=folder)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=folder)
        yield ray
    finally:
        ray.shutdown()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.update({name: value})
        shutil.rmtree(folder, ignore_errors=True)


def test_runs_train_on_ray_a_failure_stays_its_own_and_a_rerun_skips_what_finished(
    local_ray, tiny_classifier_dir, toy_data, tmp_path
):
    recipe = str(REPO / "recipes" / "finetune.yaml")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        json.dumps(
            {
                "runs": [
                    *({"name": f"ft-s{seed}", "recipe": recipe, "set": [*TINY, f"seed={seed}"]} for seed in (1, 2)),
                    {"name": "bad", "recipe": recipe, "set": [*TINY, "passes.0.finetune.epochz=1"]},
                ]
            }
        )
    )
    out = tmp_path / "runs"
    first = run_sweep(load_sweep(sweep), str(tiny_classifier_dir), str(toy_data), out, log=lambda _: None)
    assert [(o.name, o.status) for o in first] == [("ft-s1", "done"), ("ft-s2", "done"), ("bad", "failed")]
    assert all(0 <= o.selection_accuracy <= 1 for o in first[:2]) and first[2].selection_accuracy is None
    assert "exit 2" in first[2].error and "epochz" in first[2].error
    reports = [json.loads((out / name / "report.json").read_text()) for name in ("ft-s1", "ft-s2")]
    assert [r["recipe"]["seed"] for r in reports] == [1, 2] and all("benchmark" not in r for r in reports)
    again = run_sweep(load_sweep(sweep), str(tiny_classifier_dir), str(toy_data), out, log=lambda _: None)
    assert [o.status for o in again] == ["skipped", "skipped", "failed"]
    assert [o["status"] for o in json.loads((out / "sweep.json").read_text())] == ["skipped", "skipped", "failed"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("runs: []", "not a sweep file"),
        ("runs: [{name: a, recipe: r.yaml}, {name: a, recipe: r.yaml}]", "names repeat"),
        ("runs: [{name: ../x, recipe: r.yaml}]", "not a sweep file"),
        ("runs: [{name: a, recipe: r.yaml, cpu: 2}]", "not a sweep file"),
    ],
)
def test_bad_sweep_files_are_one_line_errors(tmp_path, text, message):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(text)
    with pytest.raises(CompressError, match=message):
        load_sweep(sweep)


def test_local_paths_go_absolute_and_nothing_to_do_needs_no_ray(tmp_path, monkeypatch):
    from compress.sweep import RunSpec, _absolute

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "manifest.json").write_text("{}")
    (tmp_path / "data").mkdir()
    assert _absolute("data") == str(tmp_path / "data") and _absolute("minilm") == "minilm"
    outcomes = run_sweep(
        (RunSpec(name="a", recipe=Path("r.yaml")),), "minilm", "data", Path("runs"), log=lambda _: None
    )
    assert [o.status for o in outcomes] == ["skipped"] and (tmp_path / "runs" / "sweep.json").is_file()
