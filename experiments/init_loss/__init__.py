"""The loss at initialisation: a sanity check before training, and why it is not exact.

Question: before any update, what loss should a 10-class network report? With scores near 0
every class gets probability 1/10, so softmax cross-entropy is ln 10 = 2.30; the multiclass
SVM sums max(0, s_j - s_y + 1) over the 9 wrong classes, 9 * margin = 9 for scores near 0.
A first-batch loss far from these values points at a bug (a wrong loss, labels, or scale).
How close are the assignment's MLP and CNN to them?

Setup: the MLP and the CNN of `fnn.models`, each with He initialisation (fnn's default, std
sqrt(2 / fan-in)) and with every weight drawn with std `small_scale` (scores all near 0, the
textbook case), for each seed in `seeds` (the parameters that `fnn.train.fit` starts from with
that seed). The loss is the mean over the first `batches` batches of `batch_size` training
images (the shuffled training split of `data_seed`), test-mode forward, no update. Recorded:
per seed each loss and sigma, the spread of the scores (the standard deviation of an example's
10 scores, root mean square over the examples), and the loss that independent N(0, sigma^2)
scores would give.

The recipe's first batch: the loss that `fnn train` logs for its first batch is the train-mode
loss of the recipe's model (He initialisation, dropout after the hidden layers) on one batch of
the recipe's size, drawn as `fnn.train.fit` draws it for that seed, before the first update;
recorded per seed with the test-mode loss of the same batch and parameters beside it.

Figure: init_loss.png (the measured losses per model and initialisation, the textbook values,
the Gaussian reference, and the recipes' first batch in train and test mode).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.init_loss import plot, run


def main(argv=None) -> Path:
    return common.main("init_loss", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
