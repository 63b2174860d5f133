"""The reproduction matrix (`benchmarks/matrix_configs.py`, run by `benchmarks/reproduce.py`) as
data: which configurations train, on how many seeds, and which get bf16 copies. A slip here once
made every prune + KD row a seed-0 run reported as untrained, and only a full two-hour matrix
showed it."""

from __future__ import annotations

import pytest
from conftest import REPO

KEY_ROWS = {"KD, 3-layer student", "fastest chain: KD, 2-layer student", "prune 25% + KD"}


@pytest.fixture()
def reproduce(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import matrix_configs

    return matrix_configs


@pytest.mark.parametrize("quick", [False, True])
@pytest.mark.parametrize("bf16", [False, True])
def test_every_configuration_trains_on_its_seeds_and_the_key_rows_get_bf16_copies(reproduce, quick, bf16):
    configs = reproduce.matrix(quick, bf16)
    by_name = {config.name: config for config in configs}
    assert len(by_name) == len(configs), "configuration names must be distinct (they name the run folders)"
    untrained = {name for name, config in by_name.items() if not config.trained}
    assert untrained == {"int8 (dynamic)"} | ({"bf16 weights"} if bf16 else set())
    for name, config in by_name.items():
        assert (REPO / "recipes" / config.recipe).is_file(), config.recipe
        if name in KEY_ROWS or name.startswith("narrow chain"):
            assert config.seeds == reproduce.KEY_SEEDS, name
        elif config.trained:
            assert config.seeds == reproduce.OTHER_SEEDS, name
    assert KEY_ROWS <= by_name.keys()
    assert {name for name, config in by_name.items() if config.bf16_copy} == (KEY_ROWS if bf16 else set())
    if not quick:
        assert {f"prune {level}% + KD" for level in (25, 50, 75)} <= by_name.keys()


def test_a_corpus_adds_the_transfer_set_chain_with_its_path(reproduce, tmp_path):
    corpus = tmp_path / "corpus.txt"
    without = {config.name for config in reproduce.matrix(False, False)}
    rows = {config.name: config for config in reproduce.matrix(False, False, corpus=corpus)}
    added = rows.keys() - without
    assert len(added) == 1
    transfer = rows[added.pop()]
    assert transfer.recipe == "marathi-fastest-transfer.yaml" and transfer.seeds == reproduce.KEY_SEEDS
    assert f"passes.0.distill.transfer_corpus={corpus.resolve()}" in transfer.sets
    assert {config.name for config in reproduce.matrix(True, False, corpus=corpus)} == {
        config.name for config in reproduce.matrix(True, False)
    }


def test_prune_levels_choose_the_pruning_rows(reproduce):
    names = {config.name for config in reproduce.matrix(False, False, (25,))}
    assert {"prune 25%, no KD", "prune 25% + KD"} <= names
    assert not any(name.startswith(("prune 50%", "prune 75%")) for name in names)


@pytest.mark.parametrize("quick", [False, True])
def test_every_configuration_s_overrides_make_a_valid_recipe(reproduce, quick):
    from compress.recipe import load_recipe

    for config in reproduce.matrix(quick, bf16=True, corpus=REPO / "README.md"):
        recipe = load_recipe(REPO / "recipes" / config.recipe, list(config.sets))
        if config.name.endswith("no KD"):  # no teacher of any kind: not the transformer, not the classical model
            teaching = [p for p in recipe.passes if hasattr(p, "alpha")]
            assert teaching and all(p.alpha == 0 and p.classical_weight == 0 for p in teaching), config.name
