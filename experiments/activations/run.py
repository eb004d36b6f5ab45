"""The numbers of the activations experiment (the only code its results' hash covers).

The MLP `hidden` with the `mlp` recipe's optimizer and schedule (SGD + momentum 0.9, warm-up
then cosine, weight decay 5e-4, batch 128), no dropout, `epochs` epochs on the first
`train_size` images of the shuffled training split (that of `data_seed`), once per seed (the
seed draws the initial weights and the batch order; every arm uses the same seeds, so arms
compare paired). Only the hidden nonlinearity, the initialisation and the learning rate change:

- ReLU, leaky ReLU, ELU: He initialisation at the recipe's rate `lr`;
- sigmoid, tanh: Xavier initialisation at each rate of `saturating_lrs` (the rate with the
  highest mean best-validation accuracy is selected: never the test set), and He at `lr`
  (the ReLU recipe unchanged, for comparison).

`runs[activation]` holds each activation's main arm (He at `lr`; for sigmoid and tanh,
Xavier at the selected rate); `sweep[activation]` every arm of sigmoid and tanh.

Measured on a fixed probe batch (the first `probe_size` training images) before the steps in
a log-spaced set (step 0 is the initialisation), and at the end with the kept (best
validation epoch's) parameters: the gradient norm ||dW|| of each affine layer (the loss's
gradient only, without weight decay); per hidden layer the mean slope f'(x) over its inputs
and the saturated fraction, f'(x) < SATURATED * max f'; for ReLU-like activations the
fraction of units whose input is <= 0 for every probe image (dead for ReLU).
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from fnn import layers, models, runtime, step
from fnn.layers.activations import ActivationCache
from fnn.losses import softmax_cross_entropy
from fnn.train import DivergedError

RECIPE = models.RECIPES["mlp"]
RELU_LIKE = ("relu", "leaky_relu", "elu")
SATURATING = ("sigmoid", "tanh")
SATURATED = 0.1  # an input is saturated where f'(x) < SATURATED * max f'


@dataclasses.dataclass(frozen=True)
class Config:
    activations: tuple = models.ACTIVATIONS
    seeds: tuple = (0, 1, 2)
    epochs: int = 5
    hidden: tuple = (512, 256)
    lr: float = RECIPE.lr
    saturating_lrs: tuple = (0.03, 0.1, 0.3, 1.0)  # sigmoid and tanh, Xavier initialisation
    batch_size: int = RECIPE.batch_size
    probe_size: int = 1000  # the fixed batch of the gradient norms, slopes and dead units
    probes: int = 12  # log-spaced steps at which they are measured
    train_size: int = 20000
    data_seed: int = 0
    data: str | None = None


QUICK = {
    "activations": ("relu", "tanh"),
    "seeds": (0, 1),
    "epochs": 1,
    "hidden": (32, 16),
    "saturating_lrs": (0.03, 0.3),
    "probe_size": 200,
    "probes": 4,
    "train_size": 2000,
}


def _largest_slope(activation: str) -> float:
    """max f'(x) over x in [-10, 10], from the layer's own backward (dy = 1)."""
    layer = getattr(layers, activation)()
    x = jnp.linspace(-10.0, 10.0, 4001)
    _, _, cache = layer.apply({}, {}, x)
    return float(layer.backward({}, cache, jnp.ones_like(x))[0].max())


def _probe(model, activation: str = "relu"):
    """A jitted `(params, state, x, labels) -> (||dW|| per affine, and per hidden layer: dead
    fraction, saturated fraction, mean slope)` for an MLP whose hidden nonlinearity is `activation`."""
    layer, top = getattr(layers, activation)(), _largest_slope(activation)

    def measure(params, state, x, labels):
        scores, _, caches = model.apply(params, state, x, train=True, key=jax.random.key(0))
        _, dscores = softmax_cross_entropy(scores, labels)
        _, grads = model.backward(params, caches, dscores)
        norms = [jnp.linalg.norm(g["W"]) for g in grads if "W" in g]
        hidden = [c for c in caches if isinstance(c, ActivationCache)]
        slopes = [layer.backward({}, c, jnp.ones_like(c.x))[0] for c in hidden]  # f'(x)
        dead = [(c.x <= 0).all(axis=0).mean() for c in hidden]
        saturated = [(s < SATURATED * top).mean() for s in slopes]
        return tuple(jnp.stack(v) for v in (norms, dead, saturated, [s.mean() for s in slopes]))

    return runtime.jit(measure)


def _probing_epoch(model, optimizer, batch_size, probe, probe_at, records):
    """`fnn.step.make_epoch`'s per-step driver, appending `(step, *probe(params))` to `records`
    before each step in `probe_at` (the step counted over all epochs)."""
    train_step = step.train_step_fn(model, softmax_cross_entropy, optimizer)
    gather_step = runtime.jit(  # `rest`: the epoch's augmentation key, unused (no augmentation)
        lambda ts, x, labels, order, i, *rest: train_step(ts, x[order[i]], labels[order[i]]), donate_argnums=0
    )
    shuffle = jax.jit(step.shuffled_batches, static_argnums=(1, 2))
    counter = itertools.count()

    def probing_step(ts, x, labels, order, i, *rest):
        n = next(counter)
        if n in probe_at:  # before the step: ts is donated to it
            records.append((n, *(np.asarray(v).tolist() for v in probe(ts.params, ts.state))))
        return gather_step(ts, x, labels, order, i, *rest)

    run = step.per_step_epoch(probing_step, shuffle, batch_size)
    return step.Epoch(run, jax.device_put, batch_size, (gather_step,))


def _train_with_probes(config, mnist, model, seed, lr, probe, label):
    """`common.train_recipe` with the mlp recipe at rate `lr`; `probe(params, state)` runs at
    log-spaced steps. Returns (the `common.Trained`, [(step, norms, dead, saturated, slope), ...])."""
    total = config.epochs * (len(mnist.train.x) // config.batch_size)
    recipe = RECIPE._replace(epochs=config.epochs, lr=lr, batch_size=config.batch_size)
    probe_at = set(np.unique(np.geomspace(1, total, config.probes).astype(int) - 1).tolist())
    records = []

    def probing(optimizer):
        return _probing_epoch(model, optimizer, config.batch_size, probe, probe_at, records)

    result = common.train_recipe(model, mnist, recipe, seed=seed, label=label, epoch=probing)
    return result, records


def _one_run(config, mnist, activation, seed, init="he", lr=None):
    """One trained MLP: its accuracies, gradient norms, slopes and (ReLU-like) dead units.
    A run whose loss or parameters became NaN or Inf is recorded as {"seed", "diverged": True}."""
    lr = config.lr if lr is None else lr
    model = models.mlp(config.hidden, activation=activation, init=init)
    measure = _probe(model, activation)
    probe_batch = (
        jnp.asarray(mnist.train.x[: config.probe_size]),
        jnp.asarray(mnist.train.labels[: config.probe_size]),
    )
    try:
        result, records = _train_with_probes(
            config,
            mnist,
            model,
            seed,
            lr,
            lambda p, s: measure(p, s, *probe_batch),
            f"{activation} {init} lr={lr:g} seed {seed}",
        )
    except DivergedError as error:
        return {"seed": seed, "diverged": True, "diverged_epoch": error.epoch}
    steps, norms, dead, saturated, slope = zip(*records)
    end = [np.asarray(v).tolist() for v in measure(result.params, result.state, *probe_batch)]
    affines = [f"affine{i + 1}" for i in range(len(config.hidden))] + ["scores"]
    hidden = [f"hidden{i + 1}" for i in range(len(config.hidden))]
    record = {
        "seed": seed,
        "diverged": False,
        "test_accuracy": result.metrics["test_accuracy"],
        "val_accuracy": max(h["val_accuracy"] for h in result.history),
        "val_accuracy_per_epoch": [h["val_accuracy"] for h in result.history],
        "train_loss_per_epoch": [h["train_loss"] for h in result.history],
        "steps": list(steps),
        "grad_norm": dict(zip(affines, np.transpose(norms).tolist())),
        "grad_norm_end": dict(zip(affines, end[0])),
        "saturated": dict(zip(hidden, np.transpose(saturated).tolist())),
        "saturated_end": dict(zip(hidden, end[2])),
        "mean_slope": dict(zip(hidden, np.transpose(slope).tolist())),
        "mean_slope_end": dict(zip(hidden, end[3])),
    }
    if activation in RELU_LIKE:
        record["dead_fraction"] = dict(zip(hidden, np.transpose(dead).tolist()))
        record["dead_fraction_end"] = dict(zip(hidden, end[1]))
    return record


def _mean_val(runs) -> float:
    """Mean best-validation accuracy over the seeds; -inf if any seed diverged (never selected)."""
    if any(r["diverged"] for r in runs):
        return float("-inf")
    return float(np.mean([r["val_accuracy"] for r in runs]))


def _summary(runs):
    acc = np.array([r["test_accuracy"] for r in runs])
    summary = {
        "test_accuracy_mean": float(acc.mean()),
        "test_accuracy_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
    }
    for key in ("saturated_end", "mean_slope_end", "dead_fraction_end"):
        if key in runs[0]:
            summary[f"{key}_mean"] = {k: float(np.mean([r[key][k] for r in runs])) for k in runs[0][key]}
    return summary


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    runs, sweep = {}, {}
    for activation in config.activations:
        if activation not in SATURATING:
            runs[activation] = [_one_run(config, mnist, activation, seed) for seed in config.seeds]
            continue
        arms = [{"init": "he", "lr": config.lr}] + [
            {"init": "xavier", "lr": lr} for lr in config.saturating_lrs
        ]
        for arm in arms:
            arm["runs"] = [
                _one_run(config, mnist, activation, s, arm["init"], arm["lr"]) for s in config.seeds
            ]
        xavier = [arm for arm in arms if arm["init"] == "xavier"]
        best = max(xavier, key=lambda arm: _mean_val(arm["runs"]))
        if _mean_val(best["runs"]) == float("-inf"):
            raise RuntimeError(
                f"{activation}: every Xavier rate diverged in some seed: {config.saturating_lrs}"
            )
        sweep[activation] = {"arms": arms, "selected_lr": best["lr"]}
        runs[activation] = best["runs"]
    return {
        "setup": {
            "model": f"mlp 784-{'-'.join(map(str, config.hidden))}-10, no dropout",
            "hidden": list(config.hidden),
            "train_size": len(mnist.train.x),
            "validation_size": len(mnist.validation.x),
            "test_size": len(mnist.test.x),
            "epochs": config.epochs,
            "lr": config.lr,
            "saturating_lrs": list(config.saturating_lrs),
            "init": {a: "xavier" if a in SATURATING else "he" for a in config.activations},
            "batch_size": config.batch_size,
            "steps": config.epochs * (len(mnist.train.x) // config.batch_size),
            "seeds": list(config.seeds),
            "probe_size": config.probe_size,
            "saturated_below": SATURATED,
            "largest_slope": {a: _largest_slope(a) for a in config.activations},
            "dead_unit": "input <= 0 for every probe image (ReLU-like activations only)",
        },
        "runs": runs,
        "sweep": sweep,
        "summary": {a: _summary(r) for a, r in runs.items()},
    }
