"""The Layer contract, `serial`, and the bridge from hand-written backward to `jax.custom_vjp`.

A layer is an immutable record of three pure functions (and a name for errors):

    init(key, in_shape)                               -> (out_shape, params, state)
    apply(params, state, x, *, train=False, key=None) -> (y, new_state, cache)
    backward(params, cache, dy)                       -> (dx, dparams)

Shapes in `init` are per example (no batch axis); arrays in `apply` are batch first. A
backward that runs one of several functions chosen by its cache's type (one cache type per
implementation) lists them as `backward.by_cache = {CacheType: function}`, so that
`fnn.gradcheck` cites the equations of the function that ran.
Derivation of the chain rule through `serial`: derivations/layer.tex (eq:serial-*).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

__all__ = ["Layer", "serial", "with_manual_vjp"]


class Layer(NamedTuple):
    """Three pure functions and a name; see the module docstring for their signatures."""

    name: str
    init: Callable[..., Any]
    apply: Callable[..., Any]
    backward: Callable[..., Any]


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
        """Run the children in order; each gets its own key split from `key` (None: none).

        Args:
            params, state: tuples of the children's. x: the first child's input (N, ...).

        Returns:
            (y, new_state, cache): the last child's output; tuples of the children's.
        """
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
        """Implements eq:serial-chain: dx of layer l is dy of layer l - 1.

        Args:
            params, cache: tuples of the children's. dy: like the last child's output.

        Returns:
            (dx, dparams): dx like the input x; dparams a tuple of the children's.
        """
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
