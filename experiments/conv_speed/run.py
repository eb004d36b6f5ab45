"""The numbers of the convolution timings (see the package docstring for the question).

Two kinds of "naive" convolution are timed, and they are not the same thing:
- `naive_forward` / `naive_backward`: the assignment's loop over output pixels written as a
  `lax.fori_loop` and compiled by XLA: a compiled loop, no Python in it at run time;
- `python_loop_forward`: the loop a student writes in NumPy, nested Python loops over the
  output pixels and one `np.dot` per window, timed once at one small size (`loop_*`).
"""

from __future__ import annotations

import dataclasses
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from benchmarks.timing import time_once
from fnn import layers, runtime
from fnn.im2col import output_size, pad
from fnn.layers.conv import CONV_IMPLS

IMPLS = ("naive", *(impl for impl in CONV_IMPLS if impl != "auto"))  # auto runs one of the others
KINDS = ("forward", "forward_backward")
K = 3  # kernel size; stride 1, padding 1


@dataclasses.dataclass(frozen=True)
class Config:
    sizes: tuple = (7, 14, 28)
    batches: tuple = (32, 128)
    c_in: int = 32
    c_out: int = 64
    repeats: int = 7
    warmup: int = 2
    seed: int = 0
    # the pure-Python loop, timed once beside the compiled impls' forward at this one small size
    loop_size: int = 8
    loop_batch: int = 2
    loop_c_in: int = 3
    loop_c_out: int = 4
    loop_repeats: int = 7


QUICK = {"sizes": (6,), "batches": (2,), "c_in": 3, "c_out": 4, "repeats": 2, "warmup": 1, "loop_repeats": 2}


def python_loop_forward(W: np.ndarray, b: np.ndarray, x: np.ndarray, *, s: int = 1, p: int = 1) -> np.ndarray:
    """The convolution as a student writes it in NumPy: Python loops over the output pixels,
    one `np.dot` of the window with the filters per pixel. No JAX, nothing compiled.

    Args:
        W: (k_h, k_w, C_in, C_out). b: (C_out,). x: (N, H_in, W_in, C_in). s, p: stride, padding.

    Returns:
        y: (N, H_out, W_out, C_out).
    """
    k_h, k_w, C_in, C_out = W.shape
    N, H_in, W_in, _ = x.shape
    H_out, W_out = (H_in + 2 * p - k_h) // s + 1, (W_in + 2 * p - k_w) // s + 1
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    filters = W.reshape(k_h * k_w * C_in, C_out)
    y = np.empty((N, H_out, W_out, C_out), x.dtype)
    for n in range(N):
        for o in range(H_out):
            for q in range(W_out):
                window = xp[n, s * o : s * o + k_h, s * q : s * q + k_w, :]
                y[n, o, q] = np.dot(window.reshape(-1), filters) + b
    return y


def naive_forward(params: dict, x: jax.Array, *, s: tuple, p: tuple) -> jax.Array:
    """The assignment's convolution as loops: for every image n and output pixel (o, q), the
    window xp[n, s o : s o + k_h, s q : s q + k_w, :] times every filter, plus b.

    Args:
        params: {"W": (k_h, k_w, C_in, C_out), "b": (C_out,)}. x: (N, H_in, W_in, C_in).
        s, p: stride and padding, (height, width) pairs.

    Returns:
        y: (N, H_out, W_out, C_out).
    """
    W, b = params["W"], params["b"]
    k_h, k_w, C_in, C_out = W.shape
    N = x.shape[0]
    H_out, W_out = output_size("naive", x.shape[1:3], (k_h, k_w), s, p)
    xp = pad(x, p)

    def pixel(t, y):  # t runs over (n, o, q) in row-major order
        n, o, q = t // (H_out * W_out), (t // W_out) % H_out, t % W_out
        window = lax.dynamic_slice(xp, (n, s[0] * o, s[1] * q, 0), (1, k_h, k_w, C_in))[0]
        return y.at[n, o, q, :].set(jnp.einsum("ijc,ijcf->f", window, W) + b)

    y = jnp.zeros((N, H_out, W_out, C_out), x.dtype)
    return lax.fori_loop(0, N * H_out * W_out, pixel, y)


def naive_backward(params: dict, x: jax.Array, dy: jax.Array, *, s: tuple, p: tuple):
    """The same loop backwards: each output pixel adds W dy[n, o, q] to its window of dx and
    window (x) dy[n, o, q] to dW (windows overlap: contributions add).

    Args:
        params, x, s, p: as naive_forward. dy: (N, H_out, W_out, C_out).

    Returns:
        (dx, {"W": dW, "b": db}): dx like x, dW and db like W and b.
    """
    W = params["W"]
    k_h, k_w, C_in, _ = W.shape
    N, H_out, W_out, _ = dy.shape
    xp = pad(x, p)

    def pixel(t, grads):
        dxp, dW = grads
        n, o, q = t // (H_out * W_out), (t // W_out) % H_out, t % W_out
        start = (n, s[0] * o, s[1] * q, 0)
        window = lax.dynamic_slice(xp, start, (1, k_h, k_w, C_in))[0]
        g = dy[n, o, q, :]
        dwindow = lax.dynamic_slice(dxp, start, (1, k_h, k_w, C_in))[0] + jnp.einsum("ijcf,f->ijc", W, g)
        return lax.dynamic_update_slice(dxp, dwindow[None], start), dW + jnp.einsum("ijc,f->ijcf", window, g)

    dxp, dW = lax.fori_loop(0, N * H_out * W_out, pixel, (jnp.zeros_like(xp), jnp.zeros_like(W)))
    dx = dxp[:, p[0] : p[0] + x.shape[1], p[1] : p[1] + x.shape[2], :]
    return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}


def _programs(impl: str, params: dict, x: jax.Array) -> dict:
    """Compiled forward and forward + backward of `impl` (the upstream gradient is y itself)."""
    s = p = (1, 1)
    if impl == "naive":

        def forward(params, x):
            return naive_forward(params, x, s=s, p=p)

        def forward_backward(params, x):
            return naive_backward(params, x, naive_forward(params, x, s=s, p=p), s=s, p=p)

    else:
        layer = layers.conv2d(params["W"].shape[3], K, padding=1, impl=impl)

        def forward(params, x):
            return layer.apply(params, {}, x)[0]

        def forward_backward(params, x):
            y, _, cache = layer.apply(params, {}, x)
            return layer.backward(params, cache, y)

    return {
        "forward": runtime.jit(forward).lower(params, x).compile(),
        "forward_backward": runtime.jit(forward_backward).lower(params, x).compile(),
    }


def _temp_bytes(compiled) -> int | None:
    """Bytes of temporary buffers XLA allocates for one call, if the backend reports them."""
    try:
        return int(compiled.memory_analysis().temp_size_in_bytes)
    except Exception:  # noqa: BLE001 - a backend without memory analysis: no number
        return None


def _relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def _measure(size: int, batch: int, config: Config) -> dict:
    layer = layers.conv2d(config.c_out, K, padding=1)
    _, params, _ = layer.init(jax.random.key(config.seed), (size, size, config.c_in))
    x = jax.random.normal(jax.random.key(config.seed + 1), (batch, size, size, config.c_in))
    programs = {impl: _programs(impl, params, x) for impl in IMPLS}
    contenders = {
        (impl, kind): (lambda c=programs[impl][kind]: c(params, x)) for impl in IMPLS for kind in KINDS
    }
    for fn in contenders.values():
        for _ in range(config.warmup):
            time_once(fn)
    times = {key: [] for key in contenders}
    for _ in range(config.repeats):  # round-robin: a noisy neighbour slows every contender alike
        for key, fn in contenders.items():
            times[key].append(1e3 * time_once(fn))
    naive_grads = programs["naive"]["forward_backward"](params, x)
    xla_grads = programs["xla"]["forward_backward"](params, x)
    H_out = size + 2 - K + 1
    row = {
        "size": size,
        "batch": batch,
        "input_bytes": batch * size * size * config.c_in * 4,
        "im2col_bytes": batch * H_out * H_out * K * K * config.c_in * 4,
        "naive_vs_xla_difference": max(
            _relative(programs["naive"]["forward"](params, x), programs["xla"]["forward"](params, x)),
            _relative(naive_grads[0], xla_grads[0]),
            _relative(naive_grads[1]["W"], xla_grads[1]["W"]),
        ),
        "times_ms": {f"{impl}_{kind}": t for (impl, kind), t in times.items()},
    }
    row["im2col_ratio"] = row["im2col_bytes"] / row["input_bytes"]
    for (impl, kind), t in times.items():
        q25, median, q75 = np.percentile(t, [25, 50, 75])
        row[f"{impl}_{kind}_ms"] = float(median)
        row[f"{impl}_{kind}_iqr_ms"] = [float(q25), float(q75)]
        row[f"{impl}_{kind}_temp_bytes"] = _temp_bytes(programs[impl][kind])
    return row


def _summary(times: list[float]) -> dict:
    q25, median, q75 = np.percentile(times, [25, 50, 75])
    return {"median_ms": float(median), "iqr_ms": [float(q25), float(q75)], "times_ms": list(times)}


def _measure_python_loop(config: Config) -> dict:
    """The pure-Python loop's forward beside every compiled impl's forward, at one small size,
    all contenders in turn."""
    size, batch = config.loop_size, config.loop_batch
    layer = layers.conv2d(config.loop_c_out, K, padding=1)
    _, params, _ = layer.init(jax.random.key(config.seed), (size, size, config.loop_c_in))
    x = jax.random.normal(jax.random.key(config.seed + 1), (batch, size, size, config.loop_c_in))
    W, b, x_np = np.asarray(params["W"]), np.asarray(params["b"]), np.asarray(x)
    programs = {impl: _programs(impl, params, x)["forward"] for impl in IMPLS}
    contenders = {"python_loop": lambda: python_loop_forward(W, b, x_np)}
    contenders |= {impl: (lambda c=programs[impl]: c(params, x)) for impl in IMPLS}
    for fn in contenders.values():
        for _ in range(config.warmup):
            time_once(fn)
    times = {name: [] for name in contenders}
    for _ in range(config.loop_repeats):
        for name, fn in contenders.items():
            times[name].append(1e3 * time_once(fn))
    return {
        "size": size,
        "batch": batch,
        "c_in": config.loop_c_in,
        "c_out": config.loop_c_out,
        "repeats": config.loop_repeats,
        "python_vs_xla_difference": _relative(python_loop_forward(W, b, x_np), programs["xla"](params, x)),
        "forward": {name: _summary(t) for name, t in times.items()},
    }


def run(config: Config) -> dict:
    rows = []
    for size in config.sizes:
        for batch in config.batches:
            row = _measure(size, batch, config)
            rows.append(row)
            print(
                f"  size {size} batch {batch}: "
                + ", ".join(f"{impl} {row[f'{impl}_forward_backward_ms']:.2f} ms" for impl in IMPLS),
                flush=True,
                file=sys.stderr,
            )
    loop = _measure_python_loop(config)
    print(
        f"  python loop at size {loop['size']} batch {loop['batch']}: "
        f"{loop['forward']['python_loop']['median_ms']:.2f} ms forward",
        flush=True,
        file=sys.stderr,
    )
    return {
        "rows": rows,
        "impls": list(IMPLS),
        "backend": jax.default_backend(),
        "device": runtime.device_info(),
        "c_in": config.c_in,
        "c_out": config.c_out,
        "kernel": K,
        "repeats": config.repeats,
        "warmup": config.warmup,
        "python_loop": loop,
    }
