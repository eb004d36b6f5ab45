"""Sliding windows over NHWC images: output sizes, im2col and its adjoint col2im.

Shared by convolution and pooling. With kernel (k_h, k_w), stride (s_h, s_w) and zero
padding (p_h, p_w), the output size is the assignment's floor rule
    H_out = (H_in + 2 p_h - k_h) // s_h + 1        (eq:conv-size)
`im2col` gathers every window into one row: (N, H_in, W_in, C) -> (N, H_out, W_out, k_h k_w C),
ordered (i, j, c) so that `W.reshape(k_h * k_w * C_in, C_out)` of an HWIO kernel matches.
`col2im` is its adjoint: it adds each row back where it came from, so where windows overlap
their contributions add up (eq:conv-col2im). Derivation: derivations/conv.tex.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["output_size", "offset_slices", "pad", "windows", "im2col", "col2im"]

Pair = tuple[int, int]


def output_size(name: str, in_hw: tuple[int, int], k: Pair, s: Pair, p: Pair) -> Pair:
    """(H_out, W_out) by eq:conv-size; ValueError if the window is larger than the padded input."""
    out = []
    for size, kk, ss, pp, axis in zip(in_hw, k, s, p, ("height", "width")):
        if size + 2 * pp < kk:
            raise ValueError(
                f"{name}: window {k} does not fit the padded input: {axis} {size} + 2*{pp} < {kk}"
                f" (input spatial shape {tuple(in_hw)}, padding {p})"
            )
        out.append((size + 2 * pp - kk) // ss + 1)
    return tuple(out)


def offset_slices(i: int, j: int, s: Pair, out_hw: Pair) -> tuple[slice, slice]:
    """Rows and columns of the padded input that window offset (i, j) reads, one per output."""
    return (
        slice(i, i + s[0] * (out_hw[0] - 1) + 1, s[0]),
        slice(j, j + s[1] * (out_hw[1] - 1) + 1, s[1]),
    )


def pad(x: jax.Array, p: Pair, value: float = 0.0) -> jax.Array:
    """Pad the two spatial axes of an NHWC array by p on both sides with `value`."""
    if p == (0, 0):
        return x
    widths = ((0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0))
    return jnp.pad(x, widths, constant_values=value)


def _tiles(in_hw: Pair, k: Pair, s: Pair, p: Pair) -> bool:
    """True when the windows tile the input exactly (stride = kernel, no padding, no remainder).

    Then gathering and scattering windows are a reshape and a transpose, cheaper than k_h k_w
    strided slices and scatter-adds (2x2 max pooling, the CNN's case)."""
    return s == k and p == (0, 0) and in_hw[0] % k[0] == 0 and in_hw[1] % k[1] == 0


def windows(x: jax.Array, k: Pair, s: Pair, p: Pair, pad_value: float = 0.0) -> jax.Array:
    """All windows, unflattened: (N, H_in, W_in, C) -> (N, H_out, W_out, k_h k_w, C)."""
    H_out, W_out = output_size("im2col", x.shape[1:3], k, s, p)
    if _tiles(x.shape[1:3], k, s, p):
        N, C = x.shape[0], x.shape[3]
        tiles = x.reshape(N, H_out, k[0], W_out, k[1], C).transpose(0, 1, 3, 2, 4, 5)
        return tiles.reshape(N, H_out, W_out, k[0] * k[1], C)
    xp = pad(x, p, pad_value)
    slices = []
    for i in range(k[0]):
        for j in range(k[1]):
            rows, columns = offset_slices(i, j, s, (H_out, W_out))
            slices.append(xp[:, rows, columns, :])
    return jnp.stack(slices, axis=3)


def im2col(x: jax.Array, k: Pair, s: Pair, p: Pair, pad_value: float = 0.0) -> jax.Array:
    """Windows as rows: (N, H_in, W_in, C) -> (N, H_out, W_out, k_h * k_w * C), order (i, j, c)."""
    cols = windows(x, k, s, p, pad_value)
    return cols.reshape(*cols.shape[:3], -1)


def col2im(cols: jax.Array, in_shape: tuple[int, ...], k: Pair, s: Pair, p: Pair) -> jax.Array:
    """Adjoint of `im2col`: (N, H_out, W_out, k_h k_w C) -> in_shape = (N, H_in, W_in, C).

    Accepts the unflattened (N, H_out, W_out, k_h k_w, C) form of `windows` as well.
    """
    N, H_in, W_in, C = in_shape
    H_out, W_out = cols.shape[1:3]
    if _tiles((H_in, W_in), k, s, p):  # no overlap: every input is in exactly one window
        tiles = cols.reshape(N, H_out, W_out, k[0], k[1], C).transpose(0, 1, 3, 2, 4, 5)
        return tiles.reshape(in_shape)
    cols = cols.reshape(N, H_out, W_out, k[0] * k[1], C)
    xp = jnp.zeros((N, H_in + 2 * p[0], W_in + 2 * p[1], C), cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            rows, columns = offset_slices(i, j, s, (H_out, W_out))
            xp = xp.at[:, rows, columns, :].add(cols[:, :, :, i * k[1] + j, :])  # overlaps add
    return xp[:, p[0] : p[0] + H_in, p[1] : p[1] + W_in, :]
