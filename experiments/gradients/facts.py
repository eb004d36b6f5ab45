"""What the report says about the gradient checks: derived numbers and the claims they support."""

from __future__ import annotations

import math

import numpy as np

from experiments import fmt
from experiments.gradients.run import DTYPES, FLOOR, STENCILS

ORDER = {2: "2nd", 4: "4th"}


def _geo(values) -> float:
    """Geometric mean (exact zeros raised to FLOOR)."""
    return float(10 ** np.mean(np.log10(np.maximum(np.asarray(values, float), FLOOR))))


def _step_entry(entry: dict, step: float) -> dict:
    return {
        "best_step": fmt.sci(entry["best_step"]),
        "best_error": fmt.sci(entry["best_error"]),
        "theory_step": fmt.sci(entry["theory_step"]),
        "fitted_step": fmt.sci(entry["fitted_step"] if entry["fitted_step"] is not None else math.nan),
        "at_gradcheck_step": fmt.sci(_geo(entry["error_at_gradcheck_step_per_seed"])),
        "roundoff_B": fmt.Num(entry["roundoff_B"] if entry["roundoff_B"] is not None else math.nan, ".2g"),
        "truncation_C": fmt.Num(entry["truncation_C_used"] or math.nan, ".2g"),
        "best_over_rule": fmt.Num(entry["best_step"] / entry["theory_step"], ".2g"),
    }


def facts(results: dict) -> dict:
    table = results["table"]
    tol, step = results["tolerance"], results["gradcheck_step"]
    errors = [e for row in table for e in row["errors"].values()]
    autodiff = [e["autodiff"] for e in errors]
    fd_errors = [e["finite_diff"] for e in errors if e["finite_diff"] is not None]
    fd = {f"{d}_{p}": _step_entry(results["fd"][f"{d}_{p}"], step) for d in DTYPES for p in STENCILS}
    ratios = [float(v["best_over_rule"]) for v in fd.values()]
    f64 = results["fd"]["float64_4"]
    roundoff = (f64["roundoff_B"] or math.nan) * f64["eps"] / step
    truncation = (f64["truncation_C_used"] or math.nan) * step**4
    shape = results["fd_function"]
    return {
        "cases": len(table),
        "passed": sum(row["max_error"] < tol for row in table),
        "layers": len({row["constructor"] for row in table}),
        "seeds": len(results["seeds"]),
        "max_error": fmt.sci(results["max_error"]),
        "max_autodiff_error": fmt.sci(max(autodiff)),
        "max_fd_error": fmt.sci(max(fd_errors) if fd_errors else math.nan),
        "tolerance": fmt.sci(tol, 0),
        "margin": fmt.Num(tol / results["max_error"], ".0f"),
        "gradcheck_step": fmt.sci(step, 0),
        "table": fmt.Table(
            ("layer", "configuration", "max. rel. error"),
            tuple((row["constructor"], row["config"], f"{row['max_error']:.1e}") for row in table),
        ),
        "fd": {
            **fd,
            "eps32": fmt.sci(results["fd"]["float32_2"]["eps"]),
            "eps64": fmt.sci(f64["eps"]),
            "steps": len(results["fd_steps"]),
            "step_min": fmt.sci(min(results["fd_steps"]), 0),
            "step_max": fmt.sci(max(results["fd_steps"]), 0),
            "input_shape": " x ".join(map(str, shape["input_shape"])),
            "filters": shape["filters"],
            "kernel": shape["kernel"],
            "padding": shape["padding"],
            "best_over_rule_min": fmt.Num(min(ratios), ".2g"),
            "best_over_rule_max": fmt.Num(max(ratios), ".2g"),
            "float32_floor": fmt.sci(min(results["fd"][f"float32_{p}"]["best_error"] for p in STENCILS)),
            "roundoff_at_step": fmt.sci(roundoff),
            "truncation_at_step": fmt.sci(truncation),
            "directional_over_norms": fmt.Num(float(np.mean(results["fd_directional_over_norms"])), ".2g"),
        },
        "fd_table": fmt.Table(
            (
                "stencil",
                "dtype",
                "best h",
                "error at best h",
                "eps^(1/(p+1))",
                "fitted h*",
                f"error at h = {step:g}",
            ),
            tuple(
                (
                    ORDER[p],
                    d,
                    str(fd[f"{d}_{p}"]["best_step"]),
                    str(fd[f"{d}_{p}"]["best_error"]),
                    str(fd[f"{d}_{p}"]["theory_step"]),
                    str(fd[f"{d}_{p}"]["fitted_step"]),
                    str(fd[f"{d}_{p}"]["at_gradcheck_step"]),
                )
                for p in STENCILS
                for d in DTYPES
            ),
        ),
    }


CLAIMS = {
    # every registered case passes the tolerance
    "all_cases_pass": lambda f: f["passed"] == f["cases"],
    # against jax.vjp the hand-written gradients agree more closely than against finite differences
    "autodiff_tighter_than_fd": lambda f: f["max_autodiff_error"] < f["max_fd_error"],
    # at fnn.gradcheck's step, the 4th-order float64 difference is below the tolerance
    "step_meets_tolerance": lambda f: f["fd"]["float64_4"]["at_gradcheck_step"] < f["tolerance"],
    # in float32 no stencil at any step gets below the tolerance
    "float32_too_coarse": lambda f: f["fd"]["float32_floor"] > f["tolerance"],
    # in float64 the 4th-order stencil's best error is below the 2nd-order one's
    "fourth_order_better": lambda f: f["fd"]["float64_4"]["best_error"] < f["fd"]["float64_2"]["best_error"],
    # every best step on the grid is within a factor 10 of eps^(1/(p+1))
    "best_steps_follow_rule": lambda f: (
        0.1 < f["fd"]["best_over_rule_min"] and f["fd"]["best_over_rule_max"] < 10
    ),
    # at fnn.gradcheck's step round-off dominates truncation (the step is on the round-off side)
    "step_on_roundoff_side": lambda f: f["fd"]["roundoff_at_step"] > f["fd"]["truncation_at_step"],
    # fnn.gradcheck's step is within a factor 10 of the best float64 4th-order step
    "step_near_best": lambda f: abs(math.log10(f["gradcheck_step"] / f["fd"]["float64_4"]["best_step"])) <= 1,
}
