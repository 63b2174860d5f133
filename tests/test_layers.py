"""Imports follow the layers drawn in ARCHITECTURE.md: a module imports its own layer or lower ones,
never a higher one, and no pass imports another pass. Function-level (lazy) imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compress"

# top to bottom; a module belongs to the first layer naming it or a package above it
LAYERS: list[tuple[str, ...]] = [
    (
        "compress",
        "compress.__main__",
        "compress.cli",
        "compress.cli_parser",
        "compress.cli_commands",
        "compress.api",
        "compress.predict",
        "compress.serve",
        "compress.serve_batching",
        "compress.testing",
    ),
    ("compress.bench_command", "compress.runner", "compress.regress", "compress.sweep"),
    ("compress.recipe",),
    ("compress.passes",),
    ("compress.onnx_tools",),
    ("compress.measure", "compress.report"),
    ("compress.loading",),
    ("compress.pruning",),
    ("compress.vocab",),
    ("compress.training",),
    (
        "compress.predictors",
        "compress.batching",
        "compress.artifact",
        "compress.data",
        "compress.text_encoding",
        "compress.models",
        "compress.architectures",
        "compress.cache",
        "compress.cpus",
        "compress.cpu_features",
        "compress.outputs",
        "compress.extras",
        "compress.errors",
        "compress.version",
    ),
]
PASS_HELPERS = {
    "compress.passes",
    "compress.passes.base",
    "compress.passes.training_options",
    "compress.passes.teacher",
}


def module_name(file: Path) -> str:
    parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if any(module == name or (name != "compress" and module.startswith(name + ".")) for name in layer):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md")


def imports(file: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} if node.module != "compress" else {f"compress.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {name for name in found if name == "compress" or name.startswith("compress.")}


MODULES = {module_name(f): f for f in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    upward = [
        f"{name} (layer {layer_of(name)})"
        for name in sorted(imports(MODULES[module]))
        if layer_of(name) < layer_of(module)
    ]
    assert not upward, f"{module} (layer {layer_of(module)}) imports upward: {', '.join(upward)}"


def test_no_pass_imports_another_pass():
    offences = [
        f"{module} -> {name}"
        for module in MODULES
        if module.startswith("compress.passes.")
        for name in imports(MODULES[module])
        if name.startswith("compress.passes") and name not in PASS_HELPERS
    ]
    assert not offences, offences


def test_the_layer_test_sees_an_upward_import(tmp_path):
    """The check itself: a foundation module importing the runner would be reported."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from compress.runner import run_recipe\n")
    assert imports(probe) == {"compress.runner"} and layer_of("compress.runner") < layer_of("compress.data")


def test_no_module_shadows_a_function_of_the_package_api():
    """`import compress.X` rebinds `compress.X` to the module: a module named like an API function
    (`compress/bench.py` beside `compress.bench`) breaks the function once anything imports it."""
    import compress

    clashes = [name for name in compress.__all__ if f"compress.{name}" in MODULES]
    assert not clashes, clashes
