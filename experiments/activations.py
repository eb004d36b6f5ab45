"""Activations: ReLU, leaky ReLU, sigmoid, tanh and ELU in the same MLP.

Question (assignment 1(a)(ii): "there are also many other activation functions such as
sigmoid and tanh"): how do they compare? Which reaches the best test accuracy, how do the
gradients reaching each layer differ, and do ReLU units die?

Setup: the MLP 784-512-256-10 with the `mlp` recipe's optimizer and schedule (SGD + momentum
0.9, lr 0.1, warm-up then cosine, weight decay 5e-4, batch 128), no dropout, trained for
`epochs` epochs on the first `train_size` images of the shuffled training split (that of
`data_seed`), once per seed in `seeds` (the seed draws the initial weights and the batch order).
Only the hidden nonlinearity changes.

Measured on a fixed probe batch, the first `probe_size` training images:
- the gradient norm ||dW|| of each affine layer (affine1, affine2, scores) at log-spaced steps
  of training: a train-mode forward, softmax cross-entropy, the hand-written backward (the
  loss's gradient only: the weight decay the optimizer adds is not in it);
- the dead-unit fraction of each hidden layer, for the ReLU-like activations: the fraction of
  units whose input x is <= 0 for every image of the batch. For ReLU such a unit outputs 0 and
  passes no gradient, whatever the image: it can never learn again. Leaky ReLU and ELU units
  in that state still pass their negative-side slope, so they are not dead, only idle.
  At the end it is measured with the parameters `fnn.run.train` keeps (the best epoch's).

Figures: accuracy.png (test accuracy, mean with sd error bars over the seeds, one dot per
seed), grad_norms.png (||dW|| per layer against the step, log y, one panel per activation,
mean over the seeds), dead_units.png (dead-unit fraction against the step, one line style
per hidden layer, for ReLU, leaky ReLU and ELU).
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from fnn import experiment, models, plots, runtime, step
from fnn.layers.activations import ActivationCache
from fnn.losses import softmax_cross_entropy

RECIPE = models.RECIPES["mlp"]
RELU_LIKE = ("relu", "leaky_relu", "elu")


@dataclasses.dataclass(frozen=True)
class Config:
    activations: tuple = models.ACTIVATIONS
    seeds: tuple = (0, 1, 2)
    epochs: int = 5
    hidden: tuple = (512, 256)
    lr: float = RECIPE.lr
    batch_size: int = RECIPE.batch_size
    probe_size: int = 1000  # the fixed batch of the gradient norms and dead units
    probes: int = 12  # log-spaced steps at which they are measured
    train_size: int = 20000
    data_seed: int = 0
    data: str | None = None


QUICK = {
    "activations": ("relu", "tanh"),
    "seeds": (0,),
    "epochs": 1,
    "hidden": (32, 16),
    "probe_size": 200,
    "probes": 4,
    "train_size": 2000,
}


def _probe(model):
    """A jitted `(params, state, x, labels) -> (||dW|| per affine, dead fraction per hidden layer)`."""

    def measure(params, state, x, labels):
        scores, _, caches = model.apply(params, state, x, train=True, key=jax.random.key(0))
        _, dscores = softmax_cross_entropy(scores, labels)
        _, grads = model.backward(params, caches, dscores)
        norms = [jnp.linalg.norm(g["W"]) for g in grads if "W" in g]
        dead = [(c.x <= 0).all(axis=0).mean() for c in caches if isinstance(c, ActivationCache)]
        return jnp.stack(norms), jnp.stack(dead)

    return runtime.jit(measure)


def _probing_epoch(model, optimizer, batch_size, probe, probe_at, records):
    """`fnn.step.make_epoch`'s per-step driver, appending `(step, *probe(params))` to `records`
    before each step in `probe_at` (the step counted over all epochs)."""
    train_step = step.train_step_fn(model, softmax_cross_entropy, optimizer)
    gather_step = runtime.jit(
        lambda ts, x, labels, order, i: train_step(ts, x[order[i]], labels[order[i]]), donate_argnums=0
    )
    shuffle = jax.jit(step.shuffled_batches, static_argnums=(1, 2))
    counter = itertools.count()

    def probing_step(ts, x, labels, order, i):
        n = next(counter)
        if n in probe_at:  # before the step: ts is donated to it
            records.append((n, *(np.asarray(v).tolist() for v in probe(ts.params, ts.state))))
        return gather_step(ts, x, labels, order, i)

    run = step.per_step_epoch(probing_step, shuffle, batch_size)
    return step.Epoch(run, jax.device_put, batch_size, (gather_step,))


def _train_with_probes(config, mnist, model, seed, probe, label):
    """`fnn.run.train` with the mlp recipe; `probe(params, state)` runs at log-spaced steps.

    Returns (the RunResult, [(step, norms, dead fractions), ...])."""
    total = config.epochs * (len(mnist.train.x) // config.batch_size)
    recipe = RECIPE._replace(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size)
    probe_at = set(np.unique(np.geomspace(1, total, config.probes).astype(int) - 1).tolist())
    records = []

    def probing(optimizer):
        return _probing_epoch(model, optimizer, config.batch_size, probe, probe_at, records)

    result = experiment.train_recipe(model, mnist, recipe, seed=seed, label=label, epoch=probing)
    return result, records


def _one_run(config, mnist, activation, seed):
    """One trained MLP: its accuracies, gradient norms and (ReLU-like) dead-unit fractions."""
    model = models.mlp(config.hidden, activation=activation)
    measure = _probe(model)
    probe_batch = (
        jnp.asarray(mnist.train.x[: config.probe_size]),
        jnp.asarray(mnist.train.labels[: config.probe_size]),
    )
    result, records = _train_with_probes(
        config, mnist, model, seed, lambda p, s: measure(p, s, *probe_batch), f"{activation} seed {seed}"
    )
    steps, norms, dead = zip(*records)
    affines = [f"affine{i + 1}" for i in range(len(config.hidden))] + ["scores"]
    record = {
        "seed": seed,
        "test_accuracy": result.metrics["test_accuracy"],
        "val_accuracy": max(h["val_accuracy"] for h in result.history),
        "steps": list(steps),
        "grad_norm": dict(zip(affines, np.transpose(norms).tolist())),
    }
    if activation in RELU_LIKE:
        hidden = [f"hidden{i + 1}" for i in range(len(config.hidden))]
        record["dead_fraction"] = dict(zip(hidden, np.transpose(dead).tolist()))
        record["dead_fraction_end"] = dict(
            zip(hidden, np.asarray(measure(result.params, result.state, *probe_batch)[1]).tolist())
        )
    return record


def _summary(runs):
    acc = np.array([r["test_accuracy"] for r in runs])
    summary = {
        "test_accuracy_mean": float(acc.mean()),
        "test_accuracy_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
    }
    if "dead_fraction_end" in runs[0]:
        layers = runs[0]["dead_fraction_end"]
        summary["dead_fraction_end_mean"] = {
            k: float(np.mean([r["dead_fraction_end"][k] for r in runs])) for k in layers
        }
    return summary


def run(config: Config) -> dict:
    mnist = experiment.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    runs = {a: [_one_run(config, mnist, a, seed) for seed in config.seeds] for a in config.activations}
    return {
        "setup": {
            "model": f"mlp 784-{'-'.join(map(str, config.hidden))}-10, no dropout",
            "train_size": len(mnist.train.x),
            "epochs": config.epochs,
            "seeds": list(config.seeds),
            "probe_size": config.probe_size,
            "dead_unit": "input <= 0 for every probe image (ReLU-like activations only)",
        },
        "runs": runs,
        "summary": {a: _summary(r) for a, r in runs.items()},
    }


def _accuracy_figure(results):
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for i, (name, s) in enumerate(results["summary"].items()):
        ax.bar(i, 100 * s["test_accuracy_mean"], yerr=100 * s["test_accuracy_sd"], capsize=5, alpha=0.7)
        dots = [100 * r["test_accuracy"] for r in results["runs"][name]]
        ax.plot([i] * len(dots), dots, "k.", ms=5)
    names = list(results["summary"])
    lows = [100 * r["test_accuracy"] for runs in results["runs"].values() for r in runs]
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(max(0.0, min(lows) - 2), 100)
    ax.set(
        ylabel="test accuracy (%)", title="test accuracy per activation (mean ± sd over seeds, dots: seeds)"
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _grad_norm_figure(results):
    names = list(results["runs"])
    fig = Figure(figsize=(3.2 * len(names), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
    for ax, name in zip(axes, names):
        runs = results["runs"][name]
        for layer in runs[0]["grad_norm"]:
            mean = np.mean([r["grad_norm"][layer] for r in runs], axis=0)
            ax.plot(runs[0]["steps"], mean, "o-", ms=3, label=layer)
        ax.set(xscale="symlog", yscale="log", xlabel="step", title=name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("||dW|| on the probe batch")
    axes[0].legend()
    fig.suptitle("gradient norm per layer during training (mean over seeds)")
    fig.tight_layout()
    return fig


def _dead_figure(results):
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for color, name in zip(("C0", "C1", "C4"), RELU_LIKE):
        runs = results["runs"].get(name, [])
        for style, layer in zip(("-", "--", ":"), runs[0]["dead_fraction"] if runs else ()):
            mean = np.mean([r["dead_fraction"][layer] for r in runs], axis=0)
            end = results["summary"][name]["dead_fraction_end_mean"][layer]
            label = f"{name} {layer} (end {100 * end:.1f}%)"
            ax.plot(runs[0]["steps"], 100 * mean, style, color=color, marker="o", ms=3, label=label)
    ax.set(
        xscale="symlog",
        xlabel="step",
        ylabel="units with x <= 0 on every probe image (%)",
        title="dead units of the ReLU-like activations (mean over seeds)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot(results: dict, out: Path) -> None:
    plots.save(_accuracy_figure(results), out / "accuracy.png")
    plots.save(_grad_norm_figure(results), out / "grad_norms.png")
    plots.save(_dead_figure(results), out / "dead_units.png")


def main(argv=None) -> Path:
    return experiment.main("activations", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
