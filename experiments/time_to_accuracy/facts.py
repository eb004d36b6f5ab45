"""Derived statistics and claims of time_to_accuracy (no LaTeX, no prose)."""

from __future__ import annotations

import numpy as np

from benchmarks.time_to_accuracy import TARGETS, first_reach
from experiments import fmt

__all__ = ["facts", "reach_seconds", "CLAIMS"]

NAMES = {"fast": "fast", "cnn": "cnn", "cnn-bn": "cnn_bn"}  # a recipe's key in the facts


def reach_seconds(runs: list[dict], target: float) -> list[float | None]:
    """Per seed, the training seconds to the first probe at or above `target` (None: never)."""
    return [first_reach(r["curve"], target) for r in runs]


def _recipe(runs: list[dict], recipe: dict) -> dict:
    accuracy = [r["test_accuracy"] for r in runs]
    out = {
        "accuracy": fmt.pm(accuracy, 2, 100),
        "lowest": fmt.pct(min(accuracy)),
        "seconds": fmt.pm([r["wall_seconds"] for r in runs], 1),
        "slowest": fmt.num(max(r["wall_seconds"] for r in runs), 1),
        "epochs": recipe["epochs"],
        "batch": recipe["batch_size"],
        "seeds": len(runs),
        "reach": {},
        "reached": {},
        "reach_first": {},
        "reach_last": {},
    }
    for target in TARGETS:
        key = f"{100 * target:g}".replace(".", "_")  # 99.2 -> "99_2"
        times = reach_seconds(runs, target)
        reached = [t for t in times if t is not None]
        out["reached"][key] = len(reached)
        out["reach"][key] = fmt.num(float(np.median(times)), 1) if len(reached) == len(times) else "not every seed"
        out["reach_first"][key] = fmt.num(min(reached), 1) if reached else "none"  # of the seeds that got there
        out["reach_last"][key] = fmt.num(max(reached), 1) if reached else "none"
    return out


def facts(results: dict) -> dict:
    f = {NAMES[name]: _recipe(runs, results["recipes"][name]) for name, runs in results["arms"].items()}
    f["probes_per_epoch"] = results.get("probes_per_epoch", 10)
    return f


def _reach(f: dict, name: str, key: str, which: str = "reach") -> float:
    """The seconds to a target (`which`: "reach", the median seed; "reach_first" or "reach_last"
    of the seeds that got there), inf where the median or no seed got there."""
    value = f[name][which][key]
    return value if isinstance(value, fmt.Num) else float("inf")


CLAIMS = {
    # the goal: 99.0% or more, mean of 5 seeds
    "fast_mean_at_least_99": lambda f: f["fast"]["seeds"] >= 5 and f["fast"]["accuracy"]["mean"] >= 99.0,
    "fast_reaches_98_first": lambda f: (
        _reach(f, "fast", "98") < min(_reach(f, "cnn", "98"), _reach(f, "cnn_bn", "98"))
    ),
    # every fast run that passes 99% does so before the first CNN run does
    "fast_99_before_any_cnn": lambda f: (
        _reach(f, "fast", "99", "reach_last")
        < min(_reach(f, "cnn", "99", "reach_first"), _reach(f, "cnn_bn", "99", "reach_first"))
    ),
    "fast_99_not_every_seed": lambda f: 0 < f["fast"]["reached"]["99"] < f["fast"]["seeds"],
    "fast_never_99_2": lambda f: f["fast"]["reached"]["99_2"] == 0,
    "fast_ends_lowest": lambda f: (
        f["fast"]["accuracy"]["mean"] < min(f["cnn"]["accuracy"]["mean"], f["cnn_bn"]["accuracy"]["mean"])
    ),
    "cnns_reach_99_2": lambda f: all(f[n]["reached"]["99_2"] == f[n]["seeds"] for n in ("cnn", "cnn_bn")),
    "cnn_bn_most_accurate": lambda f: (
        f["cnn_bn"]["accuracy"]["mean"] > max(f["cnn"]["accuracy"]["mean"], f["fast"]["accuracy"]["mean"])
    ),
    "none_reaches_99_5": lambda f: all(f[n]["reached"]["99_5"] == 0 for n in ("fast", "cnn", "cnn_bn")),
}
