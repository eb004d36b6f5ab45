"""The CNN's figures, from results.json (experiments.figures.classifier_plot)."""

from __future__ import annotations

from pathlib import Path

from experiments import figures


def plot(results: dict, out: Path) -> None:
    figures.classifier_plot(results, out, "CNN")
