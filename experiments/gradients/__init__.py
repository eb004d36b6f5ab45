"""Gradients: are the hand-written backward passes right, and which finite-difference step checks them?

Question 1: does every registered layer and loss pass `fnn gradcheck` (hand-written backward vs
`jax.vjp` vs finite differences, float64)? The table lists every case's largest relative error,
the largest over `seeds`.

Question 2: how does a finite difference's error depend on the step h, and why does fnn's check
use the step it does? The function is L(x) = <dy, tanh(conv(x))>, NONLINEAR in x (a function
linear in x, such as <dy, conv(x)>, has no truncation error under a central difference, so it
cannot show the trade-off). For steps h from 1e-10 to 1, in float32 and float64, the 2nd-order
central difference (L(x + h v) - L(x - h v)) / 2h and the 4th-order five-point stencil are
compared with the directional derivative <dx, v> of the hand-written backward in float64 (exact
up to ~1e-16), the error normalised as fnn.gradcheck does: |fd - <dx, v>| / (|dx| |v|); one
random direction v, input, kernel and dy per seed. Truncation error falls like h^2 (h^4);
round-off, about eps / h, rises as h shrinks, so the best step is near eps^(1/3) (eps^(1/5)).

Figure: fd_step.png (both stencils, both dtypes, the fitted reference lines C h^p and
B eps / h, and the step fnn.gradcheck uses).
"""

from __future__ import annotations

from pathlib import Path

from experiments import common
from experiments.gradients import plot, run


def main(argv=None) -> Path:
    return common.main("gradients", run.Config, run.run, plot.plot, run.QUICK, argv, doc=__doc__)
