"""Accuracy against training time: each recipe trained over seeds, its test accuracy probed at
a fixed step interval while it trains (benchmarks.time_to_accuracy.race: the probes' own time
is not counted; compilation and the per-epoch validation are)."""

from __future__ import annotations

import dataclasses

from benchmarks.time_to_accuracy import race
from experiments import common
from fnn import models

__all__ = ["Config", "QUICK", "run"]


@dataclasses.dataclass(frozen=True)
class Config:
    recipes: tuple = ("fast", "cnn", "cnn-bn")
    seeds: tuple = (0, 1, 2)
    fast_seeds: tuple = (0, 1, 2, 3, 4)  # the fast recipe's goal is a mean over 5 seeds
    probes_per_epoch: int = 10  # test accuracy every (steps per epoch // this) steps
    epochs: int = 0  # 0: each recipe's own
    train_size: int | None = None
    data: str | None = None


QUICK = {
    "recipes": ("fast",),
    "seeds": (0,),
    "fast_seeds": (0, 1),
    "epochs": 1,
    "train_size": 1000,
    "probes_per_epoch": 2,
}


def run(config: Config) -> dict:
    results = {"arms": {}, "recipes": {}}
    for name in config.recipes:
        recipe = models.RECIPES[name]
        if config.epochs:
            recipe = recipe._replace(epochs=config.epochs)
        results["recipes"][name] = recipe._asdict()
        runs = []
        for seed in config.fast_seeds if name == "fast" else config.seeds:
            mnist = common.load_data(config.data, train_size=config.train_size, seed=seed)
            label = f"{name} seed {seed}"
            runs.append(
                race(name, recipe, mnist, seed=seed, probes_per_epoch=config.probes_per_epoch, label=label)
            )
        results["arms"][name] = runs
    results["train_size"] = len(mnist.train.x)
    return results
