"""time_to_accuracy's figure, from results.json: test accuracy against training seconds."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from benchmarks.time_to_accuracy import TARGETS
from experiments import figures
from experiments.figures import FONT

__all__ = ["plot"]

COLORS = {"fast": "C0", "cnn": "C1", "cnn-bn": "C2"}


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(6.3, 3.0), layout="constrained")
    ax = fig.add_subplot()
    for name, runs in results["arms"].items():
        for i, run in enumerate(runs):
            seconds = [p["seconds"] for p in run["curve"]]
            accuracy = [100 * p["test"] for p in run["curve"]]
            label = f"{name} ({len(runs)} seeds)" if i == 0 else None
            ax.plot(
                seconds, accuracy, color=COLORS.get(name), lw=1.0, alpha=0.75, label=label, marker=".", ms=3
            )
    for target in TARGETS:
        ax.axhline(100 * target, color="0.6", lw=0.6, ls=":")
        ax.annotate(
            f"{100 * target:g}%",
            (1, 100 * target),
            xycoords=("axes fraction", "data"),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize=FONT - 1,
            color="0.4",
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([1, 2, 5, 10, 20, 50, 100, 200]))
    ax.xaxis.set_major_formatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(97.0, 99.8)
    ax.set_xlabel("training seconds on this CPU (probes not counted)", fontsize=FONT)
    ax.set_ylabel("test accuracy (%)", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.legend(fontsize=FONT, loc="lower right")
    figures.save(fig, out / "curves.png")
