"""The two losses, provided, as the assignment provides them: loss(scores, labels) -> (loss, dscores).

scores (N, K), labels (N,) integers in [0, K); the loss is the mean over the batch, and dscores
= dL/dscores (N, K) is what the last layer's backward receives. For your report, derive their
gradients too: DERIVE.md, section "Losses" (eq:softmax-dscores, eq:svm-dscores).
"""

from fnn.losses import multiclass_svm, softmax_cross_entropy

__all__ = ["softmax_cross_entropy", "multiclass_svm"]
