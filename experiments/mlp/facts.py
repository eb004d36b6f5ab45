"""Derived statistics and claims of mlp (experiments.classifiers; no LaTeX, no prose)."""

from __future__ import annotations

from experiments import classifiers

__all__ = ["facts", "CLAIMS"]


def facts(results: dict) -> dict:
    return classifiers.facts(results, "mlp")


# The claims report/sections/training.tex cites (experiments.classifiers.CLAIM says what each means).
CLAIMS = {
    name: classifiers.CLAIM[name]
    for name in (
        "accuracy_below_99",
        "slow_first_epoch",
        "plateau_before_last_quarter",
        "best_epoch_late",
        "overfits",
        "val_loss_no_upturn",
        "train_loss_below_val",
        "errors_spread",
        "top_two_are_one_pair",
    )
}
