"""The `best` recipe over seeds, and the same recipe without augmentation on the same seeds
(what augmentation buys, paired), each run's test accuracy probed as it trains."""

from __future__ import annotations

import dataclasses

from benchmarks.time_to_accuracy import race
from experiments import common
from fnn import models

__all__ = ["Config", "QUICK", "run"]


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: tuple = (0, 1, 2)
    augments: tuple = ("affine", "none")  # the recipe's own first
    probes_per_epoch: int = 2
    epochs: int = 0  # 0: the recipe's
    train_size: int | None = None
    data: str | None = None


QUICK = {"seeds": (0, 1), "epochs": 1, "probes_per_epoch": 2, "train_size": 1500}


def run(config: Config) -> dict:
    results = {"arms": {}, "recipes": {}}
    for augment in config.augments:
        recipe = models.RECIPES["best"]._replace(augment=augment)
        if config.epochs:
            recipe = recipe._replace(epochs=config.epochs)
        results["recipes"][augment] = recipe._asdict()
        runs = []
        for seed in config.seeds:
            mnist = common.load_data(config.data, train_size=config.train_size, seed=seed)
            label = f"best, augment={augment}, seed {seed}"
            runs.append(
                race("best", recipe, mnist, seed=seed, probes_per_epoch=config.probes_per_epoch, label=label)
            )
        results["arms"][augment] = runs
    results["train_size"] = len(mnist.train.x)
    results["validation_size"] = len(mnist.validation.x)
    results["test_size"] = len(mnist.test.x)
    return results
