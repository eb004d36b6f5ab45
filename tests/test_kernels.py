"""The speed primitives equal the plain jnp expressions they replace."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fnn.gradcheck import distinct_inputs
from fnn.kernels import max_and_argmax, sum_rows

_max_and_argmax = jax.jit(max_and_argmax, static_argnums=1)


@given(st.lists(st.integers(1, 7), min_size=1, max_size=4), st.integers(0, 2**31 - 1))
def test_sum_rows_sums_every_axis_but_the_last(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    expected = a.reshape(-1, shape[-1]).astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(jax.jit(sum_rows)(jnp.asarray(a)), expected, rtol=1e-5, atol=1e-5)


@given(st.integers(0, 2**31 - 1), st.integers(0, 2), st.sampled_from(["ties", "nan", "-inf"]))
def test_max_and_argmax_equals_jnp_max_and_argmax_with_ties_nan_and_inf(seed, axis, special):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, (3, 4, 5)).astype(np.float32)  # few values: many ties
    if special != "ties":
        a[rng.random(a.shape) < 0.3] = np.nan if special == "nan" else -np.inf
    y, argmax = _max_and_argmax(jnp.asarray(a), axis)
    np.testing.assert_array_equal(y, jnp.max(a, axis))
    np.testing.assert_array_equal(argmax, jnp.argmax(a, axis))


def test_max_and_argmax_gradient_goes_to_the_maximum():
    a = jnp.asarray(distinct_inputs(np.random.default_rng(0), (4, 6)))
    weights = jnp.arange(1.0, 5.0)
    grad = jax.grad(lambda v: (weights * max_and_argmax(v, 1)[0]).sum())(a)
    expected = jax.grad(lambda v: (weights * v.max(axis=1)).sum())(a)  # no ties: one max per row
    np.testing.assert_array_equal(grad, expected)
