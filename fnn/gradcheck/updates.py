"""An optimizer's updates against fnn's: the check behind `compare` for an optimizer, and the
optimizers' registered cases (`OPTIMIZER_CASES`: the constructor calls compared).

Both optimizers (optax's protocol, `init(params) -> state`, `update(grads, state, params) ->
(updates, state)`) start from the same params and get the same random gradients for STEPS
updates, in float64; after each, both go on from fnn's new params (`p <- p + u`). Each
parameter's updates are compared over all steps at once and named by what they are: ok, shape
(a key missing or extra, a wrong shape), zero, sign (minus fnn's: an update is added, so it
must point downhill), scale (a constant times fnn's) or mismatch (saying from which step on:
right at the first step and wrong later points at the state carried between steps). The state
itself may be any pytree: only what reaches the parameters is compared.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnn.gradcheck.cases import Case
from fnn.gradcheck.rules import Finding
from fnn.optim import apply_updates

__all__ = ["OPTIMIZER_CASES", "STEPS", "compare_updates"]

# Optimizers have no gradient to check; their cases are the constructor calls compared update by update.
OPTIMIZER_CASES: tuple[Case, ...] = (
    Case("sgd", (0.1,)),
    Case("sgd", (0.03,)),
    Case("momentum", (0.1,)),
    Case("momentum", (0.05,), {"mu": 0.5}),
    Case("nesterov", (0.1,)),
    Case("rmsprop", (0.01,)),
    Case("adam", (0.01,)),
    Case("adamw", (0.01,)),
)

STEPS = 3  # updates compared
SHAPES = {"W": (3, 4), "b": (4,)}  # the params updated
FIT = 1e-6  # sign and scale fit when they predict the update to FIT of its size


def compare_updates(
    student: tuple, reference: Any, what: str, *, seed: int = 0, tolerance: float = 1e-9
) -> tuple[tuple[Finding, ...], dict]:
    """STEPS updates of `student` = (init, update) and of fnn's `reference`, named `what`.

    Returns:
        (findings, errors): one Finding per parameter (then one per extra key), and per
        parameter its max relative error over the steps (None where the shapes differ).
    """
    init, update = student
    with jax.enable_x64(True):
        rng = np.random.default_rng(seed)
        params = {k: jnp.asarray(rng.standard_normal(shape)) for k, shape in SHAPES.items()}
        mine_state, ref_state = init(params), reference.init(params)
        mine, theirs = [], []  # per step, {name: update}
        for _ in range(STEPS):
            grads = {k: jnp.asarray(rng.standard_normal(shape)) for k, shape in SHAPES.items()}
            updates, mine_state = update(grads, mine_state, params)
            ref_updates, ref_state = reference.update(grads, ref_state, params)
            mine.append(updates if isinstance(updates, dict) else {})
            theirs.append(ref_updates)
            params = apply_updates(params, ref_updates)  # both go on from fnn's params
        findings, errors = [], {}
        for name in SHAPES:
            got = [m.get(name) for m in mine]
            found, errors[name] = _finding(name, got, [t[name] for t in theirs], what, tolerance)
            findings.append(found)
        if not isinstance(updates, dict):
            findings.append(
                Finding(
                    "updates",
                    "shape",
                    f"update returned {type(updates).__name__} updates, not a dict like params",
                )
            )
        for extra in sorted(set(mine[0]) - set(SHAPES)):
            findings.append(
                Finding(extra, "shape", f"the updates have a key {extra!r} that params does not have")
            )
    return tuple(findings), errors


def _relative(got: np.ndarray, expected: np.ndarray) -> float:
    scale, diff = np.abs(expected).max(), np.abs(got - expected).max()
    return float(diff if scale == 0 else diff / scale)  # NaN in, NaN out


def _finding(
    name: str, mine: list, theirs: list, what: str, tolerance: float
) -> tuple[Finding, float | None]:
    """One parameter's updates over the steps against fnn's."""
    if any(m is None for m in mine):
        return Finding(
            name, "shape", f"the updates have no key {name!r}: they must mirror params key for key"
        ), None
    if any(np.shape(m) != np.shape(t) for m, t in zip(mine, theirs)):
        text = f"the update of {name} has shape {np.shape(mine[0])}, expected {np.shape(theirs[0])}"
        return Finding(name, "shape", text), None
    m, t = (np.stack([np.asarray(a, np.float64) for a in arrays]) for arrays in (mine, theirs))
    per_step = [_relative(a, b) for a, b in zip(m, t)]
    error, scale = float(np.max(per_step)), float(np.abs(t).max())
    if error < tolerance:  # False for NaN
        return Finding(
            name, "ok", f"the update of {name} agrees with {what} (max relative error {error:.1e})"
        ), error
    if not np.all(np.isfinite(m)):
        return Finding(name, "mismatch", f"the update of {name} holds NaN or inf"), error
    if np.abs(m).max() <= tolerance * scale:
        return Finding(name, "zero", f"the update of {name} is all zeros: nothing would ever move"), error
    if np.abs(m + t).max() <= FIT * scale:
        text = f"the update of {name} is minus {what}'s: updates are added (p <- p + u), so u must point downhill"
        return Finding(name, "sign", text), error
    c = float(np.vdot(m, t) / np.vdot(t, t))
    if np.abs(m - c * t).max() <= FIT * scale:
        return Finding(name, "scale", f"the update of {name} is {c:.4g} times {what}'s"), error
    first = next(i for i, e in enumerate(per_step) if not e < tolerance) + 1
    text = f"the update of {name} differs from {what}'s from step {first} of {STEPS} on (max relative error {error:.2g})"
    if first > 1:
        text += ": the first update agrees, so look at what the state carries from one step to the next"
    return Finding(name, "mismatch", text), error
