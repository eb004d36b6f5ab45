"""Where fnn runs and how it compiles: the device description every record carries, and two
XLA:CPU settings, each found by profiling the CNN step (benchmarks/RESULTS.md, "Where the
CPU time went").

- `jit`: `jax.jit` plus, on the CPU backend, the compiler option that keeps convolutions out
  of XLA's YNNPACK fusions. In jaxlib 0.10 those run a convolution on ONE thread (the CNN's
  second convolution at batch 128: 11 ms forward, 23 ms kernel gradient), where XLA's Eigen
  convolution uses every core (5.8 ms, 10 ms). Matrix products stay with YNNPACK. The option
  is probed once; a jaxlib that lacks it gets no options.
- `keep_freed_memory`: XLA:CPU allocates the temporaries of each call as one block (41 MB
  for the CNN step at batch 128). glibc serves a block over 32 MiB by a fresh mmap and
  unmaps it on free, so every step faulted in ~13,000 zero-filled pages: ~25 ms of system
  time in a 70 ms step. With mmap and heap trimming off and one arena for all threads (a
  thread's own arena unmaps a heap once it is empty), the freed block stays in the heap and
  the next step reuses it: a typical step faults 0 pages. Fragmentation still makes the heap
  grow by one block now and then (1-5 times in 40 steps measured, ~12,800 faults each).
  Process-wide, so the program opts in: the `fnn` command and the experiments do.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "jit",
    "compiler_options",
    "keep_freed_memory",
    "describe_devices",
    "device_info",
    "environment",
    "cpu_name",
]

_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}
# glibc <malloc.h>: mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8


@functools.cache
def compiler_options(backend: str | None = None) -> dict[str, str]:
    """The options `jit` compiles with on `backend` (default: JAX's default backend)."""
    if (backend or jax.default_backend()) != "cpu":
        return {}
    try:  # a jaxlib that does not know the option raises at compile time
        probe = jax.jit(
            lambda x: lax.conv_general_dilated(x, x, (1, 1), "VALID"), compiler_options=_CPU_OPTIONS
        )
        probe.lower(jnp.zeros((1, 1, 2, 2))).compile()
    except Exception:  # noqa: BLE001 - any failure means: compile without the option
        return {}
    return dict(_CPU_OPTIONS)


def jit(fun, **kwargs):
    """`jax.jit(fun, **kwargs)` with `compiler_options()` of the default backend."""
    return jax.jit(fun, compiler_options=compiler_options(), **kwargs)


@functools.cache
def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the kernel
    (mmap off, heap trimming off, one arena). Returns True if applied (Linux with glibc).

    The process's resident memory then stays at its peak; fnn's training processes reach
    their peak in the first step anyway.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL("libc.so.6")
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_ARENA_MAX, 1))
    return all([libc.mallopt(param, value) == 1 for param, value in settings])


def describe_devices() -> str:
    """E.g. "cpu:cpu x1" or "gpu:NVIDIA H100 80GB HBM3 x1": platform, kind, count."""
    d = jax.devices()[0]
    return f"{d.platform}:{d.device_kind} x{jax.device_count()}"


def device_info() -> dict:
    """The backend, device, versions and processor, for benchmark and experiment records."""
    return {
        "backend": jax.default_backend(),
        "device": jax.devices()[0].device_kind,
        "devices": jax.device_count(),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }


def environment() -> dict:
    """What a record of a run or an experiment says about where it ran: the fnn and jax
    versions, the devices, and the host (processor, cores, Python)."""
    import fnn

    info = device_info()
    return {
        "fnn": fnn.__version__,
        "jax": jax.__version__,
        "device": describe_devices(),
        "host": {k: v for k, v in info.items() if k in ("cpu", "cores", "python")},
    }


def cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
