"""The Layer contract, `serial`, and the bridge from hand-written backward to `jax.custom_vjp`.

A layer is an immutable record of three pure functions (and a name for errors):

    init(key, in_shape)                               -> (out_shape, params, state)
    apply(params, state, x, *, train=False, key=None) -> (y, new_state, cache)
    backward(params, cache, dy)                       -> (dx, dparams)

Shapes in `init` are per example (no batch axis); arrays in `apply` are batch first.
Derivation of the chain rule through `serial`: derivations/layer.tex (eq:serial-*).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["Layer", "serial", "with_manual_vjp", "check_params", "check_positive_int", "sum_rows"]


class Layer(NamedTuple):
    """Three pure functions and a name; see the module docstring for their signatures."""

    name: str
    init: Callable[..., Any]
    apply: Callable[..., Any]
    backward: Callable[..., Any]


def check_positive_int(name: str, what: str, value: Any) -> int:
    """Return `value` if it is a positive int, else raise ValueError naming the layer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: {what} must be a positive int, got {value!r}")
    return value


def check_params(name: str, params: Any, keys: Sequence[str]) -> None:
    """Raise TypeError unless `params` is a mapping with exactly `keys`."""
    if not isinstance(params, Mapping) or set(params) != set(keys):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise TypeError(f"{name}: params must be a dict with keys {sorted(keys)}, got {got}")


def sum_rows(a: jax.Array) -> jax.Array:
    """The sum of `a` over every axis but the last, shape (C,): a bias gradient.

    Written as the product of a ones vector with the (rows, C) matrix: XLA:CPU runs that on
    every core, 3.7x faster than `a.sum(axis=(0, 1, 2))` for the (128, 28, 28, 32) gradient
    of the CNN's first conv (benchmarks/RESULTS.md). HIGHEST precision: no TF32 on GPUs.
    """
    rows = a.reshape(-1, a.shape[-1])
    return jnp.dot(jnp.ones(rows.shape[0], a.dtype), rows, precision=lax.Precision.HIGHEST)


def serial(*layers: Layer, name: str = "serial") -> Layer:
    """Compose layers left to right; params, state and cache are tuples of the children's.

    `backward` runs the children in reverse, feeding each one's dx to the one before
    (eq:serial-chain). In train mode each child gets its own key split from `key`.
    """
    if not layers or not all(isinstance(layer, Layer) for layer in layers):
        raise TypeError(f"{name}: expects one or more Layers, got {layers!r}")
    count = len(layers)

    def check_tuple(what, value):
        if not isinstance(value, tuple) or len(value) != count:
            raise TypeError(
                f"{name}: {what} must be a tuple of {count} entries (one per layer), "
                f"got {type(value).__name__} of length {len(value) if hasattr(value, '__len__') else '?'}"
            )

    def init(key, in_shape):
        shape, params, state = tuple(in_shape), [], []
        for layer, layer_key in zip(layers, jax.random.split(key, count)):
            shape, p, s = layer.init(layer_key, shape)
            params.append(p)
            state.append(s)
        return shape, tuple(params), tuple(state)

    def apply(params, state, x, *, train=False, key=None):
        check_tuple("params", params)
        check_tuple("state", state)
        keys = [None] * count if key is None else list(jax.random.split(key, count))
        new_state, caches = [], []
        for layer, p, s, k in zip(layers, params, state, keys):
            x, s, cache = layer.apply(p, s, x, train=train, key=k)
            new_state.append(s)
            caches.append(cache)
        return x, tuple(new_state), tuple(caches)

    def backward(params, cache, dy):
        """Implements eq:serial-chain: dx of layer l is dy of layer l - 1."""
        check_tuple("params", params)
        dparams = [None] * count
        for i in reversed(range(count)):
            dy, dparams[i] = layers[i].backward(params[i], cache[i], dy)
        return dy, tuple(dparams)

    return Layer(name=name, init=init, apply=apply, backward=backward)


def with_manual_vjp(layer: Layer, *, train: bool = False) -> Callable[..., Any]:
    """Wrap `layer.apply` as a `jax.custom_vjp` function whose VJP is `layer.backward`.

    Returns `f(params, state, x, key=None) -> (y, new_state)`. `jax.grad`, `jax.vjp`, `vmap`
    and `jit` through `f` then use the hand-written backward; the cotangent of `new_state` is
    ignored and `state` and `key` get zero cotangents (they are not learned).
    """

    @jax.custom_vjp
    def f(params, state, x, key=None):
        y, new_state, _ = layer.apply(params, state, x, train=train, key=key)
        return y, new_state

    def fwd(params, state, x, key=None):
        y, new_state, cache = layer.apply(params, state, x, train=train, key=key)
        return (y, new_state), (params, cache)

    def bwd(residuals, cotangents):
        params, cache = residuals
        dy, _ = cotangents
        dx, dparams = layer.backward(params, cache, dy)
        return dparams, None, dx, None

    f.defvjp(fwd, bwd)
    return f
