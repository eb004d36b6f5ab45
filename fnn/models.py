"""Ready models for 28 x 28 x 1 MNIST images; each is a Layer (a `serial`).

- `mlp`: flatten - [affine - (batch norm) - relu - (dropout)] per hidden size - affine 10.
- `cnn`: conv 3x3x32 pad 1 - (bn) - relu - maxpool 2 - conv 3x3x64 pad 1 - (bn) - relu -
  maxpool 2 - affine 128 - (bn) - relu - (dropout) - affine 10.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from fnn import layers
from fnn.layer import Layer, serial
from fnn.optim import GradientTransformation, Schedule, make_optimizer, make_schedule

__all__ = ["mlp", "cnn", "cnn_layers", "MODELS", "INPUT_SHAPE", "Recipe", "RECIPES", "from_settings"]

INPUT_SHAPE = (28, 28, 1)


def mlp(
    hidden: Sequence[int] = (512, 256),
    *,
    batch_norm: bool = False,
    drop_rate: float = 0.0,
    num_classes: int = 10,
    weight_scale: float | None = None,
) -> Layer:
    """A multilayer perceptron; `weight_scale` overrides He initialisation of every affine."""
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack.append(layers.affine(width, weight_scale=weight_scale, name=f"affine{i + 1}"))
        if batch_norm:
            stack.append(layers.batch_norm(name=f"batch_norm{i + 1}"))
        stack.append(layers.relu())
        if drop_rate:
            stack.append(layers.dropout(drop_rate))
    stack.append(layers.affine(num_classes, weight_scale=weight_scale, name="scores"))
    return serial(*stack, name="mlp")


def cnn(*, batch_norm: bool = False, **kwargs) -> Layer:
    """The training issue's CNN, optionally with batch norm after each conv and the hidden affine.

    Keyword arguments as `cnn_layers`.
    """
    return serial(*cnn_layers(batch_norm=batch_norm, **kwargs), name="cnn-bn" if batch_norm else "cnn")


def cnn_layers(
    *,
    batch_norm: bool = False,
    conv_impl: str = "auto",
    channels: tuple[int, int] = (32, 64),
    hidden: int = 128,
    drop_rate: float = 0.0,
    num_classes: int = 10,
    weight_scale: float | None = None,
) -> list[Layer]:
    """The layers of `cnn`, in order (to inspect intermediate outputs)."""
    stack = []
    for i, width in enumerate(channels):
        stack.append(
            layers.conv2d(width, 3, padding=1, impl=conv_impl, weight_scale=weight_scale, name=f"conv{i + 1}")
        )
        if batch_norm:
            stack.append(layers.batch_norm(name=f"batch_norm{i + 1}"))
        stack += [layers.relu(), layers.max_pool2d(2)]
    stack.append(layers.affine(hidden, weight_scale=weight_scale, name="affine1"))
    if batch_norm:
        stack.append(layers.batch_norm(name="batch_norm3"))
    stack.append(layers.relu())
    if drop_rate:
        stack.append(layers.dropout(drop_rate))
    stack.append(layers.affine(num_classes, weight_scale=weight_scale, name="scores"))
    return stack


MODELS = {
    "mlp": lambda **kw: mlp(**kw),
    "cnn": lambda **kw: cnn(**kw),
    "cnn-bn": lambda **kw: cnn(batch_norm=True, **kw),
}


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

    def schedule_args(self, steps_per_epoch: int) -> dict:
        """The schedule over epochs * steps_per_epoch steps; the warm-up never takes more
        than a tenth of them (short runs, --quick)."""
        total = self.epochs * steps_per_epoch
        return {
            "total_steps": total,
            "warmup_steps": min(self.warmup_steps, total // 10),
            "schedule": self.schedule,
        }

    def lr_schedule(self, steps_per_epoch: int) -> Schedule:
        """The learning rate as a function of the step count: warm-up, then cosine or constant."""
        return make_schedule(self.lr, **self.schedule_args(steps_per_epoch))

    def make_optimizer(self, steps_per_epoch: int) -> GradientTransformation:
        """The recipe's optimizer, with `lr_schedule(steps_per_epoch)` as its learning rate."""
        return make_optimizer(
            self.optimizer,
            self.lr,
            **self.schedule_args(steps_per_epoch),
            mu=self.momentum,
            weight_decay=self.weight_decay,
        )


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
}


def from_settings(settings: dict) -> Layer:
    """The model a run's settings describe (`settings["model"]`, its drop rate and conv impl)."""
    name = settings["model"]
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    kwargs = {"drop_rate": settings.get("drop_rate") or 0.0}
    if name != "mlp":
        kwargs["conv_impl"] = settings.get("conv_impl", "auto")
    return MODELS[name](**kwargs)
