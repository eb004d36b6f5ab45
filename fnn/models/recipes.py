"""Training recipes: the settings `fnn train --model M` uses unless a flag overrides them,
each chosen by measurement (README, "Recipes")."""

from __future__ import annotations

from typing import NamedTuple

from fnn.optim import GradientTransformation, make_optimizer

__all__ = ["Recipe", "RECIPES", "AUGMENTATIONS"]


class Recipe(NamedTuple):
    """Training defaults chosen by measurement (README, "Recipes"), used by `fnn train`."""

    epochs: int
    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    weight_decay: float
    warmup_steps: int
    drop_rate: float = 0.0
    schedule: str = "cosine"
    augment: str = "none"

    def make_augment(self):
        """The recipe's augmentation, `(key, x) -> x` (fnn.augment), or None for "none"."""
        from fnn.augment import augmentation

        settings = AUGMENTATIONS[self.augment]
        return augmentation(**settings) if settings else None

    def make_optimizer(self, steps_per_epoch: int) -> GradientTransformation:
        """The recipe's optimizer; its learning rate is the schedule over epochs * steps_per_epoch
        steps: a linear warm-up (never more than a tenth of the steps: short runs, --quick),
        then cosine decay to 0 or constant."""
        total = self.epochs * steps_per_epoch
        return make_optimizer(
            self.optimizer,
            self.lr,
            total_steps=total,
            warmup_steps=min(self.warmup_steps, total // 10),
            schedule=self.schedule,
            mu=self.momentum,
            weight_decay=self.weight_decay,
        )


# What each `augment` name draws per training image (fnn.augment.augmentation): rotation in
# degrees, zoom and shift as fractions, the ranges the single-CNN literature uses on MNIST.
AUGMENTATIONS = {
    "none": {},
    "affine": {"rotation": 15.0, "scale": 0.15, "shift": 0.1},
}

_CNN = Recipe(
    epochs=5,
    optimizer="momentum",
    lr=0.05,
    momentum=0.9,
    batch_size=64,
    weight_decay=5e-4,
    warmup_steps=200,
    drop_rate=0.3,
)
RECIPES = {
    "mlp": Recipe(
        epochs=20,
        optimizer="momentum",
        lr=0.1,
        momentum=0.9,
        batch_size=128,
        weight_decay=5e-4,
        warmup_steps=200,
        drop_rate=0.3,
    ),
    "cnn": _CNN,
    "cnn-bn": _CNN._replace(lr=0.1, weight_decay=1e-3),
    "fast": Recipe(
        epochs=2,
        optimizer="adam",
        lr=0.01,
        momentum=0.9,
        batch_size=256,
        weight_decay=0.0,
        warmup_steps=40,
    ),
    "best": Recipe(
        epochs=30,
        optimizer="momentum",
        lr=0.1,
        momentum=0.9,
        batch_size=128,
        weight_decay=5e-4,
        warmup_steps=500,
        drop_rate=0.3,
        augment="affine",
    ),
}
