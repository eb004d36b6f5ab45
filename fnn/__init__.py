"""fnn: neural networks the functional JAX way, every backward pass written by hand.

A `Layer` is init / apply / backward (see fnn.layer); `fnn.layers` has the constructors,
`fnn.losses` the losses, `fnn.gradcheck` the proof that each backward equals jax.grad,
`fnn.summary(model, in_shape)` a table of a model's layers. The other modules (`fnn.optim`,
`fnn.train`, `fnn.data`, `fnn.models`, ...) are imported on first use, so
`import fnn` stays quick and `fnn.optim.momentum(0.05)` works without importing it first.
"""

import importlib
import pkgutil

from fnn import layers, losses
from fnn.layer import Layer, serial, summary, with_manual_vjp

__version__ = "0.2.0"
__all__ = ["Layer", "serial", "summary", "with_manual_vjp", "layers", "losses", "__version__"]


def _submodules() -> list[str]:
    """The names of fnn's modules and subpackages (the files of this folder), never a list kept
    by hand: a new module is reachable as `fnn.<name>` without editing this file."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def __getattr__(name: str):
    """`fnn.<module>` imports that module on first access (PEP 562), e.g. `fnn.models`."""
    if name in _submodules():
        return importlib.import_module(f"fnn.{name}")
    raise AttributeError(f"module 'fnn' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_submodules()})
