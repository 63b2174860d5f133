"""Trains the tiny model with the shared loop; run alone or under torchrun by test_training.py.

Writes per-epoch losses, selection accuracy and logits on the selection split (main process only).
"""

import json
import sys
import tempfile
from pathlib import Path

import torch

from compress.testing import logits, setup_problem
from compress.training.accelerated import process_state
from compress.training.loop import train
from compress.training.settings import RunContext, TrainingOptions


def main(data_folder: str, out: str) -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        model, (train_split, selection) = setup_problem(Path(data_folder), Path(scratch) / "v")
    options = TrainingOptions(epochs=2, batch_size=16, learning_rate=1e-3, track_energy=False)
    result = train(model, train_split, selection, options, RunContext(progress=False))
    if process_state().is_main_process:
        Path(out).write_text(
            json.dumps(
                {
                    "processes": result.processes,
                    "losses": [e["train_loss"] for e in result.epochs],
                    "selection_accuracy": result.best_score,
                    "selection_logits": logits(model, selection).tolist(),
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
