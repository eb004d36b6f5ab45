"""fnn.optim against optax itself, where optax is installed (it is never a dependency of fnn:
tests/test_optim.py checks the protocol with stand-ins written there). Both directions:
fnn's rules inside an optax chain, optax's optimizers inside fnn's training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import models, optim
from fnn.train import fit

optax = pytest.importorskip("optax")

PARAMS = {"W": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.1, -0.2])}
GRADS = [jax.tree.map(lambda p, i=i: (i + 1) * 0.1 * p + 0.05 * (-1) ** i, PARAMS) for i in range(4)]


def run(opt, apply):
    params, state = PARAMS, opt.init(PARAMS)
    for g in GRADS:
        updates, state = opt.update(g, state, params)
        params = apply(params, updates)
    return params


def close(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_fnn_rules_inside_an_optax_chain():
    ours = optax.chain(optax.clip_by_global_norm(1.0), optim.sgd(0.1))
    theirs = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1))
    close(run(ours, optax.apply_updates), run(theirs, optax.apply_updates))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: optim.momentum(0.1, 0.9), lambda: optax.sgd(0.1, momentum=0.9)),
        (lambda: optim.adam(0.1), lambda: optax.adam(0.1)),
        (
            lambda: optim.adamw(0.1, weight_decay=0.01),
            lambda: optax.adamw(
                0.1, weight_decay=0.01, mask=lambda p: jax.tree.map(lambda a: a.ndim >= 2, p)
            ),
        ),
    ],
)
def test_fnn_rules_equal_optax_rules(ours, theirs):
    close(run(ours(), optim.apply_updates), run(theirs(), optax.apply_updates))


def test_an_optax_optimizer_trains_through_fit(tiny_mnist):
    result = fit(models.mlp((16,)), tiny_mnist, optax.adam(1e-3), epochs=2, batch_size=25)
    assert result.history[-1]["val_accuracy"] > 0.5
