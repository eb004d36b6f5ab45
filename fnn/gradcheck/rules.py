"""The gradient doctor's rules: what is wrong with one gradient array, and on what evidence.

Each rule tests one hypothesis about the manual gradient m against the true one t (autodiff),
on every trial at once (several random inputs and cotangents, float64), and the first that
fits names the finding. They are tried most specific first, so that a sign flip is not
called "scale -1", nor a factor 1/N a batch-sum problem. "Fits" means: the hypothesis
predicts m to FIT (1e-6) of max|t|; a real bug of a kind fits to round-off (1e-15), an
unrelated one misses by far more. An element is *wrong* where |m - t| > tolerance max|t|.
(A missing key or a wrong shape is found before any rule: kind "shape", in diagnose.py.)

- undefined: apply's output or the true gradient holds NaN or inf (apply is undefined on these
  inputs, e.g. sqrt or log of a negative): there is nothing to compare with, so the check
  fails, saying so.

- ok: max|m - t| < tolerance max|t|, fnn.gradcheck's criterion.
- zero: m is 0 everywhere and t is not. Checked before scale, which it would fit with c = 0.
- sign: m = -t. Before scale, of which it is the case c = -1: its own name says more.
- scale: m = c t with c = <m, t> / <t, t>, the least-squares factor over all trials, and a
  residual at round-off. A factor that equals a count of the configuration (from
  `Evidence.counts`: N, the window area, the output positions ...) or its inverse is named.
  A mean over the batch instead of a sum is this kind (c = 1/N), not batch-sum: the factor
  is the simplest true statement about it, and its detail names N.
- precision (passes, with a warning): every element within PRECISION (1e-5) of max|t|, the
  error of a correct backward computed in float32 (~6e-8 per operation, a few hundred ulps
  after long sums), and no constant factor (scale, just above, would have named one: a
  real bug of that size is systematic). Before every rule that could fit such noise
  element by element (local, branch, factor).
- transpose: m equals t rearranged by whole axes: two axes of equal size swapped, or one or
  two axes reversed (a kernel rotated by 180 degrees, a convolution for a correlation); for
  dx also the true dx computed with a parameter so rearranged (`Evidence.true_dx_with`: a
  kernel not flipped for dx, dy @ W for dy @ W.T).
- batch-sum (parameters only): m is a combination of the per-example contributions e_n
  (`Evidence.per_example`, which sum to t) other than their sum: c e_n for one example n
  (the others dropped or written over); or, by least squares, sum_n w_n e_n with unequal w
  (tried only when there are at least 2N equations and the e_n are independent, so that a
  fit means something); or e summed over a parameter axis of size N instead of the batch.
- border (dx of NHWC images): the wrong positions all lie in strips along the edges, which
  leave a correct interior (at least 2 x 2: strips that meet are a pattern across the whole
  image, e.g. a routing bug's, not a border), and each strip is wrong from the edge inwards: every line of it
  (the edge row, the next, ...) is at least half wrong. Each wrong position is put in the
  strip of its nearest edge (ties go to the edge most of them are nearest to); a strip's
  width is its deepest wrong position's distance + 1. Padding and the windows that reach
  into it live there (the coverage counts say if fewer windows cover the strips); an
  error in lines away from the edge, with right lines outside them, is no border error.
- overlap (dx of NHWC images): every wrong position is covered by two or more windows
  (`Evidence.cover`), and either at every wrong element m equals the contribution of ONE
  of the windows covering it (`Evidence.single_window_gap`: the others were written over,
  = instead of +=), or the positions covered once are all right and at least half of those
  covered more than once are wrong.
- routing (dx of a windowed layer, `fnn.gradcheck.routing`): window by window, the input
  elements that an output's cotangent reaches through the learner's backward (a one-hot dy)
  differ from those it reaches through the vjp, in at least a quarter of the windows, never
  outside the window, with a backward linear in dy: all of a window instead of its maximum,
  one element instead of all, the first instead of the maximum. After border and overlap,
  which name the padding and overwriting bugs of the same layers more precisely; before
  local, branch and factor, which a routing bug can also fit (its error map is a 0/1
  pattern of positions).
- branch (dx, `fnn.gradcheck.pointwise.region`): wrong exactly where x lies in a region (x < a,
  x > b, a < x < b, |x| > a), right elsewhere, the same elements for every cotangent of an
  input and not the same elements for every input (that would be positions: local). The
  detail gives the learner's and the true local derivative there. Before local, which a
  small region would fit, and factor, which the branches of one layer often fit too.
- local: at most LOCAL_MAX distinct elements are wrong, and at most a quarter of them: their
  indices, the worst first, go to `where`. (overlap leaves a handful to this rule.) Before
  factor: a few elements scaled are a factor too, but their indices say more.
- factor (`fnn.gradcheck.pointwise.ratio`): m = r t element by element with r not constant,
  the same for both cotangents of each input (a function of x, not of dy), and m = 0 where t
  is. For an elementwise layer the detail names the learner's and the true local derivative
  (`fnn.gradcheck.expressions`: x(1 - x) against y(1 - y), exp(x) against sigmoid(x), ...)
  and how they differ; else the factor.
- coupling (dx, `fnn.gradcheck.coupling`): along a normalised axis (over the batch, over the
  features, ...) the error lies in the span of {1, x-hat, y} per group, and the true dx has
  an invariance there that the learner's breaks (sums to 0: the path through the mean; is
  orthogonal to x-hat: the variance; to x: a norm). Last before mismatch: it is the only
  rule whose evidence is a whole group at once.
- mismatch: none of the above; the detail gives the size of the error and, when it is tiny,
  names its likely source: float64 round-off (below 1e-12), float32 arithmetic (below 1e-4).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple

import jax
import numpy as np

import fnn.gradcheck.pointwise as pointwise
from fnn.gradcheck.check import UNDEFINED
from fnn.gradcheck.coupling import coupling
from fnn.gradcheck.routing import routing
from fnn.gradcheck.spatial import band, border_strips

__all__ = ["Finding", "Facts", "classify", "FIT", "LOCAL_MAX", "PRECISION", "PASSING"]

FIT = 1e-6  # a hypothesis fits when it predicts m to FIT max|t|
LOCAL_MAX = 8  # "a handful" of wrong elements
PRECISION = 1e-5  # float32 arithmetic: a correct backward lands within ~100 float32 ulps of max|t|
PASSING = ("ok", "precision")  # the kinds that pass (precision with a warning)


class Finding(NamedTuple):
    """What is wrong with one gradient array (or that nothing is)."""

    array: str  # "dx" or a params key such as "W" ("0/W" inside a serial)
    kind: str  # one of fnn.gradcheck.KINDS
    detail: str  # one sentence a learner can act on
    where: tuple = ()  # kind "local": up to 5 indices of wrong elements, the worst first


class Facts:
    """One array's manual and true gradients over all trials, (trials, *shape), and what the
    rules derive from them."""

    def __init__(
        self,
        name: str,
        manual: np.ndarray,
        true: np.ndarray,
        evidence: Any,
        tolerance: float,
        defined: bool = True,
    ):
        self.name, self.manual, self.true, self.defined = name, manual, true, defined
        self.evidence, self.tolerance = evidence, tolerance
        self.label = name if name == "dx" else (f"d{name}" if name.isidentifier() else f"d[{name}]")
        self.scale = float(np.abs(true).max()) if true.size else 0.0
        self.error = np.abs(manual - true)
        self.wrong = ~(self.error <= tolerance * self.scale)  # NaN is wrong, never quietly right
        self.views: dict = {}  # what a rule measured that a plot can show (local derivatives, routing maps)

    def fits(self, predicted: np.ndarray) -> bool:
        return bool(np.abs(self.manual - predicted).max() <= FIT * self.scale)

    def spatial_wrong(self) -> np.ndarray | None:
        """(H, W): wrong anywhere over trials, batch and channels; None unless dx is NHWC."""
        is_image = self.name == "dx" and self.manual.ndim == 5 and self.evidence.spatial
        return self.wrong.any(axis=(0, 1, 4)) if is_image else None


def classify(facts: Facts) -> Finding:
    """The first rule that fits, most specific first (see the module docstring)."""
    f = facts
    if not (f.defined and np.all(np.isfinite(f.true))):  # nothing to compare with: fail, saying why
        return Finding(f.name, "undefined", f"{f.label}: {UNDEFINED}")
    if not np.all(np.isfinite(f.manual)):
        bad = int(np.sum(~np.isfinite(f.manual[0])))
        text = f"{f.label} holds NaN or inf ({bad} elements in the first trial): look for 0/0 or log(0)"
        return Finding(f.name, "mismatch", text)
    if f.scale == 0:
        if np.abs(f.manual).max() == 0:
            return Finding(f.name, "ok", f"{f.label} is 0, as the true gradient is")
        return Finding(f.name, "mismatch", f"the true {f.label} is 0 here, the backward's is not")
    for rule in _RULES:
        found = rule(f)
        if found is not None:
            return found
    return _mismatch(f)


def _ok(f: Facts) -> Finding | None:
    if f.wrong.any():
        return None
    error = float(f.error.max() / f.scale)
    return Finding(f.name, "ok", f"{f.label} agrees with autodiff (max relative error {error:.1e})")


def _zero(f: Facts) -> Finding | None:
    if np.abs(f.manual).max() > f.tolerance * f.scale:
        return None
    hint = "was a result never written into it? (in JAX, a.at[i].add(v) returns a new array)"
    return Finding(f.name, "zero", f"{f.label} is all zeros, but the true gradient is not: {hint}")


def _sign(f: Facts) -> Finding | None:
    if not f.fits(-f.true):
        return None
    return Finding(f.name, "sign", f"{f.label} is minus the true gradient: a sign is flipped somewhere")


def _scale(f: Facts) -> Finding | None:
    c = float(np.vdot(f.manual, f.true) / np.vdot(f.true, f.true))
    if abs(c - 1) <= FIT or not np.abs(f.manual - c * f.true).max() <= FIT * f.scale * max(abs(c), 1):
        return None
    text = f"{f.label} is {c:.6g} times the true gradient"
    for inverse in (False, True):
        value = 1 / c if inverse else c
        named = [k for k in f.evidence.counts() if abs(value - k.value) <= FIT * k.value]
        if named:
            names = named[0].name + "".join(f" (also {k.name})" for k in named[1:3])
            is_what = f"1/{named[0].value}, and {named[0].value} is {names}" if inverse else names
            question = named[0].too_few if inverse else named[0].too_many
            return Finding(f.name, "scale", f"{text}, and {c:.6g} is {is_what}: {question}")
    return Finding(f.name, "scale", f"{text}: a constant factor is missing or extra")


def _precision(f: Facts) -> Finding | None:
    """Right to float32 precision: every element within PRECISION of max|t| (and no constant
    factor, which rule scale names): a correct backward computed in float32 somewhere."""
    error = float(f.error.max() / f.scale)
    if not error <= PRECISION:
        return None
    text = (
        f"{f.label} is right to float32 precision only (max relative error {error:.1e}; float32 keeps "
        f"about 6e-08, float64 about 1e-16): the backward, or the cache it reads, runs in float32. It passes, with this "
        f"warning; the float64 check asks for {f.tolerance:g}"
    )
    return Finding(f.name, "precision", text)


def _axis_names(name: str, rank: int) -> tuple[str, ...]:
    """Names of the array's axes by fnn's layouts (NHWC images, HWIO kernels, (D, M) weights)."""
    if name == "dx":
        return {4: ("N", "H", "W", "C"), 2: ("N", "features")}.get(rank, tuple(map(str, range(rank))))
    return {
        4: ("H", "W", "in channels", "out channels"),
        2: ("in features", "out features"),
    }.get(rank, tuple(f"axis {a}" for a in range(rank)))


def _rearrangements(shape: tuple[int, ...]):
    """(description, function of the stacked true gradient) for each whole-axis rearrangement."""
    axes = [a for a in range(len(shape)) if shape[a] > 1]
    for a, b in itertools.combinations(axes, 2):
        if shape[a] == shape[b]:
            yield ("swapped", (a, b)), functools.partial(np.swapaxes, axis1=a + 1, axis2=b + 1)
    for n in (1, 2):
        for chosen in itertools.combinations(axes, n):
            yield ("reversed", chosen), functools.partial(np.flip, axis=tuple(a + 1 for a in chosen))


def _transpose(f: Facts) -> Finding | None:
    names = _axis_names(f.name, f.manual.ndim - 1)
    for (how, axes), rearrange in _rearrangements(f.manual.shape[1:]):
        if f.fits(rearrange(f.true)):
            listed = " and ".join(f"{a} ({names[a]})" for a in axes)
            plural = "axes" if len(axes) > 1 else "axis"
            if how == "swapped":
                hint = "index it in the order of the forward's axes"
            elif {names[a] for a in axes} == {"H", "W"} and f.name != "dx":
                hint = (
                    "a kernel rotated by 180 degrees: the forward is a cross-correlation, not a convolution"
                )
            else:
                hint = "an index runs backwards"
            return Finding(
                f.name, "transpose", f"{f.label} is the true gradient with {plural} {listed} {how}: {hint}"
            )
    return _transposed_parameter(f) if f.name == "dx" else None


def _transposed_parameter(f: Facts) -> Finding | None:
    """dx computed with a parameter rearranged (a kernel flipped, axes swapped): the true dx at
    those params fits; trial 0 first, then every trial."""
    ev = f.evidence
    for key, value in ev.named_params.items():
        value = np.asarray(value)
        if value.ndim < 2:
            continue
        names = _axis_names(key, value.ndim)
        for (how, axes), rearrange in _rearrangements(value.shape):
            moved = rearrange(value[None])[0]
            params = _with_leaf(ev.params, ev.names.index(key), moved)
            if np.abs(f.manual[0] - ev.true_dx_with(params, [0])[0]).max() > FIT * f.scale:
                continue
            if not f.fits(ev.true_dx_with(params, list(range(len(f.manual))))):
                continue
            listed = " and ".join(f"{a} ({names[a]})" for a in axes)
            plural = "axes" if len(axes) > 1 else "axis"
            if how == "reversed" and {names[a] for a in axes} == {"H", "W"}:
                hint = "the kernel rotated by 180 degrees: check which of dx and dW needs the flip (dx does, for a cross-correlation)"
            else:
                hint = f"index {key} in the order of its axes"
            text = f"{f.label} is the true gradient computed with {key}'s {plural} {listed} {how}: {hint}"
            return Finding(f.name, "transpose", text)
    return None


def _with_leaf(tree, index: int, value):
    leaves, treedef = jax.tree.flatten(tree)
    leaves[index] = value
    return jax.tree.unflatten(treedef, leaves)


def _batch_sum(f: Facts) -> Finding | None:
    e = f.evidence.per_example(f.name) if f.name != "dx" else None
    if e is None:
        return None
    text = _one_example(f, e) or _weighted(f, e) or _wrong_axis(f, e)
    return Finding(f.name, "batch-sum", text) if text else None


def _one_example(f: Facts, e: np.ndarray) -> str | None:
    """m = c e_n: one example's contribution (times c), the others dropped or written over."""
    for n in range(e.shape[1]):
        size = float(np.vdot(e[:, n], e[:, n]))
        c = float(np.vdot(f.manual, e[:, n])) / size if size else 0.0
        if size and f.fits(c * e[:, n]):
            times = "" if abs(c - 1) <= FIT else f"{c:.6g} times "
            return f"{f.label} is {times}example {n}'s contribution alone: add up all {e.shape[1]} examples'"
    return None


def _weighted(f: Facts, e: np.ndarray) -> str | None:
    """m = sum_n w_n e_n with unequal w (equal w would be scale), by least squares; only when
    the contributions are independent and outnumbered by the equations, so a fit means something."""
    N = e.shape[1]
    basis = np.moveaxis(e, 1, -1).reshape(-1, N)  # one column per example
    if basis.shape[0] < 2 * N or np.linalg.matrix_rank(basis) < N:
        return None
    w = np.linalg.lstsq(basis, f.manual.ravel(), rcond=None)[0]
    if not f.fits((basis @ w).reshape(f.manual.shape)) or np.ptp(w) <= FIT * np.abs(w).max():
        return None
    weights = ", ".join(f"{v:.3g}" for v in w)
    return f"{f.label} weighs the {N} examples' contributions by ({weights}), not 1 each"


def _wrong_axis(f: Facts, e: np.ndarray) -> str | None:
    """m = e summed over a parameter axis of size N, the batch axis left in its place."""
    N = e.shape[1]
    for a, size in enumerate(f.manual.shape[1:]):
        if size == N and f.fits(np.moveaxis(e.sum(axis=a + 2), 1, a + 1)):
            return f"{f.label} is summed over its axis {a} (of size N = {N} too), not over the batch"
    return None


def _border(f: Facts) -> Finding | None:
    wrong = f.spatial_wrong()
    widths = border_strips(wrong) if wrong is not None else None
    if widths is None:
        return None
    width = max(widths.values())
    sides = "all four sides" if len(widths) == 4 else " and ".join(widths) + f" side{'s' * (len(widths) > 1)}"
    text = f"{f.label} is wrong only within {width} element{'s' * (width > 1)} of the border ({sides})"
    count, strips = f.evidence.coverage(), band(widths, *wrong.shape)
    if count is not None and count[strips].mean() < count[~strips].mean():
        text += ", where fewer windows cover the input"
    return Finding(f.name, "border", text + ": check how padding is handled and cropped off dx")


def _overlap(f: Facts) -> Finding | None:
    wrong = f.spatial_wrong()
    count = f.evidence.coverage() if wrong is not None else None
    if count is None or not wrong.any() or (wrong & (count < 2)).any():
        return None
    if np.count_nonzero(f.wrong.any(axis=0)) <= LOCAL_MAX:  # a handful: rule local lists them
        return None
    sampled = [t for t in f.evidence.sampled if f.wrong[t].any()]
    gap = f.evidence.single_window_gap(f.manual, sampled) if sampled else None
    single = gap is not None and bool(np.all(gap[f.wrong[sampled]] <= FIT * f.scale))
    contrast = bool((count < 2).any()) and wrong[count >= 2].mean() >= 0.5
    if not (single or contrast):
        return None
    shown = f"{int(wrong.sum())} of the {int((count >= 2).sum())} positions that several windows cover"
    if single:
        how = ", where it equals one window's contribution: overlapping windows must add (+=), not overwrite (=)"
    else:
        how = ": there every window's contribution must be added in full (+=, .at[].add)"
    return Finding(f.name, "overlap", f"{f.label} is wrong only at {shown}{how}")


def _routing(f: Facts) -> Finding | None:
    found = routing(f)
    if found is None:
        return None
    f.views["routing"] = {"mine": found.mine, "true": found.true, "boxes": found.boxes}
    return Finding(f.name, "routing", found.text)


def _branch(f: Facts) -> Finding | None:
    found = pointwise.branch(f)
    return None if found is None else _with_view(f, "branch", *found)


def _factor(f: Facts) -> Finding | None:
    found = pointwise.factor(f)
    return None if found is None else _with_view(f, "factor", *found)


def _with_view(f: Facts, kind: str, text: str, view: dict | None) -> Finding:
    if view is not None:
        f.views["derivative"] = view
    return Finding(f.name, kind, text)


def _coupling(f: Facts) -> Finding | None:
    found = coupling(f)
    return None if found is None else Finding(f.name, "coupling", found.text)


def _local(f: Facts) -> Finding | None:
    worst = f.error.max(axis=0)
    indices = np.argwhere(f.wrong.any(axis=0))
    if not 0 < len(indices) <= LOCAL_MAX or len(indices) > worst.size / 4:
        return None
    indices = sorted(indices, key=lambda ix: -worst[tuple(ix)])
    where = tuple(tuple(int(i) for i in ix) for ix in indices[:5])
    shown = ", ".join(str(ix) for ix in where[:3])
    text = f"{f.label} is right except at {len(indices)} element{'s' * (len(indices) > 1)} ({shown}"
    return Finding(f.name, "local", text + f"{', ...' * (len(indices) > 3)}): look at those indices", where)


# The order of the module docstring: each rule before those that could also fit its cases.
_RULES = (
    _ok,
    _zero,
    _sign,
    _scale,
    _precision,
    _transpose,
    _batch_sum,
    _border,
    _overlap,
    _routing,
    _branch,
    _local,
    _factor,
    _coupling,
)


def _mismatch(f: Facts) -> Finding:
    error, share = float(f.error.max() / f.scale), float(f.wrong.mean())
    if error < 1e-12:
        text = f"{f.label} is off by a relative {error:.1e}: float64 round-off, below the tolerance asked for"
    elif error < 1e-4:
        text = f"{f.label} is off by a relative {error:.1e}, far below a real mistake: float32 arithmetic?"
    else:
        text = f"{f.label} is wrong at {share:.0%} of its elements (relative error {error:.2g}) in no pattern"
        text += " the doctor knows: re-derive it on a tiny example"
    return Finding(f.name, "mismatch", text)
