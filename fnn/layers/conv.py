"""2-D convolution (cross-correlation, as in the assignment), three implementations.

Shapes: x (N, H_in, W_in, C_in) NHWC; W (k_h, k_w, C_in, C_out) HWIO; b (C_out,);
y (N, H_out, W_out, C_out) with H_out = (H_in + 2p - k) // s + 1 (eq:conv-size).

    y[n, o, q, :] = b + sum_{i, j} xp[n, s o + i, s q + j, :] @ W[i, j]      (eq:conv-forward)

where xp is x zero-padded by p. The implementations share this contract and differ in how:
- "direct": the definition, a sum over the k_h k_w window offsets (for reading);
- "im2col": every window as a row, one matmul; backward through col2im (eq:conv-im2col-*);
- "xla": `lax.conv_general_dilated` forward; backward by hand with the same primitive: dx is a
  transposed convolution of dy with the flipped kernel, dW a convolution of x with dy
  (eq:conv-dx-transposed, eq:conv-dW-conv). With few input channels (k_h k_w C_in <= 16: the
  first layer on MNIST) it takes the im2col path instead, which is faster there.
Derivation: derivations/conv.tex.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from fnn.im2col import col2im, im2col, offset_slices, output_size, pad, pair
from fnn.layer import Layer, check_params, check_positive_int, sum_rows
from fnn.layers.affine import he_std

__all__ = ["DirectConvCache", "Im2colConvCache", "XlaConvCache", "conv2d", "CONV_IMPLS"]

CONV_IMPLS = ("direct", "im2col", "xla")
_NHWC = ("NHWC", "HWIO", "NHWC")
_SMALL_PATCH = 16  # the xla impl takes the im2col path when k_h k_w C_in <= this


class DirectConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in)


class Im2colConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in); only its shape is used by col2im
    cols: jax.Array  # (N, H_out, W_out, k_h k_w C_in), for dW


class XlaConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in)


def conv2d(
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    impl: str = "xla",
    *,
    weight_scale: float | None = None,
    name: str = "conv2d",
) -> Layer:
    """Convolution with C_out = out_channels filters of size kernel_size, zero padding.

    Args:
        out_channels: C_out.
        kernel_size, stride, padding: an int or a (height, width) pair; padding may be 0.
        impl: "direct", "im2col" or "xla" (same results, different speed).
        weight_scale: std of the initial W; None for He initialisation sqrt(2 / (k_h k_w C_in)).
    """
    check_positive_int(name, "out_channels", out_channels)
    k = pair(name, "kernel_size", kernel_size)
    s = pair(name, "stride", stride)
    p = pair(name, "padding", padding, minimum=0)
    if impl not in CONV_IMPLS:
        raise ValueError(f"{name}: impl must be one of {CONV_IMPLS}, got {impl!r}")
    if weight_scale is not None and not weight_scale > 0:
        raise ValueError(f"{name}: weight_scale must be positive or None, got {weight_scale!r}")

    def init(key, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{name}: expected per-example shape (H_in, W_in, C_in), got {tuple(in_shape)}")
        H_in, W_in, C_in = in_shape
        H_out, W_out = output_size(name, (H_in, W_in), k, s, p)
        std = he_std(k[0] * k[1] * C_in, weight_scale)
        W = std * jax.random.normal(key, (*k, C_in, out_channels))
        return (H_out, W_out, out_channels), {"W": W, "b": jnp.zeros(out_channels)}, {}

    def check_input(params, x):
        check_params(name, params, ("W", "b"))
        C_in = params["W"].shape[2]
        if x.ndim != 4 or x.shape[3] != C_in:
            raise ValueError(f"{name}: expected x of shape (N, H_in, W_in, {C_in}), got x.shape={x.shape}")
        return output_size(name, x.shape[1:3], k, s, p)

    def apply(params, state, x, *, train=False, key=None):
        out_hw = check_input(params, x)
        W, b = params["W"], params["b"]
        if impl == "direct":
            xp, y = pad(x, p), b
            for i in range(k[0]):
                for j in range(k[1]):
                    rows, columns = offset_slices(i, j, s, out_hw)
                    y = y + xp[:, rows, columns, :] @ W[i, j]  # (1)
            return y, state, DirectConvCache(x)
        if impl == "im2col" or k[0] * k[1] * W.shape[2] <= _SMALL_PATCH:
            # NOTE: impl="xla" comes here too for a small patch matrix (the first layer): one
            # matmul of it beat the convolutions, forward and dW (CNN step at batch 128 on
            # XLA:CPU 36 -> 30 ms, benchmarks/RESULTS.md); backward then by im2col_backward.
            cols = im2col(x, k, s, p)  # (2)
            return cols @ W.reshape(-1, W.shape[3]) + b, state, Im2colConvCache(x, cols)  # (3)
        y = lax.conv_general_dilated(x, W, s, [(p[0], p[0]), (p[1], p[1])], dimension_numbers=_NHWC)
        return y + b, state, XlaConvCache(x)

    def direct_backward(params, cache, dy):
        """Implements eq:conv-dx, eq:conv-dW, eq:conv-db: a sum over window offsets."""
        W, x = params["W"], cache.x
        xp = pad(x, p)
        dxp, dW = jnp.zeros_like(xp), []
        for i in range(k[0]):
            for j in range(k[1]):
                rows, columns = offset_slices(i, j, s, dy.shape[1:3])
                dxp = dxp.at[:, rows, columns, :].add(dy @ W[i, j].T)  # windows overlap: add
                dW.append(jnp.einsum("nhwc,nhwd->cd", xp[:, rows, columns, :], dy))
        dx = dxp[:, p[0] : p[0] + x.shape[1], p[1] : p[1] + x.shape[2], :]
        return dx, {"W": jnp.stack(dW).reshape(W.shape), "b": sum_rows(dy)}

    def im2col_backward(params, cache, dy):
        """Implements eq:conv-im2col-dW, eq:conv-im2col-dx, eq:conv-db."""
        W = params["W"]
        C_out = W.shape[3]
        dW = cache.cols.reshape(-1, cache.cols.shape[3]).T @ dy.reshape(-1, C_out)  # (3)
        dcols = dy @ W.reshape(-1, C_out).T  # (3)
        dx = col2im(dcols, cache.x.shape, k, s, p)  # (2)
        return dx, {"W": dW.reshape(W.shape), "b": sum_rows(dy)}

    def xla_backward(params, cache, dy):
        """Implements eq:conv-dx-transposed, eq:conv-dW-conv, eq:conv-db (a small patch matrix:
        im2col_backward)."""
        if isinstance(cache, Im2colConvCache):
            return im2col_backward(params, cache, dy)
        W, x = params["W"], cache.x
        out_hw = dy.shape[1:3]
        # r: rows (columns) of the padded input that no window reaches, dropped by the floor.
        r = [x.shape[1 + a] + 2 * p[a] - s[a] * (out_hw[a] - 1) - k[a] for a in (0, 1)]
        # NOTE: both convolutions get their operands transposed explicitly into the forward's
        # layouts (NHWC, HWIO) rather than through exotic dimension numbers: XLA:CPU then
        # runs its Eigen kernel, also inside lax.scan, where it otherwise emits a naive loop
        # (conv2 at batch 64: dW 10.4 -> 5.1 ms alone, 309 -> 4.4 ms in a scan; dx 17 -> 3.7
        # ms in a scan; benchmarks/RESULTS.md).
        dx = lax.conv_general_dilated(
            dy,
            jnp.swapaxes(W[::-1, ::-1], 2, 3),  # flipped, HWIO with in = C_out, out = C_in
            (1, 1),
            [(k[a] - 1 - p[a], k[a] - 1 - p[a] + r[a]) for a in (0, 1)],
            lhs_dilation=s,
            dimension_numbers=_NHWC,
        )
        dW = lax.conv_general_dilated(
            x.transpose(3, 1, 2, 0),  # (C_in, H_in, W_in, N): N is contracted like a channel
            dy.transpose(1, 2, 0, 3),  # (H_out, W_out, N, C_out): the "kernel"
            (1, 1),
            [(p[a], p[a] - r[a]) for a in (0, 1)],
            rhs_dilation=s,
            dimension_numbers=_NHWC,
        ).transpose(1, 2, 0, 3)  # (C_in, k_h, k_w, C_out) -> HWIO
        return dx, {"W": dW, "b": sum_rows(dy)}

    backward = {"direct": direct_backward, "im2col": im2col_backward, "xla": xla_backward}[impl]
    return Layer(name=name, init=init, apply=apply, backward=backward)
