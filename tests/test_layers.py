"""Every layer: hand-written backward == jax.vjp on random shapes and hyper-parameters,
forward == an independent reference, and bad input fails with a clear error."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnn
from fnn import layers
from fnn.gradcheck import TOLERANCE, check_layer, distinct_inputs
from fnn.layers.pool import max_and_argmax


@st.composite
def image_shape(draw, min_hw=1):
    return (draw(st.integers(min_hw, 9)), draw(st.integers(min_hw, 9)), draw(st.integers(1, 4)))


@st.composite
def window(draw, max_k=4, pool=False):
    """kernel, stride, padding and an input shape that the padded window fits."""
    k = (draw(st.integers(1, max_k)), draw(st.integers(1, max_k)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = tuple(draw(st.integers(0, kk - 1 if pool else 2)) for kk in k)
    H, W = (draw(st.integers(max(1, kk - 2 * pp), kk + 6)) for kk, pp in zip(k, p))
    return k, s, p, (H, W, draw(st.integers(1, 3)))


@st.composite
def conv_cases(draw):
    k, s, p, in_shape = draw(window())
    impl = draw(st.sampled_from(["direct", "im2col", "xla"]))
    return layers.conv2d(draw(st.integers(1, 4)), k, s, p, impl), in_shape, False


@st.composite
def max_pool_cases(draw):
    k, s, p, in_shape = draw(window(pool=True))
    pad_value = draw(st.sampled_from([-math.inf, 0.0]))
    return layers.max_pool2d(k, s, p, pad_value), in_shape, False


@st.composite
def avg_pool_cases(draw):
    k, s, p, in_shape = draw(window(pool=True))
    return layers.avg_pool2d(k, s, p, draw(st.booleans())), in_shape, False


@st.composite
def batch_norm_cases(draw):
    in_shape = draw(st.one_of(st.tuples(st.integers(1, 6)), image_shape()))
    layer = layers.batch_norm(draw(st.floats(0.0, 1.0)), draw(st.floats(1e-5, 1e-1)))
    return layer, in_shape, draw(st.booleans())


def flat_or_image(draw):
    return draw(st.one_of(st.tuples(st.integers(1, 7)), image_shape()))


@st.composite
def elementwise_cases(draw, make):
    return make(draw), flat_or_image(draw), draw(st.booleans())


STRATEGIES = {
    "affine": elementwise_cases(lambda d: layers.affine(d(st.integers(1, 6)))),
    "relu": elementwise_cases(lambda d: layers.relu()),
    "leaky_relu": elementwise_cases(lambda d: layers.leaky_relu(d(st.floats(-0.5, 0.5)))),
    "sigmoid": elementwise_cases(lambda d: layers.sigmoid()),
    "tanh": elementwise_cases(lambda d: layers.tanh()),
    "elu": elementwise_cases(lambda d: layers.elu(d(st.floats(0.0, 2.0)))),
    "conv2d": conv_cases(),
    "max_pool2d": max_pool_cases(),
    "avg_pool2d": avg_pool_cases(),
    "batch_norm": batch_norm_cases(),
    "dropout": elementwise_cases(lambda d: layers.dropout(d(st.floats(0.0, 0.9)))),
    "flatten": elementwise_cases(lambda d: layers.flatten()),
}


def test_every_layer_has_a_random_gradient_test():
    assert set(STRATEGIES) == set(layers.__all__)


@pytest.mark.parametrize("constructor", sorted(STRATEGIES))
@given(data=st.data())
def test_backward_equals_autodiff_on_random_configurations(constructor, data):
    layer, in_shape, train = data.draw(STRATEGIES[constructor])
    batch = data.draw(st.integers(1, 4))
    seed = data.draw(st.integers(0, 2**31 - 1))
    report = check_layer(layer, in_shape, batch=batch, train=train, seed=seed, finite_differences=False)
    assert report.max_error() < TOLERANCE, report


# Independent forward references: straightforward NumPy loops in float64.


def conv_reference(x, W, b, s, p):
    x = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0)))
    k = W.shape[:2]
    H_out, W_out = ((x.shape[1] - k[0]) // s[0] + 1, (x.shape[2] - k[1]) // s[1] + 1)
    y = np.empty((x.shape[0], H_out, W_out, W.shape[3]))
    for n in range(x.shape[0]):
        for o in range(H_out):
            for q in range(W_out):
                patch = x[n, o * s[0] : o * s[0] + k[0], q * s[1] : q * s[1] + k[1], :]
                y[n, o, q] = np.tensordot(patch, W, axes=3) + b
    return y


def pool_reference(x, k, s, p, reduce, pad_value, count_include_pad=True):
    real = np.pad(np.ones_like(x), ((0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0)))
    x = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0)), constant_values=pad_value)
    H_out, W_out = ((x.shape[1] - k[0]) // s[0] + 1, (x.shape[2] - k[1]) // s[1] + 1)
    y = np.empty((x.shape[0], H_out, W_out, x.shape[3]))
    for o in range(H_out):
        for q in range(W_out):
            rows, cols = slice(o * s[0], o * s[0] + k[0]), slice(q * s[1], q * s[1] + k[1])
            if reduce == "max":
                y[:, o, q] = x[:, rows, cols].max(axis=(1, 2))
            else:
                count = k[0] * k[1] if count_include_pad else real[:, rows, cols].sum(axis=(1, 2))
                y[:, o, q] = x[:, rows, cols].sum(axis=(1, 2)) / count
    return y


@given(window(), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_conv_forward_matches_numpy_loops_and_lax(x64, config, C_out, seed):
    k, s, p, in_shape = config
    outputs = []
    for impl in ("direct", "im2col", "xla"):
        layer = layers.conv2d(C_out, k, s, p, impl)
        out_shape, params, state = layer.init(jax.random.key(seed), in_shape)
        params["b"] = jax.random.normal(jax.random.key(seed + 1), params["b"].shape)
        x = jax.random.normal(jax.random.key(seed + 2), (2, *in_shape))
        y, _, _ = layer.apply(params, state, x)
        assert y.shape == (2, *out_shape)
        outputs.append(np.asarray(y))
    reference = conv_reference(np.asarray(x), np.asarray(params["W"]), np.asarray(params["b"]), s, p)
    lax_y = (
        jax.lax.conv_general_dilated(
            x, params["W"], s, [(p[0], p[0]), (p[1], p[1])], dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        + params["b"]
    )
    for y in outputs:
        np.testing.assert_allclose(y, reference, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(y, lax_y, rtol=1e-10, atol=1e-10)


@given(window(pool=True), st.integers(0, 2**31 - 1), st.booleans())
def test_pool_forward_matches_numpy_loops_and_reduce_window(x64, config, seed, count_include_pad):
    k, s, p, in_shape = config
    x = jnp.asarray(distinct_inputs(np.random.default_rng(seed), (2, *in_shape)))
    xn = np.asarray(x)
    y_max = layers.max_pool2d(k, s, p).apply({}, {}, x)[0]
    np.testing.assert_allclose(y_max, pool_reference(xn, k, s, p, "max", -np.inf), rtol=1e-12)
    pads = ((0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0))
    reduce_window = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, *k, 1), (1, *s, 1), pads)
    np.testing.assert_allclose(y_max, reduce_window, rtol=1e-12)
    y_zero = layers.max_pool2d(k, s, p, pad_value=0.0).apply({}, {}, x)[0]
    np.testing.assert_allclose(y_zero, pool_reference(xn, k, s, p, "max", 0.0), rtol=1e-12)
    y_avg = layers.avg_pool2d(k, s, p, count_include_pad).apply({}, {}, x)[0]
    expected = pool_reference(xn, k, s, p, "avg", 0.0, count_include_pad)
    np.testing.assert_allclose(y_avg, expected, rtol=1e-10, atol=1e-12)


def test_the_three_conv_impls_agree_forward_and_backward_in_float32():
    x = jax.random.normal(jax.random.key(0), (4, 12, 11, 3))
    results = []
    for impl in ("direct", "im2col", "xla"):
        layer = layers.conv2d(5, 3, 2, 1, impl)
        _, params, state = layer.init(jax.random.key(1), x.shape[1:])
        y, _, cache = layer.apply(params, state, x)
        dy = jax.random.normal(jax.random.key(2), y.shape)
        results.append((y, *layer.backward(params, cache, dy)))
    for y, dx, dp in results[1:]:
        np.testing.assert_allclose(y, results[0][0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dx, results[0][1], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dp["W"], results[0][2]["W"], rtol=1e-4, atol=1e-4)


# Conventions


def test_relu_gradient_at_zero_is_zero():
    layer = layers.relu()
    x = jnp.array([[-1.0, 0.0, 2.0]])
    _, _, cache = layer.apply({}, {}, x)
    dx, _ = layer.backward({}, cache, jnp.ones_like(x))
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(dx, jax.grad(lambda v: jax.nn.relu(v).sum())(x))


def test_max_pool_routes_a_tied_window_to_its_first_maximum():
    layer = layers.max_pool2d(2)
    x = jnp.ones((1, 2, 2, 1))
    _, _, cache = layer.apply({}, {}, x)
    dx, _ = layer.backward({}, cache, jnp.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[3.0, 0.0], [0.0, 0.0]])


@given(st.integers(0, 2**31 - 1), st.integers(0, 2), st.sampled_from(["ties", "nan", "-inf"]))
def test_max_and_argmax_equals_jnp_max_and_argmax_with_ties_nan_and_inf(seed, axis, special):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, (3, 4, 5)).astype(np.float32)  # few values: many ties
    if special != "ties":
        a[rng.random(a.shape) < 0.3] = np.nan if special == "nan" else -np.inf
    y, argmax = jax.jit(max_and_argmax, static_argnums=1)(jnp.asarray(a), axis)
    np.testing.assert_array_equal(y, jnp.max(a, axis))
    np.testing.assert_array_equal(argmax, jnp.argmax(a, axis))


def test_max_and_argmax_gradient_goes_to_the_maximum():
    a = jnp.asarray(distinct_inputs(np.random.default_rng(0), (4, 6)))
    weights = jnp.arange(1.0, 5.0)
    grad = jax.grad(lambda v: (weights * max_and_argmax(v, 1)[0]).sum())(a)
    expected = jax.grad(lambda v: (weights * v.max(axis=1)).sum())(a)  # no ties: one max per row
    np.testing.assert_array_equal(grad, expected)


def test_max_pool_default_padding_never_wins():
    x = -jnp.ones((1, 2, 2, 1))
    y, _, _ = layers.max_pool2d(2, stride=2, padding=1).apply({}, {}, x)
    np.testing.assert_array_equal(y, -jnp.ones((1, 2, 2, 1)))
    y0, _, _ = layers.max_pool2d(2, stride=2, padding=1, pad_value=0.0).apply({}, {}, x)
    np.testing.assert_array_equal(y0, jnp.zeros((1, 2, 2, 1)))


def test_he_initialisation_and_weight_scale():
    _, params, _ = layers.conv2d(64, 3).init(jax.random.key(0), (8, 8, 32))
    assert abs(float(params["W"].std()) - math.sqrt(2 / (9 * 32))) < 0.01 * math.sqrt(2 / (9 * 32)) * 5
    assert not params["b"].any()
    _, params, _ = layers.affine(300, weight_scale=1e-3).init(jax.random.key(0), (400,))
    assert abs(float(params["W"].std()) - 1e-3) < 5e-5


# Batch norm modes and running statistics


def test_batch_norm_train_uses_batch_statistics_and_updates_running_ones():
    layer = layers.batch_norm(momentum=0.9)
    x = 3.0 + 2.0 * jax.random.normal(jax.random.key(0), (64, 5, 5, 4))
    _, params, state = layer.init(jax.random.key(1), x.shape[1:])
    y, new_state, _ = layer.apply(params, state, x, train=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1.0, rtol=1e-3)
    np.testing.assert_allclose(new_state["mean"], 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(new_state["var"], 0.9 + 0.1 * x.var(axis=(0, 1, 2)), rtol=1e-5)
    y_eval, same_state, _ = layer.apply(params, new_state, x, train=False)
    assert same_state is new_state
    expected = (x - new_state["mean"]) / jnp.sqrt(new_state["var"] + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_unbiased_running_var_matches_pytorch_rule():
    x = jax.random.normal(jax.random.key(0), (8, 3))
    layer = layers.batch_norm(unbiased_running_var=True)
    _, params, state = layer.init(jax.random.key(1), (3,))
    _, new_state, _ = layer.apply(params, state, x, train=True)
    np.testing.assert_allclose(new_state["var"], 0.9 + 0.1 * np.var(np.asarray(x), axis=0, ddof=1), rtol=1e-5)
    with pytest.raises(ValueError, match="unbiased"):
        layer.apply(params, state, x[:1], train=True)


# Dropout


def test_dropout_zeroes_drop_rate_of_units_and_keeps_the_mean():
    layer = layers.dropout(0.25)
    x = jnp.ones((1000, 100))
    y, _, cache = layer.apply({}, {}, x, train=True, key=jax.random.key(0))
    assert abs(float((y == 0).mean()) - 0.25) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.02
    np.testing.assert_array_equal(layer.apply({}, {}, x)[0], x)
    with pytest.raises(ValueError, match="key"):
        layer.apply({}, {}, x, train=True)


# Bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: layers.affine(0), "out_features"),
        (lambda: layers.affine(2.5), "out_features"),
        (lambda: layers.conv2d(4, 0), "kernel_size"),
        (lambda: layers.conv2d(4, 3, stride=0), "stride"),
        (lambda: layers.conv2d(4, 3, padding=-1), "padding"),
        (lambda: layers.conv2d(4, 3, impl="fft"), "impl"),
        (lambda: layers.max_pool2d(2, padding=2), "padding"),
        (lambda: layers.avg_pool2d((2, 2, 2)), "kernel_size"),
        (lambda: layers.batch_norm(momentum=1.5), "momentum"),
        (lambda: layers.batch_norm(eps=0), "eps"),
        (lambda: layers.dropout(1.0), "drop_rate"),
        (lambda: layers.leaky_relu(float("nan")), "negative_slope"),
        (lambda: layers.elu(-1.0), "alpha"),
    ],
)
def test_bad_hyperparameters_raise_value_error_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_shapes_raise_value_error_naming_the_layer_and_shapes():
    conv = layers.conv2d(4, 3)
    _, params, state = conv.init(jax.random.key(0), (8, 8, 3))
    with pytest.raises(
        ValueError, match=r"conv2d: expected x of shape \(N, H_in, W_in, 3\), got x.shape=\(2, 8, 8, 2\)"
    ):
        conv.apply(params, state, jnp.zeros((2, 8, 8, 2)))
    with pytest.raises(ValueError, match="conv2d"):
        conv.apply(params, state, jnp.zeros((8, 8, 3)))  # no batch axis
    with pytest.raises(ValueError, match="does not fit"):
        conv.apply(params, state, jnp.zeros((2, 2, 2, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        layers.max_pool2d(5).init(jax.random.key(0), (4, 4, 1))
    with pytest.raises(ValueError, match="per-example shape"):
        conv.init(jax.random.key(0), (8, 8))
    affine = layers.affine(3)
    _, params, state = affine.init(jax.random.key(0), (4,))
    with pytest.raises(ValueError, match="affine: expected .* 4 features"):
        affine.apply(params, state, jnp.zeros((2, 5)))
    bn = layers.batch_norm()
    _, params, state = bn.init(jax.random.key(0), (3,))
    with pytest.raises(ValueError, match="batch_norm"):
        bn.apply(params, state, jnp.zeros((2, 4)), train=True)
    with pytest.raises(ValueError, match="batch_norm"):
        bn.init(jax.random.key(0), (2, 3))


def test_params_of_the_wrong_structure_raise_type_error():
    conv = layers.conv2d(4, 3)
    _, params, state = conv.init(jax.random.key(0), (8, 8, 3))
    with pytest.raises(TypeError, match="conv2d: params must be a dict with keys"):
        conv.apply({"W": params["W"]}, state, jnp.zeros((1, 8, 8, 3)))
    with pytest.raises(TypeError, match="params"):
        conv.apply((params["W"], params["b"]), state, jnp.zeros((1, 8, 8, 3)))
    model = fnn.serial(conv, layers.relu())
    _, params, state = model.init(jax.random.key(0), (8, 8, 3))
    with pytest.raises(TypeError, match="serial: params must be a tuple of 2"):
        model.apply(params[:1], state, jnp.zeros((1, 8, 8, 3)))
    with pytest.raises(TypeError, match="relu: params"):
        model.apply((params[0], {"W": 1}), state, jnp.zeros((1, 8, 8, 3)))


def test_shape_errors_are_raised_at_trace_time_under_jit():
    conv = layers.conv2d(4, 3)
    _, params, state = conv.init(jax.random.key(0), (8, 8, 3))
    with pytest.raises(ValueError, match="conv2d"):
        jax.jit(lambda p, x: conv.apply(p, state, x)[0])(params, jnp.zeros((2, 8, 8, 1)))
