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
from fnn.describe import constructor
from fnn.initializers import he_normal
from fnn.layer import Layer

__all__ = ["AffineCache", "affine"]


class AffineCache(NamedTuple):
    x: jax.Array  # (N, *in_shape), as received


@constructor
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

    def checked(params, x):
        """(params, x) in x's floating dtype, or a ValueError naming the layer and the shapes
        that do not fit: W (D, M) with the layer's M, b (M,), D features per example of x."""
        dtype = checks.floating(name, "x", x)
        checks.params_keys(name, params, ("W", "b"))
        W_shape = jnp.shape(params["W"])
        D = W_shape[0] if len(W_shape) == 2 else math.prod(x.shape[1:])
        hint = f"{D} input features, {out_features} outputs"
        checks.shape(name, "params['W']", W_shape, (D, out_features), hint)
        checks.shape(name, "params['b']", jnp.shape(params["b"]), (out_features,), "one per output")
        if x.ndim < 2 or math.prod(x.shape[1:]) != D:
            raise ValueError(
                f"{name}: expected (N, ...) with {D} features per example, got x.shape={x.shape}"
            )
        return {key: jnp.asarray(a, dtype) for key, a in params.items()}, jnp.asarray(x, dtype)

    def apply(params, state, x, *, train=False, key=None):
        """y = flatten(x) W + b, in x's floating dtype (params are cast to it).

        Args:
            params: {"W": (D, M), "b": (M,)}. x: (N, *in_shape) with prod(in_shape) = D.

        Returns:
            (y, state, cache): y (N, M); the cache keeps x.
        """
        params_x, x = checked(params, x)
        x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))  # (1)
        return x2 @ params_x["W"] + params_x["b"], state, AffineCache(x)  # (2)

    def backward(params, cache, dy):
        """Implements eq:affine-dx, eq:affine-dW, eq:affine-db.

        Args:
            params: as apply. cache: AffineCache. dy: (N, M).

        Returns:
            (dx, {"W": dW, "b": db}): dx (N, *in_shape), dW (D, M), db (M,), each in the
            dtype of x, W and b respectively.
        """
        params_x, x = checked(params, cache.x)
        y_shape = (x.shape[0], out_features)
        checks.shape(name, "dy", jnp.shape(dy), y_shape, f"the output for x of shape {x.shape}")
        dy = jnp.asarray(dy, x.dtype)
        x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))
        dW, db = x2.T @ dy, dy.sum(axis=0)  # (2)
        dx = (dy @ params_x["W"].T).reshape(x.shape)  # (2), (1)
        return dx, {
            "W": dW.astype(jnp.result_type(params["W"])),
            "b": db.astype(jnp.result_type(params["b"])),
        }

    return Layer(name=name, init=init, apply=apply, backward=backward)
