"""Losses: `loss(scores, labels) -> (loss, dscores)`, the mean over the batch.

Shapes: scores (N, K) float, labels (N,) int in [0, K); dscores (N, K). Label VALUES are
checked where data enters (`fnn.data`), not here: inside jit they are not known.
Derivation: derivations/losses.tex (eq:softmax-*, eq:svm-*).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from fnn import checks

__all__ = ["softmax_cross_entropy", "multiclass_svm", "LOSSES", "EQUATIONS"]


def _check(name: str, scores: jax.Array, labels: jax.Array) -> None:
    if scores.ndim != 2:
        raise ValueError(f"{name}: expected scores of shape (N, K), got scores.shape={scores.shape}")
    if labels.shape != scores.shape[:1]:
        raise ValueError(
            f"{name}: expected labels of shape ({scores.shape[0]},), got labels.shape={labels.shape}"
        )
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"{name}: labels must be integer class indices, got dtype {labels.dtype}")


def softmax_cross_entropy(scores: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """L = -mean_n log softmax(scores_n)[labels_n]; dscores = (p - onehot) / N.

    Implements eq:softmax-loss and eq:softmax-dscores.

    Args:
        scores: (N, K) float. labels: (N,) int in [0, K).

    Returns:
        (loss, dscores): loss a scalar, dscores (N, K).
    """
    _check("softmax_cross_entropy", scores, labels)
    N, K = scores.shape
    shifted = scores - jax.lax.stop_gradient(scores.max(axis=1, keepdims=True))  # NOTE: stability
    log_p = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
    onehot = jax.nn.one_hot(labels, K, dtype=scores.dtype)
    loss = -(onehot * log_p).sum() / N
    return loss, (jnp.exp(log_p) - onehot) / N


def multiclass_svm(scores: jax.Array, labels: jax.Array, margin: float = 1.0) -> tuple[jax.Array, jax.Array]:
    """L = mean_n sum_{j != y_n} max(0, s_j - s_{y_n} + margin), with its subgradient.

    Implements eq:svm-loss and eq:svm-dscores (the derivative at a hinge's kink is 0).

    Args:
        scores: (N, K) float. labels: (N,) int in [0, K). margin: a number >= 0.

    Returns:
        (loss, dscores): loss a scalar, dscores (N, K).
    """
    margin = checks.number("multiclass_svm", "margin", margin, low=0.0)
    _check("multiclass_svm", scores, labels)
    N, K = scores.shape
    onehot = jax.nn.one_hot(labels, K, dtype=scores.dtype)
    correct = (scores * onehot).sum(axis=1, keepdims=True)
    margins = jnp.where(onehot > 0, 0.0, jax.nn.relu(scores - correct + margin))
    active = jnp.where(onehot > 0, 0.0, (margins > 0).astype(scores.dtype))
    dscores = (active - onehot * active.sum(axis=1, keepdims=True)) / N
    return margins.sum() / N, dscores


LOSSES = {"softmax_cross_entropy": softmax_cross_entropy, "multiclass_svm": multiclass_svm}

# Per loss, the labels of the equations it implements (what fnn.gradcheck cites).
EQUATIONS = {
    softmax_cross_entropy: ("eq:softmax-loss", "eq:softmax-dscores"),
    multiclass_svm: ("eq:svm-loss", "eq:svm-dscores"),
}
