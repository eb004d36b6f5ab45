"""Library misuse fails where it happens: params that do not fit the layer, a dy not shaped like
the layer's output, or a non-floating x raise an error naming the layer, the array and the
expected shape; half-precision input computes in its own dtype, the same for every conv impl."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnn
from fnn import layers
from fnn.layers.conv import CONV_IMPLS


def prepared(layer, in_shape, *, batch=2, train=False):
    """(layer, params, state, x, y, cache) for a small random x of (batch, *in_shape)."""
    _, params, state = layer.init(jax.random.key(0), in_shape)
    x = jax.random.normal(jax.random.key(1), (batch, *in_shape))
    y, _, cache = layer.apply(params, state, x, train=train, key=jax.random.key(2))
    return layer, params, state, x, y, cache


def conv(impl="xla"):
    return prepared(layers.conv2d(4, 3, impl=impl, name=f"conv_{impl}"), (6, 6, 2))


def affine():
    return prepared(layers.affine(3, name="fc1"), (2, 2))


def batch_norm(train=True):
    return prepared(layers.batch_norm(name="bn1"), (4, 4, 3), train=train)


def with_params(setup, **arrays):
    """apply with params (or, for keys state_*, state) changed as given; None removes a key."""
    layer, params, state, x, _, _ = setup
    params, state = dict(params), dict(state)
    for key, value in arrays.items():
        target, key = (state, key[6:]) if key.startswith("state_") else (params, key)
        target.pop(key) if value is None else target.__setitem__(key, value)
    return lambda: layer.apply(params, state, x, train=True, key=jax.random.key(2))


def with_dy(setup, dy_shape):
    """backward with a dy of dy_shape instead of y's."""
    layer, params, _, _, _, cache = setup
    return lambda: layer.backward(params, cache, jnp.ones(dy_shape))


def backward_with_params(setup, **arrays):
    """backward with params changed as given (a kernel of the wrong size reaching backward)."""
    layer, params, _, _, y, cache = setup
    return lambda: layer.backward({**params, **arrays}, cache, y)


# (id, error type, a call that must fail, the layer's name, what the message must show)
CASES = [
    *[
        (f"conv {impl}: 5x5 kernel for a 3x3 layer", ValueError,
         lambda impl=impl: with_params(conv(impl), W=jnp.ones((5, 5, 2, 4))), f"conv_{impl}", "(3, 3, 2, 4)")
        for impl in CONV_IMPLS
    ],
    ("conv: 5x5 kernel reaching backward", ValueError,
     lambda: backward_with_params(conv("direct"), W=jnp.ones((5, 5, 2, 4))), "conv_direct", "(3, 3, 2, 4)"),
    ("conv: wrong filter count", ValueError, lambda: with_params(conv(), W=jnp.ones((3, 3, 2, 5))), "conv_xla",
     "(3, 3, 2, 4)"),
    ("conv: weight of rank 3", ValueError, lambda: with_params(conv(), W=jnp.ones((3, 3, 2))), "conv_xla",
     "(3, 3, 2, 4)"),
    ("conv: bias of the wrong shape", ValueError, lambda: with_params(conv(), b=jnp.ones(3)), "conv_xla", "(4,)"),
    ("conv: bias of rank 2", ValueError, lambda: with_params(conv(), b=jnp.ones((1, 4))), "conv_xla", "(4,)"),
    ("conv: missing key", TypeError, lambda: with_params(conv(), b=None), "conv_xla", "['W', 'b']"),
    ("conv: extra key", TypeError, lambda: with_params(conv(), gamma=jnp.ones(4)), "conv_xla", "['W', 'b']"),
    ("affine: weight of rank 1", ValueError, lambda: with_params(affine(), W=jnp.ones(12)), "fc1", "(4, 3)"),
    ("affine: weight of rank 3", ValueError, lambda: with_params(affine(), W=jnp.ones((4, 3, 1))), "fc1",
     "(4, 3)"),
    ("affine: wrong output count", ValueError, lambda: with_params(affine(), W=jnp.ones((4, 2))), "fc1", "(4, 2)"),
    ("affine: bias of the wrong shape", ValueError, lambda: with_params(affine(), b=jnp.ones((1, 3))), "fc1",
     "(3,)"),
    ("affine: extra key", TypeError, lambda: with_params(affine(), c=jnp.ones(3)), "fc1", "['W', 'b']"),
    ("batch_norm: gamma of the wrong shape", ValueError, lambda: with_params(batch_norm(), gamma=jnp.ones(4)),
     "bn1", "(3,)"),
    ("batch_norm: beta of rank 2", ValueError, lambda: with_params(batch_norm(), beta=jnp.ones((1, 3))), "bn1",
     "(3,)"),
    ("batch_norm: running var of the wrong shape", ValueError,
     lambda: with_params(batch_norm(), state_var=jnp.ones(4)), "bn1", "(3,)"),
    ("batch_norm: missing key", TypeError, lambda: with_params(batch_norm(), beta=None), "bn1",
     "['beta', 'gamma']"),
    *[
        (f"conv {impl}: dy of the wrong spatial shape", ValueError,
         lambda impl=impl: with_dy(conv(impl), (2, 5, 5, 4)), f"conv_{impl}", "(2, 4, 4, 4)")
        for impl in CONV_IMPLS
    ],
    ("conv: dy with the wrong channel count", ValueError, lambda: with_dy(conv("im2col"), (2, 4, 4, 3)),
     "conv_im2col", "(2, 4, 4, 4)"),
    ("affine: dy of the wrong shape", ValueError, lambda: with_dy(affine(), (2, 4)), "fc1", "(2, 3)"),
    ("max_pool2d: dy shaped like x", ValueError,
     lambda: with_dy(prepared(layers.max_pool2d(2, name="pool1"), (6, 6, 3)), (2, 6, 6, 3)), "pool1",
     "(2, 3, 3, 3)"),
    ("avg_pool2d: dy of the wrong shape", ValueError,
     lambda: with_dy(prepared(layers.avg_pool2d(3, 2, 1, name="pool2"), (6, 5, 3)), (2, 3, 2, 3)), "pool2",
     "(2, 3, 3, 3)"),
    ("batch_norm train: dy of the wrong shape", ValueError, lambda: with_dy(batch_norm(), (2, 4, 4, 1)), "bn1",
     "(2, 4, 4, 3)"),
    ("batch_norm eval: dy of the wrong shape", ValueError, lambda: with_dy(batch_norm(False), (3, 4, 4, 3)),
     "bn1", "(2, 4, 4, 3)"),
    *[
        (f"{kind}: dy of the wrong shape", ValueError,
         lambda make=make: with_dy(prepared(make(name="act1"), (5,)), (2, 4)), "act1", "(2, 5)")
        for kind, make in [("relu", layers.relu), ("sigmoid", layers.sigmoid), ("tanh", layers.tanh),
                           ("leaky_relu", layers.leaky_relu), ("elu", layers.elu)]
    ],
    ("dropout train: dy of the wrong shape", ValueError,
     lambda: with_dy(prepared(layers.dropout(0.5, name="drop1"), (5,), train=True), (2, 4)), "drop1", "(2, 5)"),
    ("dropout eval: dy of the wrong shape", ValueError,
     lambda: with_dy(prepared(layers.dropout(0.5, name="drop1"), (5,)), (2, 4)), "drop1", "(2, 5)"),
    ("flatten: dy of the unflattened shape", ValueError,
     lambda: with_dy(prepared(layers.flatten(name="flat1"), (2, 3)), (2, 2, 3)), "flat1", "(2, 6)"),
]  # fmt: skip


@pytest.mark.parametrize(
    "error, make_call, name, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_misuse_raises_naming_the_layer_and_the_expected_shape(error, make_call, name, expected):
    call = make_call()
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    assert message.startswith(f"{name}: "), message
    assert expected in message, message


def test_a_wrong_dy_is_refused_at_trace_time_under_jit():
    layer, params, _, _, _, cache = conv("xla")
    backward = jax.jit(layer.backward)
    with pytest.raises(
        ValueError, match=re.escape("conv_xla: dy has shape (2, 5, 5, 4), expected (2, 4, 4, 4)")
    ):
        backward(params, cache, jnp.ones((2, 5, 5, 4)))
    dx, _ = backward(params, cache, jnp.ones((2, 4, 4, 4)))
    assert dx.shape == (2, 6, 6, 2)


@pytest.mark.parametrize(
    "layer, in_shape",
    [
        (layers.conv2d(2, 3, name="conv1"), (5, 5, 1)),
        (layers.affine(2, name="fc1"), (3,)),
        (layers.batch_norm(name="bn1"), (3,)),
        (layers.relu(name="relu1"), (3,)),
        (layers.max_pool2d(2, name="pool1"), (4, 4, 1)),
        (layers.dropout(0.5, name="drop1"), (3,)),
        (layers.flatten(name="flat1"), (3,)),
    ],
    ids=["conv2d", "affine", "batch_norm", "relu", "max_pool2d", "dropout", "flatten"],
)
def test_integer_input_is_refused_naming_the_layer_and_dtype(layer, in_shape):
    _, params, state = layer.init(jax.random.key(0), in_shape)
    with pytest.raises(ValueError, match=rf"^{layer.name}: x must have a floating dtype .*got int32"):
        layer.apply(params, state, jnp.ones((2, *in_shape), jnp.int32))


HALF = {"float16": (jnp.float16, 1e-2), "bfloat16": (jnp.bfloat16, 5e-2)}  # relative to the max


def close(got, want, rtol):
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    np.testing.assert_allclose(got, want, atol=rtol * max(np.abs(want).max(), 1e-6), rtol=0)


@pytest.mark.parametrize("half", ["float16", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_half_precision_computes_in_the_input_dtype_for_every_conv_impl(half):
    dtype, rtol = HALF[half]
    x = jax.random.normal(jax.random.key(0), (2, 7, 6, 3))
    dys = {s: jax.random.normal(jax.random.key(1), (2, *hw, 4)) for s, hw in [(2, (4, 3)), (1, (7, 6))]}
    _, params, _ = layers.conv2d(4, 3, 2, 1).init(jax.random.key(2), x.shape[1:])
    for impl in CONV_IMPLS:
        stride = 1 if impl == "winograd" else 2  # winograd runs stride 1 only
        layer, dy = layers.conv2d(4, 3, stride, 1, impl), dys[stride]

        @jax.jit  # one compilation instead of one per eager op
        def run(x, dy, layer=layer):
            y, _, cache = layer.apply(params, {}, x)  # float32 params
            grad = jax.grad(lambda p, x_: fnn.with_manual_vjp(layer)(p, {}, x_)[0].sum(), argnums=(0, 1))
            return (y, *layer.backward(params, cache, dy)), grad(params, x)

        (y32, dx32, dp32), _ = run(x, dy)
        (y, dx, dp), grads = run(x.astype(dtype), dy.astype(dtype))
        assert (y.dtype, dx.dtype) == (dtype, dtype), impl
        assert (dp["W"].dtype, dp["b"].dtype) == (jnp.float32, jnp.float32), impl  # like params
        for got, want in [(y, y32), (dx, dx32), (dp["W"], dp32["W"]), (dp["b"], dp32["b"])]:
            close(got, want, rtol)
        assert (grads[0]["W"].dtype, grads[1].dtype) == (jnp.float32, dtype), impl  # custom_vjp accepts them


@pytest.mark.parametrize("half", sorted(HALF))
def test_half_precision_in_the_other_layers_keeps_the_input_dtype(half):
    dtype, rtol = HALF[half]
    cases = [
        (layers.affine(3), (4,), False),
        (layers.batch_norm(), (4, 4, 3), True),
        (layers.batch_norm(), (4, 4, 3), False),
        (layers.max_pool2d(2), (4, 4, 3), False),
        (layers.avg_pool2d(2), (4, 4, 3), False),
        (layers.sigmoid(), (5,), False),
        (layers.dropout(0.5), (5,), True),
        (layers.flatten(), (2, 3), False),
    ]
    for layer, in_shape, train in cases:
        _, params, state = layer.init(jax.random.key(0), in_shape)
        x = jax.random.normal(jax.random.key(1), (4, *in_shape))

        @jax.jit  # one compilation instead of one per eager op
        def run(x, dy, layer=layer, train=train, params=params, state=state):
            y, new_state, cache = layer.apply(params, state, x, train=train, key=jax.random.key(2))
            return y, new_state, *layer.backward(params, cache, dy.astype(x.dtype))

        dy = jax.random.normal(jax.random.key(3), (4, *layer.init(jax.random.key(0), in_shape)[0]))
        want = run(x, dy)
        y, new_state, dx, dp = run(x.astype(dtype), dy)
        assert (y.dtype, dx.dtype) == (dtype, dtype), layer.name
        assert jax.tree.map(lambda a: a.dtype, (dp, new_state)) == jax.tree.map(
            lambda a: a.dtype, (params, state)
        )
        for got, expected in zip(jax.tree.leaves((y, new_state, dx, dp)), jax.tree.leaves(want)):
            close(got, expected, rtol)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: layers.max_pool2d(2, pad_value=float("nan")), "max_pool2d: pad_value must be a number"),
        (lambda: layers.max_pool2d(2, pad_value="0"), "max_pool2d: pad_value"),
        (
            lambda: layers.avg_pool2d(2, count_include_pad=0),
            "avg_pool2d: count_include_pad must be True or False",
        ),
        (lambda: layers.batch_norm(unbiased_running_var="yes"), "batch_norm: unbiased_running_var"),
    ],
)
def test_constructor_options_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()
