"""Elementwise activations: relu, leaky_relu, sigmoid, tanh, elu.

Shapes: any (N, ...); y and dx have the shape of x. Each backward is dx = dy * f'(x),
with f' written from whichever of x and y is cheaper. Derivation: derivations/activations.tex.

NOTE: at the kink x = 0, relu, leaky_relu and elu take the derivative of the negative side
(relu'(0) = 0, as `jax.nn.relu`; `jnp.maximum(x, 0)` would give 0.5 under jax.grad).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import checks
from fnn.layer import Layer, constructor

__all__ = ["ActivationCache", "relu", "leaky_relu", "sigmoid", "tanh", "elu"]


class ActivationCache(NamedTuple):
    x: jax.Array  # input; under jit, whichever of x and y backward does not read costs nothing
    y: jax.Array  # output


Fn = Callable[[jax.Array], jax.Array]


def _elementwise(name: str, f: Fn, df: Callable[[jax.Array, jax.Array], jax.Array], label: str) -> Layer:
    """A parameter-free layer y = f(x) whose backward is dx = dy * df(x, y), eq. `label`."""

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        """y = f(x) elementwise.

        Args:
            params: {}. x: (N, ...).

        Returns:
            (y, state, cache): y like x; the cache keeps x and y.
        """
        _, x = checks.layer_inputs(name, params, {}, x)
        y = f(x)
        return y, state, ActivationCache(x, y)

    def backward(params, cache, dy):
        """Implements dx = dy * f'(x): eq:relu-dx, eq:leaky-relu-dx, eq:sigmoid-dx, eq:tanh-dx or
        eq:elu-dx, the layer's own (its `equations`).

        Args:
            params: {}. cache: the ActivationCache of apply. dy: like y.

        Returns:
            (dx, {}): dx like x.
        """
        dy = checks.cotangent(name, dy, cache.x.shape, cache.x.dtype, "like x and y")
        return dy * df(cache.x, cache.y), {}

    return Layer(name, init, apply, backward, equations=((ActivationCache, (label,)),))


@constructor
def relu(*, name: str = "relu") -> Layer:
    """y = max(0, x); relu'(0) = 0."""
    return _elementwise(name, jax.nn.relu, lambda x, y: (x > 0).astype(x.dtype), "eq:relu-dx")


@constructor
def leaky_relu(negative_slope: float = 0.01, *, name: str = "leaky_relu") -> Layer:
    """y = x for x > 0, negative_slope * x otherwise (the slope at 0 is negative_slope)."""
    a = checks.number(name, "negative_slope", negative_slope)
    return _elementwise(
        name,
        lambda x: jnp.where(x > 0, x, a * x),
        lambda x, y: jnp.where(x > 0, 1.0, a).astype(x.dtype),
        "eq:leaky-relu-dx",
    )


@constructor
def sigmoid(*, name: str = "sigmoid") -> Layer:
    """y = 1 / (1 + exp(-x)); dx = dy * y * (1 - y)."""
    return _elementwise(name, jax.nn.sigmoid, lambda x, y: y * (1 - y), "eq:sigmoid-dx")


@constructor
def tanh(*, name: str = "tanh") -> Layer:
    """y = tanh(x); dx = dy * (1 - y^2)."""
    return _elementwise(name, jnp.tanh, lambda x, y: 1 - y * y, "eq:tanh-dx")


@constructor
def elu(alpha: float = 1.0, *, name: str = "elu") -> Layer:
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise; dx = dy * (y + alpha) where x <= 0."""
    alpha = checks.number(name, "alpha", alpha, low=0.0)
    # NOTE: expm1 of min(x, 0), so the unused branch never overflows (inf * 0 = nan in grads).
    return _elementwise(
        name,
        lambda x: jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0))),
        lambda x, y: jnp.where(x > 0, 1.0, y + alpha).astype(x.dtype),
        "eq:elu-dx",
    )
