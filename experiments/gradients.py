"""Gradients: manual vs autodiff vs finite differences for every layer, and where checks break.

Question: are the hand-written backward passes right? The table of `fnn gradcheck` (every
registered layer and loss, float64), plus the relative error of a central finite difference
against the hand-written gradient of one layer as the step h shrinks, in float32 and float64:
truncation error falls like h^2 until round-off (machine epsilon / h) takes over, much
earlier in float32. Figures: fd_step.png; the table is in results.json.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from fnn import experiment, gradcheck, layers, plots


@dataclasses.dataclass(frozen=True)
class Config:
    steps: tuple = tuple(float(10.0**e) for e in range(-10, 0))
    seed: int = 0
    only: tuple = ()  # constructor names; () for all


QUICK = {"only": ("affine", "relu", "softmax_cross_entropy"), "steps": (1e-6, 1e-3, 1e-1)}


def _fd_error(step: float, dtype, seed: int) -> float:
    """|central difference - <dx, v>| / (|dx| |v|) for a conv layer, in `dtype`."""
    layer = layers.conv2d(4, 3, padding=1, impl="xla")
    rng = np.random.default_rng(seed)
    _, params, state = layer.init(jax.random.key(seed), (8, 8, 3))
    params = jax.tree.map(lambda a: jnp.asarray(a, dtype), params)
    x = jnp.asarray(rng.standard_normal((2, 8, 8, 3)), dtype)
    y, _, cache = layer.apply(params, state, x)
    dy = jnp.asarray(rng.standard_normal(y.shape), dtype)
    dx, _ = layer.backward(params, cache, dy)
    v = jnp.asarray(rng.uniform(-1, 1, x.shape), dtype)
    h = jnp.asarray(step, dtype)

    def g(a):
        return jnp.vdot(dy, layer.apply(params, state, a)[0])

    fd = (g(x + h * v) - g(x - h * v)) / (2 * h)
    exact = jnp.vdot(dx, v)
    return float(jnp.abs(fd - exact) / (jnp.linalg.norm(dx) * jnp.linalg.norm(v)))


def run(config: Config) -> dict:
    cases = [c for c in gradcheck.CASES if not config.only or c.constructor in config.only]
    table = [gradcheck.run_case(case, seed=config.seed).as_dict() for case in cases]
    float32 = [_fd_error(h, jnp.float32, config.seed) for h in config.steps]
    with jax.enable_x64(True):
        float64 = [_fd_error(h, jnp.float64, config.seed) for h in config.steps]
    return {
        "table": table,
        "max_error": max(row["max_error"] for row in table),
        "tolerance": gradcheck.TOLERANCE,
        "fd_steps": list(config.steps),
        "fd_error_float32": float32,
        "fd_error_float64": float64,
        "best_step_float32": config.steps[int(np.argmin(float32))],
        "best_step_float64": config.steps[int(np.argmin(float64))],
    }


def plot(results: dict, out: Path) -> None:
    steps = results["fd_steps"]
    series = {
        "float32": (steps, results["fd_error_float32"]),
        "float64": (steps, results["fd_error_float64"]),
    }
    plots.save(
        plots.lines(
            series,
            xlabel="finite-difference step h",
            ylabel="relative error vs manual dx",
            title="conv2d: central difference against the hand-written gradient",
            logx=True,
            logy=True,
        ),
        out / "fd_step.png",
    )


def main(argv=None) -> Path:
    return experiment.main("gradients", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
