"""The numbers: the `mlp` recipe once per seed (experiments.common.classifier_seeds)."""

from __future__ import annotations

import dataclasses

from experiments import common
from fnn import models

RECIPE = models.RECIPES["mlp"]


@dataclasses.dataclass(frozen=True)
class Config:
    epochs: int = RECIPE.epochs
    lr: float = RECIPE.lr
    momentum: float = RECIPE.momentum
    batch_size: int = RECIPE.batch_size
    weight_decay: float = RECIPE.weight_decay
    drop_rate: float = RECIPE.drop_rate
    hidden: tuple = (512, 256)
    seeds: tuple = (0, 1, 2)
    data: str | None = None
    train_size: int | None = None  # None: all 55,000


QUICK = {"epochs": 3, "hidden": (64,), "train_size": 4000, "seeds": (0, 1)}


def run(config: Config) -> dict:
    recipe = RECIPE._replace(**{f: getattr(config, f) for f in RECIPE._fields if hasattr(config, f)})
    return {
        "recipe": recipe._asdict(),
        **common.classifier_seeds(
            lambda: models.mlp(config.hidden, drop_rate=config.drop_rate),
            recipe,
            seeds=config.seeds,
            data=config.data,
            train_size=config.train_size,
            label="mlp",
        ),
    }
