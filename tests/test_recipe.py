"""Recipes are validated before any compute, with errors that name the key's path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
import yaml

from compress.errors import CompressError
from compress.passes.finetune import FinetuneConfig
from compress.passes.quantize import QuantizeConfig
from compress.recipe import apply_override, dump_recipe, load_recipe, parse_recipe

REPO = Path(__file__).resolve().parent.parent
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_every_shipped_recipe_validates_and_round_trips(path: Path, tmp_path: Path):
    recipe = load_recipe(path)
    again = load_recipe(write(tmp_path, dump_recipe(recipe)))
    assert again == recipe


def test_defaults_and_types():
    recipe = parse_recipe({"name": "r", "passes": [{"finetune": {"epochs": "3"}}, "export_onnx"]})
    assert isinstance(recipe.passes[0], FinetuneConfig) and recipe.passes[0].epochs == 3
    assert recipe.data.text_column == "text" and recipe.benchmark.batch_size == 32


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"name": "r", "passes": [{"finetune": {"epochz": 1}}]}, "passes.0.finetune.epochz: unknown key"),
        ({"name": "r", "passes": [{"finetune": {"epochs": "many"}}]}, "passes.0.finetune.epochs"),
        ({"name": "r", "passes": [{"finetune": {"epochs": 0}}]}, "passes.0.finetune.epochs"),
        ({"name": "r", "passes": [{"prune_everything": {}}]}, "passes.0: unknown pass 'prune_everything'"),
        ({"name": "r", "passes": [{"quantize": {}}]}, "passes.0.quantize: needs an earlier export_onnx pass"),
        ({"name": "r", "passes": ["export_onnx", "finetune"]}, "passes.1.finetune: a PyTorch pass cannot follow"),
        ({"name": "r", "passes": ["export_onnx", "export_onnx"]}, "already exported"),
        ({"name": "r", "passes": [{"finetune": {}, "export_onnx": {}}]}, "exactly one pass name"),
        ({"name": "r", "passes": []}, "passes"),
        ({"passes": ["finetune"]}, "name: Field required"),
        ({"name": "r", "passes": ["finetune"], "benchmark": {"rounds": 0}}, "benchmark.rounds"),
        ({"name": "r", "passes": ["finetune"], "data": {"colour": 1}}, "data.colour: unknown key"),
        ({"name": "r", "passes": ["export_onnx", {"quantize": {"mode": "fast"}}]}, "passes.1.quantize.mode"),
    ],
)
def test_bad_recipes_name_the_problem(raw, message):
    with pytest.raises(CompressError, match=None) as error:
        parse_recipe(raw)
    assert message in str(error.value)


def test_configs_are_frozen():
    config = QuantizeConfig()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        config.mode = "static"  # type: ignore[misc]


def test_overrides_parse_values_as_yaml():
    raw = {"name": "r", "passes": [{"finetune": {"epochs": 5}}, "export_onnx"]}
    apply_override(raw, "passes.0.finetune.epochs=1")
    apply_override(raw, "passes.1.export_onnx.atol=0.01")
    apply_override(raw, "benchmark.memory=false")
    recipe = parse_recipe(raw)
    assert recipe.passes[0].epochs == 1 and recipe.passes[1].atol == 0.01 and recipe.benchmark.memory is False


@pytest.mark.parametrize("item", ["passes.5.finetune.epochs=1", "noequals", "=1", "name.inner=1"])
def test_bad_overrides(item):
    raw = {"name": "r", "passes": [{"finetune": {}}]}
    with pytest.raises(CompressError, match="--set"):
        apply_override(raw, item)


def test_unknown_key_from_override_is_reported_with_path(tmp_path):
    path = write(tmp_path, {"name": "r", "passes": ["finetune"]})
    with pytest.raises(CompressError, match=r"passes\.0\.finetune\.lr: unknown key"):
        load_recipe(path, ["passes.0.finetune.lr=1"])


@pytest.mark.parametrize(
    "content, message",
    [("name: [unclosed", "invalid YAML"), ("- just\n- a list\n", "a recipe is a mapping"), (b"\xff\xfe", "not UTF-8")],
)
def test_unreadable_recipe_files(tmp_path, content, message):
    path = tmp_path / "r.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CompressError, match=message):
        load_recipe(path)


def test_include_takes_another_recipes_passes_before_overrides(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "train.yaml").write_text(
        yaml.safe_dump({"name": "base", "seed": 7, "passes": [{"finetune": {"epochs": 5}}]})
    )
    (tmp_path / "mid.yaml").write_text(
        yaml.safe_dump({"name": "mid", "passes": [{"include": "base/train.yaml"}, "export_onnx"]})
    )
    path = write(tmp_path, {"name": "top", "passes": [{"include": "mid.yaml"}, {"quantize": {"mode": "dynamic"}}]})
    recipe = load_recipe(path, ["passes.0.finetune.epochs=2"])  # indices count the expanded passes
    assert [type(p).__name__ for p in recipe.passes] == ["FinetuneConfig", "ExportOnnxConfig", "QuantizeConfig"]
    assert recipe.passes[0].epochs == 2 and recipe.name == "top" and recipe.seed == 42  # only passes are taken


def test_shipped_variants_repeat_their_base_recipe():
    base = load_recipe(REPO / "recipes" / "prune25-kd.yaml").passes
    for variant in ("prune25-kd-int8.yaml", "prune25-kd-bf16.yaml"):
        assert load_recipe(REPO / "recipes" / variant).passes[: len(base)] == base


@pytest.mark.parametrize(
    "files, message",
    [
        ({"recipe.yaml": {"name": "r", "passes": [{"include": "missing.yaml"}]}}, "passes.0.include: recipe not found"),
        (
            {
                "recipe.yaml": {"name": "r", "passes": [{"include": "a.yaml"}]},
                "a.yaml": {"name": "a", "passes": [{"include": "recipe.yaml"}]},
            },
            "include each other (recipe.yaml -> a.yaml -> recipe.yaml)",
        ),
        ({"recipe.yaml": {"name": "r", "passes": [{"include": 3}]}}, "expected a recipe file name"),
        (
            {"recipe.yaml": {"name": "r", "passes": [{"include": "a.yaml"}]}, "a.yaml": {"name": "a"}},
            "a.yaml has no list of passes",
        ),
    ],
)
def test_bad_includes_name_the_problem(tmp_path, files, message):
    for name, data in files.items():
        (tmp_path / name).write_text(yaml.safe_dump(data))
    with pytest.raises(CompressError) as error:
        load_recipe(tmp_path / "recipe.yaml")
    assert message in str(error.value)


def test_include_needs_a_recipe_file():
    with pytest.raises(CompressError, match="include is resolved only when a recipe is loaded from a file"):
        parse_recipe({"name": "r", "passes": [{"include": "other.yaml"}]})


def test_yaml_tags_are_not_executed(tmp_path):
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo hacked']\npasses: [finetune]\n")
    with pytest.raises(CompressError, match="invalid YAML"):
        load_recipe(path)


def test_validate_does_not_import_heavy_libraries():
    """`compress validate` must stay quick: no torch, onnxruntime or datasets at import."""
    code = (
        "import sys; from compress.cli import main; rc = main(['validate', sys.argv[1]]);"
        "heavy = [m for m in ('torch', 'onnxruntime', 'datasets', 'transformers', 'torch_pruning') if m in "
        "sys.modules];"
        "print(heavy); sys.exit(rc or bool(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(RECIPES[0])], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_compress_is_light():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, compress; print(sorted(m for m in ('torch', 'onnxruntime', 'datasets') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "[]"
