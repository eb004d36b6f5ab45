"""Winograd convolution F(2x2, 3x3): a stride-1 3x3 convolution in 16 batched matrix products.

Shapes as in fnn.layers.conv: x (N, H_in, W_in, C_in), W (3, 3, C_in, C_out), b (C_out,),
y (N, H_out, W_out, C_out) with H_out = H_in + 2 p_h - 2. The output is cut into 2x2 tiles;
tile (t, u) needs only the 4x4 input tile d under it (rows 2t..2t+3, columns 2u..2u+3 of the
padded input: neighbouring tiles overlap by 2), and for one channel pair and kernel g (3x3)

    Y = A^T [(G g G^T) . (B^T d B)] A        (eq:conv-winograd-tile; . is the elementwise product)

Summed over C_in, the elementwise product at each of the 16 positions (xi, nu) of a 4x4 tile
becomes one matrix product over all tiles at once (eq:conv-winograd-products):

    M[xi, nu] = V[xi, nu] @ U[xi, nu],   (N T_h T_w, C_in) @ (C_in, C_out),

16 C_in C_out multiplications per 4 outputs against 9 C_in C_out each for the dense sum
(2.25x fewer). Output sizes that are not even are padded up to whole tiles and cropped.
The backward is the adjoint of each stage in reverse (eq:conv-winograd-dM, eq:conv-winograd-dU,
eq:conv-winograd-dV, eq:conv-winograd-dW, eq:conv-winograd-dx). Derivation: derivations/conv.tex,
"Winograd". Measured against the other impls: benchmarks/RESULTS.md, "Winograd".
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn.im2col import output_size
from fnn.kernels import sum_rows

__all__ = [
    "WinogradConvCache",
    "winograd_forward",
    "winograd_backward",
    "check_supported",
    "B_T",
    "G",
    "A_T",
    "input_transform",
    "input_transform_adjoint",
    "filter_transform",
    "filter_transform_adjoint",
    "output_transform",
    "output_transform_adjoint",
]

Pair = tuple[int, int]

# The transforms of F(2, 3) (Lavin & Gray, 2016): for a row d of 4 inputs and a kernel g of 3,
# the two outputs y_o = sum_j d_{o+j} g_j are A_T [(G g) . (B_T d)]: 4 multiplications, not 6.
B_T = np.array(
    [
        [1, 0, -1, 0],  # d0 - d2
        [0, 1, 1, 0],  # d1 + d2
        [0, -1, 1, 0],  # d2 - d1
        [0, 1, 0, -1],  # d1 - d3
    ]
)
G = np.array(
    [
        [1, 0, 0],  # g0
        [0.5, 0.5, 0.5],  # (g0 + g1 + g2) / 2
        [0.5, -0.5, 0.5],  # (g0 - g1 + g2) / 2
        [0, 0, 1],  # g2
    ]
)
A_T = np.array(
    [
        [1, 1, 1, 0],  # y0 = m0 + m1 + m2
        [0, 1, -1, -1],  # y1 = m1 - m2 - m3
    ]
)


class WinogradConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in); its shape for dx
    V: jax.Array  # (16, N T_h T_w, C_in): the transformed input tiles B^T d B, for dW


def check_supported(name: str, k: Pair, s: Pair) -> None:
    """ValueError unless the kernel is 3x3 and the stride 1: the only case F(2x2, 3x3) computes."""
    if k != (3, 3) or s != (1, 1):
        raise ValueError(
            f"{name}: impl='winograd' supports 3x3 kernels with stride 1 (any padding), got kernel {k}, "
            f"stride {s}; use impl='auto', 'im2col', 'xla' or 'direct' for this layer"
        )


def _transform(M: np.ndarray, d: jax.Array) -> jax.Array:
    """M d M^T over the two leading axes of d (positions in a tile): (k, k, ...) -> (m, m, ...).

    out[a, b] = sum_ij M[a, i] d[i, j] M[b, j], rows first, then columns. NOTE: written as
    broadcast products and sums, which XLA fuses into one pass over d; as an einsum it becomes
    matrix products with 2-4 long sums, 3-10x slower on XLA:CPU.
    """
    M = jnp.asarray(M, d.dtype)
    ones = (1,) * (d.ndim - 2)
    rows = (M.reshape(*M.shape, 1, *ones) * d[None]).sum(1)  # (m, k, ...): sum_i M[a, i] d[i, j]
    return (M.reshape(1, *M.shape, *ones) * rows[:, None]).sum(2)  # (m, m, ...): sum_j rows[a, j] M[b, j]


def _tile_counts(out_hw: Pair) -> Pair:
    """(T_h, T_w): 2x2 output tiles per axis, the last one partly cropped when the size is odd."""
    return (-(-out_hw[0] // 2), -(-out_hw[1] // 2))


def _tiles(xp: jax.Array, T: Pair) -> jax.Array:
    """The 4x4 input tiles of xp (N, 2 T_h + 2, 2 T_w + 2, C) as d (4, 4, N, T_h, T_w, C).

    d[i, j, n, t, u] = xp[n, 2t + i, 2u + j]: tile (t, u) starts at row 2t, column 2u."""
    rows = [xp[:, i : i + 2 * T[0] - 1 : 2] for i in range(4)]
    return jnp.stack([jnp.stack([r[:, :, j : j + 2 * T[1] - 1 : 2] for j in range(4)]) for r in rows])


def _overlap_add(d: jax.Array, axis: int) -> jax.Array:
    """Adjoint of reading rows 2t + i (i = 0..3) along `axis`: (4, ..., T, ...) -> (..., 2T + 2, ...).

    Neighbouring tiles overlap by 2 rows, so each row gets the gradient of two tiles: an even
    row 2t is row 0 of tile t and row 2 of tile t - 1; an odd row, rows 1 and 3.
    """

    def shifted(a, before):  # one zero row before (tile t - 1 lands on row t) or after
        return jnp.pad(a, [(before, 1 - before) if ax == axis else (0, 0) for ax in range(a.ndim)])

    even = shifted(d[0], 0) + shifted(d[2], 1)  # gradients add
    odd = shifted(d[1], 0) + shifted(d[3], 1)  # gradients add
    both = jnp.stack([even, odd], axis=axis + 1)  # (..., T + 1, 2, ...)
    return both.reshape(*even.shape[:axis], -1, *even.shape[axis + 1 :])


def _interleave(Y: jax.Array) -> jax.Array:
    """Tile outputs Y (2, 2, N, T_h, T_w, C) in place: y[:, 2t + a, 2u + b] = Y[a, b, :, t, u]."""
    _, _, N, T_h, T_w, C = Y.shape
    return Y.transpose(2, 3, 0, 4, 1, 5).reshape(N, 2 * T_h, 2 * T_w, C)


def _deinterleave(dy: jax.Array) -> jax.Array:
    """Adjoint (and inverse) of `_interleave`: (N, 2 T_h, 2 T_w, C) -> (2, 2, N, T_h, T_w, C)."""
    N, H, W, C = dy.shape
    return dy.reshape(N, H // 2, 2, W // 2, 2, C).transpose(2, 4, 0, 1, 3, 5)


def input_transform(x: jax.Array, p: Pair, out_hw: Pair) -> jax.Array:
    """Stages (1)-(2): pad x, cut it into 4x4 tiles, V = B^T d B: (16, N T_h T_w, C_in)."""
    T = _tile_counts(out_hw)
    # (1) pad by p, and at the bottom and right up to whole tiles: 2 T + 2 rows and columns
    xp = jnp.pad(x, [(0, 0), *[(p[a], p[a] + 2 * T[a] - out_hw[a]) for a in (0, 1)], (0, 0)])
    return _transform(B_T, _tiles(xp, T)).reshape(16, -1, x.shape[3])  # (2)


def input_transform_adjoint(dV: jax.Array, x_shape: tuple[int, ...], p: Pair, out_hw: Pair) -> jax.Array:
    """Adjoint of `input_transform` (eq:conv-winograd-dx): (16, N T_h T_w, C_in) -> dx of x_shape."""
    N, H_in, W_in, C_in = x_shape
    dd = _transform(B_T.T, dV.reshape(4, 4, N, *_tile_counts(out_hw), C_in))  # (2) B dV B^T per tile
    dxp = _overlap_add(_overlap_add(dd, axis=2), axis=2)  # (2) rows, then columns; overlaps add
    return dxp[:, p[0] : p[0] + H_in, p[1] : p[1] + W_in, :]  # (1) drop the padding


def filter_transform(W: jax.Array) -> jax.Array:
    """Stage (3): U = G g G^T for every channel pair: (3, 3, C_in, C_out) -> (16, C_in, C_out)."""
    return _transform(G, W).reshape(16, *W.shape[2:])


def filter_transform_adjoint(dU: jax.Array) -> jax.Array:
    """Adjoint of `filter_transform` (eq:conv-winograd-dW): dW = G^T dU G, (3, 3, C_in, C_out)."""
    return _transform(G.T, dU.reshape(4, 4, *dU.shape[1:]))


def output_transform(M: jax.Array, N: int, out_hw: Pair) -> jax.Array:
    """Stage (5): Y = A^T m A per tile, tiles in place, cropped: (16, N T_h T_w, C_out) -> y."""
    Y = _transform(A_T, M.reshape(4, 4, N, *_tile_counts(out_hw), M.shape[2]))  # (2, 2, N, T_h, T_w, C_out)
    return _interleave(Y)[:, : out_hw[0], : out_hw[1], :]  # crop what the padding tiles add


def output_transform_adjoint(dy: jax.Array) -> jax.Array:
    """Adjoint of `output_transform` (eq:conv-winograd-dM): dM = A dY A^T, (16, N T_h T_w, C_out)."""
    T = _tile_counts(dy.shape[1:3])
    # the crop's adjoint: zeros for the outputs it dropped, up to whole tiles
    dyp = jnp.pad(dy, [(0, 0), (0, 2 * T[0] - dy.shape[1]), (0, 2 * T[1] - dy.shape[2]), (0, 0)])
    return _transform(A_T.T, _deinterleave(dyp)).reshape(16, -1, dy.shape[3])


def winograd_forward(params: dict, x: jax.Array, *, s: Pair, p: Pair) -> tuple[jax.Array, WinogradConvCache]:
    """y by eq:conv-winograd-tile for every 2x2 output tile, summed over C_in as 16 matmuls.

    Args:
        params: {"W": (3, 3, C_in, C_out), "b": (C_out,)}. x: (N, H_in, W_in, C_in).
        s, p: stride (must be (1, 1)) and padding, (height, width) pairs.

    Returns:
        (y, cache): y (N, H_out, W_out, C_out); cache keeps x and the transformed tiles V.
    """
    out_hw = output_size("conv2d", x.shape[1:3], params["W"].shape[:2], s, p)
    V = input_transform(x, p, out_hw)  # (1), (2) B^T d B: (16, N T_h T_w, C_in)
    U = filter_transform(params["W"])  # (3) G g G^T: (16, C_in, C_out)
    M = jnp.einsum("tpc,tcd->tpd", V, U)  # (4) 16 matmuls: (16, N T_h T_w, C_out)
    y = output_transform(M, x.shape[0], out_hw)  # (5) A^T m A
    return y + params["b"], WinogradConvCache(x, V)


def winograd_backward(params: dict, cache: WinogradConvCache, dy: jax.Array, *, s: Pair, p: Pair):
    """Implements eq:conv-winograd-dx, eq:conv-winograd-dW, eq:conv-db: each forward stage's adjoint.

    Args:
        params, s, p: as winograd_forward. cache: its WinogradConvCache. dy: (N, H_out, W_out, C_out).

    Returns:
        (dx, {"W": dW, "b": db}): dx (N, H_in, W_in, C_in), dW and db shaped like W and b.
    """
    dM = output_transform_adjoint(dy)  # (5) A dY A^T
    dU = jnp.einsum("tpc,tpd->tcd", cache.V, dM)  # (4) V^T dM summed over tiles (eq:conv-winograd-dU)
    dV = jnp.einsum("tpd,tcd->tpc", dM, filter_transform(params["W"]))  # (4) dM U^T (eq:conv-winograd-dV)
    dx = input_transform_adjoint(dV, cache.x.shape, p, dy.shape[1:3])  # (2), (1)
    return dx, {"W": filter_transform_adjoint(dU), "b": sum_rows(dy)}  # (3); sum_rows: all cores
