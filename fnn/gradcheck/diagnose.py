"""The gradient doctor: check anyone's own layer, and say what is wrong with its backward.

`check_layer` says *that* a backward is wrong; `diagnose(layer, in_shape)` says *what* is
wrong with it. In float64 it runs the layer's `backward` and `jax.vjp` of its `apply` on
TRIALS_X random inputs (`distinct_inputs`: away from kinks and ties, as gradcheck; the last
one spread over (-8, 8), so that kinks far out, like relu6's at 6, are crossed) times
TRIALS_DY random cotangents, and returns a `Diagnosis`: one `Finding` per gradient array
(dx, then each parameter by its key, then any key params lacks), of a kind in KINDS.
Structure is judged first (kind "shape": a missing or extra key, a wrong shape); the numbers
of the arrays that have the right shape go to `fnn.gradcheck.rules`, whose docstring gives
each kind's meaning and the evidence behind it (least-squares fits, axis rearrangements,
per-example contributions, error maps and coverage counts, local derivatives against x,
one-hot routing through windows, projections on a normalised group's shared terms, all
measured on the layer itself). "precision" (right to float32 round-off) passes with a warning:
`Diagnosis.ok` is True. `Diagnosis.views` holds what `fnn.gradcheck.plot` draws.

    >>> print(fnn.gradcheck.diagnose(my_layer, (8, 8, 3)))   # a table: array, kind, detail
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn.gradcheck.check import TOLERANCE, distinct_inputs
from fnn.gradcheck.evidence import Evidence
from fnn.gradcheck.rules import PASSING, Facts, Finding, classify
from fnn.gradcheck.spatial import window_boxes
from fnn.layer import Layer

__all__ = ["KINDS", "Finding", "Diagnosis", "diagnose"]

KINDS = (
    "ok",
    "shape",
    "zero",
    "sign",
    "scale",
    "transpose",
    "batch-sum",
    "border",
    "overlap",
    "local",
    "routing",
    "branch",
    "factor",
    "coupling",
    "precision",
    "mismatch",
    "undefined",
)
TRIALS_X, TRIALS_DY = 3, 2  # random inputs, and random cotangents per input
SCALES = (2.0, 2.0, 8.0)  # each input's range (-s, s): the last reaches kinks far out (relu6's 6)


class Diagnosis(NamedTuple):
    """The findings of `diagnose`, one per gradient array, and the error maps behind them."""

    layer: str
    config: str  # in_shape, batch, mode and seed
    findings: tuple[Finding, ...]
    errors: dict  # array name -> |manual - autodiff| of the first trial, where the shapes agree
    views: dict = {}  # array name -> what the plots draw: manual and true (first trial), and
    # the evidence a rule measured (local derivatives against x, routing maps); never mutated

    @property
    def ok(self) -> bool:
        """True when every array agrees with autodiff to the tolerance, or to float32 precision
        (kind "precision": it passes, with a warning)."""
        return all(f.kind in PASSING for f in self.findings)

    def __str__(self) -> str:
        wrong = sum(f.kind not in PASSING for f in self.findings)
        rows = [("array", "kind", "detail")] + [(f.array, f.kind, f.detail) for f in self.findings]
        widths = [max(len(r[i]) for r in rows) for i in (0, 1)]
        head = f"{self.layer} {self.config}: {wrong} of {len(self.findings)} gradient arrays wrong"
        if warned := sum(f.kind == "precision" for f in self.findings):
            head += f" ({warned} right only to float32 precision: passes, with a warning)"
        lines = [head]
        lines += [f"{a:<{widths[0]}}  {k:<{widths[1]}}  {d}" for a, k, d in rows]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-ready: the layer, the configuration, the verdict and every finding."""
        return {
            "layer": self.layer,
            "config": self.config,
            "ok": self.ok,
            "findings": [{**f._asdict(), "where": [list(ix) for ix in f.where]} for f in self.findings],
        }


def diagnose(
    layer: Layer,
    in_shape: Sequence[int],
    *,
    batch: int = 4,
    train: bool = False,
    seed: int = 0,
    tolerance: float = TOLERANCE,
) -> Diagnosis:
    """Compare `layer.backward` with autodiff in float64 and name what is wrong, array by array.

    Params and state from `init` are perturbed at random (as `check_layer` does), so that no
    bias is 0 and no gamma is 1. In train mode every trial uses the same key.

    Args:
        layer: any Layer (init, apply, backward). in_shape: its per-example input shape.
        batch: N. train: the mode. seed: draws params, inputs and cotangents.
        tolerance: the relative error below which an array is "ok" (gradcheck's 1e-9); from
            there to 1e-5 with no pattern it is "precision" (float32 arithmetic: passes).

    Returns:
        A Diagnosis: one Finding per gradient array; `.ok` when all are "ok" or "precision".

    Raises:
        TypeError: if backward does not return a pair (dx, dparams).
    """
    in_shape = tuple(int(d) for d in in_shape)
    with jax.enable_x64(True):
        params, state, key, xs, dys = _draw(layer, in_shape, batch, train, seed)
        both = _compiled(layer, train)
        runs = [both(params, state, key, x, dy) for x, dy in zip(xs, dys)]
        for returned, _ in runs:
            if not (isinstance(returned, tuple | list) and len(returned) == 2):
                got = type(returned).__name__
                raise TypeError(f"{layer.name}: backward must return (dx, dparams), got {got}")
        manual = [{"dx": m[0], **_named(m[1])} for m, _ in runs]
        true = [{"dx": t[1], **_named(t[0])} for _, t in runs]
        names = list(_named(params))

        def forward(p, x):
            return layer.apply(p, state, x, train=train, key=key)[0]

        def pair(x, dy):  # the learner's backward and the vjp, for any cotangent
            return both(params, state, key, x, dy)

        sampled = list(range(0, len(xs), TRIALS_DY))
        evidence = Evidence(forward, params, xs, dys, names, sampled=sampled, pair=pair)
        defined = all(np.all(np.isfinite(np.asarray(forward(params, x)))) for x in xs[::TRIALS_DY])
        findings, errors, views = [], {}, {}
        for name in ["dx", *names, *(n for n in manual[0] if n not in true[0])]:
            found = _structure(name, manual[0].get(name), true[0].get(name), batch, names)
            if found is None:
                m = np.stack([np.asarray(run[name], np.float64) for run in manual])
                t = np.stack([np.asarray(run[name], np.float64) for run in true])
                facts = Facts(name, m, t, evidence, tolerance, defined)
                found, errors[name] = classify(facts), np.abs(m[0] - t[0])
                views[name] = {"manual": m[0], "true": t[0], **facts.views}
                if evidence.spatial and name == "dx" and found.kind not in PASSING:
                    views[name].setdefault("boxes", window_boxes(evidence.cover))
            findings.append(found)
    config = f"on {in_shape}, batch {batch}, {'train' if train else 'eval'}, seed {seed}"
    return Diagnosis(layer.name, config, tuple(findings), errors, views)


def _draw(layer: Layer, in_shape: tuple[int, ...], batch: int, train: bool, seed: int):
    """Perturbed params and state, the key, and per trial an input x and a cotangent dy."""
    rng = np.random.default_rng(seed)  # NumPy draws: no compilation per new shape
    _, params, state = layer.init(jax.random.key(seed), in_shape)
    params = jax.tree.map(lambda a: jnp.asarray(a + 0.3 * rng.standard_normal(np.shape(a))), params)
    state = jax.tree.map(lambda a: jnp.asarray(a + rng.uniform(0.1, 0.6, np.shape(a))), state)  # var > 0
    key = jax.random.key(seed + 1) if train else None
    inputs = [jnp.asarray(distinct_inputs(rng, (batch, *in_shape), scale)) for scale in SCALES]
    y = jax.eval_shape(lambda x: layer.apply(params, state, x, train=train, key=key)[0], inputs[0])
    xs = [x for x in inputs for _ in range(TRIALS_DY)]
    dys = [jnp.asarray(rng.standard_normal(y.shape)) for _ in xs]  # random, never ones
    return params, state, key, xs, dys


@functools.lru_cache(maxsize=16)  # the same layer diagnosed with other seeds compiles once
def _compiled_cached(layer: Layer, train: bool):
    return _pair(layer, train)


def _compiled(layer: Layer, train: bool):
    try:
        return _compiled_cached(layer, train)
    except TypeError:  # a Layer holding something unhashable
        return _pair(layer, train)


def _pair(layer: Layer, train: bool):
    """A jitted `(params, state, key, x, dy) -> (backward's (dx, dparams), vjp's (dparams, dx))`."""

    @jax.jit
    def both(params, state, key, x, dy):
        def forward(p, x_):
            return layer.apply(p, state, x_, train=train, key=key)[0]

        _, _, cache = layer.apply(params, state, x, train=train, key=key)
        return layer.backward(params, cache, dy), jax.vjp(forward, params, x)[1](dy)

    return both


def _named(tree) -> dict:
    """{"W": leaf, ...}: the leaves of a params-like pytree by path ("0/W" inside a serial)."""
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path, simple=True, separator="/"): leaf for path, leaf in leaves}


def _structure(name: str, got, expected, N: int, names: list[str]) -> Finding | None:
    """A "shape" finding when `got` is missing, extra or shaped unlike `expected`; else None."""
    label = name if name == "dx" else f"d{name}"
    keys = ", ".join(map(repr, names)) or "none"
    if got is None:
        what = "backward returned no dx" if name == "dx" else f"dparams has no key {name!r}"
        return Finding(name, "shape", f"{what}: dparams must mirror params key for key ({keys})")
    if expected is None:
        return Finding(name, "shape", f"dparams has a key {name!r} that params does not have ({keys})")
    got_shape, shape = np.shape(got), np.shape(expected)
    if got_shape == shape:
        return None
    text = f"{label} has shape {got_shape}, expected {shape}"
    if got_shape == (N, *shape):
        text += ": one gradient per example? sum them over the batch axis"
    elif sorted(got_shape) == sorted(shape) and _permuted(np.asarray(got), np.asarray(expected)):
        text += ": it is the true gradient with its axes permuted; transpose it"
    elif math.prod(got_shape) == math.prod(shape):
        text += ": the right number of elements; a reshape missing, or in the wrong order?"
    return Finding(name, "shape", text)


def _permuted(got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether some permutation of got's axes gives `expected` (to round-off)."""
    scale = np.abs(expected).max() or 1.0
    for order in itertools.permutations(range(got.ndim)):
        moved = np.transpose(got, order)
        if moved.shape == expected.shape and np.abs(moved - expected).max() <= 1e-9 * scale:
            return True
    return False
