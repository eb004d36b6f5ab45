"""The numbers of the gradient checks: every registered case, and the finite-difference step study.

See the package docstring for the question. Only this module (and what it imports) counts in
the result's code hash.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from fnn import gradcheck, layers
from fnn.gradcheck.check import FD_STEP
from fnn.layer import serial

DTYPES = ("float32", "float64")
STENCILS = {2: "2nd-order central", 4: "4th-order five-point"}
FLOOR = 1e-17  # an error of exactly 0 is drawn here on the log axis
FD_INPUT, FD_FILTERS, FD_KERNEL, FD_PADDING = (2, 8, 8, 3), 4, 3, 1  # the function of the step study


@dataclasses.dataclass(frozen=True)
class Config:
    steps: tuple = tuple(float(10.0 ** (e / 3)) for e in range(-30, 1))  # 1e-10 ... 1, 31 steps
    seeds: tuple = (0, 1, 2)
    only: tuple = ()  # constructor names for the table; () for all


QUICK = {"only": ("affine", "relu", "softmax_cross_entropy"), "steps": (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1)}


def _nonlinear_function(seed: int):
    """L(x) = <dy, tanh(conv(x))> (x of shape FD_INPUT, FD_FILTERS filters, FD_KERNEL, FD_PADDING).

    Returns (exact, normalisation, along): <dx, v> with dx from the hand-written backward in
    float64, |dx| |v|, and along(dtype) -> jitted ts -> L(x + t v) evaluated in dtype. Every array
    is drawn in float32, so the float64 reference is taken at exactly the point the float32
    differences see."""
    model = serial(layers.conv2d(FD_FILTERS, FD_KERNEL, padding=FD_PADDING, impl="xla"), layers.tanh())
    rng = np.random.default_rng(seed)
    _, params, state = model.init(jax.random.key(seed), FD_INPUT[1:])
    params = jax.tree.map(lambda a: np.asarray(a, np.float32), params)
    x = rng.standard_normal(FD_INPUT).astype(np.float32)
    y_shape = model.apply(params, state, jnp.asarray(x))[0].shape
    dy = rng.standard_normal(y_shape).astype(np.float32)
    v = rng.uniform(-1.0, 1.0, x.shape).astype(np.float32)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        _, _, cache = model.apply(p64, state, jnp.asarray(x, jnp.float64))
        dx, _ = model.backward(p64, cache, jnp.asarray(dy, jnp.float64))
        dx = np.asarray(dx)

    def along(dtype):
        """t -> L(x + t v) for a vector of t, evaluated in `dtype`."""
        p, xd, vd, dyd = (jax.tree.map(lambda a: jnp.asarray(a, dtype), a) for a in (params, x, v, dy))

        @jax.jit
        def values(ts):
            return jax.vmap(lambda t: jnp.vdot(dyd, model.apply(p, state, xd + t * vd)[0]))(ts)

        return values

    exact = float(np.vdot(dx.astype(np.float64), v.astype(np.float64)))
    normalisation = float(np.linalg.norm(dx) * np.linalg.norm(v.astype(np.float64)))
    return exact, normalisation, along


def _differences(values, steps: np.ndarray, dtype) -> dict[int, np.ndarray]:
    """Both stencils at every step, the four values per step computed in `dtype`."""
    h = np.asarray(steps, dtype).astype(np.float64)  # the step as the dtype holds it
    offsets = np.concatenate([2 * h, h, -h, -2 * h]).astype(dtype)
    g2p, g1p, g1m, g2m = np.asarray(values(jnp.asarray(offsets)), np.float64).reshape(4, len(h))
    return {2: (g1p - g1m) / (2 * h), 4: (-g2p + 8 * g1p - 8 * g1m + g2m) / (12 * h)}


def _fd_study(steps: tuple, seeds: tuple) -> dict:
    """errors[dtype][order] = per seed, per step |fd - <dx, v>| / (|dx| |v|), fnn.gradcheck's measure."""
    errors = {d: {str(p): [] for p in STENCILS} for d in DTYPES}
    ratio = []
    steps_arr = np.asarray(steps, np.float64)
    for seed in seeds:
        exact, normalisation, along = _nonlinear_function(seed)
        ratio.append(abs(exact) / normalisation)
        with jax.enable_x64(True):
            for dtype in DTYPES:
                fd = _differences(along(getattr(jnp, dtype)), steps_arr, np.dtype(dtype))
                for p in STENCILS:
                    errors[dtype][str(p)].append((np.abs(fd[p] - exact) / normalisation).tolist())
    return {"errors": errors, "directional_over_norms": ratio}


def _log_mean(per_seed) -> np.ndarray:
    """Geometric mean over seeds of errors (exact zeros raised to FLOOR)."""
    return 10 ** np.mean(np.log10(np.maximum(np.asarray(per_seed, float), FLOOR)), axis=0)


def _fit(steps, error, slope: float, keep) -> float | None:
    """C with error ~ C h^slope: the median of error / h^slope over the points `keep` selects."""
    steps, error = np.asarray(steps, float), np.asarray(error, float)
    chosen = keep & (error > FLOOR)
    if not chosen.any():
        return None
    return float(10 ** np.median(np.log10(error[chosen]) - slope * np.log10(steps[chosen])))


def _analyse(steps: tuple, study: dict) -> dict:
    """Best steps, fitted reference lines and theory, per dtype and stencil."""
    steps_arr = np.asarray(steps, float)
    out = {}
    for dtype in DTYPES:
        eps = float(np.finfo(dtype).eps)
        for p in STENCILS:
            mean = _log_mean(study["errors"][dtype][str(p)])
            best = int(np.argmin(mean))
            usable = mean < 1e-2  # below 1% the error is in one regime or the other, not saturated
            at = int(np.argmin(np.abs(np.log(steps_arr / FD_STEP))))
            out[f"{dtype}_{p}"] = {
                "eps": eps,
                "best_step": float(steps_arr[best]),
                "best_error": float(mean[best]),
                "best_error_per_seed": [float(e[best]) for e in study["errors"][dtype][str(p)]],
                "theory_step": eps ** (1 / (p + 1)),
                "truncation_C": _fit(steps_arr, mean, p, usable & (steps_arr >= 10 * steps_arr[best])),
                "roundoff_B": _fit(steps_arr, mean / eps, -1, usable & (steps_arr <= steps_arr[best] / 10)),
                "gradcheck_step_on_grid": float(steps_arr[at]),
                "error_at_gradcheck_step": float(mean[at]),
                "error_at_gradcheck_step_per_seed": [float(e[at]) for e in study["errors"][dtype][str(p)]],
                "zeros": int(sum(np.sum(np.asarray(e) == 0) for e in study["errors"][dtype][str(p)])),
            }
    for p in STENCILS:  # truncation does not depend on the dtype: one C per stencil, from float64
        C = out[f"float64_{p}"]["truncation_C"]
        for dtype in DTYPES:
            entry = out[f"{dtype}_{p}"]
            entry["truncation_C_used"] = C
            B = entry["roundoff_B"]
            entry["fitted_step"] = (
                None if C is None or B is None else (B * entry["eps"] / (p * C)) ** (1 / (p + 1))
            )
    return out


def run(config: Config) -> dict:
    cases = [c for c in gradcheck.CASES if not config.only or c.constructor in config.only]
    table = []
    for case in cases:
        rows = [gradcheck.run_case(case, seed=seed).as_dict() for seed in config.seeds]
        worst = max(rows, key=lambda row: row["max_error"])
        table.append({**worst, "max_error_per_seed": [row["max_error"] for row in rows]})
    study = _fd_study(config.steps, config.seeds)
    return {
        "table": table,
        "seeds": list(config.seeds),
        "max_error": max(row["max_error"] for row in table),
        "tolerance": gradcheck.TOLERANCE,
        "gradcheck_step": FD_STEP,
        "fd_function": {
            "input_shape": list(FD_INPUT),
            "filters": FD_FILTERS,
            "kernel": FD_KERNEL,
            "padding": FD_PADDING,
        },
        "fd_steps": list(config.steps),
        "fd_errors": study["errors"],
        "fd_directional_over_norms": study["directional_over_norms"],
        "fd": _analyse(config.steps, study),
    }
