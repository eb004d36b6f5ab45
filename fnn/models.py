"""Ready models for 28 x 28 x 1 MNIST images; each is a Layer (a `serial`).

- `mlp`: flatten - [affine - (batch norm) - relu - (dropout)] per hidden size - affine 10.
- `cnn`: conv 3x3x32 pad 1 - (bn) - relu - maxpool 2 - conv 3x3x64 pad 1 - (bn) - relu -
  maxpool 2 - affine 128 - (bn) - relu - (dropout) - affine 10.

`load(run_dir)` gives back a trained run, ready to predict: its model, best parameters and
the pixel mean its inputs had subtracted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from fnn import checkpoint, checks, layers, provenance
from fnn.layer import Layer, serial
from fnn.optim import GradientTransformation, Schedule, make_optimizer, make_schedule

__all__ = [
    "mlp",
    "ACTIVATIONS",
    "cnn",
    "cnn_layers",
    "MODELS",
    "INPUT_SHAPE",
    "Recipe",
    "RECIPES",
    "from_settings",
    "Loaded",
    "load",
]

INPUT_SHAPE = (28, 28, 1)
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "elu")


def mlp(
    hidden: Sequence[int] = (512, 256),
    *,
    batch_norm: bool = False,
    drop_rate: float = 0.0,
    num_classes: int = 10,
    weight_scale: float | None = None,
    activation: str = "relu",
) -> Layer:
    """A multilayer perceptron; `weight_scale` overrides He initialisation of every affine;
    `activation` names the hidden nonlinearity, one of ACTIVATIONS (constructors in fnn.layers)."""
    make_activation = getattr(layers, checks.one_of("mlp", "activation", activation, ACTIVATIONS))
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack.append(layers.affine(width, weight_scale=weight_scale, name=f"affine{i + 1}"))
        if batch_norm:
            stack.append(layers.batch_norm(name=f"batch_norm{i + 1}"))
        stack.append(make_activation())
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


class Loaded(NamedTuple):
    """A trained run: `fnn.train.predict(model, params, state, x - pixel_mean)` classifies x."""

    model: Layer
    params: Any  # the best epoch's (by validation accuracy) parameters
    state: Any  # and layer state (batch norm's running statistics)
    settings: dict  # the checkpoint's metadata: the run's settings, data provenance, history
    pixel_mean: np.ndarray | None  # (28, 28, 1) float32 train mean subtracted in training, or None


def load(run_dir: str | os.PathLike) -> Loaded:
    """The best (by validation) parameters and layer state of a run, with its model.

    Args:
        run_dir: a run folder (`fnn train --out`) or its `checkpoint.npz`.
    Returns:
        `Loaded`. The pixel mean is the checkpoint's `"pixel_mean"` (784 floats, or null when
        none was subtracted). A checkpoint written before fnn stored it is older: the mean is
        then recomputed from the data the run recorded (`fnn.provenance.load_as_recorded`,
        with the run's seed and validation split; it reads MNIST, about a second or two).
    Raises:
        CheckpointError: no or a damaged checkpoint, an unknown model, parameters that are
            not finite (the run diverged), a malformed pixel mean, or an older checkpoint
            whose recorded data is no longer where it was.
        fnn.data.DataError: an older checkpoint whose data cannot be found at all.
    """
    path = Path(run_dir)
    path = path / "checkpoint.npz" if path.is_dir() else path
    meta = checkpoint.read_meta(path, require=("model",))
    try:
        model = from_settings(meta)
    except ValueError as e:
        raise checkpoint.CheckpointError(f"{path}: {e}") from None
    _, params, state = model.init(jax.random.key(0), INPUT_SHAPE)  # a template: shapes and dtypes
    tree, meta = checkpoint.load(path, {"best": {"params": params, "state": state}}, require=("model",))
    best = tree["best"]
    if bad := checkpoint.nonfinite(best):
        raise checkpoint.CheckpointError(
            f"{path}: the saved parameters are not finite ({', '.join(bad[:3])}); the run diverged, train it again"
        )
    return Loaded(model, best["params"], best["state"], meta, _pixel_mean(path, meta))


def _pixel_mean(path: Path, meta: dict) -> np.ndarray | None:
    """The (28, 28, 1) mean a run subtracted from its inputs: stored, or recomputed (older runs)."""
    if "pixel_mean" in meta:
        if meta["pixel_mean"] is None:
            return None
        try:
            mean = np.asarray(meta["pixel_mean"], np.float32)
        except (TypeError, ValueError):
            mean = np.zeros(0, np.float32)
        if mean.shape != (784,) or not np.isfinite(mean).all():
            raise checkpoint.CheckpointError(
                f"{path}: damaged metadata: pixel_mean is not 784 finite numbers"
            )
        return mean.reshape(INPUT_SHAPE)
    missing = [key for key in ("validation", "seed") if key not in meta]
    if missing:
        raise checkpoint.CheckpointError(
            f"{path}: no pixel_mean, and no {' or '.join(missing)} to recompute it from the data"
        )
    mnist, recorded = provenance.load_as_recorded(meta)
    if recorded is not None and (why := provenance.mismatch(recorded, mnist)):
        raise checkpoint.CheckpointError(
            f"{path}: written before fnn stored the pixel mean, which cannot be recomputed: {why}; "
            f"put {recorded['path']} back, or point FNN_MNIST at a copy"
        )
    return mnist.pixel_mean
