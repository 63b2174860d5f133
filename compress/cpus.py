"""How many threads training, a measurement or an inference session should use on this machine.

A container often sees every core of its host but may only use a share of them (an affinity
mask, a cgroup CPU quota such as `docker --cpus 2`). Threads beyond that share do not run in
parallel: they exhaust the quota and the whole process is paused until the next period, which
turns a 0.2 ms call into a 100 ms one. Hyper-threads slow dense kernels, so physical cores
count where they can be told apart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def default_threads() -> int:
    """The smallest of: CPUs this process may run on, its CPU quota, physical cores."""
    limits = [_allowed_cpus(), _quota_cpus(), _physical_cores()]
    return max(1, min(limit for limit in limits if limit))


def _allowed_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count()


def _quota_cpus() -> int | None:
    """Whole CPUs of the cgroup quota (v2 `cpu.max`, else v1 cfs files); None when unlimited or unknown."""
    try:
        if CGROUP_V2_MAX.is_file():
            quota, period = CGROUP_V2_MAX.read_text().split()[:2]
        else:
            quota, period = CGROUP_V1_QUOTA.read_text().strip(), CGROUP_V1_PERIOD.read_text().strip()
    except (OSError, ValueError):
        return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, math.floor(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def _physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.cpu_count(logical=False)


def torch_thread_cap(log: Callable[[str], None]) -> int | None:
    """The thread count a run should use: `default_threads()` when torch's current count exceeds
    it, unless OMP_NUM_THREADS is set (then whoever set it, a launcher such as torchrun included,
    decides). None when nothing should change; use it with `torch_threads`."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None
    import torch

    wanted, current = default_threads(), torch.get_num_threads()
    if current <= wanted:
        return None
    log(f"threads: {wanted} (the CPUs this process may use), not torch's default {current}")
    return wanted


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run a block with torch's intra-op thread count at `count` (None: leave it), then put back
    what it was: a library call or a test must not find the process changed after it."""
    import torch

    previous = torch.get_num_threads()
    if count is not None and count != previous:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
