"""Flatten: (N, *in_shape) -> (N, prod(in_shape)). Its backward reshapes dy back.

Derivation: derivations/reshape.tex (eq:flatten-dx).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax

from fnn import checks
from fnn.layer import Layer, constructor

__all__ = ["FlattenCache", "flatten"]


class FlattenCache(NamedTuple):
    x: jax.Array  # (N, *in_shape); only its shape is used, free under jit


@constructor
def flatten(*, name: str = "flatten") -> Layer:
    """Flatten every axis but the batch axis."""

    def init(key, in_shape):
        return (math.prod(in_shape),), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        """y = x with every axis but the first flattened.

        Args:
            params: {}. x: (N, *in_shape).

        Returns:
            (y, state, cache): y (N, prod(in_shape)); the cache keeps x (for its shape).
        """
        _, x = checks.layer_inputs(name, params, {}, x)
        if x.ndim < 1:
            raise ValueError(f"{name}: expected a batch (N, ...), got x.shape={x.shape}")
        return x.reshape(x.shape[0], -1), state, FlattenCache(x)

    def backward(params, cache, dy):
        """Implements eq:flatten-dx.

        Args:
            params: {}. cache: FlattenCache. dy: (N, prod(in_shape)).

        Returns:
            (dx, {}): dx (N, *in_shape).
        """
        x = cache.x
        y_shape = (x.shape[0], math.prod(x.shape[1:]))
        dy = checks.cotangent(name, dy, y_shape, x.dtype, f"the output for x of shape {x.shape}")
        return dy.reshape(x.shape), {}

    return Layer(name, init, apply, backward, equations=((FlattenCache, ("eq:flatten-dx",)),))
