"""Every layer constructor; each returns a `fnn.Layer` (init / apply / backward).

Dtypes: every layer computes in the floating dtype of its input x (float16, bfloat16, float32 or
float64), the same for every conv impl: params are cast to it inside `apply`, y and dx come out in
it, and dparams in the dtype of each param (batch_norm alone accumulates its statistics in at least
float32); an integer or bool x raises ValueError naming the layer and the dtype (cast it first).

Misuse fails where it happens: params of the wrong keys or shapes for the layer's configuration
and x, and a dy not shaped like the output for the cache, raise ValueError (TypeError for the keys)
naming the layer, the array and both shapes, at trace time (free under `jit`).
"""

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
