"""MLP on MNIST: training curves, test accuracy over seeds, confusion matrix, mistakes.

Question (assignment 1): train the fully connected network with SGD + momentum and report
the loss per iteration, the train/validation accuracy per epoch and the test accuracy.
Runs the `mlp` recipe (`fnn.models.RECIPES`) once per seed. Figures (first seed):
curves.png, confusion.png, misclassified.png.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments import common, latex
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
    return common.classifier_seeds(
        lambda: models.mlp(config.hidden, drop_rate=config.drop_rate),
        recipe,
        seeds=config.seeds,
        data=config.data,
        train_size=config.train_size,
        label="mlp",
    )


def plot(results: dict, out: Path) -> None:
    common.classifier_plot(results, out, "MLP")


def section(r: dict) -> str:
    return latex.classifier_section(
        r,
        "mlp",
        "MLP",
        "The fully connected network of the assignment (Table~\\ref{tab:architectures}), momentum SGD.",
    )


def main(argv=None) -> Path:
    return common.main("mlp", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
