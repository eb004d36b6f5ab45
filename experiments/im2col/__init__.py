"""im2col and col2im on a 5x5 example: what the fast convolution's two helpers do (the
assignment's Figures 2 and 3), drawn from fnn's own functions.

Question: how do im2col and col2im turn a convolution into a matrix product and back, and why
does col2im add? Input: one 5x5 single-channel image whose pixels hold their own numbers 1..25
(so every entry of the column matrix names the pixel it was copied from; 0 is padding). For
each (kernel, stride, padding) example, `fnn.im2col.im2col` gives the column matrix and
`fnn.im2col.col2im` of all-ones columns gives, per pixel, how many windows cover it. Also
checked: col2im(im2col(x)) = counts * x (col2im is not an inverse), and the adjoint identity
<im2col(x), c> = <x, col2im(c)> for a random c.

Figure: im2col.png (per example: the input with the first windows outlined, the column matrix
in the assignment's orientation, the overlap counts on one colour scale for all examples).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.im2col import plot, run


def main(argv=None) -> Path:
    return common.main("im2col", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
