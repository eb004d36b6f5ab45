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
from fnn.kernels import sum_rows
from fnn.layer import Layer, constructor

__all__ = ["BatchNormTrainCache", "BatchNormEvalCache", "batch_norm", "backward_by_cache"]

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


def backward_by_cache(params: dict, cache, dy: jax.Array):
    """train_backward or eval_backward, by the mode whose cache this is."""
    backward = {BatchNormTrainCache: train_backward, BatchNormEvalCache: eval_backward}[type(cache)]
    return backward(params, cache, dy)


# Per cache type, the labels of the equations the backward that consumes it implements.
EQUATIONS = (
    (BatchNormTrainCache, ("eq:bn-dbeta", "eq:bn-dgamma", "eq:bn-dx")),
    (BatchNormEvalCache, ("eq:bn-dbeta", "eq:bn-dgamma", "eq:bn-dx-eval")),
)


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

    def per_feature(x, *keys):
        """{key: (C,)} for x (N, C) or (N, H, W, C): one value per feature, the last axis of x."""
        if x.ndim not in (2, 4):
            raise ValueError(f"{name}: expected x of shape (N, C) or (N, H, W, C), got x.shape={x.shape}")
        return {key: ((x.shape[-1],), _PER_FEATURE) for key in keys}

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
        x_dtype = jnp.result_type(x)  # y's dtype
        # NOTE: a float16 sum of the m = N H W values of a feature overflows: accumulate in float32.
        params, x = checks.layer_inputs(
            name, params, per_feature(x, "gamma", "beta"), x, at_least=jnp.float32
        )
        checks.tree(name, "state", state, per_feature(x, "mean", "var"))
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

        Runs `backward_by_cache` in the dtype apply computed in.

        Args:
            params: as apply. cache: from apply. dy: like y.

        Returns:
            (dx, {"gamma": dgamma, "beta": dbeta}): dx like x; dgamma, dbeta (C,) like gamma, beta.
        """
        x_hat = cache.x_hat  # like x, in its dtype
        spec = per_feature(x_hat, "gamma", "beta")
        params_c, x_hat_c = checks.layer_inputs(name, params, spec, x_hat, at_least=jnp.float32)
        dy = checks.cotangent(name, dy, x_hat.shape, x_hat_c.dtype, "like x")
        dx, dparams = backward_by_cache(params_c, cache._replace(x_hat=x_hat_c), dy)
        return dx.astype(x_hat.dtype), {
            key: d.astype(jnp.result_type(params[key])) for key, d in dparams.items()
        }

    return Layer(name, init, apply, backward, equations=EQUATIONS)
