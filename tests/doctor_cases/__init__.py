"""A blind test set for fnn's gradient doctor (`fnn.gradcheck.diagnose`).

Each case is a layer written from scratch, as a learner would write it, with the bug a learner
writes in its backward, and the kinds that are a correct answer for each wrong gradient array.
`tuning.CASES` is one half of the buggy layers (improve the doctor's rules on it),
`heldout.CASES` the other half (measure the rules on it, never tune on it), `controls.CASES`
correct layers of the same families (`expected == {}`). How the set was made: README.md.
`tests/test_doctor_cases.py` checks the data set itself against `jax.vjp`, not the doctor.

The helpers below are correct forward passes shared by the cases, so that each case's own code
is its backward, where the bug lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from fnn import Layer

__all__ = ["DoctorCase", "KINDS", "conv_out", "conv_forward", "window_stack", "window_slice"]

KINDS = (
    "shape",
    "zero",
    "sign",
    "scale",
    "transpose",
    "batch-sum",
    "border",
    "overlap",
    "local",
    "mismatch",
    "branch",
    "routing",
    "factor",
    "coupling",
    "precision",
)  # every kind a wrong array may be labelled with ("ok" is never a label: ok arrays are unlisted)


class DoctorCase(NamedTuple):
    """One layer and what a correct diagnosis of its backward says."""

    name: str  # unique, e.g. "sigmoid_uses_input_not_output"
    make_layer: Callable[[], Layer]
    in_shape: tuple[int, ...]  # per example, e.g. (6,) or (8, 8, 3)
    train: bool  # train mode (batch norm)
    expected: dict[str, tuple[str, ...]]  # wrong array ("dx", "W", ...) -> kinds that are correct
    note: str  # one line: the bug in the learner's words


def conv_out(size: int, k: int, s: int, p: int) -> int:
    """Output size of a k-window with stride s over size + 2p (floor)."""
    return (size + 2 * p - k) // s + 1


def window_slice(i: int, s: int, count: int) -> slice:
    """The `count` positions i, i + s, ... that window offset i touches, one per output position."""
    return slice(i, i + s * (count - 1) + 1, s)


def conv_forward(x: jax.Array, W: jax.Array, b: jax.Array, s: int, p: int) -> tuple[jax.Array, jax.Array]:
    """y = x * W + b for x (N, H_in, W_in, C_in), W (k, k, C_in, C_out) HWIO, zero padding p,
    stride s (cross-correlation, as every deep-learning conv). Returns (y, x_pad)."""
    x_pad = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    y = lax.conv_general_dilated(x_pad, W, (s, s), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + b, x_pad


def window_stack(x: jax.Array, k: int, s: int) -> jax.Array:
    """The k x k windows of x (N, H, W, C) with stride s: (N, H_out, W_out, k*k, C), offsets in
    row-major order (offset i*k + j is row i, column j of the window)."""
    H_out, W_out = conv_out(x.shape[1], k, s, 0), conv_out(x.shape[2], k, s, 0)
    return jnp.stack(
        [x[:, window_slice(i, s, H_out), window_slice(j, s, W_out), :] for i in range(k) for j in range(k)],
        axis=3,
    )
