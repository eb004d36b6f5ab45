"""Inverted dropout. `drop_rate` is the probability of ZEROING a unit (not of keeping it).

YOUR TASK: write `dropout_backward`. Derive it first: DERIVE.md, section "Dropout"
(eq:dropout-dx). Then check it against fnn's dropout (its cases run both modes):

    fnn gradcheck --layer dropout.py:dropout --like dropout

Train mode: mask ~ Bernoulli(1 - drop_rate) drawn from `key`, y = x * mask / (1 - drop_rate),
so that E[y] = x; eval mode: y = x. Shapes: x, y, dx all (N, ...).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import Layer


class DropoutCache(NamedTuple):
    mask: jax.Array  # like x: what x was multiplied by (0 or 1 / (1 - drop_rate); 1 in eval mode)


def dropout_backward(cache, dy):
    """dL/dx of dropout: eq:dropout-dx (DERIVE.md).

    Args:
        cache: the DropoutCache of apply. dy: dL/dy, shaped like x.

    Returns:
        dx, shaped like x.
    """
    raise NotImplementedError("derive it: DERIVE.md, section Dropout, eq:dropout-dx")


def dropout(drop_rate, *, name="dropout"):
    """Dropout zeroing each unit with probability drop_rate in train mode."""

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        if not train or drop_rate == 0.0:
            return x, state, DropoutCache(jnp.ones_like(x))
        keep = jax.random.bernoulli(key, 1.0 - drop_rate, x.shape)  # (1) the same draw as fnn's
        mask = keep.astype(x.dtype) / (1.0 - drop_rate)
        return x * mask, state, DropoutCache(mask)  # (2)

    def backward(params, cache, dy):
        """eq:dropout-dx, by dropout_backward; no parameters, so no parameter gradients."""
        return dropout_backward(cache, dy), {}

    return Layer(name, init, apply, backward)
