"""fnn: neural networks the functional JAX way, every backward pass written by hand.

A `Layer` is init / apply / backward (see fnn.layer); `fnn.layers` has the constructors,
`fnn.losses` the losses, `fnn.gradcheck` the proof that each backward equals jax.grad,
`fnn.summary(model, in_shape)` a table of a model's layers. The other modules (`fnn.optim`,
`fnn.train`, `fnn.data`, `fnn.models`, ...) are imported on first use, so
`import fnn` stays quick and `fnn.optim.momentum(0.05)` works without importing it first.
"""

import importlib

from fnn import layers, losses
from fnn.layer import Layer, serial, summary, with_manual_vjp

__version__ = "0.1.0"
__all__ = ["Layer", "serial", "summary", "with_manual_vjp", "layers", "losses", "__version__"]

# The submodules loaded on first access (PEP 562), e.g. `fnn.models` after `import fnn`.
_LAZY = (
    "checkpoint",
    "checks",
    "cli",
    "data",
    "download",
    "gradcheck",
    "im2col",
    "initializers",
    "kernels",
    "models",
    "optim",
    "parallel",
    "plots",
    "predict",
    "preprocess",
    "progress",
    "runtime",
    "schedules",
    "step",
    "train",
    "winograd",
)


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"fnn.{name}")
    raise AttributeError(f"module 'fnn' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
