"""Affine (fully connected) layer: y = flatten(x) W + b.

Shapes: x (N, *in_shape) with D = prod(in_shape) features, W (D, M), b (M,), y (N, M).
Batches are rows, so W is the transpose of the assignment's n x d matrix.
Derivation: derivations/affine.tex (eq:affine-*).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import checks
from fnn.initializers import he_normal
from fnn.layer import Layer

__all__ = ["AffineCache", "affine"]


class AffineCache(NamedTuple):
    x: jax.Array  # (N, *in_shape), as received


def affine(out_features: int, *, weight_scale: float | None = None, name: str = "affine") -> Layer:
    """y = flatten(x) W + b, He-initialised (std sqrt(2/D)) unless `weight_scale` is given.

    Args:
        out_features: M, the number of outputs.
        weight_scale: standard deviation of the initial W; None for He initialisation.
    """
    checks.positive_int(name, "out_features", out_features)
    weight_scale = checks.optional_positive(name, "weight_scale", weight_scale)

    def init(key, in_shape):
        D = math.prod(in_shape)
        W = he_normal(key, (D, out_features), D, weight_scale)
        return (out_features,), {"W": W, "b": jnp.zeros(out_features)}, {}

    def apply(params, state, x, *, train=False, key=None):
        """y = flatten(x) W + b.

        Args:
            params: {"W": (D, M), "b": (M,)}. x: (N, *in_shape) with prod(in_shape) = D.

        Returns:
            (y, state, cache): y (N, M); the cache keeps x.
        """
        checks.params_keys(name, params, ("W", "b"))
        D = params["W"].shape[0]
        if x.ndim < 2 or math.prod(x.shape[1:]) != D:
            raise ValueError(
                f"{name}: expected (N, ...) with {D} features per example, got x.shape={x.shape}"
            )
        x2 = x.reshape(x.shape[0], D)  # (1)
        return x2 @ params["W"] + params["b"], state, AffineCache(x)  # (2)

    def backward(params, cache, dy):
        """Implements eq:affine-dx, eq:affine-dW, eq:affine-db.

        Args:
            params: as apply. cache: AffineCache. dy: (N, M).

        Returns:
            (dx, {"W": dW, "b": db}): dx (N, *in_shape), dW (D, M), db (M,).
        """
        x2 = cache.x.reshape(cache.x.shape[0], -1)
        dW, db = x2.T @ dy, dy.sum(axis=0)  # (2)
        dx = (dy @ params["W"].T).reshape(cache.x.shape)  # (2), (1)
        return dx, {"W": dW, "b": db}

    return Layer(name=name, init=init, apply=apply, backward=backward)
