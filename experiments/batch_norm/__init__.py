"""Batch normalisation: how does it interact with the initialisation scale and the batch size,
and why does test mode normalise with running statistics instead of the batch's?

(a) Training with and without batch norm from initial hidden weights of std a, over four
decades. (b) Both networks at batch sizes 4 to 256, at one learning rate and at a rate scaled
with the batch size. (c) One batch-norm network evaluated with running statistics, with the
statistics of its evaluation batch, and one image at a time.

Figures: init_scale.png, batch_size.png, modes.png.
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.batch_norm import plot, run


def main(argv=None) -> Path:
    return common.main("batch_norm", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
