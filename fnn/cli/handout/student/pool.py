"""Max pooling over k_h x k_w windows, per channel.

YOUR TASK: write `max_pool_backward`. Derive it first: DERIVE.md, section "Pooling"
(eq:maxpool-dx). Then check it against fnn's max_pool2d:

    fnn gradcheck --layer pool.py:max_pool2d --like max_pool2d

Shapes: x (N, H_in, W_in, C) -> y (N, H_out, W_out, C), H_out = (H_in + 2 p_h - k_h) // s_h + 1.
The stride defaults to the kernel size; a smaller stride makes windows overlap. Padding is
-inf by default, so that it never wins (pad_value=0.0 gives zero padding). Provided
(fnn.im2col): `windows(x, kernel, stride, padding, pad_value)`, every window of x,
(N, H_out, W_out, k_h k_w, C); `col2im(cols, x_shape, kernel, stride, padding)`, its adjoint,
which takes that same shape and adds every window's values back where they came from (where
windows overlap, they add up).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import Layer
from fnn.im2col import col2im, output_size, windows  # noqa: F401 (provided; col2im is for your backward)


class MaxPoolCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C), as apply received it
    argmax: jax.Array  # (N, H_out, W_out, C) int: where in its window each max is, i * k_w + j


def max_pool_backward(cache, dy, kernel_size, stride, padding):
    """dL/dx of max pooling: eq:maxpool-dx (DERIVE.md). A window with several equal maxima
    sends its gradient to one of them, the one `argmax` names (the first in row-major order).

    Args:
        cache: the MaxPoolCache of apply. dy: (N, H_out, W_out, C), dL/dy.
        kernel_size, stride, padding: (height, width) pairs.

    Returns:
        dx, shaped like x: (N, H_in, W_in, C).
    """
    raise NotImplementedError("derive it: DERIVE.md, section Pooling, eq:maxpool-dx")


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def max_pool2d(kernel_size, stride=None, padding=0, pad_value=-math.inf, *, name="max_pool2d"):
    """Max pooling; kernel_size, stride (default: kernel_size) and padding an int or a pair."""
    k = _pair(kernel_size)
    s, p = k if stride is None else _pair(stride), _pair(padding)

    def init(key, in_shape):
        H_in, W_in, C = in_shape
        return (*output_size(name, (H_in, W_in), k, s, p), C), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        win = windows(x, k, s, p, pad_value)  # (1) (N, H_out, W_out, k_h k_w, C)
        y = win.max(axis=3)  # (2)
        return y, state, MaxPoolCache(x, jnp.argmax(win, axis=3))

    def backward(params, cache, dy):
        """eq:maxpool-dx, by max_pool_backward; no parameters, so no parameter gradients."""
        return max_pool_backward(cache, dy, k, s, p), {}

    return Layer(name, init, apply, backward)
