"""Figures, drawn with matplotlib's Agg backend; each function returns a Figure to save."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["training_curves"]


def training_curves(history: list[dict], title: str = "") -> plt.Figure:
    """Loss per iteration and per epoch, and train/validation accuracy per epoch."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    batch_losses = [v for h in history for v in h.get("batch_losses", [])]
    epochs = [h["epoch"] for h in history]
    if batch_losses:
        per_epoch = len(batch_losses) / len(history)
        iters = (np.arange(len(batch_losses)) + 1) / per_epoch
        ax_loss.plot(iters, batch_losses, lw=0.5, alpha=0.5, label="train (per batch)")
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train (epoch mean)")
    ax_loss.plot(epochs, [h["val_loss"] for h in history], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["train_accuracy"] for h in history], "o-", label="train (train mode)")
    ax_acc.plot(epochs, [100 * h["val_accuracy"] for h in history], "s-", label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
