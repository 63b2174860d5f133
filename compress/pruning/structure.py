"""What a pass that removes heads and FFN neurons did, measured one way for every such pass
(`fold`, `structured_prune`) and read back by the report as this type, not by dict keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StructureChange:
    removed: dict[str, Any]  # per layer: the heads and neurons taken out
    layout_before: dict[str, list[int]]  # heads and FFN width per layer
    layout: dict[str, list[int]]
    encoder_linear_parameters: tuple[int, int]  # before, after
    encoder_flops_reduction: float  # at 64 tokens
    parameter_reduction: float  # whole model

    @classmethod
    def measure(cls, model: Any, change: Callable[[], dict[str, Any]]) -> StructureChange:
        """Run `change` (which shrinks `model` in place and returns what it removed) between two measurements."""
        from compress.pruning.flops import encoder_cost
        from compress.pruning.folding import layout

        before, layout_before = encoder_cost(model), layout(model)
        parameters_before = sum(p.numel() for p in model.parameters())
        removed = change()
        after = encoder_cost(model)
        return cls(
            removed=removed,
            layout_before=layout_before,
            layout=layout(model),
            encoder_linear_parameters=(int(before["linear_parameters"]), int(after["linear_parameters"])),
            encoder_flops_reduction=round(1 - after["flops"] / before["flops"], 4),
            parameter_reduction=round(1 - sum(p.numel() for p in model.parameters()) / parameters_before, 4),
        )

    def details(self) -> dict[str, Any]:
        """As a pass reports it (plain JSON)."""
        return {**asdict(self), "encoder_linear_parameters": list(self.encoder_linear_parameters)}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> StructureChange | None:
        """Back from a pass's recorded details; None for a pass that did not change the structure."""
        if "layout" not in details:
            return None
        return cls(
            removed=details["removed"],
            layout_before=details["layout_before"],
            layout=details["layout"],
            encoder_linear_parameters=(
                details["encoder_linear_parameters"][0],
                details["encoder_linear_parameters"][1],
            ),
            encoder_flops_reduction=details["encoder_flops_reduction"],
            parameter_reduction=details.get("parameter_reduction", float("nan")),  # absent in older reports
        )
