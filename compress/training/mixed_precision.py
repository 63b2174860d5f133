"""Numeric precision for training: what was asked and what this hardware can do (the loop's
Accelerator then applies it: autocast, and a gradient scaler for fp16).

bf16 autocast runs on every CPU (emulated where the CPU lacks bf16 instructions, so it can be
slower there); fp16 training needs CUDA and a gradient scaler. Where a request cannot be met
the run says so and trains in fp32 rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

Precision = Literal["fp32", "bf16", "fp16"]
NATIVE_BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


@dataclass(frozen=True)
class PrecisionPlan:
    requested: Precision
    used: Precision
    note: str = ""


def plan_precision(requested: Precision, device: torch.device, log: Callable[[str], None] = print) -> PrecisionPlan:
    if requested == "fp32":
        return PrecisionPlan(requested, "fp32")
    if device.type == "cuda":
        if requested == "bf16" and not torch.cuda.is_bf16_supported():
            return _fallback(requested, "this GPU has no bf16 support", log)
        return PrecisionPlan(requested, requested)
    if requested == "fp16":
        return _fallback(requested, "fp16 training needs a CUDA GPU (use bf16 on CPU)", log)
    from compress.cpu_features import cpu_flags

    if NATIVE_BF16_CPU_FLAGS & cpu_flags():
        return PrecisionPlan(requested, "bf16")
    note = "this CPU has no native bf16 instructions (avx512_bf16/amx_bf16): bf16 is emulated and may be slower"
    log(f"precision: {note}")
    return PrecisionPlan(requested, "bf16", note)


def _fallback(requested: Precision, reason: str, log: Callable[[str], None]) -> PrecisionPlan:
    note = f"{requested} requested but {reason}; training in fp32"
    log(f"precision: {note}")
    return PrecisionPlan(requested, "fp32", note)
