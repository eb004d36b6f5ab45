"""What the benchmarks share: process settings (fnn.runtime) applied to every contender alike
and recorded in the JSON with the machine, peak memory, and the JSON output. The timing
itself is `benchmarks.timing.alternate`: side by side in one run, contenders alternating, medians."""

from __future__ import annotations

import json
import sys

from benchmarks.timing import alternate, time_once
from fnn import runtime

__all__ = ["peak_rss_mib", "add_malloc_flag", "setup", "alternate", "time_once", "emit"]


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
        **runtime.device_info(),
        "malloc_keeps_freed_memory": kept,
        "fnn_compiler_options": runtime.compiler_options(),
    }


def emit(result: dict) -> None:
    """Print the benchmark's one JSON object (and nothing else on stdout)."""
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
