"""The handout's two texts: DERIVE.md (what to derive, without the solutions) and README.md (for
students: what to write, the commands that check it, and why some things are not there)."""

from __future__ import annotations

__all__ = ["SECTIONS", "derive_md", "readme_md"]

# One statement per section of derivations/backprop.pdf that the handout asks for, under the same
# section names and equation labels, without a single backward equation.
SECTIONS = {
    "Affine layer": """\
Given x (N, *in_shape), flattened to x2 (N, D), and the parameters W (D, M), b (M,):

    y = x2 W + b                                          (y: N x M)

and dy = dL/dy (N, M). Derive, each with its shape:

- `eq:affine-dx`: dL/dx, reshaped back to x's shape;
- `eq:affine-dW`: dL/dW, (D, M);
- `eq:affine-db`: dL/db, (M,).

Hint: write one element, y[n, m] = sum_d x2[n, d] W[d, m] + b[m], and ask which y's each
x2[n, d], W[d, m] and b[m] reaches. The loss is already a mean over the batch: its dy carries
the 1/N, so do not divide by N again.""",
    "Activations": """\
Given y = max(0, x) elementwise (ReLU) and dy = dL/dy, derive

- `eq:relu-dx`: dL/dx, shaped like x.

Convention: at exactly x = 0 the derivative is taken to be 0 (as `jax.nn.relu`). The checks
never put an input at 0.""",
    "Convolution": """\
Given x (N, H_in, W_in, C_in), kernel W (k_h, k_w, C_in, C_out), bias b (C_out,), stride s
and zero padding p, the output y (N, H_out, W_out, C_out), H_out = (H_in + 2 p - k_h) // s + 1
(the assignment's formula), is computed by im2col (the assignment's Figure 2):

    X_col = im2col(x)                        (N H_out W_out rows, k_h k_w C_in columns)
    Y     = X_col W_col + b                  (W_col = W reshaped to (k_h k_w C_in, C_out))

and dy = dL/dy. Derive:

- `eq:conv-im2col-dW`: dL/dW (through dL/dW_col);
- `eq:conv-im2col-dx`: dL/dx (through dL/dX_col and col2im, the adjoint of im2col, which adds
  every window back where it came from);
- `eq:conv-db`: dL/db.

Why must col2im ADD where windows overlap, and what happens to the gradient that lands in the
padding? (The teacher's derivations also derive dL/dx and dL/dW straight from the sum over
window offsets, `eq:conv-dx`, `eq:conv-dW`: either way gives the same numbers.)""",
    "Pooling": """\
Given max pooling over k_h x k_w windows with stride s and padding p (padded with -inf, so
the padding never wins; with pad_value=0.0, with zeros), per channel:

    y[n, o, q, c] = max of x's window (o, q) in channel c

and dy = dL/dy. Derive

- `eq:maxpool-dx`: dL/dx, shaped like x.

Conventions: a window with several equal maxima sends its gradient to ONE of them, the first
in row-major order (the `argmax` the cache keeps). With a stride smaller than the window,
windows overlap: what does one input that two windows pick receive?""",
    "Batch normalisation": """\
Given x (N, C) or (N, H, W, C), statistics over the m = N (or N H W) values of each feature,
and the parameters gamma, beta (C,) (the assignment's Figure 4):

    mu = (1/m) sum_i x_i        var = (1/m) sum_i (x_i - mu)^2        (biased)
    x_hat_i = (x_i - mu) / sqrt(var + eps)         y_i = gamma x_hat_i + beta

and dy = dL/dy. In train mode mu and var are the batch's, so every x_i reaches the loss three
ways: through its own x_hat_i, through mu and through var. Derive (the assignment's question,
its dl/dgamma and dl/dx_i):

- `eq:bn-dbeta`: dL/dbeta;
- `eq:bn-dgamma`: dL/dgamma;
- `eq:bn-dx`: dL/dx in train mode, as simple as you can make it (it fits on one line);
- `eq:bn-dx-eval`: dL/dx in eval mode, where mu and var are the running statistics, constants.

Drawing the computation graph (x -> mu, var, x_hat -> y) and adding up the paths helps.""",
    "Dropout": """\
Given inverted dropout, with a mask drawn once per call, keep ~ Bernoulli(1 - q) where q =
drop_rate is the probability of ZEROING a unit:

    y = x * keep / (1 - q)          in train mode;          y = x          in eval mode

and dy = dL/dy. Derive

- `eq:dropout-dx`: dL/dx, in both modes. Why is the mask a constant for this derivative?""",
    "Losses": """\
Given scores s (N, K) and labels y_n in {0, ..., K-1}, the losses are means over the batch:

    softmax:   L = -(1/N) sum_n log( exp(s[n, y_n]) / sum_j exp(s[n, j]) )
    SVM:       L =  (1/N) sum_n sum_{j != y_n} max(0, s[n, j] - s[n, y_n] + margin)

Derive dL/ds, (N, K):

- `eq:softmax-dscores`, in terms of the softmax probabilities;
- `eq:svm-dscores`; at a hinge's kink (s[n, j] - s[n, y_n] + margin = 0) take the derivative
  to be 0.""",
    "Optimizers": """\
The two update rules are the assignment's (nothing to derive: write them). For a parameter x
with gradient dx, both return an update u that is ADDED to x afterwards (x <- x + u):

- `eq:sgd`: x = x - learning_rate * dx;
- `eq:momentum`: v = mu * v - learning_rate * dx; x = x + v (v starts at 0, and is carried
  from one step to the next).""",
}

DERIVE_HEAD = """\
# What to derive

One section per layer, under the names and equation labels of the course's
`derivations/backprop.pdf` (which holds the solutions and is not handed out). Each states the
forward pass, given, and the gradients to derive; write your derivations in your report, then
the code in the file that cites the same labels. Notation: arrays are batch-first (N examples
as rows); images are N x H x W x C; dz means dL/dz, the gradient of the loss with respect to z,
shaped like z; dy is what the next layer's backward hands back.
"""


def derive_md(sections: list[str]) -> str:
    """DERIVE.md: the statements of `sections`, in order."""
    return DERIVE_HEAD + "".join(f"\n## {name}\n\n{SECTIONS[name]}\n" for name in sections)


README_HEAD = """\
# Backpropagation by hand

You write the backward passes of a small neural-network library in JAX (and the two update
rules of the assignment). The forward passes are given; the functions to write raise
`NotImplementedError`, saying what to derive. Derive each first (DERIVE.md states what), then
write it, then check it against the reference implementation, fnn's own layer, with the
command beside it.

Setup: Python 3.11 or later, then `pip install fnn` (or the copy your course provides); run
the commands in this folder.

## What to write, and the command that checks it

| file | write | derive first (DERIVE.md) | check |
|---|---|---|---|
"""

README_BODY = """
Each command fails until its function is written: `fnn gradcheck` stops at the
`NotImplementedError` with exit status 2 and says where to start. Once written, it runs your
code on every registered case of fnn's constructor (its shapes, strides, paddings, modes,
hyper-parameters: the conv2d cases include a non-square kernel, stride 2 and padding (1, 0)),
calling your function with the same arguments, and compares in float64, on the same
parameters and inputs:

- the forward pass (it is given: if you change it, it must still compute what fnn's does);
- every gradient array against fnn's hand-written backward and against autodiff (`jax.vjp`);
  a wrong one is diagnosed, e.g. `W  scale  dW is 0.5 times the true gradient, and 0.5 is 1/2,
  and 2 is the batch size N`, or `dx  overlap`, `dx  border`, `dx  transpose`.

Exit status 0 means every case agrees (relative error below 1e-9), 1 that something is wrong
(the table says what), 2 that the file could not run (the message says why). `--json PATH`
writes the findings; `fnn gradcheck --help` says more.

## What is not in this handout, and why

- **The derivations.** The course's `derivations/backprop.pdf` derives every backward pass
  that you are asked to derive: handing it out would hand out the answers. DERIVE.md keeps
  its section names and equation labels and states each problem (the forward pass, the
  shapes, the conventions, the gradients to find), without the solutions, so that the labels
  in the code, in DERIVE.md and in the teacher's PDF line up.
- **The walkthrough notebook** (`notebooks/walkthrough.ipynb`). It runs fnn's own layers and
  prints, cell by cell, the backward formulas and the gradient checks of each layer (for batch
  norm, the closed form of dL/dx): the solutions. The commands above replace it for checking
  your work.

The reference implementation is fnn itself: its source holds its backward passes. The point
is the derivation, which is yours to write; the check says whether it is right, and if not,
what kind of wrong.
"""


def readme_md(rows: list[tuple[str, str, str, str]], provided: list[str]) -> str:
    """README.md: a row per check (file, functions, section and labels, command), then what is
    provided and why some things are left out."""
    table = "".join(f"| `{f}` | {w} | {d} | `{c}` |\n" for f, w, d, c in rows)
    given = "".join(f"- {line}\n" for line in provided)
    return README_HEAD + table + ("\nProvided as they are:\n\n" + given if given else "") + README_BODY
