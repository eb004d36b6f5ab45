"""Initial weights, in one place: He (Kaiming) normal for layers followed by a ReLU, Xavier
(Glorot) normal for layers followed by a sigmoid or tanh.

He et al. (2015): with W ~ N(0, 2 / fan_in) the variance of a ReLU network's activations
stays constant from layer to layer at initialisation. Glorot and Bengio (2010): W ~ N(0, 2 /
(fan_in + fan_out)) keeps both the activations' and the gradients' variance near constant for
activations that are linear near 0 (tanh; sigmoid up to its slope 1/4). `fan_in` is D for an
affine layer and k_h k_w C_in for a convolution; `fan_out` is M. Biases start at 0, batch
norm's gamma at 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax

__all__ = ["INITS", "he_std", "he_normal", "xavier_std", "weight_std"]

INITS = ("he", "xavier")


def he_std(fan_in: int, weight_scale: float | None = None) -> float:
    """sqrt(2 / fan_in), or `weight_scale` when given."""
    return math.sqrt(2.0 / fan_in) if weight_scale is None else float(weight_scale)


def he_normal(key: jax.Array, shape: Sequence[int], fan_in: int, weight_scale: float | None = None):
    """A weight of `shape` drawn from N(0, he_std(fan_in, weight_scale)^2)."""
    return he_std(fan_in, weight_scale) * jax.random.normal(key, tuple(shape))


def xavier_std(fan_in: int, fan_out: int) -> float:
    """sqrt(2 / (fan_in + fan_out)): Xavier (Glorot) normal."""
    return math.sqrt(2.0 / (fan_in + fan_out))


def weight_std(init: str, fan_in: int, fan_out: int, weight_scale: float | None = None) -> float:
    """The initial weights' standard deviation: `weight_scale` when given, else by `init`
    ("he": he_std, "xavier": xavier_std)."""
    if weight_scale is not None:
        return float(weight_scale)
    return he_std(fan_in) if init == "he" else xavier_std(fan_in, fan_out)
