"""Timing helpers shared by the benchmarks: every comparison is measured side by side in one
run, the contenders alternating, and summarised by the median. Process settings (fnn.runtime)
apply to every contender alike and are recorded in the JSON."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable

import jax
import numpy as np

from fnn import runtime


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux: ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_malloc_flag(parser) -> None:
    parser.add_argument(
        "--glibc-malloc",
        action="store_true",
        help="leave malloc as glibc sets it (default: fnn.runtime.keep_freed_memory(), as `fnn` does)",
    )


def setup(args) -> dict:
    """Apply the process settings the flags ask for; describe the machine and them."""
    kept = False if args.glibc_malloc else runtime.keep_freed_memory()
    return {
        **machine(),
        "malloc_keeps_freed_memory": kept,
        "fnn_compiler_options": runtime.compiler_options(),
    }


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
