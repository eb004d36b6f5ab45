"""Inverted dropout. Derivation: derivations/dropout.tex (eq:dropout-*).

NOTE: `drop_rate` is the probability of ZEROING a unit, not of keeping it (many courses
write p for the keep probability). In train mode y = x * mask / (1 - drop_rate) with
mask ~ Bernoulli(1 - drop_rate), so E[y] = x and test mode is the identity.

Shapes: any (N, ...); y, dx and the cached mask have the shape of x.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import checks
from fnn.layer import Layer

__all__ = ["DropoutCache", "dropout"]


class DropoutCache(NamedTuple):
    mask: jax.Array  # like x: 0 or 1 / (1 - drop_rate); a scalar 1 in test mode


def dropout(drop_rate: float, *, name: str = "dropout") -> Layer:
    """Zero each unit with probability `drop_rate` in train mode and rescale the rest.

    Args:
        drop_rate: probability of zeroing, in [0, 1).
    """
    drop_rate = checks.probability(name, "drop_rate (the probability of zeroing)", drop_rate)

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        """y = x * mask / (1 - drop_rate) in train mode, y = x in test mode.

        Args:
            params: {}. x: (N, ...). train: drop or not. key: a PRNG key, needed when train.

        Returns:
            (y, state, cache): y like x; the cache keeps the scaled mask.
        """
        checks.params_keys(name, params, ())
        if not train or drop_rate == 0.0:
            return x, state, DropoutCache(jnp.ones((), x.dtype))
        if key is None:
            raise ValueError(
                f"{name}: train=True needs a PRNG key for the dropout mask: "
                "apply(params, state, x, train=True, key=jax.random.key(0))"
            )
        keep = jax.random.bernoulli(key, 1.0 - drop_rate, x.shape)  # (1)
        mask = keep.astype(x.dtype) / (1.0 - drop_rate)
        return x * mask, state, DropoutCache(mask)  # (2)

    def backward(params, cache, dy):
        """Implements eq:dropout-dx.

        Args:
            params: {}. cache: DropoutCache. dy: like y.

        Returns:
            (dx, {}): dx like x.
        """
        return dy * cache.mask, {}

    return Layer(name=name, init=init, apply=apply, backward=backward)
