"""The figure of the loss at initialisation, from results.json alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments import figures

NAMES = {"mlp": "MLP", "cnn": "CNN"}
TITLES = {"softmax_cross_entropy": "softmax cross-entropy", "multiclass_svm": "multiclass SVM"}


def plot(results: dict, out: Path) -> None:
    """init_loss.png: one panel per loss (printed 6.3 in wide, fonts of 8-9 points)."""
    fig = Figure(figsize=(6.3, 3.0), layout="constrained")
    axes = fig.subplots(1, len(results["expected"]), width_ratios=[3, 2])
    for ax, (loss, expected) in zip(axes, results["expected"].items()):
        labels, rows = [], []
        for model, by_init in results["measured"].items():
            for init, by_loss in by_init.items():
                labels.append(f"{NAMES.get(model, model)}\n{'He' if init == 'he' else 'small'}")
                rows.append(by_loss[loss])
        where = np.arange(len(rows))
        ax.errorbar(
            where,
            [r["mean"] for r in rows],
            yerr=[r["sd"] for r in rows],
            fmt="o",
            color="C0",
            capsize=4,
            label="measured (test mode)",
        )
        ax.plot(
            where, [r["gaussian_reference"] for r in rows], "kx", ms=7, label="Gaussian scores of the same σ"
        )
        if loss == "softmax_cross_entropy":  # the loss the recipes train with and log
            for i, (model, first) in enumerate(results["first_batch"].items()):
                labels.append(f"{NAMES.get(model, model)}\n1st batch")
                for mode, marker, colour, shift in (
                    ("train_mode", "^", "C1", -0.12),
                    ("test_mode", "s", "C2", 0.12),
                ):
                    ax.errorbar(
                        len(rows) + i + shift,
                        first[mode]["mean"],
                        yerr=first[mode]["sd"],
                        fmt=marker,
                        color=colour,
                        capsize=4,
                        label=f"recipe's 1st batch, {mode.replace('_', ' ')}" if i == 0 else None,
                    )
        ax.axhline(expected, color="r", ls="--", lw=1, label="all scores 0")
        ax.set_xticks(np.arange(len(labels)), labels, fontsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(TITLES.get(loss, loss), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("loss before any update", fontsize=9)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    figures.save(fig, out / "init_loss.png")
