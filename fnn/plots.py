"""Figures, each drawn on its own `matplotlib.figure.Figure` and returned to be saved.

No pyplot state and no backend choice: importing fnn never changes how a notebook or a
script shows its own figures. `save(fig, path)` writes one (PNG by the suffix).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = ["training_curves", "confusion", "digit_grid", "lines", "image_grid", "save"]


def save(fig: Figure, path: str | Path, dpi: int = 110) -> str:
    """Write `fig` to `path`; return the file's name."""
    fig.savefig(path, dpi=dpi)
    return Path(path).name


def training_curves(history: list[dict], title: str = "") -> Figure:
    """Loss per iteration and per epoch, and train/validation accuracy per epoch."""
    fig = Figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    batch_losses = [v for h in history for v in h.get("batch_losses", [])]
    epochs = [h["epoch"] for h in history]
    if batch_losses:
        per_epoch = len(batch_losses) / len(history)
        iters = (np.arange(len(batch_losses)) + 1) / per_epoch
        ax_loss.plot(iters, batch_losses, lw=0.5, alpha=0.5, label="train (per batch)")
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train (epoch mean)")
    validated = [h for h in history if h.get("val_loss") is not None]  # none without a validation split
    if validated:
        ax_loss.plot(
            [h["epoch"] for h in validated], [h["val_loss"] for h in validated], "s-", label="validation"
        )
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["train_accuracy"] for h in history], "o-", label="train (train mode)")
    if validated:
        ax_acc.plot(
            [h["epoch"] for h in validated],
            [100 * h["val_accuracy"] for h in validated],
            "s-",
            label="validation",
        )
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
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


def lines(
    series: dict[str, tuple],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
    logy: bool = False,
    smooth: int = 1,
) -> Figure:
    """One line per name: series[name] = (x, y); `smooth` averages y over a moving window."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, (x, y) in series.items():
        y = np.asarray(y, float)
        if smooth > 1 and len(y) > smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            x = np.asarray(x)[smooth - 1 :]
        ax.plot(x, y, marker="o" if len(y) < 30 else None, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, title: str, columns: int = 8, cmap: str = "bwr") -> Figure:
    """Small images (n, h, w), each scaled symmetrically around 0 (filters, feature maps)."""
    rows = max(1, int(np.ceil(len(images) / columns)))
    fig = Figure(figsize=(1.3 * columns, 1.3 * rows + 0.5))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, images)):
        bound = float(np.abs(image).max()) or 1.0
        ax.imshow(image, cmap=cmap, vmin=-bound if cmap == "bwr" else None, vmax=bound)
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
