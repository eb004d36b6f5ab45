"""Terms shared across a normalised axis: the gradient doctor's evidence for `coupling`.

A batch norm normalises each feature over the batch, a layer norm each example over its
features, a softmax each example over its classes: every output of a group depends on every
input of it through the group's mean, variance or sum. A backward that treats those as
constants misses terms that are the same function for the whole group: with e = m - t the
error, for each group (along one of `groupings`) e lies in the span of a few group-wide
vectors: 1 (the path through the mean), x-hat = (x - mean) / std (through the variance) or y
(through a normalising sum). `coupling(f)` tests, grouping by grouping, the smallest sets of
{1, x-hat, y} (least squares per group and trial, residual at round-off, at least two more
elements per group than vectors in the set), and asks for the invariance that makes those
paths matter: the true gradient sums to 0 over each group (the layer ignores a shift of the
whole group) or is orthogonal to x-hat (it ignores a scaling), and the learner's does not.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

__all__ = ["Coupling", "coupling", "groupings"]

RESIDUAL = 1e-7  # the error lies in the span when the rest is RESIDUAL of its size
ORTHOGONAL = 1e-2  # the true gradient is orthogonal to u when |<g, u>| <= ORTHOGONAL |g| |u| in
# every group (not round-off: a norm's eps makes its scale invariance approximate, eps / var)
BROKEN = 1e-1  # the learner's breaks that when |<g, u>| > BROKEN |g| |u| in some group


class Coupling(NamedTuple):
    text: str
    over: str  # "the batch", ...
    axes: tuple[int, ...]  # the shared axes (of the batched array)


def groupings(rank: int) -> list[tuple[str, str, tuple[int, ...]]]:
    """(what a group spans, what indexes the groups, the shared axes) for an array of `rank`."""
    if rank == 2:
        return [("the batch", "each feature", (0,)), ("the features", "each example", (1,))]
    if rank == 4:
        return [
            ("the batch and the positions (N, H, W)", "each channel", (0, 1, 2)),
            ("the features (H, W, C)", "each example", (1, 2, 3)),
            ("the channels", "each example and position", (3,)),
            ("the positions (H, W)", "each example and channel", (1, 2)),
        ]
    every = tuple(range(rank))
    return [("the batch", "each feature", every[:-1]), ("the features", "each example", every[1:])]


def _grouped(a: np.ndarray, shared: tuple[int, ...]) -> np.ndarray:
    """(trials, groups, members): `a` (trials, *shape) with the shared axes last, flattened."""
    shared = tuple(s + 1 for s in shared)
    kept = [i for i in range(1, a.ndim) if i not in shared]
    moved = np.transpose(a, (0, *kept, *shared))
    members = int(np.prod([a.shape[i] for i in shared]))
    return moved.reshape(a.shape[0], -1, members)


def _standardised(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    std = np.sqrt((centred**2).mean(axis=-1, keepdims=True))
    return centred / np.where(std > 0, std, 1.0)


def _in_span(e: np.ndarray, basis: list[np.ndarray]) -> bool:
    """Every group's error in the span of the basis vectors of that group, to round-off
    (least squares per trial and group, by the pseudo-inverse: a basis may be degenerate)."""
    B = np.stack(basis, axis=-1)  # (trials, groups, members, k)
    fitted = B @ (np.linalg.pinv(B) @ e[..., None])
    rest = np.linalg.norm(e - fitted[..., 0], axis=-1)
    floor = np.maximum(np.linalg.norm(e, axis=-1), 1e-12 * np.linalg.norm(e))
    return bool(np.all(rest <= RESIDUAL * floor))


def _cosine(g: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per trial and group: |<g, u>| / (|g| |u|), 0 where g is 0."""
    norms = np.linalg.norm(g, axis=-1) * np.linalg.norm(u, axis=-1)
    return np.abs((g * u).sum(axis=-1)) / np.where(norms > 0, norms, 1.0)


def coupling(f) -> Coupling | None:
    """The coupling finding for dx (see the module docstring), or None."""
    ev = f.evidence
    if f.name != "dx" or ev.y_array.shape != ev.x_array.shape:
        return None
    error = f.manual - f.true
    for over, each, shared in groupings(f.manual.ndim - 1):
        e, m, t = (_grouped(a, shared) for a in (error, f.manual, f.true))
        x, y = _grouped(ev.x_array, shared), _grouped(ev.y_array, shared)
        members = e.shape[-1]
        vectors = {"1": np.ones_like(x), "x-hat": _standardised(x), "x": x, "y": y}
        kept = [u for u in INVARIANCES if np.all(_cosine(t, vectors[u]) <= ORTHOGONAL)]
        if "1" in kept and "x-hat" in kept:
            kept.remove("x")  # implied by the other two: x = std x-hat + mean
        broken = [u for u in kept if np.any(_cosine(m, vectors[u]) > BROKEN)]
        if not broken:
            continue  # the layer has no invariance along this grouping that the learner breaks
        for size in (1, 2, 3):
            if members < size + 2:
                break
            for terms in itertools.combinations(("1", "x-hat", "y"), size):
                if _in_span(e, [vectors[u] for u in terms]):
                    return Coupling(_text(f.label, over, each, terms, broken), over, shared)
    return None


# the invariances a normalisation gives its gradient: (the true gradient ..., the path it shows)
INVARIANCES = {
    "1": ("sum(dx) = 0", "mean"),  # a shift of the whole group changes nothing
    "x-hat": ("sum(dx * x-hat) = 0", "variance"),  # nor a scaling about its mean
    "x": ("sum(dx * x) = 0", "norm"),  # nor a scaling about 0 (an L2 or RMS norm)
}
TERMS = {"1": "a constant", "x-hat": "a multiple of x-hat", "y": "a multiple of y"}


def _text(label: str, over: str, each: str, terms: tuple, broken: list) -> str:
    spanned = " plus ".join(TERMS[u] for u in terms)
    holds = " and ".join(INVARIANCES[u][0] for u in broken)
    head = (
        f"{label}'s error is, for {each}, {spanned} over {over}: there the true gradient has {holds}, "
        "yours has not"
    )
    if "y" in terms and broken == ["1"]:
        return (
            f"{head}: the path through the normalising sum over {over} is missing or wrong "
            "(every output depends on it: subtract y * sum(dy * y) over the group)"
        )
    paths = [INVARIANCES[u][1] for u in broken]
    s, verb = ("s", "are") if len(paths) > 1 else ("", "is")
    text = (
        f"{head}: the path{s} through the {' and the '.join(paths)} of x over {over} {verb} missing or wrong"
    )
    where = " (x-hat = (x - mean) / std" if "x-hat" in terms or "x-hat" in broken else " ("
    return f"{text}{where}{'; ' if where != ' (' else ''}every x of the group moves {'them' if s else 'it'})"
