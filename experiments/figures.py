"""Figures several experiments draw alike (presentation only: never in a result's code hash)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fnn import plots

__all__ = ["classifier_plot"]


def classifier_plot(results: dict, out: Path, name: str) -> None:
    """The first seed's curves, confusion matrix and misclassified digits."""
    first = results["runs"][0]
    detail, seed = first["detail"], first["seed"]
    acc = 100 * detail["test_accuracy"]
    plots.save(
        plots.training_curves(detail["history"], f"{name}, seed {seed}: test accuracy {acc:.2f}%"),
        out / "curves.png",
    )
    plots.save(
        plots.confusion(np.asarray(detail["confusion"]), f"{name}, seed {seed}: confusion matrix (test)"),
        out / "confusion.png",
    )
    wrong = detail["misclassified"]
    images = np.asarray(wrong["images"], np.uint8).reshape(-1, 28, 28)
    captions = [f"#{i}: {t} -> {p}" for i, t, p in zip(wrong["index"], wrong["true"], wrong["predicted"])]
    plots.save(
        plots.digit_grid(
            images, captions, f"{name}, seed {seed}: misclassified test digits (true -> predicted)"
        ),
        out / "misclassified.png",
    )
