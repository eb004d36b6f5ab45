"""Ready models for 28 x 28 x 1 MNIST images; each is a Layer (a `serial`).

- `mlp`: flatten - [affine - (batch norm) - relu - (dropout)] per hidden size - affine 10.
- `cnn`: conv 3x3x32 pad 1 - (bn) - relu - maxpool 2 - conv 3x3x64 pad 1 - (bn) - relu -
  maxpool 2 - affine 128 - (bn) - relu - (dropout) - affine 10.

`MODELS` names them for `fnn train --model`; `from_settings` builds the one a run's settings name.
"""

from __future__ import annotations

from collections.abc import Sequence

from fnn import checks, layers
from fnn.layer import Layer, serial

__all__ = ["mlp", "ACTIVATIONS", "cnn", "cnn_layers", "MODELS", "INPUT_SHAPE", "from_settings"]

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


def from_settings(settings: dict) -> Layer:
    """The model a run's settings describe (`settings["model"]`, its drop rate and conv impl)."""
    name = settings["model"]
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    kwargs = {"drop_rate": settings.get("drop_rate") or 0.0}
    if name != "mlp":
        kwargs["conv_impl"] = settings.get("conv_impl", "auto")
    return MODELS[name](**kwargs)
