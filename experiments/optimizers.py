"""Optimizers: SGD vs SGD + momentum (the assignment's pair), plus Nesterov, RMSProp, Adam.

Question: does momentum converge faster than plain SGD, and how sensitive is each to the
learning rate? Same model (an MLP), same budget (epochs), same seed and data order, constant
learning rate. Figures: loss.png (training loss per iteration, one line per optimizer),
lr_sweep.png (final training loss against learning rate for SGD and momentum).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fnn import experiment, models, optim, plots
from fnn.run import train


@dataclasses.dataclass(frozen=True)
class Config:
    epochs: int = 3
    batch_size: int = 128
    hidden: tuple = (256,)
    lr_sgd: float = 0.05
    lr_momentum: float = 0.05  # same lr: momentum's effective step is lr / (1 - mu)
    lr_nesterov: float = 0.05
    lr_rmsprop: float = 1e-3
    lr_adam: float = 1e-3
    sweep: tuple = (0.003, 0.01, 0.03, 0.1, 0.3)
    sweep_epochs: int = 1
    seed: int = 0
    data: str | None = None
    train_size: int | None = None


QUICK = {"epochs": 1, "hidden": (32,), "train_size": 3000, "sweep": (0.01, 0.1), "sweep_epochs": 1}


def _train(config, mnist, name, lr, epochs):
    opt = optim.OPTIMIZERS[name](lr)
    result = train(
        models.mlp(config.hidden),
        mnist,
        opt,
        epochs=epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        label=f"{name} lr={lr}",
    )
    losses = [v for h in result.history for v in h["batch_losses"]]
    return {
        "batch_losses": losses,
        "final_loss": float(np.mean(losses[-max(1, len(losses) // 10) :])),
        "val_accuracy": result.history[-1]["val_accuracy"],
    }


def run(config: Config) -> dict:
    mnist = experiment.load_data(config.data, train_size=config.train_size, seed=config.seed)
    rates = {
        f.name[3:]: getattr(config, f.name) for f in dataclasses.fields(config) if f.name.startswith("lr_")
    }
    runs = {name: {"lr": lr, **_train(config, mnist, name, lr, config.epochs)} for name, lr in rates.items()}
    sweep = {
        name: [{"lr": lr, **_train(config, mnist, name, lr, config.sweep_epochs)} for lr in config.sweep]
        for name in ("sgd", "momentum")
    }
    for entries in sweep.values():
        for entry in entries:
            del entry["batch_losses"]
    return {
        "runs": runs,
        "sweep": sweep,
        "momentum_beats_sgd": runs["momentum"]["final_loss"] < runs["sgd"]["final_loss"],
    }


def plot(results: dict, out: Path) -> None:
    series = {
        f"{name} (lr {r['lr']:g})": (np.arange(1, len(r["batch_losses"]) + 1), r["batch_losses"])
        for name, r in results["runs"].items()
    }
    smooth = max(1, len(next(iter(series.values()))[1]) // 50)
    plots.save(
        plots.lines(
            series,
            xlabel="iteration",
            ylabel="training loss (moving average)",
            title="optimizers: same model, budget and seed",
            logy=True,
            smooth=smooth,
        ),
        out / "loss.png",
    )
    sweep = {
        name: ([e["lr"] for e in entries], [e["final_loss"] for e in entries])
        for name, entries in results["sweep"].items()
    }
    plots.save(
        plots.lines(
            sweep,
            xlabel="learning rate",
            ylabel="final training loss",
            title="learning-rate sweep",
            logx=True,
            logy=True,
        ),
        out / "lr_sweep.png",
    )


def main(argv=None) -> Path:
    return experiment.main("optimizers", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
