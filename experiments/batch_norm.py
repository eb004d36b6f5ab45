"""Batch normalisation: initialisation scale, batch size, and train vs test mode.

Questions (assignment 2): (a) how sensitive is training to the scale of the initial weights,
with and without batch norm? (b) how does batch norm behave across batch sizes? (c) why does
test mode use running averages instead of the batch's statistics?
Figures: init_scale.png (final train/validation accuracy against the weight scale, log axis),
batch_size.png (validation accuracy per epoch per batch size), modes.png (validation accuracy
over training evaluated with the running statistics, with batch statistics of 256 examples,
and with batch statistics of single examples).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from fnn import experiment, models, optim, plots, runtime, step
from fnn.losses import softmax_cross_entropy
from fnn.run import train
from fnn.train import DivergedError


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: tuple = (256, 256, 256, 256)
    scales: tuple = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
    scale_epochs: int = 2
    batch_sizes: tuple = (4, 16, 64, 256)
    batch_epochs: int = 3
    mode_epochs: int = 5
    lr: float = 0.02
    seed: int = 0
    data: str | None = None
    train_size: int | None = 20000


QUICK = {
    "hidden": (32, 32),
    "scales": (1e-3, 0.1),
    "scale_epochs": 1,
    "batch_sizes": (16, 128),
    "batch_epochs": 1,
    "mode_epochs": 2,
    "train_size": 2000,
}


def _accuracy(model, params, state, x, labels, *, train_mode, batch_size):
    """Accuracy with test-mode (running) statistics, or train-mode (batch) statistics."""
    forward = runtime.jit(lambda p, s, xb: model.apply(p, s, xb, train=train_mode)[0])
    n = (len(x) // batch_size) * batch_size
    correct = sum(
        int(
            (
                np.asarray(forward(params, state, jnp.asarray(x[i : i + batch_size]))).argmax(1)
                == labels[i : i + batch_size]
            ).sum()
        )
        for i in range(0, n, batch_size)
    )
    return correct / n


def _scale_sweep(config, mnist):
    rows = []
    for bn in (False, True):
        for scale in config.scales:
            model = models.mlp(config.hidden, batch_norm=bn, weight_scale=scale)
            try:
                result = train(
                    model,
                    mnist,
                    optim.momentum(config.lr),
                    epochs=config.scale_epochs,
                    batch_size=64,
                    seed=config.seed,
                    label=f"bn={bn} scale={scale:g}",
                )
                last, diverged = result.history[-1], False
            except DivergedError:  # counts as chance accuracy
                last, diverged = {"train_accuracy": 0.1, "val_accuracy": 0.1}, True
            rows.append(
                {
                    "batch_norm": bn,
                    "scale": scale,
                    "train_accuracy": last["train_accuracy"],
                    "val_accuracy": last["val_accuracy"],
                    "diverged": diverged,
                }
            )
    return rows


def _batch_sweep(config, mnist):
    rows = {}
    for batch_size in config.batch_sizes:
        model = models.mlp(config.hidden, batch_norm=True)
        lr = config.lr * batch_size / 64  # linear scaling with the batch
        result = train(
            model,
            mnist,
            optim.momentum(lr),
            epochs=config.batch_epochs,
            batch_size=batch_size,
            seed=config.seed,
            label=f"batch {batch_size}",
        )
        rows[str(batch_size)] = [h["val_accuracy"] for h in result.history]
    return rows


def _modes(config, mnist):
    model = models.mlp(config.hidden, batch_norm=True)
    opt = optim.momentum(config.lr)
    epoch = step.make_epoch(model, softmax_cross_entropy, opt, batch_size=64)
    ts = step.init_train_state(model, opt, mnist.train.x.shape[1:], config.seed)
    x, labels = jnp.asarray(mnist.train.x), jnp.asarray(mnist.train.labels)
    val_x, val_labels = mnist.validation.x[:2000], mnist.validation.labels[:2000]
    curves = {
        "test mode (running statistics)": [],
        "train mode, batches of 256": [],
        "train mode, batches of 1": [],
    }
    for e in range(config.mode_epochs):
        ts, _, _ = epoch.run(ts, x, labels, jax.random.key(e))
        for name, train_mode, size in (
            ("test mode (running statistics)", False, 256),
            ("train mode, batches of 256", True, 256),
            ("train mode, batches of 1", True, 1),
        ):
            subset = 200 if size == 1 else len(val_x)
            curves[name].append(
                _accuracy(
                    model,
                    ts.params,
                    ts.state,
                    val_x[:subset],
                    val_labels[:subset],
                    train_mode=train_mode,
                    batch_size=size,
                )
            )
    return curves


def run(config: Config) -> dict:
    mnist = experiment.load_data(config.data, train_size=config.train_size, seed=config.seed)
    scale = _scale_sweep(config, mnist)
    spread = {bn: np.ptp([r["val_accuracy"] for r in scale if r["batch_norm"] == bn]) for bn in (False, True)}
    return {
        "init_scale": scale,
        "batch_size": _batch_sweep(config, mnist),
        "modes": _modes(config, mnist),
        "val_accuracy_spread_without_bn": float(spread[False]),
        "val_accuracy_spread_with_bn": float(spread[True]),
    }


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for bn, style in ((False, "--"), (True, "-")):
        rows = [r for r in results["init_scale"] if r["batch_norm"] == bn]
        label = "with batch norm" if bn else "without"
        ax.plot(
            [r["scale"] for r in rows],
            [100 * r["val_accuracy"] for r in rows],
            "o" + style,
            label=f"{label}: validation",
        )
        ax.plot(
            [r["scale"] for r in rows],
            [100 * r["train_accuracy"] for r in rows],
            "x" + style,
            alpha=0.6,
            label=f"{label}: train",
        )
    ax.set(
        xscale="log",
        xlabel="std of the initial weights",
        ylabel="accuracy after training (%)",
        title="initialisation scale, with and without batch norm",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    plots.save(fig, out / "init_scale.png")
    series = {
        f"batch {b}": (np.arange(1, len(v) + 1), [100 * a for a in v])
        for b, v in results["batch_size"].items()
    }
    plots.save(
        plots.lines(
            series,
            xlabel="epoch",
            ylabel="validation accuracy (%)",
            title="batch norm across batch sizes (lr scaled with the batch)",
        ),
        out / "batch_size.png",
    )
    series = {k: (np.arange(1, len(v) + 1), [100 * a for a in v]) for k, v in results["modes"].items()}
    plots.save(
        plots.lines(
            series,
            xlabel="epoch",
            ylabel="validation accuracy (%)",
            title="batch norm at evaluation: running vs batch statistics",
        ),
        out / "modes.png",
    )


def main(argv=None) -> Path:
    return experiment.main("batch_norm", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
