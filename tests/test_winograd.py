"""Winograd F(2x2, 3x3) (fnn/winograd.py): the transforms compute a correlation, each backward
stage is the adjoint of its forward stage, the layer's backward equals jax.vjp of its apply in
float64, and configurations it cannot run fail at construction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import gradcheck, layers, winograd
from fnn.layers.conv import CONV_IMPLS, auto_impl

_NHWC = ("NHWC", "HWIO", "NHWC")


def test_f23_transforms_compute_two_correlation_outputs_with_four_products():
    """A^T [(G g) . (B^T d)] = (d0 g0 + d1 g1 + d2 g2, d1 g0 + d2 g1 + d3 g2) for any d, g."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, g = rng.standard_normal(4), rng.standard_normal(3)
        expected = [d[0:3] @ g, d[1:4] @ g]
        np.testing.assert_allclose(
            winograd.A_T @ ((winograd.G @ g) * (winograd.B_T @ d)), expected, atol=1e-12
        )


def test_the_2d_tile_identity():
    """A^T [(G g G^T) . (B^T d B)] A is the 2x2 correlation of a 4x4 tile d with a 3x3 g."""
    rng = np.random.default_rng(1)
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    A_T, G, B_T = winograd.A_T, winograd.G, winograd.B_T
    Y = A_T @ ((G @ g @ G.T) * (B_T @ d @ B_T.T)) @ A_T.T
    expected = [[np.sum(d[o : o + 3, q : q + 3] * g) for q in range(2)] for o in range(2)]
    np.testing.assert_allclose(Y, expected, atol=1e-12)


def inner_products(forward, adjoint, a, c):
    """(<forward(a), c>, <a, adjoint(c)>): equal when `adjoint` is the adjoint of the linear `forward`."""
    return jnp.vdot(forward(a), c), jnp.vdot(a, adjoint(c))


@pytest.mark.parametrize("in_hw, p", [((5, 6), (0, 0)), ((3, 5), (2, 1))])
def test_each_backward_stage_is_the_adjoint_of_its_forward_stage(x64, in_hw, p):
    rng = np.random.default_rng(2)
    x_shape = (2, *in_hw, 3)
    out_hw = (in_hw[0] + 2 * p[0] - 2, in_hw[1] + 2 * p[1] - 2)
    tiles = 2 * (-(-out_hw[0] // 2)) * (-(-out_hw[1] // 2))
    stages = [  # (forward, adjoint, input shape, output shape)
        (lambda x: winograd.input_transform(x, p, out_hw),
         lambda dV: winograd.input_transform_adjoint(dV, x_shape, p, out_hw), x_shape, (16, tiles, 3)),
        (winograd.filter_transform, winograd.filter_transform_adjoint, (3, 3, 3, 4), (16, 3, 4)),
        (lambda M: winograd.output_transform(M, 2, out_hw), winograd.output_transform_adjoint,
         (16, tiles, 4), (2, *out_hw, 4)),
    ]  # fmt: skip
    for forward, adjoint, a_shape, c_shape in stages:
        a, c = jnp.asarray(rng.standard_normal(a_shape)), jnp.asarray(rng.standard_normal(c_shape))
        left, right = jax.jit(inner_products, static_argnums=(0, 1))(forward, adjoint, a, c)
        assert abs(left - right) <= 1e-12 * max(1.0, abs(left))


def winograd_vs_references(in_shape, p, seed):
    """Largest relative errors (max abs difference / max abs value) of a winograd conv2d, in one
    compilation: y vs lax.conv_general_dilated; dx, dW, db vs jax.vjp of apply for a random dy."""
    layer = layers.conv2d(4, 3, padding=p, impl="winograd")
    rng = np.random.default_rng(seed)  # NumPy draws: no compilation per new shape
    x = rng.standard_normal((2, *in_shape))
    params = {"W": rng.standard_normal((3, 3, in_shape[2], 4)), "b": rng.standard_normal(4)}
    dy = rng.standard_normal((2, in_shape[0] + 2 * p[0] - 2, in_shape[1] + 2 * p[1] - 2, 4))  # never ones

    @jax.jit
    def errors(params, x, dy):
        y, vjp, cache = jax.vjp(lambda q, x: layer.apply(q, {}, x)[::2], params, x, has_aux=True)
        pads = [(p[0], p[0]), (p[1], p[1])]
        reference = jax.lax.conv_general_dilated(x, params["W"], (1, 1), pads, dimension_numbers=_NHWC)
        manual = layer.backward(params, cache, dy)
        pairs = [(y, reference + params["b"]), *zip(jax.tree.leaves(manual), jax.tree.leaves(vjp(dy)[::-1]))]
        return jnp.stack([jnp.abs(m - a).max() / jnp.abs(a).max() for m, a in pairs])

    return errors(params, x, dy)


def random_shapes(count, seed=0):
    """(in_shape, padding) drawn at random, padding 0, 1, 2 in turn: output sizes odd or even."""
    rng = np.random.default_rng(seed)
    shapes = []
    for i in range(count):
        p = (i % 3, int(rng.integers(0, 3)))
        H, W = (int(rng.integers(max(1, 3 - 2 * pp), 10)) for pp in p)
        shapes.append(((H, W, int(rng.integers(1, 4))), p))
    return shapes


# hand-picked: odd and even output sizes, padding 0, 2 and mixed, C_in != C_out; then random ones
SHAPES = [((5, 6, 2), (0, 0)), ((4, 3, 1), (2, 2)), ((7, 4, 3), (1, 0)), *random_shapes(3)]


@pytest.mark.parametrize("in_shape, p", SHAPES, ids=str)
def test_forward_equals_lax_and_backward_equals_autodiff_in_float64(x64, in_shape, p):
    y_error, *gradient_errors = winograd_vs_references(in_shape, p, seed=sum(in_shape))
    assert y_error < 1e-12 and max(gradient_errors) < 1e-9, (y_error, gradient_errors)


def test_backward_cites_the_winograd_equations():
    layer = layers.conv2d(4, 3, padding=1, impl="winograd")
    _, params, _ = layer.init(jax.random.key(0), (5, 5, 2))
    cache = jax.eval_shape(lambda p, x: layer.apply(p, {}, x)[2], params, jnp.zeros((1, 5, 5, 2)))
    assert type(cache) is winograd.WinogradConvCache
    assert gradcheck.equation_labels(layer, cache) == (
        "eq:conv-winograd-dx",
        "eq:conv-winograd-dW",
        "eq:conv-db",
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"kernel_size": 5}, {"kernel_size": (3, 1)}, {"kernel_size": 3, "stride": 2}, {"kernel_size": 1}],
)
def test_unsupported_configurations_fail_at_construction_naming_the_supported_one(kwargs):
    with pytest.raises(ValueError, match=r"^conv9: impl='winograd' supports 3x3 kernels with stride 1"):
        layers.conv2d(4, impl="winograd", name="conv9", **kwargs)


def test_auto_never_runs_winograd_where_it_cannot():
    assert "winograd" in CONV_IMPLS
    for kernel_shape in [(5, 5, 3, 8), (1, 1, 64, 8), (3, 1, 8, 8), (2, 2, 1, 4)]:
        assert auto_impl(kernel_shape) != "winograd"
    strided = layers.conv2d(4, 3, stride=2, padding=1)  # auto, stride 2: must run
    _, params, _ = strided.init(jax.random.key(0), (8, 8, 64))
    cache = jax.eval_shape(lambda p, x: strided.apply(p, {}, x)[2], params, jnp.zeros((1, 8, 8, 64)))
    assert not isinstance(cache, winograd.WinogradConvCache)
