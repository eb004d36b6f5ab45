"""Doctor cases, tuning half: buggy layers written from scratch, for improving the doctor's rules.

Each layer's backward has the bug its note describes; `expected` names each wrong array and the
kinds that are a correct answer for it (arrays not named are right). The other half is
heldout.py: it measures the rules and must never be used to tune them (README.md).
"""

import jax
import jax.numpy as jnp

from fnn import Layer

from . import DoctorCase, conv_forward, conv_out, window_slice, window_stack


def affine_dw_is_dy_t_x():
    M = 4

    def init(key, in_shape):
        W = 0.5 * jax.random.normal(key, (in_shape[0], M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        dW = dy.T @ x  # bug: (M, D); dW = x.T @ dy is (D, M) like W
        return dy @ params["W"].T, {"W": dW, "b": dy.sum(axis=0)}

    return Layer("affine_dw_is_dy_t_x", init, apply, backward)


def affine_images_dx_not_reshaped():
    M = 5

    def init(key, in_shape):
        D = in_shape[0] * in_shape[1] * in_shape[2]
        W = 0.3 * jax.random.normal(key, (D, M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        x2 = x.reshape(x.shape[0], -1)
        return x2 @ params["W"] + params["b"], state, x2

    def backward(params, x2, dy):
        dx = dy @ params["W"].T  # bug: still (N, D); the input was (N, H, W, C)
        return dx, {"W": x2.T @ dy, "b": dy.sum(axis=0)}

    return Layer("affine_images_dx_not_reshaped", init, apply, backward)


def affine_loop_overwrites_batch():
    M = 4

    def init(key, in_shape):
        W = 0.5 * jax.random.normal(key, (in_shape[0], M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        for n in range(x.shape[0]):
            dW = jnp.outer(x[n], dy[n])  # bug: = instead of +=, only the last example is left
            db = dy[n]
        return dy @ params["W"].T, {"W": dW, "b": db}

    return Layer("affine_loop_overwrites_batch", init, apply, backward)


def affine_db_mean_over_batch():
    M = 3

    def init(key, in_shape):
        W = 0.5 * jax.random.normal(key, (in_shape[0], M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        db = dy.mean(axis=0)  # bug: the loss already averaged; db = dy.sum(axis=0)
        return dy @ params["W"].T, {"W": x.T @ dy, "b": db}

    return Layer("affine_db_mean_over_batch", init, apply, backward)


def affine_dw_in_float32():
    M = 5

    def init(key, in_shape):
        W = 0.5 * jax.random.normal(key, (in_shape[0], M))
        return (M,), {"W": W, "b": jnp.zeros(M)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + params["b"], state, x

    def backward(params, x, dy):
        dW = (x.astype(jnp.float32).T @ dy.astype(jnp.float32)).astype(x.dtype)  # "fast matmul"
        return dy @ params["W"].T, {"W": dW, "b": dy.sum(axis=0)}

    return Layer("affine_dw_in_float32", init, apply, backward)


def offset_layer_db_sign():
    def init(key, in_shape):
        return tuple(in_shape), {"b": 0.1 * jax.random.normal(key, tuple(in_shape))}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x - params["b"], state, None

    def backward(params, cache, dy):
        return dy, {"b": dy.sum(axis=0)}  # bug: y = x - b, so db = -dy.sum(axis=0)

    return Layer("offset_layer_db_sign", init, apply, backward)


def channel_scale_forgets_gamma_in_dx():
    def init(key, in_shape):
        C = in_shape[-1]
        k1, k2 = jax.random.split(key)
        gamma = 1 + 0.5 * jax.random.normal(k1, (C,))
        beta = 0.1 * jax.random.normal(k2, (C,))
        return tuple(in_shape), {"gamma": gamma, "beta": beta}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["gamma"] + params["beta"], state, x

    def backward(params, x, dy):
        dgamma = (dy * x).sum(axis=(0, 1, 2))
        dbeta = dy.sum(axis=(0, 1, 2))
        return dy, {"gamma": dgamma, "beta": dbeta}  # bug: dx = dy * gamma

    return Layer("channel_scale_forgets_gamma_in_dx", init, apply, backward)


def conv_dw_flipped():
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
                # bug: "backward of a convolution flips the kernel", but that is for dx, not dW
                dW = dW.at[k - 1 - i, k - 1 - j].set(jnp.einsum("nhwc,nhwo->co", x_pad[:, rows, cols, :], dy))
                dx_pad = dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_dw_flipped", init, apply, backward)


def conv_dw_in_out_swapped():
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
                x_win = x_pad[:, rows, cols, :].reshape(-1, x_pad.shape[-1])
                dW = dW.at[i, j].set(dy.reshape(-1, C_out).T @ x_win)  # bug: (C_out, C_in), W is HWIO
                dx_pad = dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_dw_in_out_swapped", init, apply, backward)


def conv_dw_divided_by_n():
    k, s, p, C_out = 3, 1, 1, 2

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
        dx_pad = jnp.zeros_like(x_pad)
        dW = jnp.zeros_like(W)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_pad[:, rows, cols, :], dy))
                dx_pad = dx_pad.at[:, rows, cols, :].add(dy @ W[i, j].T)
        dx = dx_pad[:, p:-p, p:-p, :]
        return dx, {"W": dW / N, "b": dy.sum(axis=(0, 1, 2))}  # bug: dW / N

    return Layer("conv_dw_divided_by_n", init, apply, backward)


def conv_edge_padding_drops_pad_grad():
    k, s, p, C_out = 3, 1, 1, 2

    def init(key, in_shape):
        k1, k2 = jax.random.split(key)
        W = jax.random.normal(k1, (k, k, in_shape[-1], C_out)) * (2 / (k * k * in_shape[-1])) ** 0.5
        out_shape = (conv_out(in_shape[0], k, s, p), conv_out(in_shape[1], k, s, p), C_out)
        return out_shape, {"W": W, "b": 0.1 * jax.random.normal(k2, (C_out,))}, {}

    def apply(params, state, x, *, train=False, key=None):
        x_pad = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")  # replicate the edges
        H_out, W_out = x.shape[1], x.shape[2]
        y = params["b"]
        for i in range(k):
            for j in range(k):
                y = y + x_pad[:, i : i + H_out, j : j + W_out, :] @ params["W"][i, j]
        return y, state, x_pad

    def backward(params, x_pad, dy):
        W = params["W"]
        H_out, W_out = dy.shape[1], dy.shape[2]
        dx_pad = jnp.zeros_like(x_pad)
        dW = jnp.zeros_like(W)
        for i in range(k):
            for j in range(k):
                x_win = x_pad[:, i : i + H_out, j : j + W_out, :]
                dW = dW.at[i, j].set(jnp.einsum("nhwc,nhwo->co", x_win, dy))
                dx_pad = dx_pad.at[:, i : i + H_out, j : j + W_out, :].add(dy @ W[i, j].T)
        dx = dx_pad[:, p:-p, p:-p, :]  # bug: the padding copies edge pixels; its gradient belongs to them
        return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}

    return Layer("conv_edge_padding_drops_pad_grad", init, apply, backward)


def softplus_derivative_is_exp():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.log(1 + jnp.exp(x)), state, x

    def backward(params, x, dy):
        return dy * jnp.exp(x), {}  # bug: the derivative of log(1 + e^x) is e^x / (1 + e^x)

    return Layer("softplus_derivative_is_exp", init, apply, backward)


def softsign_forgets_square():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x / (1 + jnp.abs(x)), state, x

    def backward(params, x, dy):
        return dy / (1 + jnp.abs(x)), {}  # bug: 1 / (1 + |x|)**2

    return Layer("softsign_forgets_square", init, apply, backward)


def elu_derivative_y_plus_one():
    alpha = 0.5

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.where(x > 0, x, alpha * (jnp.exp(x) - 1))
        return y, state, (x, y)

    def backward(params, cache, dy):
        x, y = cache
        return jnp.where(x > 0, dy, dy * (y + 1)), {}  # bug: y + alpha (y + 1 only when alpha = 1)

    return Layer("elu_derivative_y_plus_one", init, apply, backward)


def hardtanh_forgets_clip():
    low, high = -0.5, 0.5

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.clip(x, low, high), state, x

    def backward(params, x, dy):
        return dy, {}  # bug: zero where x was clipped

    return Layer("hardtanh_forgets_clip", init, apply, backward)


def abs_uses_relu_mask():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.abs(x), state, x

    def backward(params, x, dy):
        return jnp.where(x > 0, dy, 0.0), {}  # bug: -dy where x < 0

    return Layer("abs_uses_relu_mask", init, apply, backward)


def exp_decay_forgets_minus():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.exp(-x)
        return y, state, y

    def backward(params, y, dy):
        return dy * y, {}  # bug: d exp(-x) / dx = -exp(-x)

    return Layer("exp_decay_forgets_minus", init, apply, backward)


def prelu_dalpha_loop_from_one():
    def init(key, in_shape):
        C = in_shape[-1]
        return tuple(in_shape), {"alpha": 0.1 + 0.1 * jax.random.uniform(key, (C,))}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.where(x > 0, x, params["alpha"] * x), state, x

    def backward(params, x, dy):
        C = x.shape[-1]
        dx = jnp.where(x > 0, dy, params["alpha"] * dy)
        dalpha = jnp.zeros(C)
        for c in range(1, C):  # bug: range(C); MATLAB's for c = 1:C, translated
            dalpha = dalpha.at[c].set(jnp.sum(jnp.where(x[..., c] > 0, 0.0, x[..., c] * dy[..., c])))
        return dx, {"alpha": dalpha}

    return Layer("prelu_dalpha_loop_from_one", init, apply, backward)


def batchnorm_forgets_mean_and_var_paths():
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
        dx = params["gamma"] * inv_std * dy  # bug: mu and var depend on x too
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer("batchnorm_forgets_mean_and_var_paths", init, apply, backward)


def batchnorm2d_forgets_var_path():
    eps, m = 1e-5, 0.9

    def init(key, in_shape):
        C = in_shape[-1]
        k1, k2 = jax.random.split(key)
        params = {"gamma": 1 + 0.3 * jax.random.normal(k1, (C,)), "beta": 0.1 * jax.random.normal(k2, (C,))}
        return tuple(in_shape), params, {"mean": jnp.zeros(C), "var": jnp.ones(C)}

    def apply(params, state, x, *, train=False, key=None):
        if train:
            mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
            state = {"mean": m * state["mean"] + (1 - m) * mu, "var": m * state["var"] + (1 - m) * var}
        else:
            mu, var = state["mean"], state["var"]
        inv_std = 1 / jnp.sqrt(var + eps)
        x_hat = (x - mu) * inv_std
        return params["gamma"] * x_hat + params["beta"], state, (x_hat, inv_std)

    def backward(params, cache, dy):
        x_hat, inv_std = cache
        dgamma, dbeta = (dy * x_hat).sum(axis=(0, 1, 2)), dy.sum(axis=(0, 1, 2))
        dx = params["gamma"] * inv_std * (dy - dy.mean(axis=(0, 1, 2)))  # bug: - x_hat * mean(dy * x_hat)
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer("batchnorm2d_forgets_var_path", init, apply, backward)


def softmax_forgets_cross_term():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        e = jnp.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        return y, state, y

    def backward(params, y, dy):
        return y * dy, {}  # bug: y * (dy - (dy * y).sum(axis=-1, keepdims=True))

    return Layer("softmax_forgets_cross_term", init, apply, backward)


def softmax_diagonal_jacobian():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        e = jnp.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        return y, state, y

    def backward(params, y, dy):
        return dy * y * (1 - y), {}  # bug: only the diagonal of the Jacobian diag(y) - y y^T

    return Layer("softmax_diagonal_jacobian", init, apply, backward)


def avgpool_zero_insertion_upsample():
    k = 2

    def init(key, in_shape):
        return (in_shape[0] // k, in_shape[1] // k, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, k).mean(axis=3), state, x

    def backward(params, x, dy):
        dx = jnp.zeros_like(x)
        dx = dx.at[:, ::k, ::k, :].set(dy / (k * k))  # bug: every pixel of the window gets dy / (k * k)
        return dx, {}

    return Layer("avgpool_zero_insertion_upsample", init, apply, backward)


def avgpool_pad_count_mismatch():
    k, p = 3, 1

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        H_in, W_in = x.shape[1], x.shape[2]
        x_pad = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        ones = jnp.pad(jnp.ones((H_in, W_in)), p)
        total, count = 0.0, 0.0
        for i in range(k):
            for j in range(k):
                total = total + x_pad[:, i : i + H_in, j : j + W_in, :]
                count = count + ones[i : i + H_in, j : j + W_in]
        return total / count[None, :, :, None], state, None  # the mean over the pixels inside the image

    def backward(params, cache, dy):
        H_in, W_in = dy.shape[1], dy.shape[2]  # stride 1, same size
        dx_pad = jnp.zeros((dy.shape[0], H_in + 2 * p, W_in + 2 * p, dy.shape[3]), dy.dtype)
        for i in range(k):
            for j in range(k):
                dx_pad = dx_pad.at[:, i : i + H_in, j : j + W_in, :].add(dy / (k * k))  # bug: / count
        return dx_pad[:, p:-p, p:-p, :], {}

    return Layer("avgpool_pad_count_mismatch", init, apply, backward)


def avgpool3x3s2_set_not_add():
    k, s = 3, 2

    def init(key, in_shape):
        H_out, W_out = (in_shape[0] - k) // s + 1, (in_shape[1] - k) // s + 1
        return (H_out, W_out, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, s).mean(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx = dx.at[:, rows, cols, :].set(dy / (k * k))  # bug: .add, windows overlap
        return dx, {}

    return Layer("avgpool3x3s2_set_not_add", init, apply, backward)


def maxpool3x3s2_set_not_add():
    k, s = 3, 2

    def init(key, in_shape):
        H_out, W_out = (in_shape[0] - k) // s + 1, (in_shape[1] - k) // s + 1
        return (H_out, W_out, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, s).max(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        argmax = jnp.argmax(window_stack(x, k, s), axis=3)
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, s, H_out), window_slice(j, s, W_out)
                dx = dx.at[:, rows, cols, :].set(jnp.where(argmax == i * k + j, dy, 0.0))  # bug: .add
        return dx, {}

    return Layer("maxpool3x3s2_set_not_add", init, apply, backward)


def maxpool_dx_at_not_assigned():
    k = 2

    def init(key, in_shape):
        return (in_shape[0] // k, in_shape[1] // k, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, k).max(axis=3), state, x

    def backward(params, x, dy):
        H_out, W_out = dy.shape[1], dy.shape[2]
        argmax = jnp.argmax(window_stack(x, k, k), axis=3)
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                rows, cols = window_slice(i, k, H_out), window_slice(j, k, W_out)
                dx.at[:, rows, cols, :].add(jnp.where(argmax == i * k + j, dy, 0.0))  # bug: dx = ...
        return dx, {}

    return Layer("maxpool_dx_at_not_assigned", init, apply, backward)


def maxpool_grad_to_whole_window():
    k = 2

    def init(key, in_shape):
        return (in_shape[0] // k, in_shape[1] // k, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        return window_stack(x, k, k).max(axis=3), state, x

    def backward(params, x, dy):
        dx = jnp.repeat(jnp.repeat(dy, k, axis=1), k, axis=2)  # bug: only the max of each window
        return dx, {}

    return Layer("maxpool_grad_to_whole_window", init, apply, backward)


CASES = [
    DoctorCase(
        "affine_dw_is_dy_t_x",
        affine_dw_is_dy_t_x,
        (6,),
        False,
        {"W": ("shape",)},
        "dW = dy^T x, as in the lecture's column-vector notation where W is (M, D)",
    ),
    DoctorCase(
        "affine_images_dx_not_reshaped",
        affine_images_dx_not_reshaped,
        (4, 4, 2),
        False,
        {"dx": ("shape",)},
        "I flattened the images in forward and forgot to reshape dx back",
    ),
    DoctorCase(
        "affine_loop_overwrites_batch",
        affine_loop_overwrites_batch,
        (6,),
        False,
        {"W": ("batch-sum",), "b": ("batch-sum",)},
        "I loop over the examples and set dW and db in the loop instead of adding to them",
    ),
    DoctorCase(
        "affine_db_mean_over_batch",
        affine_db_mean_over_batch,
        (8,),
        False,
        {"b": ("scale",)},
        "the bias gradient is the average of dy over the batch",
    ),
    DoctorCase(
        "affine_dw_in_float32",
        affine_dw_in_float32,
        (12,),
        False,
        {"W": ("precision",)},
        "the formulas are right; I do the big matmul for dW in float32 because it is faster",
    ),
    DoctorCase(
        "offset_layer_db_sign",
        offset_layer_db_sign,
        (6,),
        False,
        {"b": ("sign",)},
        "a learned centring layer y = x - b; I copied the bias gradient from affine",
    ),
    DoctorCase(
        "channel_scale_forgets_gamma_in_dx",
        channel_scale_forgets_gamma_in_dx,
        (6, 6, 3),
        False,
        {"dx": ("factor",)},
        "per-channel scale and shift: dx passes dy straight through like a bias, I forgot gamma",
    ),
    DoctorCase(
        "conv_dw_flipped",
        conv_dw_flipped,
        (6, 6, 2),
        False,
        {"W": ("transpose",)},
        "the lecture said the backward pass flips the kernel, so I stored dW flipped",
    ),
    DoctorCase(
        "conv_dw_in_out_swapped",
        conv_dw_in_out_swapped,
        (5, 5, 3),
        False,
        {"W": ("transpose",)},
        "per kernel tap dW is dy^T x_window, (C_out, C_in); it fit because my conv keeps 3 channels",
    ),
    DoctorCase(
        "conv_dw_divided_by_n",
        conv_dw_divided_by_n,
        (5, 6, 3),
        False,
        {"W": ("scale",)},
        "the weight gradient should be averaged over the batch, so I divide dW by N",
    ),
    DoctorCase(
        "conv_edge_padding_drops_pad_grad",
        conv_edge_padding_drops_pad_grad,
        (6, 6, 3),
        False,
        {"dx": ("border",)},
        "my conv pads by replicating the edge pixels; in backward I crop the padding away as with zeros",
    ),
    DoctorCase(
        "softplus_derivative_is_exp",
        softplus_derivative_is_exp,
        (7,),
        False,
        {"dx": ("factor",)},
        "the derivative of softplus is e^x; I forgot the chain rule through the log, 1 / (1 + e^x)",
    ),
    DoctorCase(
        "softsign_forgets_square",
        softsign_forgets_square,
        (8,),
        False,
        {"dx": ("factor",)},
        "softsign x / (1 + |x|) has derivative 1 / (1 + |x|), I dropped the square",
    ),
    DoctorCase(
        "elu_derivative_y_plus_one",
        elu_derivative_y_plus_one,
        (6,),
        False,
        {"dx": ("branch", "factor")},
        "on the negative side elu' is y + 1, the formula from the slides (which had alpha = 1, mine is 0.5)",
    ),
    DoctorCase(
        "hardtanh_forgets_clip",
        hardtanh_forgets_clip,
        (3, 3, 4),
        False,
        {"dx": ("branch",)},
        "hardtanh is the identity, so dx = dy; I forgot the clipped part is flat",
    ),
    DoctorCase(
        "abs_uses_relu_mask",
        abs_uses_relu_mask,
        (9,),
        False,
        {"dx": ("branch", "factor")},
        "|x| is x on the positive side, so I passed dy there and 0 elsewhere like relu",
    ),
    DoctorCase(
        "exp_decay_forgets_minus",
        exp_decay_forgets_minus,
        (3, 3, 2),
        False,
        {"dx": ("sign",)},
        "the derivative of exp is exp, so dx = dy * y; I forgot the minus inside exp(-x)",
    ),
    DoctorCase(
        "prelu_dalpha_loop_from_one",
        prelu_dalpha_loop_from_one,
        (3, 3, 10),
        False,
        {"alpha": ("local",)},
        "PReLU with a learned slope per channel; I ported my MATLAB loop over channels and it starts at 1",
    ),
    DoctorCase(
        "batchnorm_forgets_mean_and_var_paths",
        batchnorm_forgets_mean_and_var_paths,
        (6,),
        True,
        {"dx": ("coupling",)},
        "batch norm is a scale and shift per feature, so dx = gamma / std * dy",
    ),
    DoctorCase(
        "batchnorm2d_forgets_var_path",
        batchnorm2d_forgets_var_path,
        (4, 4, 3),
        True,
        {"dx": ("coupling",)},
        "I subtracted the mean of dy for the centring, but treated the variance as a constant",
    ),
    DoctorCase(
        "softmax_forgets_cross_term",
        softmax_forgets_cross_term,
        (6,),
        False,
        {"dx": ("coupling",)},
        "the derivative of exp is exp, so dx = y * dy; I forgot the normalising sum depends on x",
    ),
    DoctorCase(
        "softmax_diagonal_jacobian",
        softmax_diagonal_jacobian,
        (5,),
        False,
        {"dx": ("mismatch",)},
        "dy_i/dx_i = y_i (1 - y_i) like the sigmoid, and I used it elementwise",
    ),
    DoctorCase(
        "avgpool_zero_insertion_upsample",
        avgpool_zero_insertion_upsample,
        (8, 8, 3),
        False,
        {"dx": ("routing",)},
        "I upsampled dy / 4 by inserting zeros, like the backward of a strided conv",
    ),
    DoctorCase(
        "avgpool_pad_count_mismatch",
        avgpool_pad_count_mismatch,
        (7, 6, 2),
        False,
        {"dx": ("border",)},
        "forward averages only the pixels inside the image; backward divides by 9 everywhere",
    ),
    DoctorCase(
        "avgpool3x3s2_set_not_add",
        avgpool3x3s2_set_not_add,
        (9, 9, 2),
        False,
        {"dx": ("overlap",)},
        "each window spreads dy / 9 over its pixels with .set, as in my 2x2 pooling",
    ),
    DoctorCase(
        "maxpool3x3s2_set_not_add",
        maxpool3x3s2_set_not_add,
        (9, 9, 2),
        False,
        {"dx": ("overlap",)},
        "I write dy at each window's argmax with .set; overlapping windows overwrite each other",
    ),
    DoctorCase(
        "maxpool_dx_at_not_assigned",
        maxpool_dx_at_not_assigned,
        (6, 6, 3),
        False,
        {"dx": ("zero",)},
        "JAX arrays are immutable, so I used dx.at[...].add(...), but I forgot to assign it to dx",
    ),
    DoctorCase(
        "maxpool_grad_to_whole_window",
        maxpool_grad_to_whole_window,
        (8, 8, 2),
        False,
        {"dx": ("routing",)},
        "I upsample dy to the input size; every pixel in the window took part in the max",
    ),
]
