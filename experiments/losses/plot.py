"""Figure of experiments.losses, from results.json alone, drawn at its printed size (6.3 in)
with every text at 8 pt or more.

curves.png: (left) training loss per batch, each loss divided by its value when all scores are
equal (ln 10 for softmax, 9 x margin for the SVM: about its value at initialisation), a moving
average over `smooth` batches of the mean over seeds, log y; (right) validation accuracy per
epoch, mean over seeds with the sd as error bars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments import figures

NAMES = {"softmax_cross_entropy": "softmax cross-entropy", "multiclass_svm": "multiclass SVM"}
STYLE = {"softmax_cross_entropy": ("C0", "-", "o"), "multiclass_svm": ("C1", "--", "s")}
CLASSES = 10
FONT = 8


def equal_scores_loss(name: str, margin: float) -> float:
    """The loss of an example whose scores are all equal (about the loss at initialisation):
    ln 10 for softmax cross-entropy, 9 x margin for the multiclass SVM."""
    return float(np.log(CLASSES)) if name == "softmax_cross_entropy" else (CLASSES - 1) * margin


def _smooth(y, window):
    """Moving average over `window` values ("valid": len(y) - window + 1 values)."""
    y = np.asarray(y, float)
    if window <= 1 or len(y) <= window:
        return y
    return np.convolve(y, np.ones(window) / window, mode="valid")


def plot(results: dict, out: Path) -> None:
    setup = results["setup"]
    per_epoch, window = setup["steps_per_epoch"], setup["smooth"]
    fig = Figure(figsize=(6.3, 2.6), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for name, r in results["runs"].items():
        color, line, marker = STYLE[name]
        unit = equal_scores_loss(name, setup["svm_margin"])
        smoothed = np.array([_smooth(np.asarray(b) / unit, window) for b in r["batch_losses"]])
        mean = smoothed.mean(axis=0)
        x = (np.arange(len(mean)) + len(r["batch_losses"][0]) - len(mean) + 1) / per_epoch
        shown = mean > 0  # a log axis has no place for 0
        ax_loss.plot(x[shown], mean[shown], color=color, ls=line, label=NAMES[name])
        acc = 100 * np.asarray(r["val_accuracy"])
        epochs = np.arange(1, acc.shape[1] + 1)
        ax_acc.errorbar(
            epochs,
            acc.mean(axis=0),
            yerr=acc.std(axis=0, ddof=1) if len(acc) > 1 else None,
            color=color,
            ls=line,
            marker=marker,
            ms=4,
            capsize=3,
            label=NAMES[name],
        )
    ax_loss.set(yscale="log", xlabel="epoch", ylabel="loss / loss at equal scores")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both")
        ax.tick_params(labelsize=FONT)
        ax.xaxis.label.set_size(FONT + 1)
        ax.yaxis.label.set_size(FONT + 1)
    ax_loss.legend(fontsize=FONT, loc="lower left")
    ax_acc.legend(fontsize=FONT, loc="lower right")
    figures.save(fig, out / "curves.png")
