"""The numbers of experiments.dropout (its code hash covers this file and its imports).

The MLP 784-512-256-10 with dropout after each hidden ReLU, the `mlp` recipe's optimizer and
schedule (SGD + momentum 0.9, lr 0.1, warm-up then cosine, weight decay 5e-4, batch 128),
`epochs` epochs on the first `train_size` images of the shuffled training split (that of
`data_seed`; a small set, so that the network can overfit it), once per seed in `seeds`, for
each drop rate in `drop_rates` and each of two dropout layers:
- "inverted": fnn's `dropout`, y = x * keep / (1 - q) in train mode, y = x in test mode;
- "unscaled": `unscaled_dropout` below, y = x * keep in train mode (the same mask for the same
  key), y = x in test mode.
q = 0 is the same network for both (no dropout layer): trained once per seed and shown in both.
Every number is of the parameters `experiments.common.train` keeps (the best validation
epoch's); train accuracy is measured in test mode on the whole training subset, so that
gap = train - validation compares like with like. `activation_ratio`: the mean input of the
scores layer in test mode over train mode on PROBE validation images. Each unscaled network is
also evaluated with the original paper's test rule, every weight matrix that reads a dropout
output times 1 - q (`scaled_for_test`): that network computes what an inverted-dropout network
with weights W (1 - q) computes, so the two variants differ only in training.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from fnn import checks, layers, models
from fnn.layer import Layer, serial
from fnn.train import best_epoch, make_evaluate, predict

RECIPE = models.RECIPES["mlp"]
VARIANTS = ("inverted", "unscaled")
PROBE = 1000  # validation images on which the activation ratio is measured


class UnscaledDropoutCache(NamedTuple):
    keep: jax.Array  # like x: 1 where the unit was kept, 0 where it was zeroed (ones in test mode)


def unscaled_dropout(drop_rate: float, *, name: str = "unscaled_dropout") -> Layer:
    """Dropout WITHOUT inverted scaling: y = x * keep in train mode, y = x in test mode.

    keep ~ Bernoulli(1 - drop_rate), drawn as fnn's `dropout` draws it (the same mask for the
    same key); the kept units are not divided by 1 - drop_rate. Backward: dx = dy * keep.

    Args:
        drop_rate: probability of zeroing, in [0, 1).
    """
    drop_rate = checks.probability(name, "drop_rate (the probability of zeroing)", drop_rate)

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        checks.params_keys(name, params, ())
        x = jnp.asarray(x, checks.floating(name, "x", x))
        if not train:
            return x, state, UnscaledDropoutCache(jnp.ones_like(x))
        if key is None:
            raise ValueError(
                f"{name}: train=True needs a PRNG key for the dropout mask: "
                "apply(params, state, x, train=True, key=jax.random.key(0))"
            )
        keep = jax.random.bernoulli(key, 1.0 - drop_rate, x.shape).astype(x.dtype)  # (1)
        return x * keep, state, UnscaledDropoutCache(keep)  # (2), no / (1 - drop_rate)

    def backward(params, cache, dy):
        """dx = dy * keep: y is x times a constant mask."""
        checks.params_keys(name, params, ())
        checks.shape(name, "dy", jnp.shape(dy), cache.keep.shape, "like x and y")
        return jnp.asarray(dy, cache.keep.dtype) * cache.keep, {}

    return Layer(name=name, init=init, apply=apply, backward=backward)


def _stack(hidden, drop_rate: float, variant: str) -> list[Layer]:
    drop = (
        layers.dropout
        if checks.one_of("dropout", "variant", variant, VARIANTS) == "inverted"
        else unscaled_dropout
    )
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack += [layers.affine(width, name=f"affine{i + 1}"), layers.relu()]
        if drop_rate:
            stack.append(drop(drop_rate, name="dropout"))
    stack.append(layers.affine(10, name="scores"))
    return stack


def mlp(hidden, drop_rate: float, variant: str) -> Layer:
    """`fnn.models.mlp` with the dropout layer of `variant` ("inverted" or "unscaled")."""
    return serial(*_stack(hidden, drop_rate, variant), name="mlp")


def scaled_for_test(hidden, drop_rate: float, params: tuple) -> tuple:
    """The original paper's test rule for a network trained with unscaled dropout: every weight
    matrix that reads a dropout layer's output is multiplied by 1 - drop_rate (biases unchanged),
    so the test-mode network (dropout = identity) feeds each layer what it saw on average in
    training."""
    stack = _stack(hidden, drop_rate, "unscaled")
    after = {i + 1 for i, layer in enumerate(stack) if layer.name == "dropout"}
    return tuple({**p, "W": (1.0 - drop_rate) * p["W"]} if i in after else p for i, p in enumerate(params))


@dataclasses.dataclass(frozen=True)
class Config:
    drop_rates: tuple = (0.0, 0.1, 0.3, 0.5)
    seeds: tuple = (0, 1, 2, 3, 4)  # 5: with 3 the interval at q = 0.1 sat near 0
    epochs: int = 10
    hidden: tuple = (512, 256)
    lr: float = RECIPE.lr
    batch_size: int = RECIPE.batch_size
    train_size: int = 10000
    data_seed: int = 0
    data: str | None = None


QUICK = {"drop_rates": (0.0, 0.5), "seeds": (0,), "epochs": 2, "hidden": (32,), "train_size": 2000}


def _activation_ratio(model, params, state, x, seed):
    """Mean input of the scores layer in test mode over its mean in train mode (one mask)."""
    _, _, test_caches = model.apply(params, state, x, train=False)
    _, _, train_caches = model.apply(params, state, x, train=True, key=jax.random.key(seed))
    return float(test_caches[-1].x.mean() / train_caches[-1].x.mean())


def _one_run(config, mnist, drop_rate, variant, seed):
    model = mlp(config.hidden, drop_rate, variant)
    recipe = RECIPE._replace(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size)
    label = f"{variant} q={drop_rate} seed {seed}"
    result = common.train_recipe(model, mnist, recipe, seed=seed, label=label)
    best = result.history[best_epoch(result.history) - 1]
    scores = predict(model, result.params, result.state, mnist.train.x)
    train_accuracy = float((scores.argmax(1) == mnist.train.labels).mean())
    probe = jnp.asarray(mnist.validation.x[:PROBE])
    record = {
        "seed": seed,
        "train_accuracy": train_accuracy,
        "val_accuracy": best["val_accuracy"],
        "gap": train_accuracy - best["val_accuracy"],
        "val_loss": best["val_loss"],
        "test_accuracy": result.metrics["test_accuracy"],
        "test_loss": result.metrics["test_loss"],
        "activation_ratio": _activation_ratio(model, result.params, result.state, probe, seed),
    }
    if variant == "unscaled" and drop_rate:
        params = scaled_for_test(config.hidden, drop_rate, result.params)
        loss, accuracy = make_evaluate(model)(
            params, result.state, mnist.validation.x, mnist.validation.labels
        )
        record["val_loss_scaled_for_test"], record["val_accuracy_scaled_for_test"] = (
            float(loss),
            float(accuracy),
        )
    return record


def _summary(runs):
    out = {}
    keys = ("train_accuracy", "val_accuracy", "gap", "val_loss", "test_accuracy", "activation_ratio")
    keys += tuple(k for k in ("val_loss_scaled_for_test", "val_accuracy_scaled_for_test") if k in runs[0])
    for key in keys:
        values = np.array([r[key] for r in runs])
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    runs = {variant: {} for variant in VARIANTS}
    for q in config.drop_rates:
        for variant in VARIANTS:
            if q == 0 and variant != VARIANTS[0]:  # no dropout layer: the same network
                runs[variant][str(q)] = runs[VARIANTS[0]][str(q)]
                continue
            runs[variant][str(q)] = [_one_run(config, mnist, q, variant, seed) for seed in config.seeds]
    return {
        "setup": {
            "model": f"mlp 784-{'-'.join(map(str, config.hidden))}-10, dropout after each hidden relu",
            "hidden": list(config.hidden),
            "train_size": len(mnist.train.x),
            "validation_size": len(mnist.validation.x),
            "epochs": config.epochs,
            "lr": config.lr,
            "momentum": RECIPE.momentum,
            "weight_decay": RECIPE.weight_decay,
            "batch_size": config.batch_size,
            "seeds": list(config.seeds),
            "drop_rates": list(config.drop_rates),
            "recipe_drop_rate": RECIPE.drop_rate,
            "dropout_layers": len(config.hidden),
            "numbers": "best validation epoch; train accuracy in test mode on the training subset",
            "activation_ratio": "mean input of the scores layer, test mode / train mode, on validation images",
            "probe_size": min(PROBE, len(mnist.validation.x)),
        },
        "runs": runs,
        "summary": {v: {q: _summary(r) for q, r in by_rate.items()} for v, by_rate in runs.items()},
    }
