"""Dropout: what does the drop rate do to accuracy, and why is fnn's dropout *inverted*?

The MLP 784-512-256-10 with dropout after each hidden ReLU is trained on a small training set
(so that it can overfit) at several drop rates q, on the same seeds, with two dropout layers:
inverted (kept units divided by 1 - q in training, the identity at test) and unscaled (kept
units left as they are). Each drop rate is compared with q = 0 paired by seed; without the
1 / (1 - q), the layer after a dropout sees inputs 1 / (1 - q) times larger at test than in
training (run.py has the settings).

Figure: rates.png (against q: test accuracy gain over q = 0 per seed, validation loss, and the
scores layer's input in test mode over train mode).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.dropout import plot, run


def main(argv=None) -> Path:
    return common.main("dropout", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
