"""CNN on MNIST: training curves, test accuracy over seeds, confusion matrix, mistakes.

Question (assignment 1): train the convolutional network and report the loss per iteration,
the train/validation accuracy per epoch and the test accuracy. Runs the `cnn` recipe
(`fnn.models.RECIPES`) once per seed; `experiments.cnn_bn` runs the `cnn-bn` recipe the same
way. Figures (first seed): curves.png, confusion.png, misclassified.png.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments import common, latex
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
    return common.classifier_seeds(
        lambda: models.cnn(
            batch_norm=config.batch_norm, conv_impl=config.conv_impl, drop_rate=config.drop_rate
        ),
        recipe,
        seeds=config.seeds,
        data=config.data,
        train_size=config.train_size,
        label=config.recipe,
    )


def plot(results: dict, out: Path) -> None:
    common.classifier_plot(results, out, "CNN")


def section(r: dict) -> str:
    return latex.classifier_section(
        r, "cnn", "CNN", "The convolutional network of Table~\\ref{tab:architectures}, momentum SGD."
    )


def main(argv=None) -> Path:
    return common.main("cnn", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
