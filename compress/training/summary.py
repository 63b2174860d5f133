"""What a training pass reports, one type for every training pass: written into the pass's
details by the pass, read back as this type by the report, the study summaries and sweeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrainingSummary:
    best_epoch: int
    selection: str  # what chose the best epoch: "accuracy" on the selection split, or another score
    best_score: float
    precision: dict[str, str]  # requested, used, note
    processes: int
    cost: dict[str, Any]  # wall time, samples/s, peak memory, energy (with how it was known)
    epochs: list[dict[str, float]] = field(default_factory=list)
    resumed_at_step: int | None = None

    @property
    def wall_seconds(self) -> float:
        return float(self.cost["wall_seconds"])

    @property
    def energy(self) -> dict[str, Any]:
        return dict(self.cost.get("energy", {}))

    def details(self) -> dict[str, Any]:
        """As the pass records it (plain JSON; `selection_<name>` holds the best score)."""
        shown = {
            "best_epoch": self.best_epoch,
            f"selection_{self.selection}": round(self.best_score, 4),
            "precision": self.precision,
            "processes": self.processes,
            "training_cost": self.cost,
            "epochs": self.epochs,
        }
        return shown | ({"resumed_at_step": self.resumed_at_step} if self.resumed_at_step is not None else {})

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> TrainingSummary | None:
        """Back from a pass's recorded details; None for a pass that did not train. Details written
        by an older compress may lack a field: it reads as unknown (-1, NaN, fp32, one process)."""
        if "training_cost" not in details:
            return None
        selection = next((k for k in details if k.startswith("selection_") and k != "selection_split"), "selection_")
        return cls(
            best_epoch=details.get("best_epoch", -1),
            selection=selection.removeprefix("selection_"),
            best_score=details.get(selection, float("nan")),
            precision=details.get("precision", {"requested": "fp32", "used": "fp32", "note": ""}),
            processes=details.get("processes", 1),
            cost=details["training_cost"],
            epochs=details.get("epochs", []),
            resumed_at_step=details.get("resumed_at_step"),
        )

    @classmethod
    def of(cls, result: Any, selection: str) -> TrainingSummary:
        """From the loop's TrainResult."""
        return cls(
            result.best_epoch,
            selection,
            result.best_score,
            result.precision,
            result.processes,
            result.cost,
            result.epochs,
            result.resumed_at_step,
        )
