"""Element-by-element evidence for the gradient doctor's `branch` and `factor` rules.

Both rest on how the manual gradient m relates to the true one t at each element, measured
over the trials, where each input x is tried with two cotangents dy:
- a *region*: the elements where m is wrong are the same for both cotangents of an x, differ
  from one x to the next, and are exactly those with x in an interval or outside one: sorted
  by x, the wrong ones form at most two runs' worth of changes (x < a, x > b, a < x < b,
  x < a or x > b, |x| > a). `region` finds it; its bounds are the simplest numbers between
  the last right and the first wrong x (`threshold`).
- a *factor*: m = r t element by element with r the same for both cotangents of an x (so r
  depends on x, not on dy), not a constant (that is scale), and m = 0 wherever t = 0.
- *local derivatives*: where the true layer is elementwise (y has x's shape and t / dy is the
  same for both cotangents), t / dy is its derivative dy/dx at x and m / dy the one the
  learner's backward implies; `fnn.gradcheck.expressions.name` names each as an expression
  of x, y and the parameters (y(1 - y), x(1 - x), exp(x), gamma, ...).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from fnn.gradcheck.expressions import Expression, Sample, describe_range, name, name_by_sign, relation

__all__ = [
    "branch",
    "factor",
    "Region",
    "region",
    "ratio",
    "Derivatives",
    "derivatives",
    "threshold",
    "sample",
]

AGREE = 1e-7  # two measurements of one function of x agree to AGREE of its size
NAMED = 2048  # elements an expression is matched on (a large layer's, evenly spread)


def _groups(f) -> list[list[int]]:
    return f.evidence.same_x


def threshold(lo: float, hi: float) -> float:
    """The simplest number in (lo, hi]: an integer, a half, a tenth, ... nearest to 0."""
    for step in (1.0, 0.5, 0.25, 0.1, 0.05, 0.01, 0.001):
        first, last = math.floor(lo / step) + 1, math.floor(hi / step)
        if first <= last:
            k = 0 if first <= 0 <= last else (first if first > 0 else last)
            return round(k * step, 6)
    return (lo + hi) / 2


class Region(NamedTuple):
    """The inputs where the gradient is wrong: x < low, x > high, or both, or between."""

    text: str  # "x < 0", "|x| > 0.5", "0 < x < 6", ...
    inside: np.ndarray  # (trials, *shape) bool: the region, at every trial's x
    bounds: tuple[float, ...]  # the thresholds, for plots


def region(f) -> Region | None:
    """The region of x where f's manual gradient is wrong (see the module docstring), or None."""
    ev = f.evidence
    if f.name != "dx" or f.manual.shape[1:] != tuple(ev.x_shape):
        return None
    groups = _groups(f)
    if any(not np.array_equal(f.wrong[g[0]], f.wrong[t]) for g in groups for t in g):
        return None  # depends on dy, not on x alone
    firsts = [g[0] for g in groups]
    wrong, x = f.wrong[firsts], ev.x_array[firsts]
    if all(np.array_equal(wrong[i], wrong[0]) for i in range(len(firsts))):
        return None  # the same elements at every x: positions, not a region of x
    if wrong.sum() < 2 or (~wrong).sum() < 2:
        return None
    order = np.argsort(x.ravel(), kind="stable")
    xs, seq = x.ravel()[order], wrong.ravel()[order]
    changes = np.nonzero(seq[1:] != seq[:-1])[0]
    if len(changes) > 2:
        return None
    cuts = [threshold(xs[k], xs[k + 1]) for k in changes]
    if len(cuts) == 1:
        text = f"x > {cuts[0]:g}" if seq[-1] else f"x < {cuts[0]:g}"
    elif seq[0]:  # wrong at both ends
        text = (
            f"|x| > {cuts[1]:g}" if math.isclose(cuts[0], -cuts[1]) else f"x < {cuts[0]:g} or x > {cuts[1]:g}"
        )
    else:
        text = f"{cuts[0]:g} < x < {cuts[1]:g}"
    x_all = ev.x_array
    if len(cuts) == 1:
        inside = x_all > cuts[0] if seq[-1] else x_all < cuts[0]
    else:
        between = (x_all > cuts[0]) & (x_all < cuts[1])
        inside = ~between if seq[0] else between
    return Region(text, inside, tuple(cuts))


def ratio(f) -> np.ndarray | None:
    """r with m = r t at every element, the same for both cotangents of each x and not a
    constant; NaN where t = 0 (and m = 0 there). None when m is no such factor times t."""
    m, t = f.manual, f.true
    tiny = np.abs(t) <= f.tolerance * f.scale
    if (f.wrong & tiny).any() or tiny.all():
        return None  # wrong where the true gradient is 0: no factor explains that
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(tiny, np.nan, m / t)
    size = float(np.nanmax(np.abs(r)))
    for g in _groups(f):
        for t_ in g[1:]:
            shared = ~np.isnan(r[g[0]]) & ~np.isnan(r[t_])
            if np.any(np.abs(r[g[0]][shared] - r[t_][shared]) > AGREE * size):
                return None
    if np.nanmax(r) - np.nanmin(r) <= AGREE * size:
        return None  # a constant: rule scale's
    return r


def sample(f, inside: np.ndarray | None = None) -> Sample:
    """x, y and the parameters that broadcast to x, at the elements `inside` (all by default)."""
    ev = f.evidence
    x = ev.x_array
    keep = np.ones(x.shape, bool) if inside is None else inside
    y = ev.y_array if ev.y_array.shape == x.shape else None
    params = {}
    for key, value in ev.named_params.items():
        value = np.asarray(value, np.float64)
        if 0 < value.ndim <= x.ndim - 1 and value.size > 1 and value.shape == x.shape[x.ndim - value.ndim :]:
            params[key] = np.broadcast_to(value, x.shape)[keep]
        elif value.ndim == 0 or value.size == 1:
            params[key] = np.full(int(keep.sum()), float(value.reshape(())))
    return Sample(x[keep], None if y is None else y[keep], params)


class Derivatives(NamedTuple):
    """The learner's and the true local derivative, where the layer is elementwise."""

    x: np.ndarray  # (trials, *shape), every trial's input
    mine: np.ndarray  # m / dy
    true: np.ndarray  # t / dy
    mine_is_function: bool  # m / dy is the same for both cotangents: a function of x


def derivatives(f) -> Derivatives | None:
    """m / dy and t / dy when the true layer is elementwise (t / dy a function of x alone)."""
    ev = f.evidence
    if f.name != "dx" or ev.y_array.shape != ev.x_array.shape:
        return None
    dy = ev.dy_array
    small = np.abs(dy) <= 1e-6 * np.abs(dy).max()
    with np.errstate(divide="ignore", invalid="ignore"):
        true, mine = np.where(small, np.nan, f.true / dy), np.where(small, np.nan, f.manual / dy)

    def is_function(d):
        size = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() else 0.0
        for g in _groups(f):
            for t_ in g[1:]:
                shared = ~np.isnan(d[g[0]]) & ~np.isnan(d[t_])
                if np.any(np.abs(d[g[0]][shared] - d[t_][shared]) > AGREE * max(size, 1e-300)):
                    return False
        return True

    if not is_function(true):
        return None
    for g in _groups(f):  # an element whose dy was ~0 in one trial takes its partner's value
        for t_ in g[1:]:
            true[g[0]] = np.where(np.isnan(true[g[0]]), true[t_], true[g[0]])
            mine[g[0]] = np.where(np.isnan(mine[g[0]]), mine[t_], mine[g[0]])
    return Derivatives(ev.x_array, mine, true, is_function(mine))


def named_pair(
    f, d: Derivatives, inside: np.ndarray | None = None
) -> tuple[Expression | None, Expression | None, Sample]:
    """The learner's and the true local derivative named (None where no expression fits),
    over the first trial of each x, at the elements `inside` (at most NAMED evenly spread
    ones), and the sample they were named on."""
    firsts = [g[0] for g in _groups(f)]
    keep = np.zeros(d.x.shape, bool)
    keep[firsts] = True if inside is None else inside[firsts]
    keep &= np.isfinite(d.true) & np.isfinite(d.mine)
    chosen = np.flatnonzero(keep)
    if len(chosen) > NAMED:
        keep = np.zeros(d.x.shape, bool)
        keep.flat[chosen[np.linspace(0, len(chosen) - 1, NAMED).round().astype(int)]] = True
    s = sample(f, keep)
    mine = (name(d.mine[keep], s) or name_by_sign(d.mine[keep], s)) if d.mine_is_function else None
    truth = name(d.true[keep], s, like=mine) or name_by_sign(d.true[keep], s)
    if mine is not None and truth is not None and mine.text == truth.text:
        truth = name(d.true[keep], s, exclude=mine.text)  # same to round-off: say something else
    return mine, truth, s


def compare_text(mine: Expression | None, truth: Expression | None, s: Sample, d: Derivatives, keep) -> str:
    """'your dx/dy is A; the truth is B: how they differ' in a learner's words."""
    if mine is not None and truth is not None:
        how = relation(mine, truth, s)
        return f"your dx/dy is {mine.text}; the truth is {truth.text}" + (f": {how}" if how else "")
    if truth is not None:
        return f"the truth is {truth.text}; yours is no expression of x and y the doctor knows"
    if mine is not None:
        return (
            f"your dx/dy is {mine.text}, which is not the layer's derivative (no expression the doctor knows)"
        )
    return f"your dx/dy ranges {describe_range(d.mine[keep])} and the truth {describe_range(d.true[keep])}"


def _view(d: Derivatives, mine, truth, bounds: tuple, region_text: str) -> dict:
    """What the plot of the local derivatives against x needs."""
    texts = {"mine_text": mine.text if mine else "", "true_text": truth.text if truth else ""}
    return {"x": d.x, "mine": d.mine, "true": d.true, "bounds": bounds, "region": region_text, **texts}


def branch(f) -> tuple[str, dict | None] | None:
    """Rule branch's detail and plot view: the region where dx is wrong, and there the learner's
    local derivative against the true one when the layer is elementwise; None if no region."""
    found = region(f)
    if found is None:
        return None
    text = f"{f.label} is wrong exactly where {found.text}, right elsewhere"
    d, view = derivatives(f), None
    if d is not None:
        mine, truth, s = named_pair(f, d, found.inside)
        keep = found.inside & np.isfinite(d.mine) & np.isfinite(d.true)
        text += ": there " + compare_text(mine, truth, s, d, keep)
        view = _view(d, mine, truth, found.bounds, found.text)
    else:
        inside = found.inside & f.wrong
        if np.all(np.abs(f.true[inside]) <= f.tolerance * f.scale):
            text += ": there the true gradient is 0 and yours is not"
        elif np.all(np.abs(f.manual[inside]) <= f.tolerance * f.scale):
            text += ": there yours is 0 and the true gradient is not"
    return text + ": check the condition (the mask) in your backward", view


def factor(f) -> tuple[str, dict | None] | None:
    """Rule factor's detail and plot view: m = r t with r a function of x (the same for every
    cotangent), not a constant; the local derivatives named when the layer is elementwise."""
    r = ratio(f)
    if r is None:
        return None
    d = derivatives(f)
    if d is not None and d.mine_is_function:
        mine, truth, s = named_pair(f, d)
        keep = np.isfinite(d.mine) & np.isfinite(d.true)
        text = compare_text(mine, truth, s, d, keep)
        if mine is None or truth is None:
            text += (
                "; the two differ by a factor that is a smooth function of x alone (the same for every dy): "
                "a chain-rule factor is missing or wrong (the plot draws both against x)"
            )
        return f"{f.label}: {text}", _view(d, mine, truth, (), "")
    known = np.isfinite(r)
    named = name(r[known], sample(f, known)) if f.name == "dx" else None
    if named is not None:
        return (
            f"{f.label} is the true gradient times {named.text}, element by element: a factor is missing or extra",
            None,
        )
    text = (
        f"{f.label} is the true gradient times a factor that varies element by element "
        f"({describe_range(r[known])}) but not with dy: a chain-rule factor is missing or wrong"
    )
    return text, None
