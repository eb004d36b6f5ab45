"""The numbers: the `cnn-bn` recipe once per seed, through `experiments.cnn`'s run."""

from __future__ import annotations

import dataclasses

from experiments.cnn import run as cnn_run
from fnn import models

RECIPE = models.RECIPES["cnn-bn"]
QUICK = cnn_run.QUICK


@dataclasses.dataclass(frozen=True)
class Config(cnn_run.Config):
    recipe: str = "cnn-bn"
    lr: float = RECIPE.lr
    weight_decay: float = RECIPE.weight_decay
    batch_norm: bool = True


def run(config: Config) -> dict:
    return cnn_run.run(config)
