"""best's figure, from results.json: accuracy while training, and the paired effect of augmentation."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from experiments import figures
from experiments.figures import FONT

__all__ = ["plot"]

STYLE = {"affine": ("C0", "with augmentation"), "none": ("C3", "without augmentation")}


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(6.3, 2.8), layout="constrained")
    curves, pairs = fig.subplots(1, 2, width_ratios=(2.2, 1))
    for arm, runs in results["arms"].items():
        color, label = STYLE.get(arm, ("0.3", arm))
        for i, run in enumerate(runs):
            minutes = [p["seconds"] / 60 for p in run["curve"]]
            accuracy = [100 * p["test"] for p in run["curve"]]
            curves.plot(minutes, accuracy, color=color, lw=1.0, alpha=0.8, label=label if i == 0 else None)
    curves.set_ylim(98.8, 99.85)
    curves.set_xlabel("training minutes on this CPU", fontsize=FONT)
    curves.set_ylabel("test accuracy (%)", fontsize=FONT)
    curves.legend(fontsize=FONT, loc="lower right")
    arms = list(results["arms"])
    for seed_runs in zip(*(results["arms"][a] for a in arms)):
        values = [100 * r["test_accuracy"] for r in seed_runs]
        pairs.plot(range(len(arms)), values, color="0.4", marker="o", ms=4, lw=1)
        pairs.annotate(
            f"seed {seed_runs[0]['seed']}",
            (len(arms) - 1, values[-1]),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=FONT - 1,
        )
    pairs.set_xticks(range(len(arms)), ["with" if a != "none" else "without" for a in arms])
    pairs.set_xlabel("augmentation", fontsize=FONT)
    pairs.set_xlim(-0.4, len(arms) - 0.4)
    pairs.set_ylabel("final test accuracy (%)", fontsize=FONT)
    for ax in (curves, pairs):
        ax.tick_params(labelsize=FONT)
    figures.save(fig, out / "curves.png")
