"""Timing helpers shared by the benchmarks: every comparison is measured side by side in one
run, the contenders alternating, and summarised by the median."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable

import jax
import numpy as np


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux: ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    d = jax.devices()[0]
    return {
        "backend": jax.default_backend(),
        "device": d.device_kind,
        "devices": jax.device_count(),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
    }


def time_once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def alternate(contenders: dict[str, Callable[[], object]], repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each contender, calls interleaved round-robin."""
    for fn in contenders.values():
        for _ in range(warmup):
            time_once(fn)
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(time_once(fn))
    return {name: float(np.median(t)) for name, t in times.items()}


def emit(result: dict) -> None:
    """Print the benchmark's one JSON object (and nothing else on stdout)."""
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
