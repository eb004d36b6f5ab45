"""Convolution speed: the naive loop against im2col, XLA's convolution and fnn's other impls,
forward and forward + backward, and the memory of im2col's column matrix.

Question: what does the "fast" im2col formulation buy over the naive loops the assignment
describes, and what does it cost in memory? Contenders, all jitted, float32, 3x3 kernel,
stride 1, padding 1:
- naive (compiled loop): the definition as loops, one output pixel (n, o, q) per iteration, its
  window times all C_out filters, written as a `lax.fori_loop` and compiled by XLA. This is
  not the Python loop a student writes: no Python runs inside it;
- direct (fnn's impl="direct"): a sum over the k_h k_w = 9 window offsets, each one batched
  matmul over all pixels -- a loop over offsets, not over pixels;
- im2col: every window as a row of the column matrix, one matmul; backward through col2im;
- xla: `lax.conv_general_dilated`, backward by hand with the same primitive;
- winograd: F(2x2, 3x3) (fnn/winograd.py).
Each configuration's functions are timed side by side, contenders alternating round-robin
after warm-up calls; every repeat is kept and summarised by the median and the interquartile
range. Memory: the column matrix (N H_out W_out, k_h k_w C_in) against the input
(N, H_in, W_in, C_in), and the temporary buffers XLA's compiled program allocates per impl.

The student's loop: a pure-Python/NumPy forward (nested loops over the output pixels, one
np.dot per window) is timed once, at one small size, beside every compiled impl's forward.

Figure: speed.png (forward and forward + backward times with interquartile bars; memory).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.conv_speed import plot, run


def main(argv=None) -> Path:
    return common.main("conv_speed", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
