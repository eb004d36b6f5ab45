"""Affine (fully connected) layer: y = flatten(x) W + b.

YOUR TASK: write `affine_backward`. Derive it first: DERIVE.md, section "Affine layer"
(eq:affine-dx, eq:affine-dW, eq:affine-db). Then check it against fnn's affine:

    fnn gradcheck --layer affine.py:affine --like affine

Shapes: x (N, *in_shape) with D = prod(in_shape) features per example; W (D, M); b (M,);
y (N, M). Batches are rows, so W is the transpose of the assignment's n x d matrix.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import Layer


class AffineCache(NamedTuple):
    x: jax.Array  # (N, *in_shape), as apply received it


def affine_backward(params, cache, dy):
    """The affine layer's gradients: eq:affine-dx, eq:affine-dW, eq:affine-db (DERIVE.md).

    Args:
        params: {"W": (D, M), "b": (M,)}. cache: the AffineCache of apply. dy: (N, M), dL/dy.

    Returns:
        (dx, {"W": dW, "b": db}): dx shaped like x, (N, *in_shape); dW (D, M); db (M,).
    """
    raise NotImplementedError(
        "derive it: DERIVE.md, section Affine layer, eq:affine-dx, eq:affine-dW, eq:affine-db"
    )


def affine(out_features, *, weight_scale=None, name="affine"):
    """An affine layer with M = out_features outputs, He-initialised unless weight_scale is given."""

    def init(key, in_shape):
        D = math.prod(in_shape)
        std = math.sqrt(2.0 / D) if weight_scale is None else weight_scale
        W = std * jax.random.normal(key, (D, out_features))
        return (out_features,), {"W": W, "b": jnp.zeros(out_features)}, {}

    def apply(params, state, x, *, train=False, key=None):
        flat = x.reshape(x.shape[0], -1)  # (1) (N, D)
        y = flat @ params["W"] + params["b"]  # (2)
        return y, state, AffineCache(x)

    return Layer(name, init, apply, affine_backward)
