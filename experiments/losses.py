"""Losses: softmax cross-entropy vs multiclass SVM on the same model.

Question: how do the two loss layers compare? Same MLP, optimizer, budget and seed; each
trained on its own loss. Figures: curves.png (validation accuracy per epoch and each
training loss per iteration).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from fnn import experiment, losses, models, optim, plots
from fnn.run import train


@dataclasses.dataclass(frozen=True)
class Config:
    epochs: int = 5
    lr: float = 0.05
    batch_size: int = 128
    hidden: tuple = (256,)
    seed: int = 0
    data: str | None = None
    train_size: int | None = None


QUICK = {"epochs": 2, "hidden": (32,), "train_size": 3000}


def run(config: Config) -> dict:
    mnist = experiment.load_data(config.data, train_size=config.train_size, seed=config.seed)
    results = {}
    for name, loss in losses.LOSSES.items():
        model = models.mlp(config.hidden)
        result = train(
            model,
            mnist,
            optim.momentum(config.lr),
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=config.seed,
            loss=loss,
            label=name,
        )
        scores = result.test_scores
        margins = np.sort(scores, axis=1)
        results[name] = {
            "batch_losses": [v for h in result.history for v in h["batch_losses"]],
            "val_accuracy": [h["val_accuracy"] for h in result.history],
            "test_accuracy": float((scores.argmax(1) == mnist.test.labels).mean()),
            "median_top2_gap": float(np.median(margins[:, -1] - margins[:, -2])),
        }
    return results


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(11, 4))
    (ax_loss, ax_acc) = fig.subplots(1, 2)
    for name, r in results.items():
        if not isinstance(r, dict):
            continue
        ax_loss.plot(r["batch_losses"], lw=0.6, label=name)
        ax_acc.plot(
            range(1, len(r["val_accuracy"]) + 1),
            [100 * a for a in r["val_accuracy"]],
            "o-",
            label=f"{name} (test {100 * r['test_accuracy']:.2f}%)",
        )
    ax_loss.set(
        xlabel="iteration", ylabel="training loss (each its own)", yscale="log", title="training loss"
    )
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    ax_loss.legend()
    ax_acc.legend()
    fig.tight_layout()
    plots.save(fig, out / "curves.png")


def main(argv=None) -> Path:
    return experiment.main("losses", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
