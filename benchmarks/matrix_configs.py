"""What the MahaNews matrix trains (`benchmarks/reproduce.py` runs it): each configuration as data,
a recipe with overrides, its seeds, and the outputs of each run that become rows."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from pathlib import Path

INT8 = "onnx/model_int8_dynamic.onnx"
BF16_RECIPE = "precision-bf16.yaml"
KEY_SEEDS, OTHER_SEEDS = 3, 2


@dataclass(frozen=True)
class Config:
    """One configuration of the matrix: a recipe with overrides, trained once per seed, and the
    outputs of each run that become rows (row-name suffix, path inside the run folder)."""

    name: str
    recipe: str
    sets: tuple[str, ...] = ()
    _: KW_ONLY  # the rest by name: a positional slip once made every prune + KD row untrained
    seeds: int = OTHER_SEEDS
    outputs: tuple[tuple[str, str], ...] = (("", "model"),)
    trained: bool = True
    bf16_copy: bool = False  # also measured with its trained PyTorch weights cast to bf16


PRUNE_LEVELS = (25, 50, 75)


def matrix(
    quick: bool, bf16: bool, prune_levels: tuple[int, ...] = PRUNE_LEVELS, corpus: Path | None = None
) -> list[Config]:
    def epochs(pass_index: int, name: str, full: int) -> tuple[str, ...]:
        """The pass's epochs; a quick run trains one, whatever `min_steps` its recipe asks."""
        chosen = f"passes.{pass_index}.{name}.epochs={1 if quick else full}"
        return (chosen, f"passes.{pass_index}.{name}.min_steps=null") if quick else (chosen,)

    with_int8 = (("", "model"), (" + int8", INT8))
    kd = epochs(0, "distill", 8)
    rows = [
        Config("int8 (dynamic)", "int8-dynamic.yaml", outputs=(("", INT8),), trained=False),
        Config("KD, 3-layer student", "marathi-fast.yaml", kd, seeds=KEY_SEEDS, outputs=with_int8, bf16_copy=bf16),
        Config(
            "fastest chain: KD, 2-layer student",
            "marathi-fastest.yaml",
            kd,
            seeds=KEY_SEEDS,
            outputs=with_int8,
            bf16_copy=bf16,
        ),
    ]
    if bf16:
        rows.insert(1, Config("bf16 weights", BF16_RECIPE, trained=False))
    if not quick:
        narrow = (*epochs(0, "distill", 8), *epochs(2, "distill", 6))
        name = "narrow chain: 2 layers, 1/3 of heads and 1/2 of FFN removed"
        rows.append(Config(name, "marathi-fastest-narrow.yaml", narrow, seeds=KEY_SEEDS, outputs=with_int8))
    if corpus is not None and not quick:
        transfer = (*epochs(0, "distill", 3), f"passes.0.distill.transfer_corpus={corpus.resolve()}")
        name = "fastest chain + transfer set: 10,000 unlabelled lines"
        rows.append(Config(name, "marathi-fastest-transfer.yaml", transfer, seeds=KEY_SEEDS, outputs=with_int8))
    if bf16 and not quick:
        bf16_kd = (*kd, "passes.0.distill.precision=bf16")
        rows.append(Config("KD, 3-layer student, bf16 mixed precision", "marathi-fast.yaml", bf16_kd))
    for level in [25] if quick else prune_levels:
        # the recipes train 10+6 epochs; 6+3 at 25% (the published configuration) and 4+2 at 50/75%
        # keep the matrix near 2 hours on the slowest 2-core machine seen
        prune = (
            *epochs(0, "block_movement", 6 if level == 25 else 4),
            *epochs(2, "distill", 3 if level == 25 else 2),
        )
        no_teacher = ("alpha=0", "classical_weight=0")  # neither the transformer nor the classical teacher
        no_kd = (
            *prune,
            *(f"passes.{i}.{p}.{o}" for i, p in ((0, "block_movement"), (2, "distill")) for o in no_teacher),
        )
        rows.append(Config(f"prune {level}%, no KD", f"prune{level}-kd.yaml", no_kd))
        rows.append(
            Config(
                f"prune {level}% + KD",
                f"prune{level}-kd-int8.yaml",
                prune,
                seeds=KEY_SEEDS if level == 25 else OTHER_SEEDS,
                outputs=with_int8,
                bf16_copy=bf16 and level == 25,
            )
        )
    return rows


def run_name(config: Config, seed: int) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in config.name.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"{slug}-{seed}"
