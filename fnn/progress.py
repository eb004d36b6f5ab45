"""What a training run shows while it runs: one line per epoch on stderr."""

from __future__ import annotations

import sys

__all__ = ["Progress"]


class Progress:
    """One line per epoch on stderr: loss, accuracies, learning rate, seconds."""

    def __init__(self, epochs: int, label: str = "", *, enabled: bool = True):
        self.epochs, self.label, self.enabled = epochs, label, enabled

    def __call__(self, record: dict) -> None:
        if not self.enabled:
            return
        done = int(30 * record["epoch"] / self.epochs)
        lr = f"  lr {record['lr']:.4g}" if "lr" in record else ""
        val = "-" if record["val_accuracy"] is None else f"{100 * record['val_accuracy']:.2f}%"
        print(
            f"{self.label + ' ' if self.label else ''}epoch {record['epoch']:>3}/{self.epochs} "
            f"[{'#' * done}{'.' * (30 - done)}] loss {record['train_loss']:.4f}  "
            f"train {100 * record['train_accuracy']:.2f}%  val {val}"
            f"{lr}  {record['seconds']:.1f}s",
            file=sys.stderr,
            flush=True,
        )
