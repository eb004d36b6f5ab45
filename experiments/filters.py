"""Filters: what the CNN learned. The first conv layer's 3x3 filters as an image grid, and
the feature maps of one test digit after each conv layer (after its ReLU).

Question: what do the learned filters look like? Trains the CNN briefly (or for --epochs).
Figures: filters.png, features_conv1.png, features_conv2.png, digit.png.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from fnn import experiment, models, optim, plots
from fnn.run import train


@dataclasses.dataclass(frozen=True)
class Config:
    epochs: int = 2
    lr: float = 0.05
    batch_size: int = 64
    digit: int = 0  # index into the test set
    seed: int = 0
    data: str | None = None
    train_size: int | None = None


QUICK = {"epochs": 1, "train_size": 1000}


def run(config: Config) -> dict:
    mnist = experiment.load_data(config.data, train_size=config.train_size, seed=config.seed)
    model = models.cnn()
    result = train(
        model,
        mnist,
        optim.momentum(config.lr),
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        label="cnn",
    )
    params, state = result.params, result.state
    x = jnp.asarray(mnist.test.x[config.digit : config.digit + 1])
    maps = {}
    for i, layer in enumerate(models.cnn_layers()[:6]):  # conv, relu, pool, conv, relu, pool
        x, _, _ = layer.apply(params[i], state[i], x)
        if layer.name == "relu":
            maps[f"conv{len(maps) + 1}"] = np.moveaxis(np.asarray(x[0]), -1, 0).tolist()
    mean = 0.0 if mnist.pixel_mean is None else mnist.pixel_mean
    return {
        "filters": np.moveaxis(np.asarray(params[0]["W"])[:, :, 0, :], -1, 0).tolist(),  # (32, 3, 3)
        "feature_maps": maps,
        "digit": (np.asarray(mnist.test.x[config.digit]) + mean)[:, :, 0].tolist(),
        "digit_label": int(mnist.test.labels[config.digit]),
        "val_accuracy": result.history[-1]["val_accuracy"],
    }


def plot(results: dict, out: Path) -> None:
    filters = np.asarray(results["filters"])
    plots.save(
        plots.image_grid(filters, "conv1: the 32 learned 3x3 filters (blue < 0 < red)"), out / "filters.png"
    )
    for name, maps in results["feature_maps"].items():
        maps = np.asarray(maps)
        plots.save(
            plots.image_grid(
                maps,
                f"{name} feature maps (after ReLU) of one digit",
                columns=8 if len(maps) <= 32 else 16,
                cmap="viridis",
            ),
            out / f"features_{name}.png",
        )
    plots.save(
        plots.digit_grid(
            np.asarray(results["digit"])[None], [f"label {results['digit_label']}"], "input digit", columns=1
        ),
        out / "digit.png",
    )


def main(argv=None) -> Path:
    return experiment.main("filters", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
