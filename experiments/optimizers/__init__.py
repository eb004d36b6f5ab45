"""Optimizers: does SGD with momentum train faster than plain SGD, and why?

Momentum's velocity v <- mu v - lr g sums past steps, so along a steady gradient its step tends
to lr / (1 - mu): the effective learning rate eta = lr / (1 - mu) (SGD: eta = lr). At one lr,
momentum takes steps 1 / (1 - mu) = 10 times larger; so SGD and momentum are compared at equal
eta, paired by seed, on a learning-rate sweep of the MLP; a 2-D ill-conditioned quadratic
shows what momentum buys where the theory is exact; Nesterov, RMSProp and Adam train the same
MLP beside them (run.py has the settings).

Figures: lr_sweep.png (final loss against lr and against eta), gap.png (momentum minus SGD at
equal eta, per seed), quadratic.png (the loss per step),
loss.png (the five optimizers' training loss).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.optimizers import plot, run


def main(argv=None) -> Path:
    return common.main("optimizers", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
