"""Filters: what the CNN learned. The first conv layer's 3x3 filters as an image grid, and
the feature maps of one test digit after each conv layer (after its ReLU).

Question: what do the learned filters look like? Trains the CNN (without dropout, constant
learning rate, momentum) for `epochs`; every figure uses one colour scale for all its panels,
with a colour bar. A filter whose weights nearly cancel (|sum w| < half of sum |w|) is counted
as responding to contrast rather than brightness; a feature map that is 0 everywhere for the
digit is counted as silent.

Figures: filters.png (the 32 first-layer filters), features_conv1.png (the digit and its 32
maps after conv1 + ReLU), features_conv2.png (its 64 maps after conv2 + ReLU).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.filters import plot, run


def main(argv=None) -> Path:
    return common.main("filters", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
