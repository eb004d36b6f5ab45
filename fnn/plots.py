"""Figures, each drawn on its own `matplotlib.figure.Figure` and returned to be saved.

No pyplot state and no backend choice: importing fnn never changes how a notebook or a
script shows its own figures. `save(fig, path)` writes one (PNG by the suffix).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "training_curves",
    "confusion",
    "digit_grid",
    "lines",
    "moving_average",
    "integer_ticks",
    "image_grid",
    "save",
]


def save(fig: Figure, path: str | Path, dpi: int = 110) -> str:
    """Write `fig` to `path`; return the file's name."""
    fig.savefig(path, dpi=dpi)
    return Path(path).name


def training_curves(history: list[dict], title: str = "", window: int = 50) -> Figure:
    """Loss per iteration (each batch faint, a moving average over `window` batches drawn on
    top and named in the legend) and per epoch; train/validation accuracy per epoch."""
    fig = Figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    batch_losses = [v for h in history for v in h.get("batch_losses", [])]
    epochs = [h["epoch"] for h in history]
    if batch_losses:
        per_epoch = len(batch_losses) / len(history)
        iters = (np.arange(len(batch_losses)) + 1) / per_epoch
        ax_loss.plot(iters, batch_losses, lw=0.5, alpha=0.3, color="C0", label="train, each batch")
        smoothed = moving_average(batch_losses, window)
        ax_loss.plot(
            iters[len(iters) - len(smoothed) :],
            smoothed,
            lw=1.2,
            color="C0",
            label=f"train, mean of {min(window, len(batch_losses))} batches",
        )
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", color="C1", label="train, epoch mean")
    validated = [h for h in history if h.get("val_loss") is not None]  # none without a validation split
    if validated:
        ax_loss.plot(
            [h["epoch"] for h in validated],
            [h["val_loss"] for h in validated],
            "s--",
            color="C2",
            label="validation",
        )
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss")
    ax_loss.legend()
    ax_acc.plot(
        epochs, [100 * h["train_accuracy"] for h in history], "o-", color="C1", label="train (train mode)"
    )
    if validated:
        ax_acc.plot(
            [h["epoch"] for h in validated],
            [100 * h["val_accuracy"] for h in validated],
            "s--",
            color="C2",
            label="validation",
        )
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    for ax in (ax_loss, ax_acc):
        integer_ticks(ax.xaxis)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(counts: np.ndarray, title: str = "confusion matrix (test)") -> Figure:
    """counts[true, predicted] as an annotated heat map."""
    fig = Figure(figsize=(6.5, 5.5))
    ax = fig.subplots()
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), value in np.ndenumerate(counts):
        if value:
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > counts.max() / 3 else "black",
            )
    ax.set(
        xlabel="predicted", ylabel="true", title=title, xticks=range(len(counts)), yticks=range(len(counts))
    )
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return fig


def digit_grid(images: np.ndarray, captions: list[str], title: str, columns: int = 8) -> Figure:
    """Images (n, 28, 28[, 1]) in a grid, each with a caption."""
    rows = max(1, int(np.ceil(len(images) / columns)))
    fig = Figure(figsize=(1.4 * columns, 1.6 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        ax.imshow(np.squeeze(image), cmap="gray_r")
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# Each series gets its own colour, line style and marker, so curves stay apart in grey print.
_STYLES = [("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ((0, (5, 1, 1, 1)), "v"), ((0, (1, 1)), "P")]


def moving_average(y, window: int) -> np.ndarray:
    """Means of `window` consecutive values (len(y) - window + 1 of them); y itself for window <= 1."""
    y = np.asarray(y, float)
    if window <= 1 or len(y) <= window:
        return y
    return np.convolve(y, np.ones(window) / window, mode="valid")


def lines(
    series: dict[str, tuple],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
    logy: bool = False,
    smooth: int = 1,
    integer_x: bool = False,
) -> Figure:
    """One line per name: series[name] = (x, y), or (x, y, sd) for a shaded mean +- sd band.
    `smooth` averages y (and sd) over a moving window of that many points, each point drawn
    at its window's last x; `integer_x` puts ticks on whole numbers only (epochs)."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for i, (name, (x, y, *sd)) in enumerate(series.items()):
        y, x = moving_average(y, smooth), np.asarray(x)
        x = x[len(x) - len(y) :]
        linestyle, marker = _STYLES[i % len(_STYLES)]
        (line,) = ax.plot(
            x, y, linestyle=linestyle, marker=marker, markevery=max(1, len(y) // 12), ms=4, label=name
        )
        if sd:
            band = moving_average(sd[0], smooth)
            ax.fill_between(x, y - band, y + band, color=line.get_color(), alpha=0.2, lw=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if integer_x:
        integer_ticks(ax.xaxis)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def integer_ticks(axis) -> None:
    """Ticks on whole numbers only (an epoch axis)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def image_grid(
    images: np.ndarray, title: str, columns: int = 8, cmap: str = "bwr", label: str = "value"
) -> Figure:
    """Small images (n, h, w) on ONE colour scale, symmetric around 0 for "bwr" (filters,
    feature maps), with a colour bar named `label`: colours compare across images."""
    images = np.asarray(images, float)
    rows = max(1, int(np.ceil(len(images) / columns)))
    fig = Figure(figsize=(1.3 * columns + 1.0, 1.3 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    bound = float(np.abs(images).max()) or 1.0
    vmin, vmax = (-bound, bound) if cmap == "bwr" else (float(images.min()), float(images.max()))
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, images)):
        shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(str(i), fontsize=7)
    fig.colorbar(shown, ax=axes, label=label, shrink=0.8)
    fig.suptitle(title)
    return fig
