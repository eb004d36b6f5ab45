"""2-D convolution (cross-correlation, as in the assignment), four implementations and a chooser.

Shapes: x (N, H_in, W_in, C_in) NHWC; W (k_h, k_w, C_in, C_out) HWIO; b (C_out,);
y (N, H_out, W_out, C_out) with H_out = (H_in + 2p - k) // s + 1 (eq:conv-size).

    y[n, o, q, :] = b + sum_{i, j} xp[n, s o + i, s q + j, :] @ W[i, j]      (eq:conv-forward)

where xp is x zero-padded by p. Each implementation is a forward and a backward function below,
with its own cache type, and runs exactly what its name says:
- "direct": the definition, a sum over the k_h k_w window offsets (for reading);
- "im2col": every window as a row, one matmul; backward through col2im (eq:conv-im2col-*);
- "xla": `lax.conv_general_dilated` forward; backward by hand with the same primitive: dx is a
  transposed convolution of dy with the flipped kernel, dW a convolution of x with dy
  (eq:conv-dx-transposed, eq:conv-dW-conv);
- "winograd": F(2x2, 3x3) for stride-1 3x3 kernels, 16 batched matmuls (fnn/winograd.py; not in auto).
"auto" (the default) is the one place that chooses per shape (`auto_impl`), at trace time.
Every conv2d's backward runs `backward_by_cache`: the backward of the impl whose cache it gets,
and `EQUATIONS` lists the labels each of them implements. Derivation: derivations/conv.tex.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from fnn import checks
from fnn.im2col import col2im, im2col, offset_slices, output_size, pad
from fnn.initializers import he_normal
from fnn.kernels import sum_rows
from fnn.layer import Layer, constructor
from fnn.winograd import WinogradConvCache, check_supported, winograd_backward, winograd_forward

__all__ = [
    "DirectConvCache",
    "Im2colConvCache",
    "XlaConvCache",
    "conv2d",
    "CONV_IMPLS",
    "AUTO_IM2COL_MAX_PATCH",
    "auto_impl",
    "backward_by_cache",
]

CONV_IMPLS = ("auto", "direct", "im2col", "xla", "winograd")
AUTO_IM2COL_MAX_PATCH = 54  # largest k_h k_w C_in that auto runs by im2col
_NHWC = ("NHWC", "HWIO", "NHWC")

Pair = tuple[int, int]


class DirectConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in)


class Im2colConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in); only its shape is used by col2im
    cols: jax.Array  # (N, H_out, W_out, k_h k_w C_in), for dW


class XlaConvCache(NamedTuple):
    x: jax.Array  # (N, H_in, W_in, C_in)


def auto_impl(kernel_shape: tuple[int, ...]) -> str:
    """The impl that impl="auto" runs for an HWIO kernel of `kernel_shape`: "im2col" or "xla"."""
    k_h, k_w, C_in, _ = kernel_shape
    # Measured on XLA:CPU per patch size: benchmarks/RESULTS.md, "Conv impl rule (auto)".
    return "im2col" if k_h * k_w * C_in <= AUTO_IM2COL_MAX_PATCH else "xla"


# One forward and one backward per impl; conv2d binds the static stride s and padding p.


def direct_forward(params: dict, x: jax.Array, *, s: Pair, p: Pair) -> tuple[jax.Array, DirectConvCache]:
    """y by eq:conv-forward: one (C_in, C_out) matmul per window offset (i, j), summed.

    Args:
        params: {"W": (k_h, k_w, C_in, C_out), "b": (C_out,)}. x: (N, H_in, W_in, C_in).
        s, p: stride and padding, (height, width) pairs.

    Returns:
        (y, cache): y (N, H_out, W_out, C_out); cache keeps x.
    """
    W = params["W"]
    out_hw = output_size("conv2d", x.shape[1:3], W.shape[:2], s, p)
    xp, y = pad(x, p), params["b"]
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            rows, columns = offset_slices(i, j, s, out_hw)
            y = y + xp[:, rows, columns, :] @ W[i, j]  # (1)
    return y, DirectConvCache(x)


def direct_backward(params: dict, cache: DirectConvCache, dy: jax.Array, *, s: Pair, p: Pair):
    """Implements eq:conv-dx, eq:conv-dW, eq:conv-db: a sum over window offsets.

    Args:
        params: as direct_forward. cache: its DirectConvCache. dy: (N, H_out, W_out, C_out).
        s, p: as direct_forward.

    Returns:
        (dx, {"W": dW, "b": db}): dx (N, H_in, W_in, C_in), dW and db shaped like W and b.
    """
    W, x = params["W"], cache.x
    xp = pad(x, p)
    dxp, dW = jnp.zeros_like(xp), []
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            rows, columns = offset_slices(i, j, s, dy.shape[1:3])
            dxp = dxp.at[:, rows, columns, :].add(dy @ W[i, j].T)  # windows overlap: add
            dW.append(jnp.einsum("nhwc,nhwd->cd", xp[:, rows, columns, :], dy))
    dx = dxp[:, p[0] : p[0] + x.shape[1], p[1] : p[1] + x.shape[2], :]
    return dx, {"W": jnp.stack(dW).reshape(W.shape), "b": sum_rows(dy)}  # sum_rows: all cores


def im2col_forward(params: dict, x: jax.Array, *, s: Pair, p: Pair) -> tuple[jax.Array, Im2colConvCache]:
    """y as one matmul of the (N H_out W_out, k_h k_w C_in) patch matrix with W reshaped.

    Args:
        params, x, s, p: as direct_forward.

    Returns:
        (y, cache): y (N, H_out, W_out, C_out); cache keeps x and the patch matrix.
    """
    W = params["W"]
    cols = im2col(x, W.shape[:2], s, p)  # (2)
    return cols @ W.reshape(-1, W.shape[3]) + params["b"], Im2colConvCache(x, cols)  # (3)


def im2col_backward(params: dict, cache: Im2colConvCache, dy: jax.Array, *, s: Pair, p: Pair):
    """Implements eq:conv-im2col-dW, eq:conv-im2col-dx, eq:conv-db.

    Args:
        params, s, p: as im2col_forward. cache: its Im2colConvCache. dy: (N, H_out, W_out, C_out).

    Returns:
        (dx, {"W": dW, "b": db}): dx (N, H_in, W_in, C_in), dW and db shaped like W and b.
    """
    W = params["W"]
    C_out = W.shape[3]
    dW = cache.cols.reshape(-1, cache.cols.shape[3]).T @ dy.reshape(-1, C_out)  # (3)
    dcols = dy @ W.reshape(-1, C_out).T  # (3)
    dx = col2im(dcols, cache.x.shape, W.shape[:2], s, p)  # (2)
    return dx, {"W": dW.reshape(W.shape), "b": sum_rows(dy)}  # sum_rows: all cores


def xla_forward(params: dict, x: jax.Array, *, s: Pair, p: Pair) -> tuple[jax.Array, XlaConvCache]:
    """y by `lax.conv_general_dilated` (NHWC, HWIO) plus b.

    Args:
        params, x, s, p: as direct_forward.

    Returns:
        (y, cache): y (N, H_out, W_out, C_out); cache keeps x.
    """
    pads = [(p[0], p[0]), (p[1], p[1])]
    y = lax.conv_general_dilated(x, params["W"], s, pads, dimension_numbers=_NHWC)
    return y + params["b"], XlaConvCache(x)


def xla_backward(params: dict, cache: XlaConvCache, dy: jax.Array, *, s: Pair, p: Pair):
    """Implements eq:conv-dx-transposed, eq:conv-dW-conv, eq:conv-db.

    Args:
        params, s, p: as xla_forward. cache: its XlaConvCache. dy: (N, H_out, W_out, C_out).

    Returns:
        (dx, {"W": dW, "b": db}): dx (N, H_in, W_in, C_in), dW and db shaped like W and b.
    """
    W, x = params["W"], cache.x
    k, out_hw = W.shape[:2], dy.shape[1:3]
    # r: rows (columns) of the padded input that no window reaches, dropped by the floor.
    r = [x.shape[1 + a] + 2 * p[a] - s[a] * (out_hw[a] - 1) - k[a] for a in (0, 1)]
    # NOTE: operands transposed explicitly into the forward's layouts (NHWC, HWIO), not by
    # dimension numbers: XLA:CPU then runs its fast kernel, also inside lax.scan.
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
    return dx, {"W": dW, "b": sum_rows(dy)}  # sum_rows: all cores


def auto_forward(params: dict, x: jax.Array, *, s: Pair, p: Pair):
    """The forward of `auto_impl(W.shape)`, chosen at trace time from the static kernel shape.

    Args:
        params, x, s, p: as direct_forward.

    Returns:
        (y, cache): y (N, H_out, W_out, C_out); the chosen impl's cache.
    """
    return _FORWARD[auto_impl(params["W"].shape)](params, x, s=s, p=p)


_FORWARD = {
    "direct": direct_forward,
    "im2col": im2col_forward,
    "xla": xla_forward,
    "winograd": winograd_forward,
    "auto": auto_forward,
}


def backward_by_cache(params: dict, cache, dy: jax.Array, *, s: Pair, p: Pair):
    """The backward of the impl whose forward made `cache` (one cache type per impl; auto's
    forward made the cache of the impl it chose): (dx, {"W": dW, "b": db})."""
    backward = {
        DirectConvCache: direct_backward,
        Im2colConvCache: im2col_backward,
        XlaConvCache: xla_backward,
        WinogradConvCache: winograd_backward,
    }[type(cache)]
    return backward(params, cache, dy, s=s, p=p)


# Per cache type, the labels of the equations the backward that consumes it implements.
EQUATIONS = (
    (DirectConvCache, ("eq:conv-dx", "eq:conv-dW", "eq:conv-db")),
    (Im2colConvCache, ("eq:conv-im2col-dW", "eq:conv-im2col-dx", "eq:conv-db")),
    (XlaConvCache, ("eq:conv-dx-transposed", "eq:conv-dW-conv", "eq:conv-db")),
    (WinogradConvCache, ("eq:conv-winograd-dx", "eq:conv-winograd-dW", "eq:conv-db")),
)


@constructor
def conv2d(
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    impl: str = "auto",
    *,
    weight_scale: float | None = None,
    name: str = "conv2d",
) -> Layer:
    """Convolution with C_out = out_channels filters of size kernel_size, zero padding.

    Args:
        out_channels: C_out.
        kernel_size, stride, padding: an int or a (height, width) pair; padding may be 0.
        impl: "auto" (per shape), "direct", "im2col", "xla" or "winograd" (3x3, stride 1): same results.
        weight_scale: std of the initial W; None for He initialisation sqrt(2 / (k_h k_w C_in)).
    """
    C_out = checks.positive_int(name, "out_channels", out_channels)
    k = checks.int_pair(name, "kernel_size", kernel_size)
    s = checks.int_pair(name, "stride", stride)
    p = checks.int_pair(name, "padding", padding, minimum=0)
    checks.one_of(name, "impl", impl, CONV_IMPLS)
    if impl == "winograd":
        check_supported(name, k, s)  # 3x3, stride 1
    weight_scale = checks.optional_positive(name, "weight_scale", weight_scale)
    forward = _FORWARD[impl]

    def init(key, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{name}: expected per-example shape (H_in, W_in, C_in), got {tuple(in_shape)}")
        H_in, W_in, C_in = in_shape
        H_out, W_out = output_size(name, (H_in, W_in), k, s, p)
        W = he_normal(key, (*k, C_in, C_out), k[0] * k[1] * C_in, weight_scale)
        return (H_out, W_out, C_out), {"W": W, "b": jnp.zeros(C_out)}, {}

    def spec(x):
        """The params that fit x (N, H_in, W_in, C_in): W (k_h, k_w, C_in, C_out), b (C_out,);
        a ValueError unless x is a batch of images that the window fits."""
        if x.ndim != 4:
            raise ValueError(f"{name}: expected x of shape (N, H_in, W_in, C_in), got x.shape={x.shape}")
        output_size(name, x.shape[1:3], k, s, p)
        C_in = x.shape[3]
        hint = f"kernel {k[0]}x{k[1]}, {C_in} input channel{'s' * (C_in != 1)} in x, {C_out} filters"
        return {"W": ((*k, C_in, C_out), hint), "b": ((C_out,), "one per filter")}

    def apply(params, state, x, *, train=False, key=None):
        """y = conv(x, W) + b by `impl`, in x's floating dtype (params are cast to it).

        Args:
            params: {"W": (k_h, k_w, C_in, C_out), "b": (C_out,)}. x: (N, H_in, W_in, C_in).

        Returns:
            (y, state, cache): y (N, H_out, W_out, C_out); the cache type of the impl that ran.
        """
        params, x = checks.layer_inputs(name, params, spec(x), x)
        y, cache = forward(params, x, s=s, p=p)
        return y, state, cache

    def backward(params, cache, dy):
        """Implements the equations of the impl whose cache this is (`EQUATIONS`), by
        `backward_by_cache`: e.g. eq:conv-dx, eq:conv-dW, eq:conv-db for direct.

        Args:
            params: as apply. cache: from apply. dy: (N, H_out, W_out, C_out).

        Returns:
            (dx, {"W": dW, "b": db}): dx like x, in its dtype; dW and db like W and b.
        """
        params_x, x = checks.layer_inputs(name, params, spec(cache.x), cache.x)
        y_shape = (x.shape[0], *output_size(name, x.shape[1:3], k, s, p), C_out)
        hint = f"the output for x of shape {x.shape}, kernel {k}, stride {s}, padding {p}"
        dy = checks.cotangent(name, dy, y_shape, x.dtype, hint)
        dx, dparams = backward_by_cache(params_x, cache, dy, s=s, p=p)
        return dx, {key: d.astype(jnp.result_type(params[key])) for key, d in dparams.items()}

    return Layer(name, init, apply, backward, equations=EQUATIONS)
