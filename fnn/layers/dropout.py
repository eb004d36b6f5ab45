"""Inverted dropout. Derivation: derivations/dropout.tex (eq:dropout-*).

NOTE: `drop_rate` is the probability of ZEROING a unit, not of keeping it (many courses
write p for the keep probability). In train mode y = x * mask / (1 - drop_rate) with
mask ~ Bernoulli(1 - drop_rate), so E[y] = x and test mode is the identity.

Shapes: any (N, ...); y, dx and the cached mask have the shape of x. In test mode (or with
drop_rate = 0) the layer is the identity and its cache keeps x, for its shape only.
"""

from __future__ import annotations

from typing import NamedTuple

import jax

from fnn import checks
from fnn.layer import Layer, constructor

__all__ = ["DropoutCache", "DropoutIdentityCache", "dropout"]


class DropoutCache(NamedTuple):
    mask: jax.Array  # like x: 0 or 1 / (1 - drop_rate)


class DropoutIdentityCache(NamedTuple):
    x: jax.Array  # test mode or drop_rate = 0: only x's shape and dtype are used, free under jit


EQUATIONS = ((DropoutCache, ("eq:dropout-dx",)), (DropoutIdentityCache, ("eq:dropout-dx",)))


@constructor
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
            (y, state, cache): y like x; the cache keeps the scaled mask (in test mode, x).
        """
        _, x = checks.layer_inputs(name, params, {}, x)
        if not train or drop_rate == 0.0:
            return x, state, DropoutIdentityCache(x)
        if key is None:
            raise ValueError(
                f"{name}: train=True needs a PRNG key for the dropout mask: "
                "apply(params, state, x, train=True, key=jax.random.key(0))"
            )
        keep = jax.random.bernoulli(key, 1.0 - drop_rate, x.shape)  # (1)
        mask = keep.astype(x.dtype) / (1.0 - drop_rate)
        return x * mask, state, DropoutCache(mask)  # (2)

    def backward(params, cache, dy):
        """Implements eq:dropout-dx: dx = dy * mask (dx = dy in test mode).

        Args:
            params: {}. cache: DropoutCache, or DropoutIdentityCache (test mode). dy: like y.

        Returns:
            (dx, {}): dx like x.
        """
        if isinstance(cache, DropoutIdentityCache):  # test mode: dx = dy
            return checks.cotangent(name, dy, cache.x.shape, cache.x.dtype, "like x and y"), {}
        dy = checks.cotangent(name, dy, cache.mask.shape, cache.mask.dtype, "like x and y")
        return dy * cache.mask, {}  # (2)

    return Layer(name, init, apply, backward, equations=EQUATIONS)
