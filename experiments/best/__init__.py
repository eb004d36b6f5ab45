"""How good can fnn get on MNIST, and what does augmentation buy?

The `best` recipe (`fnn.models.RECIPES["best"]`: a small batch-norm CNN, two 5x5 convolutions
each followed after pooling by a 3x3 one, 30 epochs, random rotation, zoom and shift of every
training image inside the step) over seeds, and the same recipe without augmentation on the
same seeds, compared paired.

    python -m experiments.best [--quick] [--replot] [--out DIR]
"""

from __future__ import annotations

from experiments import common
from experiments.best import plot, run


def main(argv=None):
    return common.main("best", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
