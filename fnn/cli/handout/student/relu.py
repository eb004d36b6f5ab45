"""ReLU: y = max(0, x), elementwise.

YOUR TASK: write `relu_backward`. Derive it first: DERIVE.md, section "Activations"
(eq:relu-dx). Then check it against fnn's relu:

    fnn gradcheck --layer relu.py:relu --like relu

Shapes: x, y and dx all (N, ...). The layer has no parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import jax

from fnn import Layer


class ReluCache(NamedTuple):
    x: jax.Array  # (N, ...), as apply received it


def relu_backward(cache, dy):
    """dL/dx of the ReLU: eq:relu-dx (DERIVE.md). At exactly x = 0 take the derivative to be 0.

    Args:
        cache: the ReluCache of apply. dy: dL/dy, shaped like x.

    Returns:
        dx, shaped like x.
    """
    raise NotImplementedError("derive it: DERIVE.md, section Activations, eq:relu-dx")


def relu(*, name="relu"):
    """The ReLU layer."""

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jax.nn.relu(x), state, ReluCache(x)

    def backward(params, cache, dy):
        """eq:relu-dx, by relu_backward; no parameters, so no parameter gradients."""
        return relu_backward(cache, dy), {}

    return Layer(name, init, apply, backward)
