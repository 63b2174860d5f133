"""When: the cubic schedule of Zhu & Gupta (2017), as used by movement and block pruning.

The value holds at `initial` during warm-up, moves to `final` along a cubic curve (fast at
first, slow near the end), then holds at `final` for the cool-down, so the network can
recover at the sparsity it will keep.
"""

from __future__ import annotations


def cubic(step: int, total: int, warmup: int, cooldown: int, initial: float, final: float) -> float:
    span = max(1, total - warmup - cooldown)
    if step <= warmup:
        return initial
    progress = min(1.0, (step - warmup) / span)
    return final + (initial - final) * (1.0 - progress) ** 3


def reached_final(step: int, total: int, cooldown: int) -> bool:
    return step >= total - cooldown
