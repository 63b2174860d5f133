"""What pruning left: heads and FFN neurons kept per layer, as a small heatmap and a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress.pruning.structure import StructureChange


def pruning_record(passes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last pass that changed the structure (fold or structured_prune), with the masking pass before it."""
    changes = [c for c in (StructureChange.from_details(p["details"]) for p in passes) if c is not None]
    if not changes:
        return None
    masked = next((p for p in passes if "masked_fraction" in p["details"]), None)
    return {"structure": changes[-1], "masking": masked["details"] if masked else None}


def structure_plot(record: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    before, after = record["structure"].layout_before, record["structure"].layout
    kept = np.array(
        [
            [a / b for a, b in zip(after["heads"], before["heads"], strict=False)],
            [a / b for a, b in zip(after["intermediate"], before["intermediate"], strict=False)],
        ]
    )
    figure, axes = plt.subplots(figsize=(1.2 + 0.9 * kept.shape[1], 2.4), dpi=120)
    image = axes.imshow(kept, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    labels = [after["heads"], after["intermediate"]]
    for row in range(2):
        for column in range(kept.shape[1]):
            axes.text(
                column,
                row,
                str(labels[row][column]),
                ha="center",
                va="center",
                color="white" if kept[row, column] < 0.6 else "black",
                fontsize=8,
            )
    axes.set_yticks([0, 1], ["heads", "FFN neurons"])
    axes.set_xticks(range(kept.shape[1]), [str(i) for i in range(kept.shape[1])])
    axes.set_xlabel("layer (numbers: units kept; colour: fraction kept)")
    figure.colorbar(image, ax=axes, fraction=0.05)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def pruning_section(record: dict[str, Any]) -> str:
    structure: StructureChange = record["structure"]
    masking = record["masking"]
    before, after = structure.layout_before, structure.layout
    linear = structure.encoder_linear_parameters
    lines = []
    if masking:
        nominal = masking.get("nominal_sparsity")
        lines.append(
            f"- nominal sparsity: {nominal if nominal is not None else 'learned (soft)'}; "
            f"masked fraction of prunable encoder weights: {masking['masked_fraction']:.1%}"
        )
    lines += [
        f"- realized: encoder linear parameters {linear[0]:,} -> {linear[1]:,} "
        f"({1 - linear[1] / linear[0]:.1%} fewer); "
        f"encoder FLOPs at 64 tokens {structure.encoder_flops_reduction:.1%} fewer"
        + (
            f"; whole model {structure.parameter_reduction:.1%} fewer parameters"
            if structure.parameter_reduction == structure.parameter_reduction  # NaN: not in an older report
            else ""
        ),
        "",
        "| layer | " + " | ".join(str(i) for i in range(len(after["heads"]))) + " |",
        "|---|" + "---|" * len(after["heads"]),
        "| heads | " + " | ".join(f"{a}/{b}" for a, b in zip(after["heads"], before["heads"], strict=False)) + " |",
        "| FFN neurons | "
        + " | ".join(f"{a}/{b}" for a, b in zip(after["intermediate"], before["intermediate"], strict=False))
        + " |",
        "",
        "![heads and neurons per layer](structure.png)",
    ]
    return "\n".join(lines)
