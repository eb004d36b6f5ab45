"""CNN with batch normalisation on MNIST: the `cnn-bn` recipe once per seed.

Question: what does the recipe with batch norm after each convolution reach? The same
pipeline as `experiments.cnn` (`cnn.run`) with the `cnn-bn` recipe's
learning rate and weight decay. Figures (first seed): curves.png, confusion.png,
misclassified.png.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments import cnn, common, latex
from fnn import models

RECIPE = models.RECIPES["cnn-bn"]


@dataclasses.dataclass(frozen=True)
class Config(cnn.Config):
    recipe: str = "cnn-bn"
    lr: float = RECIPE.lr
    weight_decay: float = RECIPE.weight_decay
    batch_norm: bool = True


def run(config: Config) -> dict:
    return cnn.run(config)


def plot(results: dict, out: Path) -> None:
    common.classifier_plot(results, out, "CNN-BN")


def section(r: dict) -> str:
    return latex.classifier_section(
        r,
        "cnn_bn",
        "CNN with batch norm",
        "The CNN of Table~\\ref{tab:architectures} with batch normalisation after each convolution and after "
        "the hidden fully connected layer, before their ReLUs.",
    )


def main(argv=None) -> Path:
    return common.main("cnn_bn", Config, run, plot, cnn.QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
