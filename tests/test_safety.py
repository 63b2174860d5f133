"""Safety: what `--out` may replace, locks, signals, the one loader's refusals, and exit codes.

One case per defect found by an adversarial run of bad inputs; every command here must end in
one line and exit 2 (bad input), never in a traceback or in regress's "regression" exit 1.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TOPICS, make_rows, run_args, write_csv

from compress.cli import main
from compress.outputs import output_lock

QUICK = str(REPO / "recipes" / "precision-bf16.yaml")  # no training, no export: a run in a second or two
NO_BENCH = ["--set", "benchmark.enabled=false"]
GATE = ["--min-speedup", "0.5", "--rounds", "3", "--min-seconds", "0.1", "--threads", "1"]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` with its content hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def one_line_error(capsys, code: int, expected_code: int = 2) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == expected_code, err
    assert err and err[-1].startswith("compress: error:"), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


# ---- 1. --overwrite never deletes what compress did not write -----------------------------------


@pytest.fixture
def world(tmp_path, monkeypatch, tiny_classifier_dir):
    """A home folder and a working folder full of sentinel files, the inputs among them."""
    home, work = tmp_path / "home", tmp_path / "home" / "work"
    (work / "precious").mkdir(parents=True)
    (home / "sentinel.txt").write_text("home")
    (work / "sentinel.txt").write_text("work")
    (work / "precious" / "thesis.txt").write_text("years of work")
    (work / "empty").mkdir()
    write_csv(work / "data" / "train.csv", make_rows(60, seed=1))
    write_csv(work / "data" / "dev.csv", make_rows(21, seed=2))
    shutil.copytree(tiny_classifier_dir, work / "model")
    shutil.copy(QUICK, work / "recipe.yaml")
    (work / "link-to-precious").symlink_to(work / "precious")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home, work


def run_quick(out: str, *extra: str, recipe: str = "recipe.yaml") -> int:
    return main(["run", recipe, "--model", "model", "--data", "data", "--out", out, *NO_BENCH, *extra])


OUT_FORMS = [
    ".",
    "~",
    "/",
    "..",
    "precious",
    "link-to-precious",
    "data",
    "model",
    "data/train.csv",
    "sentinel.txt",
    "recipe.yaml",
    "$HOME",
    "$WORK",
    "stray-output",
]


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("form", OUT_FORMS)
def test_no_out_form_deletes_a_file_compress_did_not_write(world, capsys, form, overwrite):
    home, work = world
    if form == "stray-output":  # a real compress output that somebody added a file to
        assert run_quick("stray-output") == 0
        (work / "stray-output" / "notes.txt").write_text("mine")
    before = snapshot(home.parent)
    out = {"$HOME": str(home), "$WORK": str(work)}.get(form, form)
    code = run_quick(out, *(["--overwrite"] if overwrite else []))
    message = one_line_error(capsys, code)
    assert snapshot(home.parent) == before, message
    assert not [p for p in home.parent.rglob("*partial*")], "no temporary folder left"


def test_overwrite_replaces_an_empty_folder_or_a_clean_compress_output(world):
    _, work = world
    assert run_quick("empty") == 0  # an empty folder needs no --overwrite
    assert run_quick("out") == 0
    first = snapshot(work / "out")
    assert run_quick("out", "--overwrite") == 0
    assert set(snapshot(work / "out")) == set(first)
    assert (work / "out").stat().st_mode & 0o777 == 0o777 & ~_umask(), "the output folder follows the umask"
    assert (work / "out" / "model" / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# ---- 2. two runs with the same --out ------------------------------------------------------------


def test_a_second_run_on_a_locked_output_fails_at_once_and_touches_nothing(world, capsys):
    _, work = world
    checkpoints = work / ".out.checkpoints"
    checkpoints.mkdir()
    (checkpoints / "fingerprint").write_text("the first run's")
    with output_lock((work / "out").resolve()):
        started = time.perf_counter()
        message = one_line_error(capsys, run_quick("out"))
        assert time.perf_counter() - started < 30
    assert "another compress run is writing" in message
    assert (checkpoints / "fingerprint").read_text() == "the first run's"
    assert not (work / "out").exists() and not list(work.glob(".out.lock"))


# ---- 3-5. the one loader: pickles, remote code, wrong ONNX graphs, broken files --------------------


def _remote_code_model(folder: Path, source: Path, sentinel: Path) -> None:
    shutil.copytree(source, folder)
    config = (folder / "config.json").read_text()
    custom = '"model_type": "evil-bert", "auto_map": {"AutoConfig": "evil.EvilConfig"}'  # a type transformers lacks
    (folder / "config.json").write_text(config.replace('"model_type": "bert"', custom))
    (folder / "evil.py").write_text(
        f"open({str(sentinel)!r}, 'w').write('ran')\n"
        "from transformers import BertConfig\nclass EvilConfig(BertConfig):\n    model_type = 'evil-bert'\n"
    )


def _onnx_with_two_logits(path: Path) -> None:
    """A graph that takes the tokenizer's inputs and returns two logits per example."""
    import onnx
    from onnx import TensorProto, helper

    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["f"], ["m"], keepdims=1),
        helper.make_node("Concat", ["m", "m"], ["logits"], axis=1),
    ]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])
    graph = helper.make_graph(nodes, "two", inputs, [output])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _bad_candidate(case: str, tmp_path: Path, model: Path) -> tuple[str, str]:
    """(candidate reference, expected message) for each broken candidate."""
    folder = tmp_path / case
    if case == "pickle only":
        shutil.copytree(model, folder)
        (folder / "model.safetensors").unlink()
        (folder / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")  # a valid pickle of the number 1
        return str(folder), "pickle weights are refused"
    if case == "remote code":
        _remote_code_model(folder, model, tmp_path / "remote-code-ran")
        return str(folder), "--trust-remote-code"
    onnx_dir = tmp_path / f"{case}-onnx"
    shutil.copytree(model, onnx_dir)
    graph = onnx_dir / "model.onnx"
    if case == "onnx wrong label count":
        _onnx_with_two_logits(graph)
        return str(graph), "gives 2 logits per example, but there are 3 labels"
    if case == "onnx garbage":
        graph.write_bytes(os.urandom(300))
        return str(graph), "not a loadable ONNX model"
    if case == "onnx empty":
        graph.write_bytes(b"")
        return str(graph), "not a loadable ONNX model"
    if case == "onnx truncated":
        _onnx_with_two_logits(graph)
        graph.write_bytes(graph.read_bytes()[:40])
        return str(graph), "not a loadable ONNX model"
    if case == "truncated safetensors":
        weights = onnx_dir / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:-64])
        return str(onnx_dir), "truncated or corrupt"
    if case == "lfs safetensors":
        (onnx_dir / "model.safetensors").write_text(
            "version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n"
        )
        return str(onnx_dir), "git-lfs pointer"
    if case == "tokenizer too large":
        vocab = onnx_dir / "vocab.txt"
        vocab.write_text(vocab.read_text() + "".join(f"extra{i}\n" for i in range(50)))
        (onnx_dir / "tokenizer.json").unlink(missing_ok=True)
        return str(onnx_dir), "tokenizer and model do not belong together"
    if case == "broken manifest":
        (onnx_dir / "manifest.json").write_text("{not json")
        return str(onnx_dir), "broken manifest"
    raise ValueError(case)


BAD_CANDIDATES = [
    "pickle only",
    "remote code",
    "onnx wrong label count",
    "onnx garbage",
    "onnx empty",
    "onnx truncated",
    "truncated safetensors",
    "lfs safetensors",
    "tokenizer too large",
    "broken manifest",
]


@pytest.mark.parametrize("command", ["regress", "bench"])
@pytest.mark.parametrize("case", BAD_CANDIDATES)
def test_a_broken_candidate_is_bad_input_not_a_verdict(
    tmp_path, toy_data, tiny_classifier_dir, capsys, monkeypatch, command, case
):
    candidate, expected = _bad_candidate(case, tmp_path, tiny_classifier_dir)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # a prompt would read "no"; there must be none
    if command == "regress":
        args = ["regress", candidate, "--baseline", str(tiny_classifier_dir), "--data", str(toy_data), *GATE]
    else:
        args = [
            "bench",
            candidate,
            "--baseline",
            str(tiny_classifier_dir),
            "--data",
            str(toy_data),
            "--out",
            str(tmp_path / "bench"),
            "--no-memory",
        ]
    message = one_line_error(capsys, main(args))
    assert expected in message
    assert not (tmp_path / "remote-code-ran").exists(), "model code ran without --trust-remote-code"
    assert not (tmp_path / "bench").exists()


def test_remote_code_is_refused_by_run_too(world, capsys, tmp_path):
    _, work = world
    _remote_code_model(work / "custom", work / "model", tmp_path / "ran")
    message = one_line_error(capsys, main(["run", "recipe.yaml", "--model", "custom", "--data", "data", "--out", "o"]))
    assert "--trust-remote-code" in message and not (tmp_path / "ran").exists()


@pytest.mark.parametrize("where, message", [("a folder", "is a folder"), ("a missing folder", "does not exist")])
def test_an_unwritable_json_path_fails_before_measuring(
    tmp_path, toy_data, tiny_classifier_dir, capsys, where, message
):
    target = tmp_path if where == "a folder" else tmp_path / "missing" / "regress.json"
    args = [
        "regress",
        str(tiny_classifier_dir),
        "--baseline",
        str(tiny_classifier_dir),
        "--data",
        str(toy_data),
        *GATE,
        "--json",
        str(target),
    ]
    assert message in one_line_error(capsys, main(args))


def test_an_internal_error_is_exit_3_with_one_line_and_debug_shows_the_traceback(
    tiny_classifier_dir, toy_data, capsys, monkeypatch
):
    import compress.regress

    def broken(*args, **kwargs):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(compress.regress, "run_gate", broken)
    args = ["regress", str(tiny_classifier_dir), "--baseline", str(tiny_classifier_dir), "--data", str(toy_data), *GATE]
    assert main(args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "compress: internal error: RuntimeError: something nobody foresaw; rerun with --debug for the traceback"
    ]
    assert main([*args, "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


# ---- 6. an output folder that is a mount point ---------------------------------------------------


def test_an_output_on_a_mount_point_is_written_inside_it(world, monkeypatch):
    _, work = world
    mount = (work / "volume").resolve()
    mount.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == mount or real_ismount(p))
    assert run_quick("volume") == 0
    assert (mount / "manifest.json").is_file() and (mount / "model" / "config.json").is_file()
    assert run_quick("volume", "--overwrite") == 0
    assert not [p.name for p in mount.iterdir() if p.name.startswith(".compress-")]


# ---- 7. splits too small to hold anything out ------------------------------------------------------


def test_too_few_rows_to_hold_out_a_selection_split_is_one_line(tmp_path, tiny_classifier_dir, capsys):
    data = tmp_path / "small"
    write_csv(data / "train.csv", make_rows(15, seed=1))  # 5 per label: 10% of 5 rounds to none
    write_csv(data / "dev.csv", make_rows(6, seed=2))
    code = main(["run", QUICK, "--model", str(tiny_classifier_dir), "--data", str(data), "--out", str(tmp_path / "o")])
    assert "selection split" in one_line_error(capsys, code)


# ---- 8. signals and stale temporary folders --------------------------------------------------------


@pytest.mark.parametrize(
    "sent, status, message", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_removes_the_partial_output_and_the_last_line_says_so(
    tiny_classifier_dir, toy_data, tmp_path, sent, status, message
):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "compress",
        *run_args(
            str(REPO / "recipes" / "finetune.yaml"),
            str(tiny_classifier_dir),
            str(toy_data),
            str(out),
            "--set",
            "passes.0.finetune.epochs=500",
        ),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    # a shell that starts background jobs (CI's may) hands them SIGINT ignored: give the child the default
    child = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stderr is not None
    for line in child.stderr:
        if "pass 1/" in line:
            break
    time.sleep(2)
    child.send_signal(sent)
    rest = child.stderr.read()
    assert child.wait(timeout=60) == status, rest
    assert rest.strip().splitlines()[-1].startswith(f"compress: {message}")
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*")) and not list(tmp_path.glob(".out.lock"))


def test_stale_partial_folders_are_cleaned_but_only_compress_s_own(world):
    _, work = world
    stale = work / ".out.partial-999999-dead"
    stale.mkdir()
    (stale / ".compress-partial").touch()
    look_alike = work / ".out.partial-1-user"
    look_alike.mkdir()
    (look_alike / "keep.txt").write_text("mine")
    assert run_quick("out") == 0
    assert not stale.exists() and (look_alike / "keep.txt").is_file()


# ---- 9. data, references and recipes ---------------------------------------------------------------


def test_na_and_none_are_labels_and_texts_not_missing_values(tmp_path):
    from compress.data import load_task_data

    rows = [("NA", "NA"), ("None", "None"), ("null", "NA")] * 10 + [(f"word {i}", "None") for i in range(6)]
    data = load_task_data(str(write_csv(tmp_path / "na.csv", rows)))
    assert data.label_map.names == ("NA", "None")
    assert "NA" in data.train.texts + data.selection.texts + data.evaluation.texts


def test_a_missing_local_path_that_looks_like_a_hub_id_fails_fast(world, capsys, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # even with the hub reachable in principle
    (world[1] / "runs").mkdir()
    started = time.perf_counter()
    message = one_line_error(capsys, main(["run", "recipe.yaml", "--model", "runs/ft", "--data", "data", "--out", "o"]))
    assert "model not found: runs/ft" in message and time.perf_counter() - started < 10
    message = one_line_error(capsys, main(["run", "recipe.yaml", "--model", "model", "--data", "runs/d", "--out", "o"]))
    assert "data not found: runs/d" in message


@pytest.mark.parametrize(
    "include, message",
    [("/etc/hostname", "relative to the recipe"), ("../outside.yaml", "outside the recipe's folder")],
)
def test_includes_stay_inside_the_recipe_folder(tmp_path, capsys, include, message):
    (tmp_path / "outside.yaml").write_text("name: x\npasses: [{finetune: {}}]\n")
    (tmp_path / "recipes").mkdir()
    recipe = tmp_path / "recipes" / "r.yaml"
    recipe.write_text(f"name: r\npasses:\n  - include: {include}\n")
    assert message in one_line_error(capsys, main(["validate", str(recipe)]))


def test_duplicate_keys_are_refused(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\npasses:\n  - finetune:\n      epochs: 2\n      epochs: 3\n")
    assert "duplicate key 'epochs' at line 5" in one_line_error(capsys, main(["validate", str(recipe)]))


def test_a_pruned_or_plain_tiny_model_still_loads_through_the_one_loader(tiny_classifier_dir):
    from compress.loading import load_model

    loaded = load_model(str(tiny_classifier_dir))
    assert loaded.kind == "torch" and loaded.label_order == tuple(sorted(TOPICS))
    assert len(loaded.tokenizer) <= loaded.model.get_input_embeddings().num_embeddings


def test_offline_flag_refuses_hub_references_at_once_and_restores_the_environment(world, capsys, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started = time.perf_counter()
    code = main(["run", "recipe.yaml", "--model", "org/model", "--data", "data", "--out", "o", "--offline"])
    assert "the hub is off" in one_line_error(capsys, code) and time.perf_counter() - started < 10
    assert "HF_HUB_OFFLINE" not in os.environ


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "model", "--revision", "v2"], "--revision applies to hub models"),
        (["--model", "model", "--data-config", "sst2"], "applies to hub datasets"),
    ],
)
def test_revision_and_dataset_configuration_are_for_hub_inputs(world, capsys, args, message):
    argv = ["run", "recipe.yaml", "--data", "data", "--out", "o", *args]
    assert message in one_line_error(capsys, main(argv))


def test_a_mount_point_swap_moves_only_what_the_old_manifest_lists(tmp_path):
    """Defence in depth below check_destination: even called directly, the swap leaves other files alone."""
    from compress.outputs import _swap_entries, manifest, write_json

    out, scratch = tmp_path / "volume", tmp_path / "volume" / ".compress-partial-1"
    (out / "model").mkdir(parents=True)
    (out / "model" / "w.bin").write_text("old")
    write_json(out / "manifest.json", manifest(out, {}))
    (out / "notes.txt").write_text("not compress's")  # written after the manifest: not listed
    (scratch / "model").mkdir(parents=True)
    (scratch / "model" / "w.bin").write_text("new")
    (scratch / "manifest.json").write_text("{}")
    _swap_entries(scratch, out)
    assert (out / "model" / "w.bin").read_text() == "new" and (out / "notes.txt").read_text() == "not compress's"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model", "notes.txt"]


@pytest.mark.parametrize(
    "command, target",
    [
        ("run", "compress.runner.run_recipe"),
        ("bench", "compress.bench_command.bench_models"),
        ("validate", "compress.recipe.load_recipe"),
        ("predict", "compress.predict.predict_file"),
        ("audit", "compress.vocab.audit.audit_tokenizer"),
        ("regress", "compress.regress.run_gate"),
    ],
)
def test_every_command_reports_an_internal_error_as_exit_3_in_one_line(world, capsys, monkeypatch, command, target):
    module, _, name = target.rpartition(".")

    def broken(*args, **kwargs):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(__import__(module, fromlist=[name]), name, broken)
    argv = {
        "run": ["run", "recipe.yaml", "--model", "model", "--data", "data", "--out", "o"],
        "bench": ["bench", "model", "--baseline", "model", "--data", "data", "--out", "o"],
        "validate": ["validate", "recipe.yaml"],
        "predict": ["predict", "model", "--data", "data/dev.csv", "--out", "p.csv"],
        "audit": ["audit", "--model", "model", "--data", "data"],
        "regress": ["regress", "model", "--baseline", "model", "--data", "data", "--min-speedup", "0.5"],
    }[command]
    assert main(argv) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "compress: internal error: RuntimeError: unforeseen; rerun with --debug for the traceback"
    assert not any("Traceback" in line for line in err)
