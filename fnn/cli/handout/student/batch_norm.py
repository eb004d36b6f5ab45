"""Batch normalisation, for (N, D) features and, per channel, for (N, H, W, C) images.

YOUR TASK: write `batch_norm_train_backward` and `batch_norm_eval_backward`. Derive them first:
DERIVE.md, section "Batch normalisation" (eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx, eq:bn-dx-eval).
Then check them against fnn's batch_norm (its cases run both modes):

    fnn gradcheck --layer batch_norm.py:batch_norm --like batch_norm

Statistics reduce over every axis but the last: m values per feature (m = N, or N H W).
Train mode (the assignment's Figure 4): mu = mean(x), var = mean((x - mu)^2) (biased),
x_hat = (x - mu) / sqrt(var + eps), y = gamma x_hat + beta, and the running statistics move:
running = momentum * running + (1 - momentum) * batch (with unbiased_running_var=True the
running variance is fed var * m / (m - 1)). Eval mode normalises with the running statistics
instead, and leaves them as they are.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnn import Layer


class BatchNormTrainCache(NamedTuple):
    x_hat: jax.Array  # like x: normalised with the batch statistics
    inv_std: jax.Array  # (C,): 1 / sqrt(var + eps) of the batch


class BatchNormEvalCache(NamedTuple):
    x_hat: jax.Array  # like x: normalised with the running statistics
    inv_std: jax.Array  # (C,): 1 / sqrt(running var + eps)


def batch_norm_train_backward(params, cache, dy):
    """Train mode, through the batch statistics: eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx (DERIVE.md).
    You may add to the cache (in apply) whatever your derivation needs.

    Args:
        params: {"gamma": (C,), "beta": (C,)}. cache: a BatchNormTrainCache. dy: like x, dL/dy.

    Returns:
        (dx, {"gamma": dgamma, "beta": dbeta}): dx like x; dgamma and dbeta (C,).
    """
    raise NotImplementedError(
        "derive it: DERIVE.md, section Batch normalisation, eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx"
    )


def batch_norm_eval_backward(params, cache, dy):
    """Eval mode, the running statistics constants: eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx-eval.

    Args:
        params: {"gamma": (C,), "beta": (C,)}. cache: a BatchNormEvalCache. dy: like x, dL/dy.

    Returns:
        (dx, {"gamma": dgamma, "beta": dbeta}): dx like x; dgamma and dbeta (C,).
    """
    raise NotImplementedError(
        "derive it: DERIVE.md, section Batch normalisation, eq:bn-dbeta, eq:bn-dgamma, eq:bn-dx-eval"
    )


def batch_norm(momentum=0.9, eps=1e-5, unbiased_running_var=False, *, name="batch_norm"):
    """Batch norm with learned gamma (starts at 1) and beta (0), and running mean (0) and var (1)."""

    def init(key, in_shape):
        C = in_shape[-1]
        params = {"gamma": jnp.ones(C), "beta": jnp.zeros(C)}
        return tuple(in_shape), params, {"mean": jnp.zeros(C), "var": jnp.ones(C)}

    def apply(params, state, x, *, train=False, key=None):
        gamma, beta = params["gamma"], params["beta"]
        if not train:
            inv_std = 1.0 / jnp.sqrt(state["var"] + eps)
            x_hat = (x - state["mean"]) * inv_std
            return gamma * x_hat + beta, state, BatchNormEvalCache(x_hat, inv_std)
        axes = tuple(range(x.ndim - 1))  # every axis but the features'
        m = math.prod(x.shape[:-1])
        mu = x.mean(axis=axes)  # (1)
        var = ((x - mu) ** 2).mean(axis=axes)  # (2) biased
        inv_std = 1.0 / jnp.sqrt(var + eps)  # (3)
        x_hat = (x - mu) * inv_std  # (3)
        fed_var = var * m / (m - 1) if unbiased_running_var else var
        new_state = {
            "mean": momentum * state["mean"] + (1 - momentum) * mu,
            "var": momentum * state["var"] + (1 - momentum) * fed_var,
        }
        return gamma * x_hat + beta, new_state, BatchNormTrainCache(x_hat, inv_std)  # (4)

    def backward(params, cache, dy):
        """eq:bn-dbeta, eq:bn-dgamma, and eq:bn-dx (train) or eq:bn-dx-eval (eval), by the cache's mode."""
        if isinstance(cache, BatchNormTrainCache):
            return batch_norm_train_backward(params, cache, dy)
        return batch_norm_eval_backward(params, cache, dy)

    return Layer(name, init, apply, backward)
