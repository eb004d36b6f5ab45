"""Derived statistics and claims of cnn_variants (no LaTeX, no prose).

Paired over seeds (experiments.stats.paired): average minus max pooling, and batch norm minus
max pooling, in accuracy points. On seed 0's test predictions, McNemar's exact test for each
pair ("a" is the max-pooling CNN, "b" the other arm).
"""

from __future__ import annotations

import numpy as np

from experiments import fmt, stats

__all__ = ["facts", "CLAIMS", "OPPOSITES"]

ARMS = ("max", "avg", "bn")


def _correct(results: dict, arm: str, k: int) -> np.ndarray:
    correct = np.ones(results["test_size"], bool)
    correct[results["arms"][arm]["wrong"][k]] = False
    return correct


def facts(results: dict) -> dict:
    arms = results["arms"]
    acc = {arm: arms[arm]["test_accuracy"] for arm in ARMS}
    seconds = {arm: float(np.mean(arms[arm]["train_seconds"])) for arm in ARMS}
    out = {
        "seeds": len(results["seeds"]),
        "epochs": results["recipe"]["epochs"],
        "lr": fmt.num(results["recipe"]["lr"], 2),
        **{arm: {"accuracy": fmt.pm(acc[arm], 2, 100), "seconds": fmt.num(seconds[arm], 0)} for arm in ARMS},
        "bn_time_ratio": fmt.num(seconds["bn"] / seconds["max"], 1),
    }
    for arm in ("avg", "bn"):
        out[f"{arm}_minus_max"] = fmt.paired(stats.paired(acc["max"], acc[arm]), digits=3, scale=100)
        out[f"{arm}_vs_max_seed0"] = fmt.mcnemar(
            stats.mcnemar(_correct(results, "max", 0), _correct(results, arm, 0))
        )
    return out


def _reliable(paired: dict) -> bool:
    return paired["lo"] > 0 or paired["hi"] < 0


CLAIMS = {
    # batch norm at the cnn recipe: the paired interval covers 0; McNemar on seed 0: p >= 0.05
    "bn_no_reliable_difference": lambda f: not _reliable(f["bn_minus_max"]),
    "bn_mcnemar_no_reliable_difference": lambda f: f["bn_vs_max_seed0"]["p"] >= stats.ALPHA,
    # batch norm costs training time: its mean training time per run exceeds max pooling's
    "bn_slower": lambda f: f["bn"]["seconds"] > f["max"]["seconds"],
    # average pooling against max pooling: below in every seed (the largest per-seed difference
    # < 0), and the paired interval lies below 0; on seed 0, McNemar finds max pooling ahead (p < 0.05)
    "avg_lower_every_seed": lambda f: f["avg_minus_max"]["max"] < 0,
    "avg_worse": lambda f: f["avg_minus_max"]["hi"] < 0,
    "avg_worse_mcnemar": lambda f: (
        f["avg_vs_max_seed0"]["p"] < stats.ALPHA
        and f["avg_vs_max_seed0"]["only_a"] > f["avg_vs_max_seed0"]["only_b"]
    ),
}

# The opposite conclusions, for the prose to cite instead should a rerun flip one of the above
# (the report fails on a claim that no sentence cites, so these stay out of CLAIMS).
OPPOSITES = {
    "bn_better": lambda f: f["bn_minus_max"]["lo"] > 0,
    "bn_better_mcnemar": lambda f: (
        f["bn_vs_max_seed0"]["p"] < stats.ALPHA
        and f["bn_vs_max_seed0"]["only_b"] > f["bn_vs_max_seed0"]["only_a"]
    ),
    "avg_no_reliable_difference": lambda f: not _reliable(f["avg_minus_max"]),
    "avg_mcnemar_no_reliable_difference": lambda f: f["avg_vs_max_seed0"]["p"] >= stats.ALPHA,
}
