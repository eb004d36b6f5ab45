"""Side-by-side timing of compiled functions, for the benchmarks and the speed experiments.

Every comparison is measured in one run with the contenders alternating round-robin (so a
noisy neighbour slows them alike) and summarised by the median of the repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import numpy as np

__all__ = ["time_once", "alternate"]


def time_once(fn: Callable[[], object]) -> float:
    """Seconds for one call of `fn`, waiting for its results to be ready."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def alternate(contenders: dict[str, Callable[[], object]], repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each contender, after `warmup` calls each, calls interleaved."""
    for fn in contenders.values():
        for _ in range(warmup):
            time_once(fn)
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(time_once(fn))
    return {name: float(np.median(t)) for name, t in times.items()}
