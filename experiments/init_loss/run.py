"""The numbers of the loss at initialisation (see the package docstring for the question)."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from fnn import losses, models, optim, runtime, step
from fnn.losses import softmax_cross_entropy

EXPECTED = {"softmax_cross_entropy": math.log(10), "multiclass_svm": 9.0}


@dataclasses.dataclass(frozen=True)
class Config:
    models: tuple = ("mlp", "cnn")
    seeds: tuple = (0, 1, 2, 3, 4)
    batches: int = 10
    batch_size: int = 128
    small_scale: float = 1e-3  # std of every weight in the "small" initialisation
    data_seed: int = 0
    data: str | None = None


QUICK = {"seeds": (0, 1), "batches": 2, "batch_size": 64}


def _model(name: str, init: str, small_scale: float):
    scale = None if init == "he" else small_scale
    return models.mlp(weight_scale=scale) if name == "mlp" else models.cnn(weight_scale=scale)


def _initial_state(model, optimizer, in_shape):
    """A jitted `seed -> fnn.step.init_train_state(...)`: what training with that seed starts from
    (one compilation instead of one per array of the initialisation)."""
    return runtime.jit(lambda seed: step.init_train_state(model, optimizer, in_shape, seed))


def _test_mode(model):
    """A jitted `(params, state, x) -> scores` in test mode, compiled once per model and shape."""
    return runtime.jit(lambda params, state, x: model.apply(params, state, x, train=False)[0])


def _gaussian_reference(loss, sigma: float, samples: int = 20000) -> float:
    """The loss of independent N(0, sigma^2) scores (the label does not matter by symmetry)."""
    scores = sigma * jax.random.normal(jax.random.key(0), (samples, 10))
    return float(loss(scores, np.zeros(samples, np.int32))[0])


def _measure(model, x, labels, config):
    """Per seed: each loss's mean over the batches, and the spread sigma of the scores."""
    per_seed = {name: [] for name in losses.LOSSES}
    sigmas = []
    forward, initial = _test_mode(model), _initial_state(model, optim.sgd(0.1), x.shape[1:])
    for seed in config.seeds:
        ts = initial(seed)
        scores = np.asarray(forward(ts.params, ts.state, jnp.asarray(x)))
        sigmas.append(float(np.sqrt(scores.var(axis=1, ddof=1).mean())))
        for name, loss in losses.LOSSES.items():
            batch_losses = [
                float(loss(s, y)[0])
                for s, y in zip(np.split(scores, config.batches), np.split(labels, config.batches))
            ]
            per_seed[name].append(float(np.mean(batch_losses)))
    sigma = float(np.mean(sigmas))
    return {
        name: {
            "per_seed": values,
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "expected": EXPECTED[name],
            "score_spread": sigma,
            "gaussian_reference": _gaussian_reference(losses.LOSSES[name], sigma),
        }
        for name, values in per_seed.items()
    }


def recipe_first_batch(name: str, mnist, seeds) -> list[dict]:
    """Per seed: the loss `fnn.train.fit` logs for the first batch of `name`'s recipe (train
    mode, dropout on, before the update), and the test-mode loss of the same batch and parameters."""
    recipe = models.RECIPES[name]
    model = models.MODELS[name](drop_rate=recipe.drop_rate)
    optimizer = recipe.make_optimizer(len(mnist.train.x) // recipe.batch_size)

    @runtime.jit
    def train_mode_loss(ts, x, labels):  # the loss fnn.step.train_step_fn returns, without its update
        _, dropout_key = jax.random.split(ts.key)  # as train_step_fn splits the state's key
        scores, _, _ = model.apply(ts.params, ts.state, x, train=True, key=dropout_key)
        return softmax_cross_entropy(scores, labels)[0]

    forward, initial = _test_mode(model), _initial_state(model, optimizer, mnist.train.x.shape[1:])
    out = []
    for seed in seeds:
        ts = initial(seed)
        data_key = jax.random.fold_in(jax.random.key(seed), 1)  # fnn.train.fit's key for the epochs' orders
        order = step.shuffled_batches(jax.random.fold_in(data_key, 0), len(mnist.train.x), recipe.batch_size)
        rows = np.asarray(order[0])
        x, labels = jnp.asarray(mnist.train.x[rows]), jnp.asarray(mnist.train.labels[rows])
        train_loss = train_mode_loss(ts, x, labels)
        test_loss, _ = softmax_cross_entropy(forward(ts.params, ts.state, x), labels)
        out.append({"train_mode": float(train_loss), "test_mode": float(test_loss)})
    return out


def _first_batches(name, mnist, config):
    per_seed = recipe_first_batch(name, mnist, config.seeds)
    recipe = models.RECIPES[name]
    out = {"batch_size": recipe.batch_size, "drop_rate": recipe.drop_rate}
    for mode in ("train_mode", "test_mode"):
        values = [r[mode] for r in per_seed]
        out[mode] = {
            "per_seed": values,
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        }
    return out


def run(config: Config) -> dict:
    n = config.batches * config.batch_size
    mnist = common.load_data(config.data, seed=config.data_seed)
    x, labels = mnist.train.x[:n], mnist.train.labels[:n]
    measured = {
        name: {
            init: _measure(_model(name, init, config.small_scale), x, labels, config)
            for init in ("he", "small")
        }
        for name in config.models
    }
    return {
        "setup": {
            "images": n,
            "batches": config.batches,
            "batch_size": config.batch_size,
            "seeds": list(config.seeds),
            "small_scale": config.small_scale,
            "inits": {"he": "std sqrt(2 / fan-in)", "small": f"std {config.small_scale:g}"},
            "score_spread": "std of an example's 10 scores, root mean square over the images",
            "train_size": len(mnist.train.x),
        },
        "expected": EXPECTED,
        "measured": measured,
        "first_batch": {name: _first_batches(name, mnist, config) for name in config.models},
    }
