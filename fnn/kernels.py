"""Primitives written for speed on one backend, not for reading; each equals a plain jnp one-liner.

A layer file reads like its derivation and calls these with a one-line reason; the measured
history of each (before and after, shapes, machine) is in benchmarks/RESULTS.md, "Where the
CPU time went".

- `sum_rows(a)` is `a.sum(axis=(0, ..., a.ndim - 2))` written as the product of a ones vector
  with the (rows, C) matrix. XLA:CPU runs a reduction over many rows on one core and a
  matrix-vector product on every core, so bias gradients and batch-norm statistics over
  (N, H, W) take a fraction of the time. HIGHEST precision keeps GPUs from rounding to TF32.
- `max_and_argmax(a, axis)` is `(a.max(axis), jnp.argmax(a, axis))` in one variadic reduction:
  one pass over `a` instead of two (and no transposed copy), for max pooling's forward. Its
  custom JVP keeps it differentiable, so `jax.grad` of a pooling `apply` still works.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["sum_rows", "max_and_argmax"]


def sum_rows(a: jax.Array) -> jax.Array:
    """The sum of `a` over every axis but the last.

    Args:
        a: (..., C), e.g. dy of shape (N, H_out, W_out, C_out).

    Returns:
        (C,), the sum over all other axes (a bias gradient, a batch statistic).
    """
    rows = a.reshape(-1, a.shape[-1])
    return jnp.dot(jnp.ones(rows.shape[0], a.dtype), rows, precision=lax.Precision.HIGHEST)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def max_and_argmax(a: jax.Array, axis: int) -> tuple[jax.Array, jax.Array]:
    """`a.max(axis)` and `jnp.argmax(a, axis)` in one pass over `a`.

    The argmax is the first maximal index, and NaN counts as the largest value, as in
    `jnp.argmax`. Under `jax.grad` the max's tangent is that of the element the argmax picks.

    Args:
        a: any shape; `axis` a static int.

    Returns:
        (max, argmax), both of a's shape without `axis`; argmax is int32.
    """

    def larger(best, candidate):
        (u, i), (v, j) = best, candidate
        take = (v > u) | ((v == u) & (j < i)) | (jnp.isnan(v) & ~(jnp.isnan(u) & (i < j)))
        return jnp.where(take, v, u), jnp.where(take, j, i)

    index = lax.broadcasted_iota(jnp.int32, a.shape, axis)
    init = (jnp.array(-jnp.inf, a.dtype), jnp.array(a.shape[axis], jnp.int32))
    return lax.reduce((a, index), init, larger, (axis,))


@max_and_argmax.defjvp
def _max_and_argmax_jvp(axis, primals, tangents):
    (a,), (a_dot,) = primals, tangents
    y, argmax = max_and_argmax(a, axis)
    y_dot = jnp.take_along_axis(a_dot, jnp.expand_dims(argmax, axis), axis).squeeze(axis)
    return (y, argmax), (y_dot, np.zeros(argmax.shape, jax.dtypes.float0))
