"""The two losses of the assignment: loss(scores, labels) -> (loss, dscores).

YOUR TASK: write `softmax_dscores` and `svm_dscores`. Derive them first: DERIVE.md, section
"Losses" (eq:softmax-dscores, eq:svm-dscores). Then check them against fnn's losses:

    fnn gradcheck --layer losses.py:softmax_cross_entropy --like softmax_cross_entropy
    fnn gradcheck --layer losses.py:multiclass_svm --like multiclass_svm

scores (N, K), labels (N,) integers in [0, K); the loss is the mean over the batch, and dscores
= dL/dscores (N, K) is what the last layer's backward receives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def softmax_dscores(scores, labels):
    """dL/dscores of the softmax cross-entropy: eq:softmax-dscores (DERIVE.md).

    Args:
        scores: (N, K). labels: (N,) integers in [0, K).

    Returns:
        dscores, (N, K).
    """
    raise NotImplementedError("derive it: DERIVE.md, section Losses, eq:softmax-dscores")


def svm_dscores(scores, labels, margin):
    """dL/dscores of the multiclass SVM: eq:svm-dscores (DERIVE.md). Where a hinge is exactly at
    its kink (s_j - s_y + margin = 0), take its derivative to be 0.

    Args:
        scores: (N, K). labels: (N,) integers in [0, K). margin: a number >= 0.

    Returns:
        dscores, (N, K).
    """
    raise NotImplementedError("derive it: DERIVE.md, section Losses, eq:svm-dscores")


def softmax_cross_entropy(scores, labels):
    """L = -mean_n log softmax(scores_n)[labels_n], and its gradient."""
    N = scores.shape[0]
    shifted = scores - jax.lax.stop_gradient(scores.max(axis=1, keepdims=True))  # nothing overflows
    log_p = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
    loss = -jnp.take_along_axis(log_p, labels[:, None], axis=1).sum() / N
    return loss, softmax_dscores(scores, labels)


def multiclass_svm(scores, labels, margin=1.0):
    """L = mean_n sum_{j != y_n} max(0, s_j - s_{y_n} + margin), and its gradient."""
    N, K = scores.shape
    correct = jnp.take_along_axis(scores, labels[:, None], axis=1)
    hinges = jax.nn.relu(scores - correct + margin)
    hinges = jnp.where(jnp.arange(K) == labels[:, None], 0.0, hinges)  # not the correct class
    return hinges.sum() / N, svm_dscores(scores, labels, margin)
