"""Train the CNN with batch norm (after each convolution and the hidden affine, before their
ReLUs) with its own recipe: how fast does it converge, does it over-fit, where do its errors
fall, and what test accuracy does it reach over seeds?

The same pipeline as `experiments.cnn` (`cnn.run.run`) with the `cnn-bn` recipe, whose learning
rate and weight decay differ from the `cnn` recipe's (experiments.cnn_variants compares the two
architectures at one recipe). Figures (first seed): curves.png, confusion.png, misclassified.png.
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.cnn_bn import plot, run


def main(argv=None) -> Path:
    return common.main("cnn_bn", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
