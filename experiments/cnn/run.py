"""The numbers: a CNN recipe once per seed (experiments.common.classifier_seeds)."""

from __future__ import annotations

import dataclasses

from experiments import common
from fnn import models

RECIPE = models.RECIPES["cnn"]


@dataclasses.dataclass(frozen=True)
class Config:
    recipe: str = "cnn"  # the fields below override the recipe's values
    epochs: int = RECIPE.epochs
    lr: float = RECIPE.lr
    momentum: float = RECIPE.momentum
    batch_size: int = RECIPE.batch_size
    weight_decay: float = RECIPE.weight_decay
    drop_rate: float = RECIPE.drop_rate
    batch_norm: bool = False
    conv_impl: str = "auto"
    seeds: tuple = (0, 1, 2)
    data: str | None = None
    train_size: int | None = None  # None: all 55,000


QUICK = {"epochs": 2, "train_size": 1500, "seeds": (0, 1)}


def run(config: Config) -> dict:
    base = models.RECIPES[config.recipe]
    recipe = base._replace(**{f: getattr(config, f) for f in base._fields if hasattr(config, f)})
    return {
        "recipe": recipe._asdict(),
        **common.classifier_seeds(
            lambda: models.cnn(
                batch_norm=config.batch_norm, conv_impl=config.conv_impl, drop_rate=config.drop_rate
            ),
            recipe,
            seeds=config.seeds,
            data=config.data,
            train_size=config.train_size,
            label=config.recipe,
        ),
    }
