"""Every layer: hand-written backward == jax.vjp on random shapes and hyper-parameters,
forward == an independent reference, and bad input fails with a clear error."""

import inspect
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
from fnn.layers.conv import (
    AUTO_IM2COL_MAX_PATCH,
    CONV_IMPLS,
    DirectConvCache,
    Im2colConvCache,
    XlaConvCache,
    auto_impl,
)
from fnn.winograd import WinogradConvCache


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
def winograd_window(draw):
    """A 3x3, stride-1 window (what impl="winograd" runs), padding 0-2, odd and even output sizes."""
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H, W = (draw(st.integers(max(1, 3 - 2 * pp), 8)) for pp in p)
    return (3, 3), (1, 1), p, (H, W, draw(st.integers(1, 3)))


@st.composite
def conv_cases(draw):
    impl = draw(st.sampled_from(CONV_IMPLS))
    k, s, p, in_shape = draw(winograd_window() if impl == "winograd" else window())
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
    rng = np.random.default_rng(seed)  # NumPy draws: no compilation per new shape
    x = jnp.asarray(rng.standard_normal((2, *in_shape)))
    params = {
        "W": jnp.asarray(rng.standard_normal((*k, in_shape[2], C_out))),
        "b": jnp.asarray(rng.standard_normal(C_out)),
    }
    out_shape, _, _ = layers.conv2d(C_out, k, s, p).init(jax.random.key(seed), in_shape)
    reference = conv_reference(np.asarray(x), np.asarray(params["W"]), np.asarray(params["b"]), s, p)
    lax_y = (
        jax.lax.conv_general_dilated(
            x, params["W"], s, [(p[0], p[0]), (p[1], p[1])], dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        + params["b"]
    )
    impls = ("direct", "im2col", "xla") + (("winograd",) if (k, s) == ((3, 3), (1, 1)) else ())
    for impl in impls:
        y, _, _ = layers.conv2d(C_out, k, s, p, impl).apply(params, {}, x)
        assert y.shape == (2, *out_shape)
        np.testing.assert_allclose(y, reference, rtol=1e-10, atol=1e-10, err_msg=impl)
        np.testing.assert_allclose(y, lax_y, rtol=1e-10, atol=1e-10, err_msg=impl)


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


# auto: k_h k_w C_in = 9 runs im2col, 63 runs xla; winograd runs stride 1 only (odd output 11x10 here)
@pytest.mark.parametrize("C_in, stride", [(1, 2), pytest.param(7, 2, marks=pytest.mark.slow), (3, 1)])
def test_the_conv_impls_agree_forward_and_backward_in_float32(C_in, stride):
    x = jax.random.normal(jax.random.key(0), (4, 12, 11, C_in))
    results = {}
    out_shape, params, _ = layers.conv2d(5, 3, stride, 1).init(jax.random.key(1), x.shape[1:])
    dy = jax.random.normal(jax.random.key(2), (4, *out_shape))
    for impl in CONV_IMPLS if stride == 1 else [i for i in CONV_IMPLS if i != "winograd"]:
        layer = layers.conv2d(5, 3, stride, 1, impl)

        @jax.jit  # one compilation instead of one per eager op
        def forward_backward(params, x, dy, layer=layer):
            y, _, cache = layer.apply(params, {}, x)
            return (y, *layer.backward(params, cache, dy))

        results[impl] = forward_backward(params, x, dy)
    reference = results["direct"]
    for impl, (y, dx, dp) in results.items():
        np.testing.assert_allclose(y, reference[0], rtol=1e-4, atol=1e-5, err_msg=impl)
        np.testing.assert_allclose(dx, reference[1], rtol=1e-4, atol=1e-5, err_msg=impl)
        np.testing.assert_allclose(dp["W"], reference[2]["W"], rtol=1e-4, atol=1e-4, err_msg=impl)
        np.testing.assert_allclose(dp["b"], reference[2]["b"], rtol=1e-4, atol=1e-4, err_msg=impl)
    chosen = results[auto_impl((3, 3, C_in, 5))]  # auto runs exactly the impl it chose
    for got, want in zip(jax.tree.leaves(results["auto"]), jax.tree.leaves(chosen)):
        np.testing.assert_array_equal(got, want)


def conv_cache_type(impl, kernel_size, C_in):
    """The cache type conv2d's apply returns (traced abstractly: nothing is computed)."""
    layer = layers.conv2d(2, kernel_size, padding=1, impl=impl)
    _, params, state = layer.init(jax.random.key(0), (6, 6, C_in))
    x = jnp.zeros((2, 6, 6, C_in))
    return type(jax.eval_shape(lambda p, x: layer.apply(p, state, x)[2], params, x))


@pytest.mark.parametrize("kernel_size, C_in", [(3, 1), ((2, 3), 2), (3, 8)])  # patch 9, 12, 72
def test_each_conv_impl_runs_its_own_path_and_auto_follows_its_rule(kernel_size, C_in):
    assert conv_cache_type("direct", kernel_size, C_in) is DirectConvCache
    assert conv_cache_type("im2col", kernel_size, C_in) is Im2colConvCache
    assert conv_cache_type("xla", kernel_size, C_in) is XlaConvCache  # also for a small patch
    if kernel_size == 3:
        assert conv_cache_type("winograd", kernel_size, C_in) is WinogradConvCache
    k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    small = k[0] * k[1] * C_in <= AUTO_IM2COL_MAX_PATCH
    assert conv_cache_type("auto", kernel_size, C_in) is (Im2colConvCache if small else XlaConvCache)


def test_auto_rule_switches_to_xla_above_the_measured_patch_size():
    T = AUTO_IM2COL_MAX_PATCH
    assert auto_impl((1, 1, T, 8)) == "im2col" and auto_impl((1, 1, T + 1, 8)) == "xla"
    assert auto_impl((3, 3, 1, 32)) == "im2col"  # the MNIST CNN's first conv
    assert auto_impl((3, 3, 32, 64)) == "xla"  # its second
    assert inspect.signature(layers.conv2d).parameters["impl"].default == "auto"


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
        (lambda: layers.conv2d(4, 3, weight_scale=0.0), "weight_scale"),
        (lambda: layers.affine(3, weight_scale=-1.0), "weight_scale"),
        (lambda: layers.max_pool2d(2, padding=2), "padding"),
        (lambda: layers.avg_pool2d((2, 2, 2)), "kernel_size"),
        (lambda: layers.batch_norm(momentum=1.5), "momentum"),
        (lambda: layers.batch_norm(momentum=True), "momentum"),
        (lambda: layers.batch_norm(eps=0), "eps"),
        (lambda: layers.batch_norm(eps=True), "eps"),
        (lambda: layers.dropout(1.0), "drop_rate"),
        (lambda: layers.dropout(True), "drop_rate"),
        (lambda: layers.leaky_relu(float("nan")), "negative_slope"),
        (lambda: layers.elu(-1.0), "alpha"),
    ],
)
def test_bad_hyperparameters_raise_value_error_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_hyperparameter_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"^conv7: stride .*got 0$"):
        layers.conv2d(4, 3, stride=0, name="conv7")
    with pytest.raises(ValueError, match=r"^bn2: momentum .*got True$"):
        layers.batch_norm(momentum=True, name="bn2")


def test_bad_shapes_raise_value_error_naming_the_layer_and_shapes():
    conv = layers.conv2d(4, 3)
    _, params, state = conv.init(jax.random.key(0), (8, 8, 3))
    with pytest.raises(
        ValueError,
        match=r"^conv2d: params\['W'\] has shape \(3, 3, 3, 4\), expected \(3, 3, 2, 4\) \(.*2 input channels in x",
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
    with pytest.raises(ValueError, match=r"^affine: params\['W'\] has shape \(4, 3\), expected \(5, 3\)"):
        affine.apply(params, state, jnp.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"^affine: expected x of shape \(N, \.\.\.\)"):
        affine.apply(params, state, jnp.zeros(4))
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
