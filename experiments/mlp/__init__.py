"""Train the MLP (784-512-256-10, ReLU, dropout) on MNIST: how fast does it converge, does it
over-fit, where do its errors fall, and what test accuracy does it reach over seeds?

Runs the `mlp` recipe (`fnn.models.RECIPES`: momentum SGD, warm-up then cosine decay, weight
decay, dropout) once per seed. Figures (first seed): curves.png (loss and accuracy per epoch),
confusion.png (the confusion matrix's errors), misclassified.png.
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.mlp import plot, run


def main(argv=None) -> Path:
    return common.main("mlp", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
