"""Does batch norm help the CNN at one recipe, and does average pooling do as well as max?

The `cnn` recipe (`fnn.models.RECIPES["cnn"]`: learning rate, weight decay, dropout, epochs)
trains three CNNs on the same seeds: the recipe's CNN (max pooling), the same CNN with average
pooling, and the same CNN with batch norm after each convolution and the hidden affine. The
arms are compared paired over seeds and by McNemar's test on one seed's test predictions.
Figure: accuracy.png (test accuracy per seed and arm).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.cnn_variants import plot, run


def main(argv=None) -> Path:
    return common.main("cnn_variants", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
