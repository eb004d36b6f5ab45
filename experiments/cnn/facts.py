"""Derived statistics and claims of cnn (experiments.classifiers; no LaTeX, no prose)."""

from __future__ import annotations

from experiments import classifiers

__all__ = ["facts", "CLAIMS"]


def facts(results: dict) -> dict:
    return classifiers.facts(results, "cnn")


# The claims report/sections/training.tex cites (experiments.classifiers.CLAIM says what each means).
CLAIMS = {
    name: classifiers.CLAIM[name]
    for name in (
        "accuracy_above_99",
        "fast_first_epoch",
        "best_epoch_last_two",
        "small_gap",
        "val_loss_no_upturn",
        "errors_spread",
    )
}
