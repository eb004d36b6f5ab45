"""Ready models for 28 x 28 x 1 MNIST images; each is a Layer (a `serial`).

- `mlp`: flatten - [affine - (batch norm) - relu - (dropout)] per hidden size - affine 10.
- `cnn`: conv 3x3x32 pad 1 - (bn) - relu - maxpool 2 - conv 3x3x64 pad 1 - (bn) - relu -
  maxpool 2 - affine 128 - (bn) - relu - (dropout) - affine 10 (average pooling on request).
- `small_cnn`: conv 5x5x16 - (bn) - maxpool 2 - relu - conv 3x3x32 - (bn) - maxpool 2 - relu -
  affine 256 - (bn) - relu - (dropout) - affine 10, no padding (the `fast` recipe's). `best`
  uses 5x5 kernels, 32 and 64 channels, batch norm, and a 3x3 conv (padding 1) - bn - relu
  after each pooled block.

`MODELS` names them for `fnn train --model`; `from_settings` builds the one a run's settings name.
"""

from __future__ import annotations

from collections.abc import Sequence

from fnn import checks, layers
from fnn.layer import Layer, serial

__all__ = [
    "mlp",
    "ACTIVATIONS",
    "POOLS",
    "cnn",
    "cnn_layers",
    "small_cnn",
    "MODELS",
    "INPUT_SHAPE",
    "from_settings",
]

INPUT_SHAPE = (28, 28, 1)
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "elu")
POOLS = ("max", "avg")


def mlp(
    hidden: Sequence[int] = (512, 256),
    *,
    batch_norm: bool = False,
    drop_rate: float = 0.0,
    num_classes: int = 10,
    weight_scale: float | None = None,
    activation: str = "relu",
    init: str = "he",
) -> Layer:
    """A multilayer perceptron; `activation` names the hidden nonlinearity, one of ACTIVATIONS
    (constructors in fnn.layers); every affine is initialised by `init` ("he" or "xavier",
    fnn.initializers) unless `weight_scale` gives the weights' standard deviation."""
    make_activation = getattr(layers, checks.one_of("mlp", "activation", activation, ACTIVATIONS))
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack.append(layers.affine(width, weight_scale=weight_scale, init=init, name=f"affine{i + 1}"))
        if batch_norm:
            stack.append(layers.batch_norm(name=f"batch_norm{i + 1}"))
        stack.append(make_activation())
        if drop_rate:
            stack.append(layers.dropout(drop_rate))
    stack.append(layers.affine(num_classes, weight_scale=weight_scale, init=init, name="scores"))
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
    pool: str = "max",
) -> list[Layer]:
    """The layers of `cnn`, in order (to inspect intermediate outputs); `pool` is "max" or
    "avg" (2x2 windows, stride 2)."""
    make_pool = {"max": layers.max_pool2d, "avg": layers.avg_pool2d}[
        checks.one_of("cnn", "pool", pool, POOLS)
    ]
    stack = []
    for i, width in enumerate(channels):
        stack.append(
            layers.conv2d(width, 3, padding=1, impl=conv_impl, weight_scale=weight_scale, name=f"conv{i + 1}")
        )
        if batch_norm:
            stack.append(layers.batch_norm(name=f"batch_norm{i + 1}"))
        stack += [layers.relu(), make_pool(2)]
    stack.append(layers.affine(hidden, weight_scale=weight_scale, name="affine1"))
    if batch_norm:
        stack.append(layers.batch_norm(name="batch_norm3"))
    stack.append(layers.relu())
    if drop_rate:
        stack.append(layers.dropout(drop_rate))
    stack.append(layers.affine(num_classes, weight_scale=weight_scale, name="scores"))
    return stack


def small_cnn(
    *,
    channels: tuple[int, int] = (16, 32),
    kernels: tuple[int, int] = (5, 3),
    hidden: int = 256,
    batch_norm: bool = False,
    extra_convs: int = 0,
    conv_impl: str = "auto",
    drop_rate: float = 0.0,
    num_classes: int = 10,
) -> Layer:
    """Two unpadded convolutions, each followed by (batch norm), 2x2 max pooling and ReLU (pooling
    first: the ReLU then runs on a quarter of the map; max and ReLU commute), then affine
    `hidden` - (bn) - relu - (dropout) - affine 10. After each pooled block come `extra_convs`
    3x3 convolutions (padding 1, same width), each with (bn) and ReLU: depth where the maps are
    small (12x12 and 4x4 with 5x5 kernels). The defaults are the `fast` recipe's: the published
    99%-in-one-epoch network with 16 channels in the first layer where it has 24, which makes no
    reliable difference to its accuracy and trains a sixth faster on a CPU (benchmarks/RESULTS.md);
    `best` has 5x5 kernels, 32 and 64 channels, batch norm and one extra convolution per block."""

    def conv(suffix, *args, **kwargs):  # conv{suffix} - (batch_norm{suffix})
        bn = [layers.batch_norm(name=f"batch_norm{suffix}")] if batch_norm else []
        return [layers.conv2d(*args, **kwargs, impl=conv_impl, name=f"conv{suffix}"), *bn]

    stack = []
    for i, (width, k) in enumerate(zip(channels, kernels), 1):
        stack += [*conv(i, width, k), layers.max_pool2d(2), layers.relu()]
        for j in range(extra_convs):  # conv1b, conv1c, ...
            stack += [*conv(f"{i}{chr(ord('b') + j)}", width, 3, padding=1), layers.relu()]
    stack.append(layers.affine(hidden, name="affine1"))
    if batch_norm:
        stack.append(layers.batch_norm(name=f"batch_norm{len(channels) + 1}"))
    stack.append(layers.relu())
    if drop_rate:
        stack.append(layers.dropout(drop_rate))
    stack.append(layers.affine(num_classes, name="scores"))
    return serial(*stack, name="small-cnn-bn" if batch_norm else "small-cnn")


MODELS = {
    "mlp": lambda **kw: mlp(**kw),
    "cnn": lambda **kw: cnn(**kw),
    "cnn-bn": lambda **kw: cnn(batch_norm=True, **kw),
    "fast": lambda **kw: small_cnn(**kw),
    "best": lambda **kw: small_cnn(channels=(32, 64), kernels=(5, 5), batch_norm=True, extra_convs=1, **kw),
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
