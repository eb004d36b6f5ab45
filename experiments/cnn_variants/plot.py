"""cnn_variants' figure, from results.json: each seed's test accuracy in the three arms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments import figures
from experiments.figures import FONT

LABELS = {"max": "max pool", "avg": "avg pool", "bn": "max pool\n+ batch norm"}


def plot(results: dict, out: Path) -> None:
    """accuracy.png: test accuracy per arm, one line per seed joining its arms (the pairing)."""
    arms = list(LABELS)
    fig = Figure(figsize=(3.1, 2.3), layout="constrained")
    ax = fig.subplots()
    acc = np.array([results["arms"][arm]["test_accuracy"] for arm in arms]) * 100  # (arm, seed)
    for k, seed in enumerate(results["seeds"]):
        ax.plot(range(len(arms)), acc[:, k], "o-", ms=4, lw=1, label=f"seed {seed}")
    ax.set_xticks(range(len(arms)), [LABELS[a] for a in arms])
    ax.set_xlim(-0.4, len(arms) - 0.6)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(frameon=False, fontsize=FONT, handlelength=1.5)
    ax.tick_params(labelsize=FONT)
    ax.yaxis.label.set_fontsize(FONT)
    figures.save(fig, out / "accuracy.png")
