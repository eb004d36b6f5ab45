"""Where each window's gradient goes: the gradient doctor's evidence for the `routing` rule.

For one example (example 0) of the first input, two measurements, both on the layer itself:
- `windows`: which input elements each output's window holds, structurally. Probe: the input
  with one element raised far above the rest (so that a max over any window holding it picks
  it); the jvp along that element is nonzero exactly at the outputs whose windows hold it.
- `reach`: which input elements each output's cotangent reaches, the learner's and the true:
  the learner's backward and jax.vjp with a one-hot dy at that output (every output when
  there are at most MAX_OUTPUTS, else that many spread evenly).
A layer is *windowed* when every window is a proper part of the example and some hold more
than one element (pooling, convolution; not an elementwise layer, not a batch norm in train
mode, whose windows are everything). `routing(f)` then compares, window by window, the set the
learner's gradient reaches with the true one and names the pattern: all of the window
instead of its maximum, one element instead of all, the first instead of the maximum, ...
Only when the learner's backward is linear in dy (0 for dy = 0, and the one-hot responses add
up to its dx for the trial's dy) and reaches no element outside the window; the rule stays
silent for other errors.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn.gradcheck.spatial import window_boxes

__all__ = ["Routing", "routing", "MAX_OUTPUTS", "MAX_INPUTS"]

MAX_OUTPUTS = 512  # one-hot cotangents per diagnosis
MAX_INPUTS = 4096  # probed input elements per example


class Routing(NamedTuple):
    """A routing finding's text and the maps behind it (example 0, per input element)."""

    text: str
    mine: np.ndarray  # x_shape[1:]: how many sampled windows' gradients reach each element (learner)
    true: np.ndarray  # the same, true
    boxes: list  # per sampled output position, (top, left, bottom, right) of its window (images)


def _per_example(shape) -> int:
    return math.prod(shape[1:])


def _window_probe(forward, shape):
    per = _per_example(shape)

    @jax.jit
    def probe(params, x0):
        high = 2 * jnp.max(jnp.abs(x0)) + 1  # above every other input: any max picks it

        def reached(e):
            at = (jnp.arange(per) == e).reshape(shape[1:])
            raised = x0.at[0].set(jnp.where(at, high, x0[0]))
            tangent = jnp.zeros_like(x0).at[0].set(at.astype(x0.dtype))
            _, y_dot = jax.jvp(lambda x: forward(params, x), (raised,), (tangent,))
            return (y_dot[0] != 0).ravel()

        return jax.lax.map(reached, jnp.arange(per))

    return probe


def windows(ev) -> np.ndarray | None:
    """(outputs, inputs) bool for example 0: output o's window holds input element e; None
    when the layer is not batch-first or too large to probe."""
    if ev.y_shape[:1] != (ev.batch,) or _per_example(ev.x_shape) > MAX_INPUTS:
        return None
    if "_routing_windows" not in ev.__dict__:  # measured once per diagnosis
        try:
            hits = _window_probe(ev.forward, tuple(ev.x_shape))(ev.params, jnp.asarray(ev.xs[0]))
            ev.__dict__["_routing_windows"] = np.asarray(hits).T
        except Exception:  # a forward that cannot be probed so: no evidence, no finding
            ev.__dict__["_routing_windows"] = None
    return ev.__dict__["_routing_windows"]


def _outputs(ev) -> np.ndarray:
    count = _per_example(ev.y_shape)
    return np.unique(np.linspace(0, count - 1, min(count, MAX_OUTPUTS)).round().astype(int))


def reach(ev) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """(learner's, true) dx of example 0 per sampled output's one-hot cotangent, (outputs,
    inputs); and whether the learner's backward gives 0 for dy = 0. None without `pair`."""
    if ev.pair is None:
        return None
    if "_routing_reach" in ev.__dict__:
        return ev.__dict__["_routing_reach"]
    x0, outputs = jnp.asarray(ev.xs[0]), _outputs(ev)
    shape = tuple(ev.y_shape)

    def one(o):
        dy = (
            jnp.zeros(shape, x0.dtype)
            .at[0]
            .set((jnp.arange(_per_example(shape)) == o).reshape(shape[1:]).astype(x0.dtype))
        )
        (m_dx, _), (_, t_dx) = ev.pair(x0, dy)
        return jnp.reshape(m_dx[0], -1), jnp.reshape(t_dx[0], -1)

    try:
        m, t = jax.jit(jax.vmap(one))(jnp.asarray(outputs))
        (zero_dx, _), _ = ev.pair(x0, jnp.zeros(shape, x0.dtype))
        found = (np.asarray(m), np.asarray(t), bool(np.all(np.asarray(zero_dx) == 0)))
    except Exception:  # a backward that vmap cannot batch: one cotangent at a time
        try:
            pairs = [one(int(o)) for o in outputs]
            (zero_dx, _), _ = ev.pair(x0, jnp.zeros(shape, x0.dtype))
            found = (
                np.stack([np.asarray(p[0]) for p in pairs]),
                np.stack([np.asarray(p[1]) for p in pairs]),
                bool(np.all(np.asarray(zero_dx) == 0)),
            )
        except Exception:
            found = None
    ev.__dict__["_routing_reach"] = found
    return found


def _share(v: float) -> str:
    """A cotangent's share as a learner writes it: dy, dy/4, 0.3 dy."""
    if abs(v - 1) <= 1e-9:
        return "dy"
    if v > 0 and abs(1 / v - round(1 / v)) <= 1e-9 * (1 / v):
        return f"dy/{round(1 / v)}"
    return f"{v:.3g} dy"


def _which(elements: list[int], window: np.ndarray, x0: np.ndarray) -> str | None:
    """What the chosen element of each window is, when the same rule picks it in every one."""
    tests = {
        "its first (top-left) element": lambda w: int(np.flatnonzero(w)[0]),
        "its last (bottom-right) element": lambda w: int(np.flatnonzero(w)[-1]),
        "its maximum": lambda w: int(np.flatnonzero(w)[np.argmax(x0[w])]),
        "its minimum": lambda w: int(np.flatnonzero(w)[np.argmin(x0[w])]),
    }
    for text, pick in tests.items():
        if all(e == pick(w) for e, w in zip(elements, window)):
            return text
    return None


def routing(f) -> Routing | None:
    """The routing finding for dx (see the module docstring), or None."""
    ev = f.evidence
    if f.name != "dx":
        return None
    win = windows(ev)
    if win is None:
        return None
    outputs = _outputs(ev)
    win = win[outputs]
    sizes = win.sum(axis=1)
    if sizes.max() < 2 or np.any(sizes >= win.shape[1]) or np.any(sizes == 0):
        return None  # elementwise, or windows holding everything: no windows to route within
    measured = reach(ev)
    if measured is None:
        return None
    m, t, linear = measured
    if not linear:
        return None
    size = max(float(np.abs(t).max()), 1e-300)
    if len(outputs) == _per_example(ev.y_shape):  # every output measured: they must add up to m
        dy0 = np.asarray(ev.dys[0][0], np.float64).ravel()
        if np.abs(dy0 @ m - f.manual[0][0].ravel()).max() > 1e-6 * f.scale:
            return None  # the one-hot responses do not explain the learner's dx: not linear in dy
    mine, true = np.abs(m) > f.tolerance * size, np.abs(t) > f.tolerance * size
    differ = np.any(mine != true, axis=1)
    if differ.sum() < max(2, len(outputs) / 4) or np.any(mine & ~win):
        return None
    x0 = np.asarray(ev.xs[0][0], np.float64).ravel()
    d = np.flatnonzero(differ)
    k = int(np.median(sizes[d]))
    got = [np.flatnonzero(mine[o]) for o in d]
    should = [np.flatnonzero(true[o]) for o in d]
    share_m = _share(float(np.median(np.abs(m[mine]))))
    share_t = _share(float(np.median(np.abs(t[true]))))
    if all(np.array_equal(mine[o], win[o]) for o in d) and all(len(s) == 1 for s in should):
        which = _which([int(s[0]) for s in should], win[d], x0) or "the element the forward picked"
        which = which.replace("its ", "the ")
        text = f"each window sends its gradient ({share_m}) to all {k} of its elements; only {which} should get it"
    elif all(len(g) == 1 for g in got) and all(np.array_equal(true[o], win[o]) for o in d):
        which = _which([int(g[0]) for g in got], win[d], x0) or "a single element"
        text = f"each window sends {share_m} to one element, {which}; each of its {k} elements should get {share_t}"
    elif all(len(g) == 1 for g in got) and all(len(s) == 1 for s in should):
        which = _which([int(g[0]) for g in got], win[d], x0) or "another element"
        right = _which([int(s[0]) for s in should], win[d], x0) or "the element the forward picked"
        text = f"each window sends its gradient to {which} instead of {right.replace('its ', 'the ')}"
    else:
        n_m, n_t = int(np.median([len(g) for g in got])), int(np.median([len(s) for s in should]))
        text = f"a window's gradient reaches {n_m} of its {k} elements where it should reach {n_t}"
    text = f"{f.label}: {text} ({int(differ.sum())} of {len(outputs)} windows wrong, example 0)"
    return Routing(
        text,
        mine.sum(axis=0).reshape(ev.x_shape[1:]),
        true.sum(axis=0).reshape(ev.x_shape[1:]),
        _boxes(ev, win),
    )


def _boxes(ev, win: np.ndarray) -> list:
    """(top, left, bottom, right) of each window's positions, for NHWC inputs; [] otherwise."""
    if len(ev.x_shape) != 4:
        return []
    return window_boxes(win.reshape(len(win), *ev.x_shape[1:]).any(axis=3))
