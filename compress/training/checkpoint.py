"""Resumable training: everything needed to continue exactly where a run stopped.

A checkpoint holds model, optimizer, schedule and scaler state, the position in the data
(epoch and batches done), the best weights so far and the RNG state, so a resumed run makes
the same updates an uninterrupted one would. Files are written to a temporary name and
renamed; they load with `weights_only=True` (plain tensors and numbers, no pickled code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

FILE = "trainer-state.pt"


@dataclass
class Position:
    epoch: int = 0
    batches_done: int = 0  # in `epoch`, counting every rank's share of a global batch once
    step: int = 0
    samples: int = 0
    finished: bool = False


class Checkpointer:
    def __init__(self, folder: Path, every_steps: int) -> None:
        self.folder = Path(folder)
        self.every_steps = every_steps

    @property
    def path(self) -> Path:
        return self.folder / FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def due(self, step: int) -> bool:
        return self.every_steps > 0 and step % self.every_steps == 0

    def save(
        self, model, optimizer, schedule, scaler, position: Position, progress: dict[str, Any], best_state
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else {},
            "position": vars(position).copy(),
            "progress": progress,
            "best_state": best_state or {},
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        partial = self.path.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)

    def load(
        self, model, optimizer, schedule, scaler
    ) -> tuple[Position, dict[str, Any], dict[str, torch.Tensor] | None]:
        device = next(model.parameters()).device
        state = torch.load(self.path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        if scaler is not None and state["scaler"]:
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"].cpu())
        if state["cuda_rng"]:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])  # RNG states live on the CPU
        return Position(**state["position"]), state["progress"], state["best_state"] or None
