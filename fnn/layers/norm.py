"""Batch normalisation, for (N, D) features and, per channel, for NHWC images (spatial BN).

Shapes: x (N, D) or (N, H, W, C); gamma, beta, and the running mean and var have the size of
the last axis; statistics reduce over every other axis, m values per feature (m = N or N H W).

Train mode (eq:bn-forward):
    mu = mean(x),  var = mean((x - mu)^2)  (biased),  x_hat = (x - mu) / sqrt(var + eps),
    y = gamma x_hat + beta,
    running = momentum * running + (1 - momentum) * batch      (momentum = 0.9; running var
    starts at 1, mean at 0; unbiased_running_var=True feeds var * m / (m - 1), as PyTorch does,
    whose momentum=0.1 is this momentum=0.9).
Eval mode normalises with the running statistics instead, and they stay unchanged.
Derivation: derivations/norm.tex (eq:bn-*).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from fnn import checks
from fnn.describe import constructor
from fnn.kernels import sum_rows
from fnn.layer import Layer

__all__ = ["BatchNormTrainCache", "BatchNormEvalCache", "batch_norm"]

_PER_FEATURE = "one per feature: the size of the last axis of x"


class BatchNormTrainCache(NamedTuple):
    x_hat: jax.Array  # like x (and in its dtype): normalised with the batch statistics
    inv_std: jax.Array  # (C,): 1 / sqrt(var + eps) of the batch, in at least float32


class BatchNormEvalCache(NamedTuple):
    x_hat: jax.Array  # like x (and in its dtype): normalised with the running statistics
    inv_std: jax.Array  # (C,): 1 / sqrt(running var + eps), in at least float32


def train_backward(params: dict, cache: BatchNormTrainCache, dy: jax.Array):
    """Implements eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx: through the batch statistics.

    Args:
        params: {"gamma": (C,), "beta": (C,)}. cache: from train mode. dy: (N, C) or (N, H, W, C).

    Returns:
        (dx, {"gamma": dgamma, "beta": dbeta}): dx like dy, dgamma and dbeta (C,).
    """
    gamma, x_hat = params["gamma"], cache.x_hat
    dbeta = sum_rows(dy)  # sum_rows: a reduction on all cores (fnn.kernels)
    dgamma = sum_rows(dy * x_hat)
    m = math.prod(dy.shape[:-1])
    dx = (gamma * cache.inv_std / m) * (m * dy - dbeta - x_hat * dgamma)
    return dx, {"gamma": dgamma, "beta": dbeta}


def eval_backward(params: dict, cache: BatchNormEvalCache, dy: jax.Array):
    """Implements eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx-eval: the running statistics are constants.

    Args:
        params: {"gamma": (C,), "beta": (C,)}. cache: from eval mode. dy: (N, C) or (N, H, W, C).

    Returns:
        (dx, {"gamma": dgamma, "beta": dbeta}): dx like dy, dgamma and dbeta (C,).
    """
    dbeta = sum_rows(dy)  # sum_rows: a reduction on all cores (fnn.kernels)
    dgamma = sum_rows(dy * cache.x_hat)
    return dy * (params["gamma"] * cache.inv_std), {"gamma": dgamma, "beta": dbeta}


@constructor
def batch_norm(
    momentum: float = 0.9,
    eps: float = 1e-5,
    unbiased_running_var: bool = False,
    *,
    name: str = "batch_norm",
) -> Layer:
    """Batch norm with learned gamma (init 1), beta (init 0) and running mean/var state."""
    momentum = checks.number(name, "momentum", momentum, low=0.0, high=1.0)
    eps = checks.number(name, "eps", eps, low=0.0, low_open=True)
    checks.flag(name, "unbiased_running_var", unbiased_running_var)

    def init(key, in_shape):
        if len(in_shape) not in (1, 3):
            raise ValueError(f"{name}: expected per-example shape (D,) or (H, W, C), got {tuple(in_shape)}")
        C = in_shape[-1]
        params = {"gamma": jnp.ones(C), "beta": jnp.zeros(C)}
        return tuple(in_shape), params, {"mean": jnp.zeros(C), "var": jnp.ones(C)}

    def checked(params, x):
        """(params, x) in at least float32, or a ValueError naming the layer and the shapes that
        do not fit: gamma and beta (C,), x (N, C) or (N, H, W, C)."""
        # NOTE: a float16 sum of the m = N H W values of a feature overflows: accumulate in float32.
        dtype = jnp.promote_types(checks.floating(name, "x", x), jnp.float32)
        checks.params_keys(name, params, ("gamma", "beta"))
        gamma_shape = jnp.shape(params["gamma"])
        C = gamma_shape[0] if len(gamma_shape) == 1 else x.shape[-1]
        for key in ("gamma", "beta"):
            checks.shape(name, f"params[{key!r}]", jnp.shape(params[key]), (C,), _PER_FEATURE)
        if x.ndim not in (2, 4) or x.shape[-1] != C:
            raise ValueError(f"{name}: expected x of shape (N, {C}) or (N, H, W, {C}), got x.shape={x.shape}")
        return {key: jnp.asarray(a, dtype) for key, a in params.items()}, jnp.asarray(x, dtype)

    def apply(params, state, x, *, train=False, key=None):
        """y = gamma x_hat + beta, x_hat normalised by batch (train) or running (eval) statistics.

        Computes in float32 for half-precision x (else in x's dtype) and returns y in x's dtype;
        the new running statistics keep the dtype of `state`.

        Args:
            params: {"gamma": (C,), "beta": (C,)}. state: {"mean": (C,), "var": (C,)}.
            x: (N, C) or (N, H, W, C). train: batch statistics, and update the running ones.

        Returns:
            (y, new_state, cache): y like x; a BatchNormTrainCache or BatchNormEvalCache.
        """
        x_dtype = checks.floating(name, "x", x)
        params, x = checked(params, x)
        checks.params_keys(f"{name} (state)", state, ("mean", "var"))
        for key in ("mean", "var"):
            checks.shape(name, f"state[{key!r}]", jnp.shape(state[key]), (x.shape[-1],), _PER_FEATURE)
        gamma, beta = params["gamma"], params["beta"]
        if not train:
            inv_std = lax.rsqrt(jnp.asarray(state["var"], x.dtype) + eps)
            x_hat = (x - jnp.asarray(state["mean"], x.dtype)) * inv_std
            y = (gamma * x_hat + beta).astype(x_dtype)
            return y, state, BatchNormEvalCache(x_hat.astype(x_dtype), inv_std)
        m = math.prod(x.shape[:-1])
        if unbiased_running_var and m < 2:
            raise ValueError(
                f"{name}: unbiased running variance needs >= 2 values per feature, got x.shape={x.shape}"
            )
        mu = sum_rows(x) / m  # (1); sum_rows: a reduction on all cores (fnn.kernels)
        centered = x - mu
        var = sum_rows(centered * centered) / m  # (2) biased
        inv_std = lax.rsqrt(var + eps)  # (3)
        x_hat = centered * inv_std  # (3)
        batch_var = var * (m / (m - 1)) if unbiased_running_var else var

        def running(key, batch):  # running = momentum * running + (1 - momentum) * batch
            return momentum * state[key] + (1 - momentum) * lax.stop_gradient(batch).astype(
                jnp.result_type(state[key])
            )

        new_state = {"mean": running("mean", mu), "var": running("var", batch_var)}
        y = (gamma * x_hat + beta).astype(x_dtype)  # (4)
        return y, new_state, BatchNormTrainCache(x_hat.astype(x_dtype), inv_std)

    def backward(params, cache, dy):
        """Implements eq:bn-dbeta, eq:bn-dgamma, and eq:bn-dx (train) or eq:bn-dx-eval (eval).

        Runs train_backward or eval_backward by the cache's type, in the dtype apply computed in.

        Args:
            params: as apply. cache: from apply. dy: like y.

        Returns:
            (dx, {"gamma": dgamma, "beta": dbeta}): dx like x; dgamma, dbeta (C,) like gamma, beta.
        """
        params_c, x_hat = checked(params, cache.x_hat)
        checks.shape(name, "dy", jnp.shape(dy), x_hat.shape, "like x")
        run = backward.by_cache[type(cache)]
        dx, dparams = run(params_c, cache._replace(x_hat=x_hat), jnp.asarray(dy, x_hat.dtype))
        dparams = {key: d.astype(jnp.result_type(params[key])) for key, d in dparams.items()}
        return dx.astype(cache.x_hat.dtype), dparams

    backward.by_cache = {BatchNormTrainCache: train_backward, BatchNormEvalCache: eval_backward}
    return Layer(name=name, init=init, apply=apply, backward=backward)
