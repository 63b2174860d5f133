"""What training cost: wall time, samples per second, peak memory, and energy.

Energy comes from codecarbon's offline tracker (no network). Where the CPU exposes no RAPL
counter, codecarbon estimates power from CPU load and a TDP table: the figure is then an
estimate and labelled so. Energy tracking never fails a run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from compress.errors import first_line

RAPL = Path("/sys/class/powercap/intel-rapl")


def peak_memory_mb(device: torch.device) -> tuple[float | None, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "CUDA max allocated"
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, "process peak RSS (includes everything loaded before training)"
    except OSError:
        pass
    return None, "unavailable"


class CostMeter:
    """Start before training, `finish(samples)` after; returns a dict for the report."""

    def __init__(self, device: torch.device, track_energy: bool = True, country_iso_code: str = "USA") -> None:
        self.device = device
        self.tracker = None
        if track_energy:
            try:
                from codecarbon import OfflineEmissionsTracker

                logging.getLogger("codecarbon").setLevel(logging.ERROR)
                self.tracker = OfflineEmissionsTracker(
                    country_iso_code=country_iso_code,
                    save_to_file=False,
                    log_level="error",
                    tracking_mode="process",
                    allow_multiple_runs=True,
                )
                self.tracker.start()
            except ImportError:
                self.tracker, self.energy_error = (
                    None,
                    "codecarbon not installed: pip install 'classifier-compress[energy]'",
                )
            except Exception as exc:  # energy is a nice-to-have; never fail training over it
                self.tracker, self.energy_error = None, first_line(exc)
        self.started = time.perf_counter()

    def finish(self, samples: int) -> dict[str, Any]:
        seconds = time.perf_counter() - self.started
        peak, peak_method = peak_memory_mb(self.device)
        cost: dict[str, Any] = {
            "wall_seconds": round(seconds, 2),
            "samples": samples,
            "samples_per_second": round(samples / seconds, 2) if seconds else None,
            "peak_memory_mb": round(peak, 1) if peak else None,
            "peak_memory_method": peak_method,
        }
        cost["energy"] = self._energy()
        return cost

    def _energy(self) -> dict[str, Any]:
        if self.tracker is None:
            return {"method": "unavailable", "error": getattr(self, "energy_error", "disabled")}
        try:
            emissions = self.tracker.stop()
            data = self.tracker.final_emissions_data
        except Exception as exc:
            return {"method": "unavailable", "error": first_line(exc)}
        counter = RAPL.exists() or self.device.type == "cuda"
        return {
            "kwh": data.energy_consumed,
            "co2_kg": emissions,
            "country": data.country_iso_code,
            "method": "hardware counter (RAPL/NVML) via codecarbon"
            if counter
            else "estimate: codecarbon CPU-load x TDP model (no RAPL counter on this machine)",
        }
