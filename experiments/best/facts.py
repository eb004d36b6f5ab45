"""Derived statistics and claims of best (no LaTeX, no prose)."""

from __future__ import annotations

from experiments import fmt, stats

__all__ = ["facts", "CLAIMS"]


def facts(results: dict) -> dict:
    arms = results["arms"]
    accuracy = {arm: [r["test_accuracy"] for r in runs] for arm, runs in arms.items()}
    f = {
        arm: {
            "accuracy": fmt.pm(values, 2, 100),
            "highest": fmt.pct(max(values)),
            "lowest": fmt.pct(min(values)),
            "minutes": fmt.pm([r["wall_seconds"] / 60 for r in arms[arm]], 1),
            "longest_minutes": fmt.num(max(r["wall_seconds"] for r in arms[arm]) / 60, 1),
            "best_epochs": ", ".join(str(r["best_epoch"]) for r in arms[arm]),
        }
        for arm, values in accuracy.items()
    }
    f["epochs"] = results["recipes"]["affine"]["epochs"]
    if "none" in accuracy:
        f["gain"] = fmt.paired(stats.paired(accuracy["none"], accuracy["affine"]), digits=2, scale=100)
    f["train_size"] = fmt.count(results["train_size"])
    return f


CLAIMS = {
    # the goal was 99.6% or more, mean of 3 seeds, in at most 15 minutes of training a run
    "at_least_99_6": lambda f: f["affine"]["accuracy"]["mean"] >= 99.6,
    "within_15_minutes": lambda f: f["affine"]["longest_minutes"] <= 15.0,
    "augmentation_helps": lambda f: f["gain"]["lo"] > 0,
    "augmentation_ahead_every_seed": lambda f: f["gain"]["min"] > 0,
}
