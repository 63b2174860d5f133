"""What this CPU is and which instruction sets it has: they decide which int8 kernels and which
precisions pay off, so passes and the report read them from here."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    return set((_cpuinfo_field("flags") or "").split())


def int8_preset(flags: set[str] | None = None, machine: str | None = None) -> str:
    """The quantization preset for this CPU: avx512_vnni where VNNI exists (AVX-512 or AVX-VNNI),
    avx512 without it, avx2 on older x86, arm64 on ARM."""
    flags = cpu_flags() if flags is None else flags
    machine = (machine or platform.machine()).lower()
    if machine in ("arm64", "aarch64"):
        return "arm64"
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"
