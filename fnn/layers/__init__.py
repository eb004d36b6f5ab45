"""Every layer constructor; each returns a `fnn.Layer` (init / apply / backward)."""

from fnn.layers.activations import elu, leaky_relu, relu, sigmoid, tanh
from fnn.layers.affine import affine
from fnn.layers.conv import conv2d
from fnn.layers.dropout import dropout
from fnn.layers.norm import batch_norm
from fnn.layers.pool import avg_pool2d, max_pool2d
from fnn.layers.reshape import flatten

__all__ = [
    "affine",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "elu",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "batch_norm",
    "dropout",
    "flatten",
]
