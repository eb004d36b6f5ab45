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
from fnn.initializers import INITS, weight_std
from fnn.layer import Layer, constructor

__all__ = ["AffineCache", "affine"]


class AffineCache(NamedTuple):
    x: jax.Array  # (N, *in_shape), as received


EQUATIONS = ((AffineCache, ("eq:affine-dx", "eq:affine-dW", "eq:affine-db")),)


@constructor
def affine(
    out_features: int, *, weight_scale: float | None = None, init: str = "he", name: str = "affine"
) -> Layer:
    """y = flatten(x) W + b, W drawn from N(0, std^2) with std by `init` unless `weight_scale` is given.

    Args:
        out_features: M, the number of outputs.
        weight_scale: standard deviation of the initial W; None to follow `init`.
        init: "he" (std sqrt(2/D), for ReLU) or "xavier" (std sqrt(2/(D+M)), for sigmoid, tanh);
            fnn.initializers.
    """
    M = checks.positive_int(name, "out_features", out_features)
    weight_scale = checks.optional_positive(name, "weight_scale", weight_scale)
    init_rule = checks.one_of(name, "init", init, INITS)

    def init(key, in_shape):
        D = math.prod(in_shape)
        std = weight_std(init_rule, D, M, weight_scale)
        return (M,), {"W": std * jax.random.normal(key, (D, M)), "b": jnp.zeros(M)}, {}

    def spec(x):
        """The params that fit x (N, *in_shape): W (D, M) with D = prod(in_shape), b (M,)."""
        if x.ndim < 2:
            raise ValueError(f"{name}: expected x of shape (N, ...), got x.shape={x.shape}")
        D = math.prod(x.shape[1:])
        return {"W": ((D, M), f"{D} input features in x, {M} outputs"), "b": ((M,), "one per output")}

    def apply(params, state, x, *, train=False, key=None):
        """y = flatten(x) W + b, in x's floating dtype (params are cast to it).

        Args:
            params: {"W": (D, M), "b": (M,)}. x: (N, *in_shape) with prod(in_shape) = D.

        Returns:
            (y, state, cache): y (N, M); the cache keeps x.
        """
        params, x = checks.layer_inputs(name, params, spec(x), x)
        x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))  # (1)
        return x2 @ params["W"] + params["b"], state, AffineCache(x)  # (2)

    def backward(params, cache, dy):
        """Implements eq:affine-dx, eq:affine-dW, eq:affine-db.

        Args:
            params: as apply. cache: AffineCache. dy: (N, M).

        Returns:
            (dx, {"W": dW, "b": db}): dx (N, *in_shape), dW (D, M), db (M,), each in the
            dtype of x, W and b respectively.
        """
        params_x, x = checks.layer_inputs(name, params, spec(cache.x), cache.x)
        dy = checks.cotangent(name, dy, (x.shape[0], M), x.dtype, f"the output for x of shape {x.shape}")
        x2 = x.reshape(x.shape[0], math.prod(x.shape[1:]))
        dW, db = x2.T @ dy, dy.sum(axis=0)  # (2)
        dx = (dy @ params_x["W"].T).reshape(x.shape)  # (2), (1)
        return dx, {
            "W": dW.astype(jnp.result_type(params["W"])),
            "b": db.astype(jnp.result_type(params["b"])),
        }

    return Layer(name, init, apply, backward, equations=EQUATIONS)
