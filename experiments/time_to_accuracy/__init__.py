"""How fast does each recipe reach a given test accuracy on this machine?

`fast`, `cnn` and `cnn-bn` over seeds (`fast` over five: its goal is a mean), test accuracy
probed every tenth of an epoch while they train (the probes' time not counted). The `best`
recipe's curves are experiments.best's.

    python -m experiments.time_to_accuracy [--quick] [--replot] [--out DIR]
"""

from __future__ import annotations

from experiments import common
from experiments.time_to_accuracy import plot, run


def main(argv=None):
    return common.main("time_to_accuracy", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
