"""Losses: softmax cross-entropy against the multiclass SVM on the same model.

How do the two loss layers compare when everything else is equal: the same MLP, the same
initial weights and batches (a seed fixes both), the same optimizer? Test accuracy is compared
by McNemar's exact test on the images each model gets wrong (one test set), per seed; the
training loss shows how differently the two losses treat examples that are already right.

Figure: curves.png (training loss over its value at equal scores, and validation accuracy).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.losses import plot, run


def main(argv=None) -> Path:
    return common.main("losses", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
