"""Dropout: how much does it close the train-validation gap, and why is it *inverted*?

Question: the assignment's MLP can use dropout; what does the drop rate q do to the final
train accuracy, the validation accuracy and the gap between them, and what goes wrong if
train mode only zeroes units, without dividing the kept ones by 1 - q?

Setup: the MLP 784-512-256-10 with dropout after each hidden ReLU, the `mlp` recipe's
optimizer and schedule (SGD + momentum 0.9, lr 0.1, warm-up then cosine, weight decay 5e-4,
batch 128), trained for `epochs` epochs on the first `train_size` images of the shuffled
training split (that of `data_seed`; a small set, so that the network can overfit it), once
per seed in `seeds`, for each drop rate in `drop_rates` and each of two dropout layers:
- "inverted": fnn's `dropout`, y = x * keep / (1 - q) in train mode, y = x in test mode;
- "unscaled": `unscaled_dropout` below, y = x * keep in train mode (the same mask for the
  same key), y = x in test mode.
q = 0 is the same network for both (no dropout layer): it is trained once and shown in both.
Every number is of the parameters `fnn.run.train` keeps (the best validation epoch's); train
accuracy is measured in test mode on the whole training subset, so that gap = train - validation
compares like with like.

Without inverted scaling, a unit is kept with probability 1 - q, so in training the layer after
a dropout receives on average (1 - q) x, and its weights adapt to inputs of that size. In test
mode dropout is the identity: the full x arrives, 1 / (1 - q) times larger than anything seen in
training (twice as large for q = 0.5), and the next layer sees a shifted scale. Each dropout layer
compounds it: the scores layer, after two, sees about 1 / (1 - q)^2 (`activation_ratio`, the mean
input of the scores layer in test mode over train mode on 1,000 validation images). For ReLU
layers with small biases, scaling the input scales the scores by about the same factor, which
keeps most argmaxes (accuracy) but makes the scores overconfident, which the validation loss
shows. Inverted dropout puts the 1 / (1 - q) in training, so E[y] = x and test mode needs nothing;
the original dropout paper instead multiplies by 1 - q at test time. (Inverted scaling matches
the mean, not the spread: after a second dropout layer its ratio falls below 1, because the
train-mode noise widens the pre-activations of the next ReLU, whose mean grows with their spread.)

Figures: rates.png, against the drop rate, both variants, mean with sd error bars over the
seeds: validation accuracy, the train - validation gap, the validation loss, and the activation
ratio with the references 1 / (1 - q)^k, k = 1 .. the number of dropout layers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from fnn import checks, experiment, layers, models, plots
from fnn.layer import Layer, serial
from fnn.train import best_epoch, predict

RECIPE = models.RECIPES["mlp"]
VARIANTS = ("inverted", "unscaled")


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


def mlp(hidden, drop_rate: float, variant: str) -> Layer:
    """`fnn.models.mlp` with the dropout layer of `variant` ("inverted" or "unscaled")."""
    drop = (
        layers.dropout
        if checks.one_of("dropout", "variant", variant, VARIANTS) == "inverted"
        else unscaled_dropout
    )
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack += [layers.affine(width, name=f"affine{i + 1}"), layers.relu()]
        if drop_rate:
            stack.append(drop(drop_rate))
    stack.append(layers.affine(10, name="scores"))
    return serial(*stack, name="mlp")


@dataclasses.dataclass(frozen=True)
class Config:
    drop_rates: tuple = (0.0, 0.1, 0.3, 0.5)
    seeds: tuple = (0, 1, 2)
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
    result = experiment.train_recipe(model, mnist, recipe, seed=seed, label=label)
    best = result.history[best_epoch(result.history) - 1]
    scores = predict(model, result.params, result.state, mnist.train.x)
    train_accuracy = float((scores.argmax(1) == mnist.train.labels).mean())
    probe = jnp.asarray(mnist.validation.x[:1000])
    return {
        "seed": seed,
        "train_accuracy": train_accuracy,
        "val_accuracy": best["val_accuracy"],
        "gap": train_accuracy - best["val_accuracy"],
        "val_loss": best["val_loss"],
        "test_accuracy": result.metrics["test_accuracy"],
        "test_loss": result.metrics["test_loss"],
        "activation_ratio": _activation_ratio(model, result.params, result.state, probe, seed),
    }


def _summary(runs):
    out = {}
    for key in ("train_accuracy", "val_accuracy", "gap", "val_loss", "test_accuracy", "activation_ratio"):
        values = np.array([r[key] for r in runs])
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def run(config: Config) -> dict:
    mnist = experiment.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
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
            "train_size": len(mnist.train.x),
            "epochs": config.epochs,
            "seeds": list(config.seeds),
            "dropout_layers": len(config.hidden),
            "numbers": "best validation epoch; train accuracy in test mode on the training subset",
            "activation_ratio": "mean input of the scores layer, test mode / train mode, 1,000 validation images",
        },
        "runs": runs,
        "summary": {v: {q: _summary(r) for q, r in by_rate.items()} for v, by_rate in runs.items()},
    }


def plot(results: dict, out: Path) -> None:
    panels = (
        ("val_accuracy", 100, "validation accuracy (%)"),
        ("gap", 100, "train - validation accuracy (points)"),
        ("val_loss", 1, "validation loss"),
        ("activation_ratio", 1, "scores-layer input, test / train mode"),
    )
    fig = Figure(figsize=(11, 8))
    axes = fig.subplots(2, 2).ravel()
    for ax, (key, scale, ylabel) in zip(axes, panels):
        for variant, marker in zip(VARIANTS, ("o", "s")):
            by_rate = results["summary"][variant]
            rates = [float(q) for q in by_rate]
            mean = [scale * s[f"{key}_mean"] for s in by_rate.values()]
            sd = [scale * s[f"{key}_sd"] for s in by_rate.values()]
            ax.errorbar(rates, mean, yerr=sd, marker=marker, capsize=4, label=variant)
        ax.set(xlabel="drop rate q", ylabel=ylabel)
        ax.grid(alpha=0.3)
    q = np.linspace(0, max(float(r) for r in results["summary"]["inverted"]), 50)
    for power, style in zip(range(1, results["setup"]["dropout_layers"] + 1), (":", "--", "-.")):
        axes[3].plot(q, (1 - q) ** -power, "k" + style, lw=1, label=f"1 / (1 - q)^{power}")
    for ax in axes:
        ax.legend()
    fig.suptitle("dropout with and without inverted scaling (mean ± sd over seeds)")
    fig.tight_layout()
    plots.save(fig, out / "rates.png")


def main(argv=None) -> Path:
    return experiment.main("dropout", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
