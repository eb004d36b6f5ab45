import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnn.im2col import col2im, im2col, output_size, windows


@st.composite
def window_configs(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H = draw(st.integers(max(1, k[0] - 2 * p[0]), 9))
    W = draw(st.integers(max(1, k[1] - 2 * p[1]), 9))
    return (draw(st.integers(1, 3)), H, W, draw(st.integers(1, 3))), k, s, p


@given(window_configs(), st.integers(0, 2**31 - 1))
def test_col2im_is_the_adjoint_of_im2col(x64, config, seed):
    """<im2col(x), c> == <x, col2im(c)>, overlapping windows and padding included."""
    shape, k, s, p = config
    rng = np.random.default_rng(seed)  # NumPy draws: no compilation per new shape
    x = jnp.asarray(rng.standard_normal(shape))
    cols_shape = jax.eval_shape(lambda x: im2col(x, k, s, p), x).shape
    c = jnp.asarray(rng.standard_normal(cols_shape))
    # one compilation per example instead of one per eager op
    lhs, rhs = jax.jit(
        lambda x, c: (jnp.vdot(im2col(x, k, s, p), c), jnp.vdot(x, col2im(c, shape, k, s, p)))
    )(x, c)
    assert abs(float(lhs - rhs)) <= 1e-10 * max(1.0, abs(float(lhs)))


def test_im2col_rows_are_windows_in_i_j_c_order():
    x = jnp.arange(2 * 4 * 5 * 3, dtype=jnp.float32).reshape(2, 4, 5, 3)
    cols = im2col(x, (2, 3), (2, 1), (0, 0))
    assert cols.shape == (2, 2, 3, 18)
    np.testing.assert_array_equal(cols[1, 1, 2], np.asarray(x[1, 2:4, 2:5, :]).reshape(-1))


def test_output_size_floor_and_errors():
    assert output_size("t", (28, 28), (3, 3), (1, 1), (1, 1)) == (28, 28)
    assert output_size("t", (8, 7), (3, 3), (2, 2), (0, 0)) == (3, 3)  # floor
    with pytest.raises(ValueError, match="does not fit"):
        output_size("t", (2, 5), (3, 3), (1, 1), (0, 0))


@pytest.mark.parametrize("k", [(2, 2), (2, 3), (4, 1)])
def test_tiling_windows_take_the_reshape_path_and_agree_with_slicing(x64, k):
    """stride = kernel, no padding, divisible input: windows and col2im are reshapes."""
    x = jax.random.normal(jax.random.key(0), (2, 8, 6 if k[1] != 4 else 8, 3))
    tiled = windows(x, k, k, (0, 0))
    H_out, W_out = x.shape[1] // k[0], x.shape[2] // k[1]
    sliced = jnp.stack(
        [
            x[:, i : i + k[0] * (H_out - 1) + 1 : k[0], j : j + k[1] * (W_out - 1) + 1 : k[1], :]
            for i in range(k[0])
            for j in range(k[1])
        ],
        axis=3,
    )
    np.testing.assert_array_equal(tiled, sliced)
    c = jax.random.normal(jax.random.key(1), tiled.shape)
    np.testing.assert_allclose(jnp.vdot(tiled, c), jnp.vdot(x, col2im(c, x.shape, k, k, (0, 0))), rtol=1e-12)
