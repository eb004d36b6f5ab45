"""Train the CNN (two 3x3 convolutions with max pooling, a 128-unit hidden layer) on MNIST: how
fast does it converge, does it over-fit, where do its errors fall, and what test accuracy does
it reach over seeds?

Runs the `cnn` recipe (`fnn.models.RECIPES`) once per seed; `experiments.cnn_bn` runs the
`cnn-bn` recipe the same way. Figures (first seed): curves.png, confusion.png, misclassified.png.
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.cnn import plot, run


def main(argv=None) -> Path:
    return common.main("cnn", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
