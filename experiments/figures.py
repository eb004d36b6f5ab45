"""Figures several experiments draw alike (presentation only: never in a result's code hash).

The classifier figures are drawn at their printed size (a third of the report's 6.3-inch text
width for the curves and the confusion matrices, the full width for the digits), with every text
at `FONT` points or more, so that they stay legible side by side in one LaTeX figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

from fnn import plots

__all__ = [
    "FONT",
    "TEXT_WIDTH",
    "PANEL_WIDTH",
    "RC",
    "DPI",
    "save",
    "classifier_plot",
    "curves_panel",
    "errors_panel",
    "mistakes_strip",
]

FONT = 8.5  # points, at the size the figure is drawn (and printed)
TEXT_WIDTH = 6.3  # inches: the report's text width, at which a full-width figure is drawn
PANEL_WIDTH = 2.1  # inches: three panels side by side in the text width
RC = {  # matplotlib settings for a figure drawn at its printed size: every text at FONT points
    "font.size": FONT,
    "axes.titlesize": FONT,
    "axes.labelsize": FONT,
    "xtick.labelsize": FONT,
    "ytick.labelsize": FONT,
    "legend.fontsize": FONT,
    "legend.frameon": False,
}
DPI = 200
_ERROR_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)  # percent of images wrong


def save(fig: Figure, path: Path) -> None:
    """Write an experiment's figure at `DPI` (every figure of the report and supplement)."""
    fig.savefig(path, dpi=DPI)


def _style(fig: Figure) -> None:
    for ax in fig.axes:
        ax.tick_params(labelsize=FONT)
        for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
            text.set_fontsize(FONT)
        if ax.get_legend() is not None:
            for text in ax.get_legend().get_texts():
                text.set_fontsize(FONT)


def curves_panel(history: list[dict], title: str, window: int = 50) -> Figure:
    """Loss (top: training batches as a moving average, validation per epoch) and accuracy
    (bottom: training and validation per epoch) on an axis of errors, log scale, labelled in
    accuracy: the last tenths of a point stay visible."""
    fig = Figure(figsize=(PANEL_WIDTH, 3.5), layout="constrained")
    ax_loss, ax_acc = fig.subplots(2, 1, sharex=True)
    epochs = np.array([h["epoch"] for h in history])
    batch_losses = [v for h in history for v in h.get("batch_losses", [])]
    if batch_losses:
        iters = (np.arange(len(batch_losses)) + 1) / (len(batch_losses) / len(history))
        smoothed = plots.moving_average(batch_losses, window)
        ax_loss.plot(iters[len(iters) - len(smoothed) :], smoothed, lw=0.8, color="C0", label="train")
    else:
        ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", ms=3, color="C0", label="train")
    validated = [h for h in history if h.get("val_loss") is not None]
    val_epochs = [h["epoch"] for h in validated]
    ax_loss.plot(val_epochs, [h["val_loss"] for h in validated], "s--", ms=3, color="C3", label="validation")
    ax_loss.set(yscale="log", ylabel="loss", title=title)
    ax_loss.yaxis.set_minor_locator(NullLocator())
    ax_loss.legend(loc="upper right", frameon=False, handlelength=1.6, borderaxespad=0.2)
    train_error = [100 * (1 - h["train_accuracy"]) for h in history]
    val_error = [100 * (1 - h["val_accuracy"]) for h in validated]
    ax_acc.plot(epochs, train_error, "o-", ms=3, color="C0")
    ax_acc.plot(val_epochs, val_error, "s--", ms=3, color="C3")
    ax_acc.set_yscale("log")
    low, high = min(train_error + val_error), max(train_error + val_error)
    ticks = [t for t in _ERROR_TICKS if low / 1.5 <= t <= high * 1.5]
    ax_acc.yaxis.set_major_locator(FixedLocator(ticks))
    ax_acc.yaxis.set_minor_locator(NullLocator())
    ax_acc.set_yticklabels([f"{100 - t:g}" for t in ticks])
    ax_acc.invert_yaxis()  # fewer errors higher up: accuracy rises
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    _style(fig)
    return fig


def errors_panel(counts: np.ndarray, title: str) -> Figure:
    """The confusion matrix's off-diagonal cells (counts[true, predicted], the errors), each
    non-zero count printed; the diagonal (the correct images) is grey and left out."""
    counts = np.asarray(counts)
    errors = counts.astype(float)
    np.fill_diagonal(errors, np.nan)
    fig = Figure(figsize=(PANEL_WIDTH, 2.35), layout="constrained")
    ax = fig.subplots()
    top = max(1.0, np.nanmax(errors))
    ax.set_facecolor("0.8")  # the diagonal's cells, drawn as NaN
    ax.imshow(errors, cmap="Reds", vmin=0, vmax=1.4 * top)
    for (i, j), value in np.ndenumerate(counts):
        if i != j and value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=FONT)
    ax.set(xlabel="predicted", ylabel="true", title=title, xticks=range(10), yticks=range(10))
    ax.tick_params(length=0, pad=1.5)
    _style(fig)
    return fig


def mistakes_strip(
    images: np.ndarray, true: list[int], predicted: list[int], title: str, count: int = 12
) -> Figure:
    """The first `count` misclassified test digits in one row, each captioned true -> predicted."""
    n = min(count, len(images))
    fig = Figure(figsize=(6.3, 0.95), layout="constrained")
    axes = fig.subplots(1, max(n, 1), squeeze=False)[0]
    for ax in axes:
        ax.axis("off")
    for ax, image, t, p in zip(axes, images[:n], true[:n], predicted[:n]):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"{t}\u2192{p}", fontsize=FONT, pad=2)
    fig.suptitle(title, fontsize=FONT)
    return fig


def classifier_plot(results: dict, out: Path, name: str) -> None:
    """The first seed's curves (curves.png), the errors of its confusion matrix (confusion.png)
    and its first misclassified digits (misclassified.png), each a panel of a shared figure."""
    first = results["runs"][0]
    detail = first["detail"]
    save(curves_panel(detail["history"], f"{name}, seed {first['seed']}"), out / "curves.png")
    counts = np.asarray(detail["confusion"])
    wrong = int(counts.sum() - np.trace(counts))
    save(errors_panel(counts, f"{name}: {wrong} errors"), out / "confusion.png")
    shown = detail["misclassified"]
    images = np.asarray(shown["images"], np.uint8).reshape(-1, 28, 28)
    save(
        mistakes_strip(
            images,
            shown["true"],
            shown["predicted"],
            f"{name}: misclassified test digits, true\u2192predicted",
        ),
        out / "misclassified.png",
    )
