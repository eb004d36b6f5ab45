"""fnn: neural networks the functional JAX way, every backward pass written by hand.

A `Layer` is init / apply / backward (see fnn.layer); `fnn.layers` has the constructors,
`fnn.losses` the losses, `fnn.gradcheck` the proof that each backward equals jax.grad.
"""

from fnn import layers, losses
from fnn.layer import Layer, serial, with_manual_vjp

__version__ = "0.1.0"
__all__ = ["Layer", "serial", "with_manual_vjp", "layers", "losses", "__version__"]
