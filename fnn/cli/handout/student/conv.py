"""2-D convolution (a cross-correlation, as in the assignment), computed by im2col.

YOUR TASK: write `conv_backward`. Derive it first: DERIVE.md, section "Convolution"
(eq:conv-im2col-dW, eq:conv-im2col-dx, eq:conv-db). Then check it against fnn's conv2d:

    fnn gradcheck --layer conv.py:conv2d --like conv2d

Shapes: x (N, H_in, W_in, C_in) (NHWC); W (k_h, k_w, C_in, C_out) (HWIO); b (C_out,);
y (N, H_out, W_out, C_out) with H_out = (H_in + 2 p_h - k_h) // s_h + 1, and alike for W_out.
As in the assignment, im2col and col2im are provided (fnn.im2col): `im2col(x, kernel, stride,
padding)` puts every window of the zero-padded x in one row, (N, H_out, W_out, k_h k_w C_in),
in the order (i, j, c); `col2im(cols, x_shape, kernel, stride, padding)` is its adjoint: it
adds every row back where its window came from (where windows overlap, their values add up)
and drops the padding.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import Layer
from fnn.im2col import col2im, im2col, output_size  # noqa: F401 (provided; col2im is for your backward)


class ConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in), as apply received it
    cols: jax.Array  # (N, H_out, W_out, k_h k_w C_in): im2col of x, one row per window


def conv_backward(params, cache, dy, stride, padding):
    """The convolution's gradients: eq:conv-im2col-dW, eq:conv-im2col-dx, eq:conv-db (DERIVE.md).

    Args:
        params: {"W": (k_h, k_w, C_in, C_out), "b": (C_out,)}. cache: the ConvCache of apply.
        dy: (N, H_out, W_out, C_out), dL/dy. stride, padding: (height, width) pairs.

    Returns:
        (dx, {"W": dW, "b": db}): dx shaped like x; dW and db shaped like W and b.
    """
    raise NotImplementedError(
        "derive it: DERIVE.md, section Convolution, eq:conv-im2col-dW, eq:conv-im2col-dx, eq:conv-db"
    )


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv2d(out_channels, kernel_size, stride=1, padding=0, impl="auto", *, weight_scale=None, name="conv2d"):
    """Convolution with C_out = out_channels filters of size kernel_size, zero padding.

    kernel_size, stride and padding are an int or a (height, width) pair. `impl` is accepted
    so that this constructor takes fnn's conv2d arguments; the layer always computes by im2col.
    """
    k, s, p = _pair(kernel_size), _pair(stride), _pair(padding)

    def init(key, in_shape):
        H_in, W_in, C_in = in_shape
        H_out, W_out = output_size(name, (H_in, W_in), k, s, p)
        fan_in = k[0] * k[1] * C_in
        std = math.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale
        W = std * jax.random.normal(key, (*k, C_in, out_channels))
        return (H_out, W_out, out_channels), {"W": W, "b": jnp.zeros(out_channels)}, {}

    def apply(params, state, x, *, train=False, key=None):
        W = params["W"]
        cols = im2col(x, k, s, p)  # (1) (N, H_out, W_out, k_h k_w C_in)
        y = cols @ W.reshape(-1, W.shape[3]) + params["b"]  # (2) one matrix product
        return y, state, ConvCache(x, cols)

    def backward(params, cache, dy):
        """eq:conv-im2col-dW, eq:conv-im2col-dx, eq:conv-db, by conv_backward."""
        return conv_backward(params, cache, dy, s, p)

    return Layer(name, init, apply, backward)
