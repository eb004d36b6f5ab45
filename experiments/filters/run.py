"""The numbers of the learned-filters experiment (see the package docstring for the question)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from experiments import common
from fnn import models, optim


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
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.seed)
    model = models.cnn()
    result = common.train(
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
    filters = np.moveaxis(np.asarray(params[0]["W"])[:, :, 0, :], -1, 0)
    # A filter whose weights nearly cancel (|sum| < half of sum |w|) responds to contrast, not brightness.
    balance = np.abs(filters.sum(axis=(1, 2))) / np.abs(filters).sum(axis=(1, 2))
    return {
        "run": {
            "epochs": config.epochs,
            "lr": config.lr,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "train_size": len(mnist.train.x),
        },
        "contrast_filters": int((balance < 0.5).sum()),
        "silent_maps": {k: int(sum(np.max(m) == 0 for m in v)) for k, v in maps.items()},
        "filters": np.moveaxis(np.asarray(params[0]["W"])[:, :, 0, :], -1, 0).tolist(),  # (32, 3, 3)
        "feature_maps": maps,
        "digit": (np.asarray(mnist.test.x[config.digit]) + mean)[:, :, 0].tolist(),
        "digit_label": int(mnist.test.labels[config.digit]),
        "digit_index": config.digit,
        "val_accuracy": result.history[-1]["val_accuracy"],
    }
