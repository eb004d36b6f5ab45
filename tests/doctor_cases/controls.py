"""Doctor cases, controls: correct layers written from scratch, of the same families as the buggy
ones (`expected == {}`: every gradient array is right, in float64). A doctor that names a kind
for any of these raises a false alarm.
"""

import jax
import jax.numpy as jnp

from fnn import Layer

from . import DoctorCase, conv_forward, conv_out, window_slice, window_stack


def _elementwise(name, f, df):
    """A layer y = f(x) with dx = dy * df(x), both written by hand."""

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return f(x), state, x

    def backward(params, x, dy):
        return dy * df(x), {}

    return Layer(name, init, apply, backward)


def relu():
    # NOTE: the mask x > 0 gives relu'(0) = 0, as jax.nn.relu; the draws never hit 0 exactly.
    return _elementwise("relu", lambda x: jnp.where(x > 0, x, 0.0), lambda x: (x > 0).astype(x.dtype))


def relu6():
    def f(x):
        return jnp.clip(x, 0.0, 6.0)

    def df(x):
        return ((x > 0) & (x < 6)).astype(x.dtype)  # kinks at 0 and 6, away from the draws

    return _elementwise("relu6", f, df)


def leaky_relu():
    slope = 0.1
    return _elementwise(
        "leaky_relu", lambda x: jnp.where(x > 0, x, slope * x), lambda x: jnp.where(x > 0, 1.0, slope)
    )


def sigmoid():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = 1 / (1 + jnp.exp(-x))
        return y, state, y

    def backward(params, y, dy):
        return dy * y * (1 - y), {}

    return Layer("sigmoid", init, apply, backward)


def tanh():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.tanh(x)
        return y, state, y

    def backward(params, y, dy):
        return dy * (1 - y**2), {}

    return Layer("tanh", init, apply, backward)


def elu():
    alpha = 0.5
    return _elementwise(
        "elu",
        lambda x: jnp.where(x > 0, x, alpha * (jnp.exp(x) - 1)),
        lambda x: jnp.where(x > 0, 1.0, alpha * jnp.exp(x)),
    )


def softplus():
    return _elementwise("softplus", lambda x: jnp.log(1 + jnp.exp(x)), lambda x: 1 / (1 + jnp.exp(-x)))


def swish():
    def df(x):
        s = 1 / (1 + jnp.exp(-x))
        return s + x * s * (1 - s)

    return _elementwise("swish", lambda x: x / (1 + jnp.exp(-x)), df)


def hardtanh():
    low, high = -0.5, 0.5
    return _elementwise(
        "hardtanh", lambda x: jnp.clip(x, low, high), lambda x: ((x > low) & (x < high)).astype(x.dtype)
    )


def exp_decay():
    return _elementwise("exp_decay", lambda x: jnp.exp(-x), lambda x: -jnp.exp(-x))


def affine_images():
    M = 5

    def init(key, in_shape):
        D = in_shape[0] * in_shape[1] * in_shape[2]
        k1, k2 = jax.random.split(key)
        return (M,), {"W": 0.3 * jax.random.normal(k1, (D, M)), "b": 0.1 * jax.random.normal(k2, (M,))}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x.reshape(x.shape[0], -1) @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        x2 = x.reshape(x.shape[0], -1)
        dx = (dy @ params["W"].T).reshape(x.shape)
        return dx, {"W": x2.T @ dy, "b": dy.sum(axis=0)}

    return Layer("affine_images", init, apply, backward)


def channel_scale_bias():
    def init(key, in_shape):
        C = in_shape[-1]
        k1, k2 = jax.random.split(key)
        params = {"gamma": 1 + 0.5 * jax.random.normal(k1, (C,)), "beta": 0.1 * jax.random.normal(k2, (C,))}
        return tuple(in_shape), params, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["gamma"] + params["beta"], state, x

    def backward(params, x, dy):
        axes = (0, 1, 2)
        return dy * params["gamma"], {"gamma": (dy * x).sum(axis=axes), "beta": dy.sum(axis=axes)}

    return Layer("channel_scale_bias", init, apply, backward)


def _conv(name, k, s, p, C_out):
    def init(key, in_shape):
        k1, k2 = jax.random.split(key)
        W = jax.random.normal(k1, (k, k, in_shape[-1], C_out)) * (2 / (k * k * in_shape[-1])) ** 0.5
        out_shape = (conv_out(in_shape[0], k, s, p), conv_out(in_shape[1], k, s, p), C_out)
        return out_shape, {"W": W, "b": 0.1 * jax.random.normal(k2, (C_out,))}, {}

    def apply(params, state, x, *, train=False, key=None):
        y, x_pad = conv_forward(x, params["W"], params["b"], s, p)
        return y, state, x_pad

    def backward(params, x_pad, dy):
        W = params["W"]
        H_out, W_out = dy.shape[1], dy.shape[2]
        dx_pad = jnp.zeros_like(x_pad)
        dW = jnp.zeros_like(W)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_pad[:, rows, cols, :], dy))
                dx_pad = dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)  # windows overlap: add
        dx = dx_pad[:, p : x_pad.shape[1] - p, p : x_pad.shape[2] - p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer(name, init, apply, backward)


def conv3x3_s1_p1():
    return _conv("conv3x3_s1_p1", 3, 1, 1, 3)


def conv3x3_s2_p1():
    return _conv("conv3x3_s2_p1", 3, 2, 1, 4)


def _max_pool(name, k, s):
    def init(key, in_shape):
        return (conv_out(in_shape[0], k, s, 0), conv_out(in_shape[1], k, s, 0), in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, s).max(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        argmax = jnp.argmax(window_stack(x, k, s), axis=3)  # row-major offset i * k + j
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx = dx.at[:, rows, cols, :].add(jnp.where(argmax == i * k + j, dy, 0.0))
        return dx, {}

    return Layer(name, init, apply, backward)


def max_pool2x2():
    return _max_pool("max_pool2x2", 2, 2)


def max_pool3x3_s2():
    return _max_pool("max_pool3x3_s2", 3, 2)


def _avg_pool(name, k, s):
    def init(key, in_shape):
        return (conv_out(in_shape[0], k, s, 0), conv_out(in_shape[1], k, s, 0), in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, s).mean(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx = dx.at[:, rows, cols, :].add(dy / (k * k))
        return dx, {}

    return Layer(name, init, apply, backward)


def avg_pool2x2():
    return _avg_pool("avg_pool2x2", 2, 2)


def avg_pool3x3_s2():
    return _avg_pool("avg_pool3x3_s2", 3, 2)


def _batch_norm(name, axes):
    eps, m = 1e-5, 0.9

    def init(key, in_shape):
        C = in_shape[-1]
        k1, k2 = jax.random.split(key)
        params = {"gamma": 1 + 0.3 * jax.random.normal(k1, (C,)), "beta": 0.1 * jax.random.normal(k2, (C,))}
        return tuple(in_shape), params, {"mean": jnp.zeros(C), "var": jnp.ones(C)}

    def apply(params, state, x, *, train=False, key=None):
        if train:
            mu, var = x.mean(axis=axes), x.var(axis=axes)  # biased variance
            state = {"mean": m * state["mean"] + (1 - m) * mu, "var": m * state["var"] + (1 - m) * var}
        else:
            mu, var = state["mean"], state["var"]
        inv_std = 1 / jnp.sqrt(var + eps)
        x_hat = (x - mu) * inv_std
        return params["gamma"] * x_hat + params["beta"], state, (x_hat, inv_std)

    def backward(params, cache, dy):
        """Train mode: the paths through the batch mean and variance included."""
        x_hat, inv_std = cache
        dx_hat = dy * params["gamma"]
        dx = inv_std * (dx_hat - dx_hat.mean(axis=axes) - x_hat * (dx_hat * x_hat).mean(axis=axes))
        return dx, {"gamma": (dy * x_hat).sum(axis=axes), "beta": dy.sum(axis=axes)}

    return Layer(name, init, apply, backward)


def batch_norm1d():
    return _batch_norm("batch_norm1d", (0,))


def batch_norm2d():
    return _batch_norm("batch_norm2d", (0, 1, 2))


def layer_norm():
    eps = 1e-5

    def init(key, in_shape):
        D = in_shape[-1]
        k1, k2 = jax.random.split(key)
        params = {"gamma": 1 + 0.3 * jax.random.normal(k1, (D,)), "beta": 0.1 * jax.random.normal(k2, (D,))}
        return tuple(in_shape), params, {}

    def apply(params, state, x, *, train=False, key=None):
        mu = x.mean(axis=-1, keepdims=True)
        var = x.var(axis=-1, keepdims=True)
        inv_std = 1 / jnp.sqrt(var + eps)
        x_hat = (x - mu) * inv_std
        return params["gamma"] * x_hat + params["beta"], state, (x_hat, inv_std)

    def backward(params, cache, dy):
        x_hat, inv_std = cache
        dx_hat = dy * params["gamma"]
        mean_dx_hat = dx_hat.mean(axis=-1, keepdims=True)
        dx = inv_std * (dx_hat - mean_dx_hat - x_hat * (dx_hat * x_hat).mean(axis=-1, keepdims=True))
        return dx, {"gamma": (dy * x_hat).sum(axis=0), "beta": dy.sum(axis=0)}

    return Layer("layer_norm", init, apply, backward)


def softmax():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        e = jnp.exp(x - x.max(axis=-1, keepdims=True))  # NOTE: subtract the row max
        y = e / e.sum(axis=-1, keepdims=True)
        return y, state, y

    def backward(params, y, dy):
        return y * (dy - (dy * y).sum(axis=-1, keepdims=True)), {}

    return Layer("softmax", init, apply, backward)


CASES = [
    DoctorCase("relu", relu, (4, 4, 2), False, {}, "correct"),
    DoctorCase("relu6", relu6, (6,), False, {}, "correct; its kink at 6 lies far from the draws"),
    DoctorCase("leaky_relu", leaky_relu, (7,), False, {}, "correct"),
    DoctorCase("sigmoid", sigmoid, (6,), False, {}, "correct"),
    DoctorCase("tanh", tanh, (3, 3, 2), False, {}, "correct"),
    DoctorCase("elu", elu, (6,), False, {}, "correct, alpha = 0.5"),
    DoctorCase("softplus", softplus, (5,), False, {}, "correct"),
    DoctorCase("swish", swish, (4, 4, 1), False, {}, "correct"),
    DoctorCase("hardtanh", hardtanh, (8,), False, {}, "correct, clipped to [-0.5, 0.5]"),
    DoctorCase("exp_decay", exp_decay, (5,), False, {}, "correct, y = exp(-x)"),
    DoctorCase("affine_images", affine_images, (4, 4, 2), False, {}, "correct, flattens NHWC"),
    DoctorCase("channel_scale_bias", channel_scale_bias, (5, 5, 3), False, {}, "correct"),
    DoctorCase("conv3x3_s1_p1", conv3x3_s1_p1, (6, 6, 2), False, {}, "correct"),
    DoctorCase("conv3x3_s2_p1", conv3x3_s2_p1, (8, 7, 3), False, {}, "correct, stride 2, C_in != C_out"),
    DoctorCase("max_pool2x2", max_pool2x2, (6, 6, 2), False, {}, "correct"),
    DoctorCase("max_pool3x3_s2", max_pool3x3_s2, (9, 9, 2), False, {}, "correct, overlapping windows"),
    DoctorCase("avg_pool2x2", avg_pool2x2, (8, 8, 2), False, {}, "correct"),
    DoctorCase("avg_pool3x3_s2", avg_pool3x3_s2, (9, 7, 2), False, {}, "correct, overlapping windows"),
    DoctorCase("batch_norm1d", batch_norm1d, (6,), True, {}, "correct in float64, train mode"),
    DoctorCase(
        "batch_norm2d", batch_norm2d, (4, 4, 3), True, {}, "correct in float64, train mode, per channel"
    ),
    DoctorCase("layer_norm", layer_norm, (8,), False, {}, "correct in float64"),
    DoctorCase("softmax", softmax, (6,), False, {}, "correct"),
]
