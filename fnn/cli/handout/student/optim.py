"""The two update rules of the assignment: SGD and SGD with momentum, in optax's protocol.

YOUR TASK: write `sgd_update` and `momentum_update`. DERIVE.md, section "Optimizers" states
them (eq:sgd, eq:momentum). Then check them against fnn's sgd and momentum:

    fnn gradcheck --layer optim.py:sgd --like sgd
    fnn gradcheck --layer optim.py:momentum --like momentum

An optimizer is a pair (init, update): `init(params) -> state`, and `update(grads, state,
params) -> (updates, state)`, where the updates are ADDED to the parameters afterwards
(`fnn.optim.apply_updates`: x <- x + u, leaf by leaf). Each rule below works on one array.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from fnn.optim import GradientTransformation


def sgd_update(dx, lr):
    """eq:sgd (DERIVE.md): the update u that is added to the parameter x, for its gradient dx.

    Args:
        dx: dL/dx, an array. lr: the learning rate, a number > 0.

    Returns:
        u, shaped like dx.
    """
    raise NotImplementedError("write it: DERIVE.md, section Optimizers, eq:sgd")


def momentum_update(v, dx, lr, mu):
    """eq:momentum (DERIVE.md): the new velocity v, which is also the update added to x.

    Args:
        v: the velocity so far (zeros at first), shaped like dx. dx: dL/dx.
        lr: the learning rate. mu: the momentum, in [0, 1).

    Returns:
        The new v, shaped like dx.
    """
    raise NotImplementedError("write it: DERIVE.md, section Optimizers, eq:momentum")


def sgd(lr):
    """Stochastic gradient descent: no state."""

    def init(params):
        return ()

    def update(grads, state, params=None):
        return jax.tree.map(lambda dx: sgd_update(dx, lr), grads), state

    return GradientTransformation(init, update)


def momentum(lr, mu=0.9):
    """SGD with momentum: the state is the velocity, a zero array per parameter at first."""

    def init(params):
        return jax.tree.map(jnp.zeros_like, params)

    def update(grads, velocity, params=None):
        velocity = jax.tree.map(lambda v, dx: momentum_update(v, dx, lr, mu), velocity, grads)
        return velocity, velocity

    return GradientTransformation(init, update)
