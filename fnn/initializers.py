"""Initial weights, in one place: He (Kaiming) normal for layers followed by a ReLU.

He et al. (2015): with W ~ N(0, 2 / fan_in) the variance of a ReLU network's activations
stays constant from layer to layer at initialisation. `fan_in` is D for an affine layer
and k_h k_w C_in for a convolution. Biases start at 0, batch norm's gamma at 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax

__all__ = ["he_std", "he_normal"]


def he_std(fan_in: int, weight_scale: float | None = None) -> float:
    """sqrt(2 / fan_in), or `weight_scale` when given."""
    return math.sqrt(2.0 / fan_in) if weight_scale is None else float(weight_scale)


def he_normal(key: jax.Array, shape: Sequence[int], fan_in: int, weight_scale: float | None = None):
    """A weight of `shape` drawn from N(0, he_std(fan_in, weight_scale)^2)."""
    return he_std(fan_in, weight_scale) * jax.random.normal(key, tuple(shape))
