"""Which activations saturate? ReLU, leaky ReLU, sigmoid, tanh and ELU in the same MLP.

The assignment's MLP uses ReLU; sigmoid and tanh are the classical alternatives, leaky ReLU and
ELU the modern ones. On the same network: how large are the gradients that reach each layer,
how many inputs sit where the activation's slope is almost 0, do ReLU units die, and what
does each reach? Sigmoid and tanh get the initialisation and learning rate that suit them
(Xavier, a small sweep of rates, chosen on validation), and are also run with the ReLU recipe.

Figures: accuracy.png, grad_norms.png, saturation.png, dead_units.png, sweep.png.
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.activations import plot, run


def main(argv=None) -> Path:
    return common.main("activations", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
