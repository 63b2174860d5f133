"""The `accelerate.Accelerator` one `train` call runs under, and the end of it; and accelerate's
view of this process (rank, world size) for passes that must know it without training.

The loop lets the Accelerator wrap the model for data parallelism (DDP over the launcher's process
group), run the forward pass under mixed precision with fp16 loss scaling, and do backward and
gradient clipping. accelerate keeps that configuration in process-wide singletons and refuses a
second Accelerator with another precision, while one recipe may train in fp32 and then in bf16.
So each `train` call gets its own Accelerator, and when the call ends accelerate's
accelerator-level state is cleared again (the process group, accelerate's `PartialState`, stays):
the process is left as the call found it. An Accelerator the caller made before (compress called
from a user's own accelerate script) is joined instead, and never cleared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from compress.errors import CompressError
from compress.training.mixed_precision import Precision

ACCELERATE_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


class SingleProcess:
    """This process alone, for runs without training where accelerate is not installed."""

    process_index, num_processes, is_main_process = 0, 1, True
    device = torch.device("cpu")

    def wait_for_everyone(self) -> None:
        pass


def process_state(training: bool = True) -> Any:
    """accelerate's view of this process: rank, world size, device; a process group if launched so.
    Training needs accelerate (the `train` extra); a run without training passes does not."""
    import importlib.util
    import os

    from compress.extras import require

    if not training and importlib.util.find_spec("accelerate") is None and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return SingleProcess()
    accelerate = require("accelerate", "train", "training")
    return accelerate.PartialState(cpu=not torch.cuda.is_available())


@contextmanager
def accelerator_for(precision: Precision, model: torch.nn.Module) -> Iterator[Any]:
    """An Accelerator training `model` in `precision` (what `plan_precision` chose for this device).
    On exit the model's own `forward` is back: for mixed precision, `prepare` wraps it in autocast."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState, is_initialized
    from accelerate.utils import DataLoaderConfiguration

    joined = is_initialized()
    wanted = ACCELERATE_PRECISION[precision]
    if joined and AcceleratorState().mixed_precision != wanted:
        raise CompressError(
            f"this process already runs an accelerate Accelerator in mixed precision "
            f"{AcceleratorState().mixed_precision!r}; the pass trains in {precision}: make them agree"
        )
    callers_accumulation = dict(GradientState().plugin_kwargs) if joined else None
    accelerator = Accelerator(
        mixed_precision=wanted,
        cpu=not torch.cuda.is_available(),
        # the loop splits every global batch across processes itself, so one scheduler step per optimizer step
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    own_forward = "forward" in vars(model)
    try:
        yield accelerator
    finally:
        accelerator.unwrap_model(model, keep_fp32_wrapper=False)
        if not own_forward:
            vars(model).pop("forward", None)  # unwrapping leaves the class's forward bound on the instance
        accelerator.free_memory()
        if callers_accumulation is not None:
            GradientState().plugin_kwargs = callers_accumulation  # ours set it to 1 on the shared state
        else:
            AcceleratorState._reset_state(reset_partial_state=False)
            GradientState._reset_state()
