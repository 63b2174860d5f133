"""What `accelerate launch` asked of this process that the loop does not do itself, refused in one
line instead of silently ignored.

The loop applies data parallelism (DDP) from the launcher's process group, and takes precision
and gradient accumulation from the pass's own options. A launch configured for FSDP, DeepSpeed or
Megatron-LM, or for a precision or accumulation other than the pass's, would otherwise train in a
way nobody asked for.
"""

from __future__ import annotations

import os

from compress.errors import CompressError
from compress.training.settings import TrainingOptions

SHARDING = {
    "ACCELERATE_USE_FSDP": "FSDP",
    "ACCELERATE_USE_DEEPSPEED": "DeepSpeed",
    "ACCELERATE_USE_MEGATRON_LM": "Megatron-LM",
}
PRECISIONS = {"no": "fp32", "fp16": "fp16", "bf16": "bf16"}


def check_launch(options: TrainingOptions) -> None:
    asked = [name for variable, name in SHARDING.items() if os.environ.get(variable, "").lower() == "true"]
    if asked:
        raise CompressError(
            f"accelerate launch asked for {', '.join(asked)}; compress trains data-parallel (DDP) only: "
            "launch without it"
        )
    precision = os.environ.get("ACCELERATE_MIXED_PRECISION")
    if precision and PRECISIONS.get(precision, precision) != options.precision:
        raise CompressError(
            f"accelerate launch asked for mixed precision {precision!r} but the pass trains in {options.precision}: "
            f"set the pass's precision ({PRECISIONS.get(precision, precision)}) in the recipe, or launch with "
            f"--mixed_precision {next((k for k, v in PRECISIONS.items() if v == options.precision), 'no')}"
        )
    steps = os.environ.get("ACCELERATE_GRADIENT_ACCUMULATION_STEPS")
    if steps and int(steps) != options.gradient_accumulation:
        raise CompressError(
            f"accelerate launch asked for {steps} gradient accumulation steps but the pass uses "
            f"{options.gradient_accumulation}: set the pass's gradient_accumulation in the recipe"
        )
