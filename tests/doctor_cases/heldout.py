"""Doctor cases, HELD-OUT half: buggy layers written from scratch, for measuring the doctor.

Never tune rules on these cases: do not read them while changing fnn/gradcheck, and do not
change them after seeing the doctor's answers (README.md). The tuning half is tuning.py.
"""

import jax
import jax.numpy as jnp

from fnn import Layer

from . import DoctorCase, conv_forward, conv_out, window_slice, window_stack


def affine_square_dw_transposed():
    def init(key, in_shape):
        D = in_shape[0]
        W = 0.5 * jax.random.normal(key, (D, D))
        return (D,), {"W": W, "b": 0.1 * jnp.ones(D)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        dW = dy.T @ x  # bug: x.T @ dy; the shapes agree only because W is square
        return dy @ params["W"].T, {"W": dW, "b": dy.sum(axis=0)}

    return Layer("affine_square_dw_transposed", init, apply, backward)


def affine_forgets_bias_key():
    M = 3

    def init(key, in_shape):
        W = 0.5 * jax.random.normal(key, (in_shape[0], M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        return dy @ params["W"].T, {"W": x.T @ dy}  # bug: "b" is missing

    return Layer("affine_forgets_bias_key", init, apply, backward)


def affine_bias_grad_placeholder():
    M = 4

    def init(key, in_shape):
        W = 0.5 * jax.random.normal(key, (in_shape[0], M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        db = jnp.zeros_like(params["b"])  # bug: a placeholder never filled in (dy.sum(axis=0))
        return dy @ params["W"].T, {"W": x.T @ dy, "b": db}

    return Layer("affine_bias_grad_placeholder", init, apply, backward)


def channel_scale_dgamma_batch_axis_only():
    def init(key, in_shape):
        C = in_shape[-1]
        gamma = 1 + 0.5 * jax.random.normal(key, (C,))
        return tuple(in_shape), {"gamma": gamma, "beta": jnp.zeros(C)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["gamma"] + params["beta"], state, x

    def backward(params, x, dy):
        dgamma = (dy * x).sum(axis=0)  # bug: sum over N, H and W: axis=(0, 1, 2)
        dbeta = dy.sum(axis=(0, 1, 2))
        return dy * params["gamma"], {"gamma": dgamma, "beta": dbeta}

    return Layer("channel_scale_dgamma_batch_axis_only", init, apply, backward)


def channel_scale_dgamma_first_example():
    def init(key, in_shape):
        C = in_shape[-1]
        k1, k2 = jax.random.split(key)
        gamma = 1 + 0.5 * jax.random.normal(k1, (C,))
        beta = 0.1 * jax.random.normal(k2, (C,))
        return tuple(in_shape), {"gamma": gamma, "beta": beta}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["gamma"] + params["beta"], state, x

    def backward(params, x, dy):
        dgamma = (dy[0] * x[0]).sum(axis=(0, 1))  # bug: I debugged on example 0 and left it in
        dbeta = dy.sum(axis=(0, 1, 2))
        return dy * params["gamma"], {"gamma": dgamma, "beta": dbeta}

    return Layer("channel_scale_dgamma_first_example", init, apply, backward)


def feature_scale_loop_misses_last():
    def init(key, in_shape):
        gamma = 1 + 0.5 * jax.random.normal(key, tuple(in_shape))
        return tuple(in_shape), {"gamma": gamma}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["gamma"], state, x

    def backward(params, x, dy):
        D = x.shape[1]
        dgamma = jnp.zeros(D)
        for d in range(D - 1):  # bug: range(D)
            dgamma = dgamma.at[d].set(jnp.sum(dy[:, d] * x[:, d]))
        return dy * params["gamma"], {"gamma": dgamma}

    return Layer("feature_scale_loop_misses_last", init, apply, backward)


def conv_dx_at_add_not_assigned():
    k, s, p, C_out = 3, 1, 1, 3

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
                dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)  # bug: the result is thrown away
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_dx_at_add_not_assigned", init, apply, backward)


def conv_dx_kernel_not_flipped():
    k, s, p, C_out = 3, 1, 1, 4

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
        H_in, W_in = x_pad.shape[1] - 2 * p, x_pad.shape[2] - 2 * p
        H_out, W_out = dy.shape[1], dy.shape[2]
        dW = jnp.zeros_like(W)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_pad[:, rows, cols, :], dy))
        # dx is the "full" convolution of dy with the kernel
        q = k - 1 - p
        dy_pad = jnp.pad(dy, ((0, 0), (q, q), (q, q), (0, 0)))
        dx = 0.0
        for i in range(k):
            for j in range(k):
                dx = dx + dy_pad[:, i : i + H_in, j : j + W_in, :] @ W[i, j].T  # bug: W[k-1-i, k-1-j]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_dx_kernel_not_flipped", init, apply, backward)


def conv_dw_reset_per_example():
    k, s, p, C_out = 3, 1, 1, 3

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
        N, H_out, W_out = dy.shape[0], dy.shape[1], dy.shape[2]
        C_in = x_pad.shape[-1]
        dx_pad = jnp.zeros_like(x_pad)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx_pad = dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)
        for n in range(N):
            dW = jnp.zeros_like(W)  # bug: reset for every example; belongs before the loop
            for i in range(k):
                for j in range(k):
                    rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                    x_win = x_pad[n, rows, cols, :].reshape(-1, C_in)
                    dW = dW.at[i, j].add(x_win.T @ dy[n].reshape(-1, C_out))
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_dw_reset_per_example", init, apply, backward)


def conv_skips_border_windows_in_dx():
    k, s, p, C_out = 3, 1, 1, 3

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
                # bug: only the windows that lie inside the image (output rows 1 .. H_out - 2)
                inner = dy[:, 1:-1, 1:-1, :] @ W[i, j].T
                dx_pad = dx_pad.at[:, i + 1 : i + H_out - 1, j + 1 : j + W_out - 1, :].add(inner)
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_skips_border_windows_in_dx", init, apply, backward)


def conv_stride2_dx_set_not_add():
    k, s, p, C_out = 3, 2, 1, 3

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
        dW = jnp.zeros_like(W)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_pad[:, rows, cols, :], dy))
        dx_pad = jnp.zeros_like(x_pad)
        for oh in range(H_out):
            for ow in range(W_out):
                patch = jnp.einsum("no,ijco->nijc", dy[:, oh, ow, :], W)
                # bug: .set where windows overlap; must be .add
                dx_pad = dx_pad.at[:, s * oh : s * oh + k, s * ow : s * ow + k, :].set(patch)
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_stride2_dx_set_not_add", init, apply, backward)


def conv_dx_dy_padded_by_k_minus_1():
    k, s, p, C_out = 3, 1, 1, 3

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
        H_in, W_in = x_pad.shape[1] - 2 * p, x_pad.shape[2] - 2 * p
        H_out, W_out = dy.shape[1], dy.shape[2]
        dW = jnp.zeros_like(W)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_pad[:, rows, cols, :], dy))
        dy_pad = jnp.pad(dy, ((0, 0), (k - 1, k - 1), (k - 1, k - 1), (0, 0)))  # bug: k - 1 - p
        H_full, W_full = dy_pad.shape[1] - k + 1, dy_pad.shape[2] - k + 1
        dx = 0.0
        for i in range(k):
            for j in range(k):
                dx = dx + dy_pad[:, i : i + H_full, j : j + W_full, :] @ W[k - 1 - i, k - 1 - j].T
        dx = dx[:, :H_in, :W_in, :]  # the "full" result came out too big, so I cropped it
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_dx_dy_padded_by_k_minus_1", init, apply, backward)


def conv_stride2_dw_ignores_stride():
    k, s, p, C_out = 3, 2, 1, 3

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
                x_win = x_pad[:, i : i + H_out, j : j + W_out, :]  # bug: every s-th row and column
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_win, dy))
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx_pad = dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_stride2_dw_ignores_stride", init, apply, backward)


def sigmoid_uses_input_not_output():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = 1 / (1 + jnp.exp(-x))
        return y, state, x

    def backward(params, x, dy):
        return dy * x * (1 - x), {}  # bug: sigmoid' is y (1 - y), with y the output

    return Layer("sigmoid_uses_input_not_output", init, apply, backward)


def tanh_forgets_square():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.tanh(x)
        return y, state, y

    def backward(params, y, dy):
        return dy * (1 - y), {}  # bug: 1 - y**2

    return Layer("tanh_forgets_square", init, apply, backward)


def swish_forgets_product_rule():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        s = 1 / (1 + jnp.exp(-x))
        return x * s, state, s

    def backward(params, s, dy):
        return dy * s, {}  # bug: d(x s)/dx = s + x s (1 - s)

    return Layer("swish_forgets_product_rule", init, apply, backward)


def leaky_relu_copied_relu_mask():
    slope = 0.1

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.where(x > 0, x, slope * x), state, x

    def backward(params, x, dy):
        return dy * (x > 0), {}  # bug: slope * dy where x < 0, not 0

    return Layer("leaky_relu_copied_relu_mask", init, apply, backward)


def thresholded_relu_masks_at_zero():
    theta = 0.5

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.where(x > theta, x, 0.0), state, x

    def backward(params, x, dy):
        return dy * (x > 0), {}  # bug: the mask is x > theta

    return Layer("thresholded_relu_masks_at_zero", init, apply, backward)


def relu_mask_from_output_ge_zero():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.maximum(x, 0.0)
        return y, state, y

    def backward(params, y, dy):
        return dy * (y >= 0), {}  # bug: y >= 0 always holds; the mask is y > 0

    return Layer("relu_mask_from_output_ge_zero", init, apply, backward)


def tanh_derivative_sign_flipped():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.tanh(x)
        return y, state, y

    def backward(params, y, dy):
        return dy * (y**2 - 1), {}  # bug: 1 - y**2

    return Layer("tanh_derivative_sign_flipped", init, apply, backward)


def softplus_beta_extra_factor():
    beta = 2.0

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.log(1 + jnp.exp(beta * x)) / beta, state, x

    def backward(params, x, dy):
        s = 1 / (1 + jnp.exp(-beta * x))
        return dy * beta * s, {}  # bug: the 1 / beta in front cancels the inner beta

    return Layer("softplus_beta_extra_factor", init, apply, backward)


def sigmoid_backward_in_float32():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = 1 / (1 + jnp.exp(-x))
        return y, state, y

    def backward(params, y, dy):
        y32, dy32 = y.astype(jnp.float32), dy.astype(jnp.float32)  # "float32 is enough for gradients"
        return (dy32 * y32 * (1 - y32)).astype(dy.dtype), {}

    return Layer("sigmoid_backward_in_float32", init, apply, backward)


def batchnorm_var_term_sum_not_mean():
    eps, m = 1e-5, 0.9

    def init(key, in_shape):
        D = in_shape[-1]
        k1, k2 = jax.random.split(key)
        params = {"gamma": 1 + 0.3 * jax.random.normal(k1, (D,)), "beta": 0.1 * jax.random.normal(k2, (D,))}
        return tuple(in_shape), params, {"mean": jnp.zeros(D), "var": jnp.ones(D)}

    def apply(params, state, x, *, train=False, key=None):
        if train:
            mu, var = x.mean(axis=0), x.var(axis=0)
            state = {"mean": m * state["mean"] + (1 - m) * mu, "var": m * state["var"] + (1 - m) * var}
        else:
            mu, var = state["mean"], state["var"]
        inv_std = 1 / jnp.sqrt(var + eps)
        x_hat = (x - mu) * inv_std
        return params["gamma"] * x_hat + params["beta"], state, (x_hat, inv_std)

    def backward(params, cache, dy):
        x_hat, inv_std = cache
        dgamma, dbeta = (dy * x_hat).sum(axis=0), dy.sum(axis=0)
        # bug: the variance term is x_hat * mean(dy * x_hat), a 1/N I lost in the algebra
        dx = params["gamma"] * inv_std * (dy - dy.mean(axis=0) - x_hat * (dy * x_hat).sum(axis=0))
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer("batchnorm_var_term_sum_not_mean", init, apply, backward)


def layernorm_forgets_mean_and_var_paths():
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
        dgamma, dbeta = (dy * x_hat).sum(axis=0), dy.sum(axis=0)
        dx = params["gamma"] * dy * inv_std  # bug: each example's mean and variance depend on x
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer("layernorm_forgets_mean_and_var_paths", init, apply, backward)


def layernorm_forgets_mean_path():
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
        dgamma, dbeta = (dy * x_hat).sum(axis=0), dy.sum(axis=0)
        dx_hat = dy * params["gamma"]
        # bug: missing - dx_hat.mean(axis=-1, keepdims=True), the path through the mean
        dx = inv_std * (dx_hat - x_hat * (dx_hat * x_hat).mean(axis=-1, keepdims=True))
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer("layernorm_forgets_mean_path", init, apply, backward)


def avgpool_forgets_divide():
    k = 2

    def init(key, in_shape):
        return (in_shape[0] // k, in_shape[1] // k, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, k).mean(axis=3), state, None

    def backward(params, cache, dy):
        dx = jnp.repeat(jnp.repeat(dy, k, axis=1), k, axis=2)  # bug: each input gets dy / (k * k)
        return dx, {}

    return Layer("avgpool_forgets_divide", init, apply, backward)


def maxpool_grad_to_top_left():
    k = 2

    def init(key, in_shape):
        return (in_shape[0] // k, in_shape[1] // k, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, k).max(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        windows = window_stack(x, k, k)
        argmax = jnp.argmax(windows.max(axis=3, keepdims=True), axis=3)  # bug: argmax of the max is 0
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, k, H_out), window_slice(j, k, W_out)
                dx = dx.at[:, rows, cols, :].add(jnp.where(argmax == i * k + j, dy, 0.0))
        return dx, {}

    return Layer("maxpool_grad_to_top_left", init, apply, backward)


def maxpool3x3s2_argmax_unravel_transposed():
    k, s = 3, 2

    def init(key, in_shape):
        H_out, W_out = (in_shape[0] - k) // s + 1, (in_shape[1] - k) // s + 1
        return (H_out, W_out, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, s).max(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        argmax = jnp.argmax(window_stack(x, k, s), axis=3)
        row, col = argmax % k, argmax // k  # bug: row-major, so row = argmax // k, col = argmax % k
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx = dx.at[:, rows, cols, :].add(jnp.where((row == i) & (col == j), dy, 0.0))
        return dx, {}

    return Layer("maxpool3x3s2_argmax_unravel_transposed", init, apply, backward)


CASES = [
    DoctorCase(
        "affine_square_dw_transposed",
        affine_square_dw_transposed,
        (5,),
        False,
        {"W": ("transpose",)},
        "dW = dy^T x; the shape check passed because my W is square",
    ),
    DoctorCase(
        "affine_forgets_bias_key",
        affine_forgets_bias_key,
        (6,),
        False,
        {"b": ("shape",)},
        "I only returned dW; the bias gradient slipped my mind",
    ),
    DoctorCase(
        "affine_bias_grad_placeholder",
        affine_bias_grad_placeholder,
        (5,),
        False,
        {"b": ("zero",)},
        "I wrote db = zeros_like(b) to get the shapes right and never came back to it",
    ),
    DoctorCase(
        "channel_scale_dgamma_batch_axis_only",
        channel_scale_dgamma_batch_axis_only,
        (5, 5, 3),
        False,
        {"gamma": ("shape",)},
        "I summed dgamma over the batch like in the affine layer and forgot the spatial axes",
    ),
    DoctorCase(
        "channel_scale_dgamma_first_example",
        channel_scale_dgamma_first_example,
        (4, 4, 3),
        False,
        {"gamma": ("batch-sum",)},
        "I derived dgamma for one image, wrote it with x[0], dy[0], and forgot the batch",
    ),
    DoctorCase(
        "feature_scale_loop_misses_last",
        feature_scale_loop_misses_last,
        (10,),
        False,
        {"gamma": ("local",)},
        "my loop over features for dgamma stops one early",
    ),
    DoctorCase(
        "conv_dx_at_add_not_assigned",
        conv_dx_at_add_not_assigned,
        (6, 6, 2),
        False,
        {"dx": ("zero",)},
        "I accumulate dx with dx_pad.at[...].add(...) like numpy's +=, but never assign the result",
    ),
    DoctorCase(
        "conv_dx_kernel_not_flipped",
        conv_dx_kernel_not_flipped,
        (6, 5, 2),
        False,
        {"dx": ("transpose",)},
        "dx is the full convolution of dy with the kernel; I forgot to rotate the kernel by 180 degrees",
    ),
    DoctorCase(
        "conv_dw_reset_per_example",
        conv_dw_reset_per_example,
        (5, 5, 2),
        False,
        {"W": ("batch-sum",)},
        "I loop over the images for dW and zero it at the top of the loop body, so only the last image counts",
    ),
    DoctorCase(
        "conv_skips_border_windows_in_dx",
        conv_skips_border_windows_in_dx,
        (7, 7, 2),
        False,
        {"dx": ("border",)},
        "in dx I skip the windows that stick out into the padding, they only touch zeros anyway",
    ),
    DoctorCase(
        "conv_stride2_dx_set_not_add",
        conv_stride2_dx_set_not_add,
        (8, 8, 2),
        False,
        {"dx": ("overlap",)},
        "for each output position I write its window's gradient into dx; with stride 2 I thought windows don't share pixels",
    ),
    DoctorCase(
        "conv_dx_dy_padded_by_k_minus_1",
        conv_dx_dy_padded_by_k_minus_1,
        (6, 6, 2),
        False,
        {"dx": ("mismatch",)},
        "a full convolution pads dy by k - 1; dx came out too big so I cut it to the input size",
    ),
    DoctorCase(
        "conv_stride2_dw_ignores_stride",
        conv_stride2_dw_ignores_stride,
        (8, 8, 2),
        False,
        {"W": ("mismatch",)},
        "I added a stride to forward and dx but kept the stride-1 window slices in dW",
    ),
    DoctorCase(
        "sigmoid_uses_input_not_output",
        sigmoid_uses_input_not_output,
        (6,),
        False,
        {"dx": ("factor",)},
        "I wrote the derivative as x(1 - x) with the input x instead of the output y(1 - y)",
    ),
    DoctorCase(
        "tanh_forgets_square",
        tanh_forgets_square,
        (4, 4, 2),
        False,
        {"dx": ("factor",)},
        "tanh' is 1 - y, I forgot that y is squared",
    ),
    DoctorCase(
        "swish_forgets_product_rule",
        swish_forgets_product_rule,
        (5, 5, 1),
        False,
        {"dx": ("factor",)},
        "swish is x sigmoid(x), so its derivative is sigmoid(x); I treated the x in front as a constant",
    ),
    DoctorCase(
        "leaky_relu_copied_relu_mask",
        leaky_relu_copied_relu_mask,
        (4, 4, 3),
        False,
        {"dx": ("branch", "factor")},
        "I reused my relu backward, dy * (x > 0), for the leaky relu",
    ),
    DoctorCase(
        "thresholded_relu_masks_at_zero",
        thresholded_relu_masks_at_zero,
        (10,),
        False,
        {"dx": ("branch",)},
        "thresholded relu passes x above theta = 0.5; in backward I kept relu's mask x > 0",
    ),
    DoctorCase(
        "relu_mask_from_output_ge_zero",
        relu_mask_from_output_ge_zero,
        (5, 5, 2),
        False,
        {"dx": ("branch",)},
        "I saved relu's output and masked with y >= 0, which is true everywhere",
    ),
    DoctorCase(
        "tanh_derivative_sign_flipped",
        tanh_derivative_sign_flipped,
        (6,),
        False,
        {"dx": ("sign",)},
        "I wrote tanh' as y^2 - 1, the wrong way round",
    ),
    DoctorCase(
        "softplus_beta_extra_factor",
        softplus_beta_extra_factor,
        (7,),
        False,
        {"dx": ("scale",)},
        "softplus with sharpness beta: chain rule gives beta * sigmoid(beta x), I forgot the 1 / beta outside",
    ),
    DoctorCase(
        "sigmoid_backward_in_float32",
        sigmoid_backward_in_float32,
        (4, 4, 2),
        False,
        {"dx": ("precision",)},
        "my backward is right, but I cast to float32 to save memory",
    ),
    DoctorCase(
        "batchnorm_var_term_sum_not_mean",
        batchnorm_var_term_sum_not_mean,
        (5,),
        True,
        {"dx": ("coupling",)},
        "in the simplified dx formula I wrote a sum over the batch where the variance term has a mean",
    ),
    DoctorCase(
        "layernorm_forgets_mean_and_var_paths",
        layernorm_forgets_mean_and_var_paths,
        (8,),
        False,
        {"dx": ("coupling",)},
        "layer norm divides by a number per example, so dx = gamma * dy / std",
    ),
    DoctorCase(
        "layernorm_forgets_mean_path",
        layernorm_forgets_mean_path,
        (7,),
        False,
        {"dx": ("coupling",)},
        "I differentiated through the variance but forgot that the mean depends on x as well",
    ),
    DoctorCase(
        "avgpool_forgets_divide",
        avgpool_forgets_divide,
        (6, 6, 2),
        False,
        {"dx": ("scale",)},
        "average pooling passes dy back to every pixel of its window, like a sum",
    ),
    DoctorCase(
        "maxpool_grad_to_top_left",
        maxpool_grad_to_top_left,
        (6, 8, 3),
        False,
        {"dx": ("routing",)},
        "I took the argmax of the pooled values instead of the windows, so it always points at the first pixel",
    ),
    DoctorCase(
        "maxpool3x3s2_argmax_unravel_transposed",
        maxpool3x3s2_argmax_unravel_transposed,
        (9, 9, 2),
        False,
        {"dx": ("routing",)},
        "I turned the flat argmax into (row, col) the MATLAB way, column-major",
    ),
]
