"""Max and average pooling over k_h x k_w windows, per channel.

Shapes: x (N, H_in, W_in, C) -> y (N, H_out, W_out, C), H_out = (H_in + 2p - k) // s + 1
(eq:conv-size). The stride defaults to the kernel size; stride < kernel (overlapping
windows) works: the backward adds the contributions of overlapping windows (col2im).
Derivation: derivations/pool.tex.

NOTE: max pooling sends each window's gradient to ONE maximal element, the first in
row-major order (ties are measure-zero for continuous inputs); padding is -inf by
default so it never wins (pad_value=0.0 gives the assignment's zero padding).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import checks
from fnn.im2col import col2im, output_size, windows
from fnn.kernels import max_and_argmax
from fnn.layer import Layer, constructor

__all__ = ["MaxPoolCache", "AvgPoolCache", "max_pool2d", "avg_pool2d"]


class MaxPoolCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C); only its shape and dtype are used
    argmax: jax.Array  # (N, H_out, W_out, C) int: offset i * k_w + j of each window's max


class AvgPoolCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C); only its shape and dtype are used


def _window_args(name, kernel_size, stride, padding):
    k = checks.int_pair(name, "kernel_size", kernel_size)
    s = k if stride is None else checks.int_pair(name, "stride", stride)
    p = checks.int_pair(name, "padding", padding, minimum=0)
    if p[0] >= k[0] or p[1] >= k[1]:
        raise ValueError(f"{name}: padding {p} must be smaller than kernel_size {k}")
    return k, s, p


def _pool_layer(name, k, s, p, forward, route, equations) -> Layer:
    """A pooling layer: `forward(x) -> (y, cache)`; `route(cache, dy) -> dx` its backward, given
    a dy checked against the output's shape, in x's dtype."""

    def init(key, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{name}: expected per-example shape (H_in, W_in, C), got {tuple(in_shape)}")
        return (*output_size(name, in_shape[:2], k, s, p), in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        """y = the max or mean of each window, per channel.

        Args:
            params: {}. x: (N, H_in, W_in, C).

        Returns:
            (y, state, cache): y (N, H_out, W_out, C); a MaxPoolCache or AvgPoolCache.
        """
        _, x = checks.layer_inputs(name, params, {}, x)
        if x.ndim != 4:
            raise ValueError(f"{name}: expected x of shape (N, H_in, W_in, C), got x.shape={x.shape}")
        output_size(name, x.shape[1:3], k, s, p)
        y, cache = forward(x)
        return y, state, cache

    def backward(params, cache, dy):
        """Implements eq:maxpool-dx or eq:avgpool-dx (the layer's `equations`) by `route`.

        Args:
            params: {}. cache: from apply. dy: (N, H_out, W_out, C).

        Returns:
            (dx, {}): dx (N, H_in, W_in, C).
        """
        x = cache.x
        y_shape = (x.shape[0], *output_size(name, x.shape[1:3], k, s, p), x.shape[3])
        hint = f"the output for x of shape {x.shape}, window {k}, stride {s}, padding {p}"
        return route(cache, checks.cotangent(name, dy, y_shape, x.dtype, hint)), {}

    return Layer(name, init, apply, backward, equations=equations)


@constructor
def max_pool2d(
    kernel_size, stride=None, padding=0, pad_value: float = -math.inf, *, name: str = "max_pool2d"
) -> Layer:
    """y = the max of each window; padding with `pad_value` (-inf: padding never wins)."""
    k, s, p = _window_args(name, kernel_size, stride, padding)
    if isinstance(pad_value, bool) or not isinstance(pad_value, (int, float)) or math.isnan(pad_value):
        raise ValueError(f"{name}: pad_value must be a number (-inf allowed, not NaN), got {pad_value!r}")

    def forward(x):
        # max_and_argmax: max and argmax in one pass (fnn.kernels)
        y, argmax = max_and_argmax(windows(x, k, s, p, pad_value), axis=3)
        return y, MaxPoolCache(x, argmax)

    def route(cache, dy):
        """eq:maxpool-dx: each window's dy goes to its argmax. dy: (N, H_out, W_out, C)."""
        offsets = jnp.arange(k[0] * k[1])[:, None]
        routed = jnp.where(offsets == cache.argmax[:, :, :, None, :], dy[:, :, :, None, :], 0)
        return col2im(routed, cache.x.shape, k, s, p)

    return _pool_layer(name, k, s, p, forward, route, ((MaxPoolCache, ("eq:maxpool-dx",)),))


@constructor
def avg_pool2d(
    kernel_size, stride=None, padding=0, count_include_pad: bool = True, *, name: str = "avg_pool2d"
) -> Layer:
    """y = the mean of each window; zero padding counts in the divisor unless count_include_pad=False."""
    k, s, p = _window_args(name, kernel_size, stride, padding)
    checks.flag(name, "count_include_pad", count_include_pad)

    def divisor(in_hw):
        """k_h k_w, or per window the number of real (unpadded) inputs: (H_out, W_out, 1)."""
        if count_include_pad:
            return float(k[0] * k[1])
        H_out, W_out = output_size(name, in_hw, k, s, p)
        real = [
            np.clip(np.arange(n_out) * ss - pp + kk, 0, size) - np.clip(np.arange(n_out) * ss - pp, 0, size)
            for n_out, ss, pp, kk, size in zip((H_out, W_out), s, p, k, in_hw)
        ]
        return np.outer(*real)[:, :, None].astype(np.float32)

    def forward(x):
        win = windows(x, k, s, p)
        return win.sum(axis=3) / jnp.asarray(divisor(x.shape[1:3]), x.dtype), AvgPoolCache(x)

    def route(cache, dy):
        """eq:avgpool-dx: each window's dy, divided, goes to all its inputs. dy: (N, H_out, W_out, C)."""
        x = cache.x
        share = dy / jnp.asarray(divisor(x.shape[1:3]), dy.dtype)
        spread = jnp.broadcast_to(share[:, :, :, None, :], (*dy.shape[:3], k[0] * k[1], dy.shape[3]))
        return col2im(spread, x.shape, k, s, p)

    return _pool_layer(name, k, s, p, forward, route, ((AvgPoolCache, ("eq:avgpool-dx",)),))
