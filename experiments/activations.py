"""Activations: ReLU, leaky ReLU, sigmoid, tanh and ELU in the same MLP.

Question (assignment 1(a)(ii): "there are also many other activation functions such as
sigmoid and tanh"): how do they compare? Which reaches the best test accuracy, how large are
the gradients that reach each layer, how many units saturate, and do ReLU units die?

Setup: the MLP 784-512-256-10 with the `mlp` recipe's optimizer and schedule (SGD + momentum
0.9, lr 0.1, warm-up then cosine, weight decay 5e-4, batch 128), no dropout, He
initialisation for every activation, trained for `epochs` epochs on the first `train_size`
images of the shuffled training split (that of `data_seed`), once per seed in `seeds` (the
seed draws the initial weights and the batch order). Only the hidden nonlinearity changes.

Measured on a fixed probe batch, the first `probe_size` training images, before the steps in
a log-spaced set (step 0 is the initialisation), and at the end with the parameters
`experiments.common.train` keeps (the best validation epoch's):
- the gradient norm ||dW|| of each affine layer (affine1, affine2, scores): a train-mode
  forward, softmax cross-entropy, the hand-written backward (the loss's gradient only: the
  weight decay the optimizer adds is not in it);
- per hidden layer, the slope f'(x) of the activation at every (image, unit) input, from the
  layer's own backward with dy = 1: its mean (the factor by which the layer scales, on
  average, the gradient that passes through it) and the saturated fraction, the pairs where
  f'(x) < `SATURATED` times the activation's largest slope (sigmoid: |x| > 3.6, tanh:
  |x| > 1.8, ReLU and leaky ReLU: x <= 0, ELU: x < -2.3). A saturated input passes almost no
  gradient to the weights before it;
- the dead-unit fraction of each hidden layer, for the ReLU-like activations: the fraction of
  units whose input x is <= 0 for every image of the batch. For ReLU such a unit is dead: it
  outputs 0 on those images and its own weights get no gradient from them, so it cannot recover
  through its own weights (it can come back when the layers before it move its input). Leaky
  ReLU and ELU units in that state still pass their negative-side slope, so they are not dead,
  only inactive.

Figures: accuracy.png (test accuracy per activation, one dot per seed and the mean with an sd
error bar; validation accuracy per epoch, mean with a +-sd band), grad_norms.png (||dW|| against
the step, one panel per affine layer, one line per activation, mean with a +-sd band, log y),
saturation.png (saturated fraction against the step, one panel per hidden layer),
dead_units.png (dead-unit fraction against the step for ReLU; inactive units, the same state,
for leaky ReLU and ELU). Step axes
are symmetric-log, so that step 0 shows. `section(results)` writes the report's section from
results.json: which activation wins (and which differences are within the spread over seeds),
the gradients per layer, saturation and dead units, each sentence chosen by the numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments import common, latex
from fnn import layers, models, plots, runtime, step
from fnn.layers.activations import ActivationCache
from fnn.losses import softmax_cross_entropy

RECIPE = models.RECIPES["mlp"]
RELU_LIKE = ("relu", "leaky_relu", "elu")
SATURATED = 0.1  # an input is saturated where f'(x) < SATURATED * max f'
DISPLAY = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "elu": "ELU"}
STYLES = {  # colour, line style, marker: every activation is told apart by all three
    "relu": ("C0", "-", "o"),
    "leaky_relu": ("C1", "--", "s"),
    "sigmoid": ("C2", ":", "^"),
    "tanh": ("C3", "-.", "v"),
    "elu": ("C4", (0, (5, 1, 1, 1)), "D"),
}


@dataclasses.dataclass(frozen=True)
class Config:
    activations: tuple = models.ACTIVATIONS
    seeds: tuple = (0, 1, 2)
    epochs: int = 5
    hidden: tuple = (512, 256)
    lr: float = RECIPE.lr
    batch_size: int = RECIPE.batch_size
    probe_size: int = 1000  # the fixed batch of the gradient norms, slopes and dead units
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
    """`common.train_recipe` with the mlp recipe; `probe(params, state)` runs at log-spaced steps.

    Returns (the `common.Trained`, [(step, norms, dead, saturated, slope), ...])."""
    total = config.epochs * (len(mnist.train.x) // config.batch_size)
    recipe = RECIPE._replace(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size)
    probe_at = set(np.unique(np.geomspace(1, total, config.probes).astype(int) - 1).tolist())
    records = []

    def probing(optimizer):
        return _probing_epoch(model, optimizer, config.batch_size, probe, probe_at, records)

    result = common.train_recipe(model, mnist, recipe, seed=seed, label=label, epoch=probing)
    return result, records


def _one_run(config, mnist, activation, seed):
    """One trained MLP: its accuracies, gradient norms, slopes and (ReLU-like) dead units."""
    model = models.mlp(config.hidden, activation=activation)
    measure = _probe(model, activation)
    probe_batch = (
        jnp.asarray(mnist.train.x[: config.probe_size]),
        jnp.asarray(mnist.train.labels[: config.probe_size]),
    )
    result, records = _train_with_probes(
        config, mnist, model, seed, lambda p, s: measure(p, s, *probe_batch), f"{activation} seed {seed}"
    )
    steps, norms, dead, saturated, slope = zip(*records)
    end = [np.asarray(v).tolist() for v in measure(result.params, result.state, *probe_batch)]
    affines = [f"affine{i + 1}" for i in range(len(config.hidden))] + ["scores"]
    hidden = [f"hidden{i + 1}" for i in range(len(config.hidden))]
    record = {
        "seed": seed,
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
    runs = {a: [_one_run(config, mnist, a, seed) for seed in config.seeds] for a in config.activations}
    return {
        "setup": {
            "model": f"mlp 784-{'-'.join(map(str, config.hidden))}-10, no dropout",
            "hidden": list(config.hidden),
            "train_size": len(mnist.train.x),
            "validation_size": len(mnist.validation.x),
            "test_size": len(mnist.test.x),
            "epochs": config.epochs,
            "lr": config.lr,
            "batch_size": config.batch_size,
            "steps": config.epochs * (len(mnist.train.x) // config.batch_size),
            "seeds": list(config.seeds),
            "probe_size": config.probe_size,
            "saturated_below": SATURATED,
            "largest_slope": {a: _largest_slope(a) for a in config.activations},
            "dead_unit": "input <= 0 for every probe image (ReLU-like activations only)",
        },
        "runs": runs,
        "summary": {a: _summary(r) for a, r in runs.items()},
    }


def _band(ax, x, values, style, label, scale=1.0, width=None, markevery=None, ms=4):
    """Mean over the seeds (rows of `values`) as a line, +-sd as a shaded band. Returns the mean.
    `width` and `markevery` (offset markers) let lines that coincide show through each other."""
    values = scale * np.asarray(values, float)
    mean = values.mean(axis=0)
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros_like(mean)
    color, line, marker = style
    if width is None:  # solid lines are drawn wider, to show under a curve that coincides
        width = 3.0 if line == "-" else 1.5
    ax.plot(x, mean, color=color, ls=line, lw=width, marker=marker, ms=ms, markevery=markevery, label=label)
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    return mean


def _step_axis(ax, results):
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(0, results["setup"]["steps"])
    ax.set_xlabel("step (symlog axis: step 0, the initialisation, is shown)")
    ax.grid(alpha=0.3)


def _accuracy_figure(results):
    fig = Figure(figsize=(11, 4.5))
    ax_bar, ax_epoch = fig.subplots(1, 2)
    names = list(results["summary"])
    for i, name in enumerate(names):
        s, (color, _, marker) = results["summary"][name], STYLES[name]
        dots = [100 * r["test_accuracy"] for r in results["runs"][name]]
        ax_bar.plot(i + np.linspace(-0.12, 0.12, len(dots)), dots, marker, color=color, alpha=0.5, ls="none")
        ax_bar.errorbar(
            i + 0.25,
            100 * s["test_accuracy_mean"],
            yerr=100 * s["test_accuracy_sd"],
            fmt=marker,
            color=color,
            ms=8,
            capsize=5,
        )
        per_epoch = [r["val_accuracy_per_epoch"] for r in results["runs"][name]]
        _band(ax_epoch, np.arange(1, len(per_epoch[0]) + 1), per_epoch, STYLES[name], name, 100)
    lows = [100 * r["test_accuracy"] for runs in results["runs"].values() for r in runs]
    ax_bar.set_xticks(range(len(names)), names)
    ax_bar.set_ylim(max(0.0, min(lows) - 1), min(100, max(lows) + 0.5))
    ax_bar.set(ylabel="test accuracy (%)", title="test accuracy (left: seeds; right: mean ± sd)")
    ax_bar.grid(axis="y", alpha=0.3)
    ax_epoch.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_epoch.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy (mean ± sd)")
    ax_epoch.grid(alpha=0.3)
    ax_epoch.legend()
    fig.tight_layout()
    return fig


def _grad_norm_figure(results):
    names = list(results["runs"])
    layers_ = list(results["runs"][names[0]][0]["grad_norm"])
    fig = Figure(figsize=(4.2 * len(layers_), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(layers_), sharey=True))
    zeros = False
    for ax, layer in zip(axes, layers_):
        for name in names:
            runs = results["runs"][name]
            values = np.array([r["grad_norm"][layer] for r in runs])
            zeros |= bool((values <= 0).any())
            _band(ax, runs[0]["steps"], values, STYLES[name], name)
        ax.set_yscale("log", nonpositive="clip")
        _step_axis(ax, results)
        ax.set_title(f"||dW|| of {layer}")
    note = "a zero norm would be clipped to the bottom edge" if zeros else "no norm is zero"
    axes[0].set_ylabel(f"||dW|| on the probe batch (log; {note})")
    axes[0].legend()
    fig.suptitle("gradient norm per layer during training (mean ± sd over seeds)")
    fig.tight_layout()
    return fig


def _saturation_figure(results):
    names = list(results["runs"])
    hidden = list(results["runs"][names[0]][0]["saturated"])
    fig = Figure(figsize=(5.5 * len(hidden), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(hidden), sharey=True))
    for ax, layer in zip(axes, hidden):
        for name in names:
            runs = results["runs"][name]
            _band(ax, runs[0]["steps"], [r["saturated"][layer] for r in runs], STYLES[name], name, 100)
        _step_axis(ax, results)
        ax.set_title(layer)
    axes[0].set_ylabel(f"inputs with f'(x) < {SATURATED:g} max f' (%)")
    axes[0].set_ylim(0, 100)
    axes[0].legend()
    fig.suptitle("saturated inputs per hidden layer, probe batch (mean ± sd over seeds)")
    fig.tight_layout()
    return fig


def _state(activation: str) -> str:
    """What a unit with input <= 0 on every probe image is: dead for ReLU (no gradient), inactive
    for leaky ReLU and ELU (they still pass a * dy or e^x * dy)."""
    return "dead" if activation == "relu" else "inactive"


def _dead_curves(results) -> dict:
    """(activation, layer) -> mean dead (inactive) fraction over the seeds at each recorded step."""
    return {
        (name, layer): np.mean([r["dead_fraction"][layer] for r in results["runs"][name]], axis=0)
        for name in RELU_LIKE
        if name in results["runs"]
        for layer in results["runs"][name][0]["dead_fraction"]
    }


def _coinciding(results) -> tuple[list, list]:
    """Lines of the dead-unit figure that lie on each other: groups of (activation, layer) whose
    mean curves agree at every step and are not 0 everywhere, and the curves that are 0 everywhere."""
    curves = _dead_curves(results)
    zero = [key for key, c in curves.items() if not np.any(c)]
    groups = []
    for key, c in curves.items():
        if key in zero or any(key in g for g in groups):
            continue
        group = [
            other
            for other, d in curves.items()
            if other not in zero and np.allclose(c, d, rtol=0, atol=1e-12)
        ]
        if len(group) > 1:
            groups.append(group)
    return groups, zero


def _dead_figure(results):
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    names = [a for a in RELU_LIKE if a in results["runs"]]
    for i, name in enumerate(names):
        runs = results["runs"][name]
        color, _, marker = STYLES[name]
        steps = runs[0]["steps"]
        for line, layer in zip(("-", "--", ":"), runs[0]["dead_fraction"]):
            values = [r["dead_fraction"][layer] for r in runs]
            end = results["summary"][name]["dead_fraction_end_mean"][layer]
            label = f"{name} {layer} {_state(name)} (end {100 * end:.1f}%)"
            # earlier activations wider and with larger markers, markers offset per activation and
            # layer: a line that coincides with a later one still shows around and between its marks
            _band(
                ax,
                steps,
                values,
                (color, line, marker),
                label,
                100,
                width=1.2 + 2.0 * (len(names) - 1 - i),
                markevery=(i % len(names), len(names)),
                ms=4 + 2 * (len(names) - 1 - i),
            )
    _step_axis(ax, results)
    title = "dead units (ReLU)" if names == ["relu"] else "ReLU: dead units; leaky ReLU, ELU: inactive units"
    ax.set(ylabel="units with x <= 0 on every probe image (%)", title=f"{title} (mean ± sd over seeds)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot(results: dict, out: Path) -> None:
    plots.save(_accuracy_figure(results), out / "accuracy.png")
    plots.save(_grad_norm_figure(results), out / "grad_norms.png")
    plots.save(_saturation_figure(results), out / "saturation.png")
    plots.save(_dead_figure(results), out / "dead_units.png")


def _thresholds(c: float) -> str:
    """Where each activation's slope falls below c times its largest (LaTeX): sigmoid
    4 s (1 - s) < c and tanh 1 - tanh^2 < c at |x| > 2 artanh(sqrt(1 - c)) and artanh(sqrt(1 - c)),
    ELU exp(x) < c at x < ln c, ReLU and leaky ReLU (slope 0 or 0.01 < c) at x <= 0."""
    edge = float(np.arctanh(np.sqrt(1 - c)))
    return (
        f"sigmoid: $|x| > {2 * edge:.2f}$; tanh: $|x| > {edge:.2f}$; ReLU and leaky ReLU: $x \\le 0$; "
        f"ELU: $x < {np.log(c):.2f}$"
    )


def _per_seed(runs, key, layer=None, index=None):
    """Per-seed values of runs[i][key] (or [key][layer], or [key][layer][index])."""
    values = [r[key] if layer is None else r[key][layer] for r in runs]
    return values if index is None else [v[index] for v in values]


def _name(activation: str, start: bool = False) -> str:
    """The activation's name in the text (capitalised at the start of a sentence)."""
    name = DISPLAY.get(activation, latex.esc(activation))
    return name[0].upper() + name[1:] if start else name


def _names(names, start: bool = False) -> str:
    names = [_name(n, start and i == 0) for i, n in enumerate(names)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _tables(r: dict) -> str:
    runs, setup = r["runs"], r["setup"]
    seeds = len(setup["seeds"])
    names = list(runs)
    affines = list(runs[names[0]][0]["grad_norm"])
    hidden = list(runs[names[0]][0]["saturated"])
    accuracy = latex.table(
        ["activation", "test accuracy (\\%)", "best validation accuracy (\\%)"],
        [
            [
                _name(a),
                latex.pm(_per_seed(runs[a], "test_accuracy"), 2, 100),
                latex.pm(_per_seed(runs[a], "val_accuracy"), 2, 100),
            ]
            for a in names
        ],
        f"Accuracy per activation, mean $\\pm$ sd over {seeds} seeds ({setup['test_size']:,} test and "
        f"{setup['validation_size']:,} validation images; the test accuracy is of the best validation epoch).",
        "activations-accuracy",
    )
    init_rows = [
        [_name(a)]
        + [latex.pm(_per_seed(runs[a], "grad_norm", layer, 0), 3) for layer in affines]
        + [latex.pm(_per_seed(runs[a], "mean_slope", layer, 0), 3) for layer in hidden]
        for a in names
    ]
    gradients = latex.table(
        ["activation"]
        + [f"$\\lVert dW \\rVert$ {latex.esc(layer)}" for layer in affines]
        + [f"slope {latex.esc(layer)}" for layer in hidden],
        init_rows,
        "At initialisation (step 0), on the probe batch: the gradient norm of each affine layer's "
        "weights, and the mean slope $f'(x)$ of each hidden layer's activation over its inputs (the "
        f"factor by which it scales, on average, the gradient that passes through it). Mean $\\pm$ sd "
        f"over {seeds} seeds.",
        "activations-init",
    )
    end_rows = []
    for a in names:
        row = [_name(a)]
        row += [latex.pm(_per_seed(runs[a], "saturated_end", layer), 1, 100) for layer in hidden]
        row += [latex.pm(_per_seed(runs[a], "mean_slope_end", layer), 3) for layer in hidden]
        row += [
            latex.pm(_per_seed(runs[a], "dead_fraction_end", layer), 1, 100) if a in RELU_LIKE else "--"
            for layer in hidden
        ]
        end_rows.append(row)
    end = latex.table(
        ["activation"]
        + [f"sat.\\ {i + 1} (\\%)" for i in range(len(hidden))]
        + [f"slope {i + 1}" for i in range(len(hidden))]
        + [f"dead/inact.\\ {i + 1} (\\%)" for i in range(len(hidden))],
        end_rows,
        "After training (the kept parameters), on the probe batch: saturated inputs, "
        f"$f'(x) < {setup['saturated_below']:g}\\,\\max f'$ (for ReLU and leaky ReLU: $x \\le 0$), the mean "
        "slope, and the units whose input is $\\le 0$ on every probe image (ReLU-like activations only): "
        "dead for ReLU, which passes no gradient there; inactive for leaky ReLU and ELU, which still pass a "
        "gradient ($a\\,dy$ or $e^x dy$). sat.: saturated; dead/inact.: dead (ReLU) or inactive (leaky ReLU, "
        f"ELU); 1, 2: hidden layers 1 and 2. Mean $\\pm$ sd over {seeds} seeds.",
        "activations-end",
    )
    return accuracy + gradients + end


def _ranking_text(r: dict) -> str:
    runs = r["runs"]
    acc = {a: _per_seed(runs[a], "test_accuracy") for a in runs}
    order = sorted(acc, key=lambda a: -np.mean(acc[a]))
    best = order[0]
    tied = [a for a in order[1:] if not latex.differ(acc[best], acc[a])]
    below = [a for a in order[1:] if a not in tied]
    text = (
        f"{_name(best, True)} reaches the highest mean test accuracy, {latex.pm(acc[best], 2, 100)}\\% "
        "(Table~\\ref{tab:activations-accuracy}, Figure~\\ref{fig:activations-accuracy}). "
    )
    if tied:
        text += (
            f"{_names(tied, True)} {'is' if len(tied) == 1 else 'are'} within the spread of it ("
            + ", ".join(f"{latex.pm(acc[a], 2, 100)}\\%" for a in tied)
            + "), so these runs do not separate them. "
        )
    if below:
        text += (
            f"{_names(below, True)} {'is' if len(below) == 1 else 'are'} below it by more than the spread: "
            + ", ".join(f"{_name(a)} {latex.pm(acc[a], 2, 100)}\\%" for a in below)
            + ". "
        )
    val = {a: np.mean([v[0] for v in _per_seed(runs[a], "val_accuracy_per_epoch")]) for a in runs}
    after_one = sorted(runs, key=lambda a: -val[a])
    listed = ", ".join(f"{_name(a)} {100 * val[a]:.1f}\\%" for a in after_one)
    if after_one == order:
        return text + (
            "The order holds from the first epoch on (validation accuracy after epoch 1: "
            f"{listed}): the activations that end lower also learn more slowly."
        )
    return text + f"After the first epoch the order was another (validation accuracy: {listed})."


def section(r: dict) -> str:
    """This experiment's section of REPORT.pdf (LaTeX), every number read from `r`."""
    runs, setup = r["runs"], r["setup"]
    names = list(runs)
    seeds = len(setup["seeds"])
    affines = list(runs[names[0]][0]["grad_norm"])
    hidden = list(runs[names[0]][0]["saturated"])
    first, last = affines[0], affines[-1]

    parts = [
        "\\section{Activation functions}\\label{sec:exp-activations}\n",
        "\\paragraph{Question.} The assignment's MLP uses ReLU; sigmoid and tanh are the classical "
        "alternatives, leaky ReLU and ELU the modern ones. How do they compare on the same network: "
        "which reaches the best accuracy, how large are the gradients that reach each layer, do units "
        "saturate, and do ReLU units die?\n\n",
        "\\paragraph{Setup.} The MLP "
        + latex.esc("-".join(["784", *map(str, setup["hidden"]), "10"]))
        + f" without dropout, He initialisation for every activation, trained for {setup['epochs']} epochs "
        f"({setup['steps']} steps) on {setup['train_size']:,} training images with the MLP recipe's "
        f"optimizer (SGD with momentum, lr {setup['lr']:g} with warm-up and cosine decay, weight decay, "
        f"batch {setup['batch_size']}), {seeds} seeds (initial weights and batch order); only the hidden "
        "nonlinearity changes. On a fixed probe batch of "
        f"{setup['probe_size']:,} training images, at log-spaced steps from the initialisation on, "
        "the hand-written backward gives the gradient norm $\\lVert dW \\rVert$ of each layer (the loss's "
        "gradient, without weight decay), and the activation's own backward with $dy = 1$ its slope "
        "$f'(x)$ at every input: its mean per layer, and the fraction of saturated inputs, where "
        f"$f'(x) < {setup['saturated_below']:g}\\,\\max f'$ ({_thresholds(setup['saturated_below'])}). "
        "A ReLU unit is dead when its input is $\\le 0$ for every probe image: it outputs 0 on them and "
        "its own weights get no gradient from them, so it cannot recover through its own weights; it can "
        "come back only when the layers before it, which keep learning, move its input (and `dead' is "
        "judged on the probe images only). For leaky ReLU and ELU the same state is called inactive: "
        "input $\\le 0$ on every probe image, but the unit still passes a gradient ($a\\,dy$ or "
        "$e^x dy$). Derivatives: Section~\\ref{sec:activations}.\n\n",
        _tables(r),
    ]
    parts += [
        latex.figure(
            "activations",
            "accuracy.png",
            f"Test accuracy per activation (left: each seed, and mean $\\pm$ sd) and validation accuracy "
            f"per epoch (right: mean, band $\\pm$ sd over {seeds} seeds).",
            width=0.95,
        ),
        latex.figure(
            "activations",
            "grad_norms.png",
            "Gradient norm $\\lVert dW \\rVert$ of each affine layer on the probe batch against the step "
            "(symmetric-log axis, so step 0 is shown; log $y$; mean, band $\\pm$ sd over the seeds). "
            "ReLU (solid, wide) and leaky ReLU (dashed) coincide.",
            width=0.98,
        ),
        latex.figure(
            "activations",
            "saturation.png",
            f"Saturated inputs, $f'(x) < {setup['saturated_below']:g}\\,\\max f'$, per hidden layer against "
            "the step (mean, band $\\pm$ sd). For ReLU and leaky ReLU these are the inputs $x \\le 0$; "
            "the two coincide.",
            width=0.95,
        ),
    ]
    if any(a in RELU_LIKE for a in names):
        parts.append(
            latex.figure(
                "activations",
                "dead_units.png",
                "Units whose input is $\\le 0$ on every probe image against the step: dead units for ReLU, "
                "inactive units for leaky ReLU and ELU (they still pass a gradient); colour: activation, line "
                "style: layer; mean, band $\\pm$ sd over the seeds. " + _coinciding_words(r),
                width=0.7,
            )
        )
    parts.append("\\paragraph{Which wins.} " + _ranking_text(r) + "\n\n")
    parts.append(
        "\\paragraph{Gradients per layer.} "
        + _gradient_text(r, hidden, first, last)
        + _decay_text(r, last)
        + "\n\n"
    )
    parts.append(_saturation_text(r, hidden))
    if "relu" in runs:
        parts.append(_dead_text(r, hidden))
    return "".join(parts)


def _gradient_text(r: dict, hidden: list, first: str, last: str) -> str:
    runs, setup = r["runs"], r["setup"]

    def ratio(a):
        pairs = zip(_per_seed(runs[a], "grad_norm", first, 0), _per_seed(runs[a], "grad_norm", last, 0))
        return [f / s for f, s in pairs]

    text = (
        "Backpropagation multiplies the gradient, at every hidden layer, by the layer's weights and by "
        "the activation's slope $f'(x)$ (Table~\\ref{tab:activations-init} lists the norms and slopes at "
        "initialisation, Figure~\\ref{fig:activations-grad-norms} the norms during training). At "
        f"initialisation the ratio $\\lVert dW_{{\\mathrm{{{latex.esc(first)}}}}} \\rVert / "
        f"\\lVert dW_{{\\mathrm{{{latex.esc(last)}}}}} \\rVert$, first layer over last, is "
        + ", ".join(f"{latex.pm(ratio(a), 3)} for {_name(a)}" for a in runs)
        + ". "
    )
    if "relu" in runs:
        text += (
            "He initialisation ($\\mathrm{std} = \\sqrt{2/\\text{fan-in}}$) is built for ReLU: its factor 2 "
            "makes up for ReLU's slope, 1 on half of the inputs and 0 on the other half (measured mean "
            + " and ".join(latex.pm(_per_seed(runs["relu"], "mean_slope", h, 0), 3) for h in hidden)
            + " in the hidden layers). "
        )
    if "sigmoid" in runs:
        sig = runs["sigmoid"]
        text += (
            f"The sigmoid's slope is at most ${setup['largest_slope']['sigmoid']:g}$ (measured mean "
            + " and ".join(latex.pm(_per_seed(sig, "mean_slope", h, 0), 3) for h in hidden)
            + "), so each sigmoid layer passes on at most "
            f"${setup['largest_slope']['sigmoid']:g}$ of the gradient that reaches it, before the weights' "
            "factor. "
        )
        if "relu" in runs:
            smaller = np.mean(ratio("sigmoid")) < np.mean(ratio("relu"))
            text += (
                "Its first layer's gradient norm is "
                f"{latex.pm(_per_seed(sig, 'grad_norm', first, 0), 3)}, against "
                f"{latex.pm(_per_seed(runs['relu'], 'grad_norm', first, 0), 3)} for ReLU"
                + (
                    ": the sigmoid network's first layer learns from a gradient more than ten times smaller "
                    "than its last, the vanishing gradient in its mildest form, with only two hidden layers. "
                    if smaller and np.mean(ratio("sigmoid")) <= 0.1
                    else (
                        ", and it receives a smaller share of the gradient than ReLU's first layer. "
                        if smaller
                        else "; even so, it does not receive a smaller share than ReLU's first layer here. "
                    )
                )
            )
    return text


def _decay_text(r: dict, last: str) -> str:
    """How the gradient norms end, tied to the training loss when the two orders agree."""
    runs = r["runs"]
    end = {a: np.mean(_per_seed(runs[a], "grad_norm_end", last)) for a in runs}
    loss = {a: np.mean([v[-1] for v in _per_seed(runs[a], "train_loss_per_epoch")]) for a in runs}
    low_norm, low_loss = min(end, key=end.get), min(loss, key=loss.get)
    falls = [
        np.mean(_per_seed(runs[a], "grad_norm", layer, 0))
        / np.mean(_per_seed(runs[a], "grad_norm_end", layer))
        for a in runs
        for layer in runs[a][0]["grad_norm"]
    ]
    text = (
        f"During training the norms fall, by factors from ${min(falls):.1f}$ to ${max(falls):.1f}$ over the "
        "layers and activations, as the loss falls "
        f"(Figure~\\ref{{fig:activations-grad-norms}}); {_name(low_norm)}'s {latex.esc(last)} layer ends lowest "
        f"(${end[low_norm]:.3f}$, mean over the seeds)"
    )
    if low_norm == low_loss:
        return text + (
            f", and {_name(low_norm)} also has the lowest training loss in the last epoch "
            f"(${loss[low_loss]:.3f}$): a smaller loss leaves smaller gradients."
        )
    return text + f", while {_name(low_loss)} has the lowest training loss in the last epoch."


def _saturation_text(r: dict, hidden: list) -> str:
    runs = r["runs"]
    text = (
        "\\paragraph{Saturation.} Table~\\ref{tab:activations-end} gives the saturated inputs after "
        "training, Figure~\\ref{fig:activations-saturation} during it. "
    )
    sat_end = {a: max(np.mean(_per_seed(runs[a], "saturated_end", h)) for h in hidden) for a in runs}
    sig = sat_end.get("sigmoid")
    if sig is not None:
        if sig < 0.05:
            text += (
                "Saturation is not what holds the sigmoid back here: with He initialisation its inputs stay "
                "in its linear middle, and after training at most "
                f"${100 * sig:.1f}$\\% of them are saturated in either layer. What the "
                "measurements do show is its small slope (above). A further textbook reason, not isolated "
                "here, is that its outputs are all positive, around $1/2$, rather than centred on 0: for one "
                "example, the gradients of all the weights into one unit of the next layer then have the "
                "same sign. "
            )
        else:
            text += (
                f"The sigmoid saturates: after training up to ${100 * sig:.1f}$\\% of its inputs in one layer "
                "have $f'(x)$ below a tenth of its maximum, and pass almost no gradient. "
            )
    if "tanh" in runs:
        grow = {
            h: (_per_seed(runs["tanh"], "saturated", h, 0), _per_seed(runs["tanh"], "saturated_end", h))
            for h in hidden
        }
        worst = max(hidden, key=lambda h: np.mean(grow[h][1]))
        start, end = grow[worst]
        text += (
            f"Tanh's saturated fraction in {latex.esc(worst)} goes from {latex.pm(start, 1, 100)}\\% at "
            f"initialisation to {latex.pm(end, 1, 100)}\\% after training"
            + (
                ": more pre-activations leave the linear region, and the mean slope goes from "
                f"{latex.pm(_per_seed(runs['tanh'], 'mean_slope', worst, 0), 2)} to "
                f"{latex.pm(_per_seed(runs['tanh'], 'mean_slope_end', worst), 2)}. "
                if latex.differ(start, end)
                else ", a change within the spread. "
            )
        )
    if "relu" in runs:
        alive = max(max(_per_seed(runs["relu"], "dead_fraction_end", h)) for h in hidden) == 0
        text += (
            "For ReLU the same criterion counts the inputs $x \\le 0$: "
            + " and ".join(
                f"{latex.pm(_per_seed(runs['relu'], 'saturated_end', h), 1, 100)}\\%" for h in hidden
            )
            + " of them in the two layers after training. "
            + (
                "Since no unit is dead after training (below), every unit is active for some images and learns from "
                "those: this is sparsity, not death."
                if alive
                else "Most such units are active for other images; the dead ones are counted below."
            )
        )
    return text + "\n\n"


def _coinciding_words(r: dict) -> str:
    """The dead-unit figure's lines that coincide, in words (for its caption)."""
    groups, zero = _coinciding(r)
    words = []
    for group in groups:
        layers_ = {layer for _, layer in group}
        where = f" in {latex.esc(next(iter(layers_)))}" if len(layers_) == 1 else ""
        who = (
            _names([a for a, _ in group])
            if where
            else " and ".join(f"{_name(a)} {latex.esc(h)}" for a, h in group)
        )
        words.append(
            f"The {who} lines{where} coincide at every step (the wider line is drawn below, markers offset)."
        )
    if zero:
        words.append(
            "These lines are 0 at every recorded step, and so lie on top of each other: "
            + ", ".join(f"{_name(a)} {latex.esc(h)}" for a, h in zero)
            + "."
        )
    return " ".join(words)


def _dead_text(r: dict, hidden: list) -> str:
    runs, setup = r["runs"], r["setup"]
    relu = runs["relu"]
    n = len(relu)
    widths = dict(zip(hidden, setup["hidden"]))
    end = {h: _per_seed(relu, "dead_fraction_end", h) for h in hidden}
    # transients: runs with a dead unit at some recorded step, after training, and runs where the
    # dead fraction later fell (a unit dead at one step was alive at a later one)
    during = [x for x in relu if any(max(x["dead_fraction"][h]) > 0 for h in hidden)]
    after = [x for x in relu if any(x["dead_fraction_end"][h] > 0 for h in hidden)]
    back = [
        x
        for x in relu
        if any(
            v > min(x["dead_fraction"][h][i + 1 :])
            for h in hidden
            for i, v in enumerate(x["dead_fraction"][h][:-1])
        )
    ]
    text = "\\paragraph{Dead ReLUs.} "
    if not after:
        text += (
            "No ReLU unit is dead after training in any run: every one of the "
            + " and ".join(f"{widths[h]}" for h in hidden)
            + " units fires for at least one of the "
            f"{setup['probe_size']:,} probe images (Table~\\ref{{tab:activations-end}}, "
            "Figure~\\ref{fig:activations-dead-units}). "
        )
    else:
        text += (
            "After training, "
            + " and ".join(f"{latex.pm(end[h], 2, 100)}\\% of {latex.esc(h)}'s {widths[h]}" for h in hidden)
            + " ReLU units are dead (Table~\\ref{tab:activations-end}, Figure~\\ref{fig:activations-dead-units}): "
            "their input is $\\le 0$ for every probe image, so they output 0 on them and their own weights "
            "get no gradient from them. "
        )
    if not during:
        text += f"No run had a dead unit at any recorded step either, in {n} runs. "
    else:
        frac, k, h, i = max(
            (v, k, h, i)
            for k, x in enumerate(relu)
            for h in hidden
            for i, v in enumerate(x["dead_fraction"][h])
        )
        x = relu[k]
        units = round(frac * widths[h])
        text += (
            f"During training, {len(during)} of the {n} runs had a dead unit at some recorded step, and "
            f"{len(after)} after training; the largest dead fraction at any recorded step was "
            f"${100 * frac:.2f}$\\% ({units} unit{'s' if units != 1 else ''} of {latex.esc(h)}, seed "
            f"{x['seed']}, step {x['steps'][i]}). "
        )
        if back:
            text += (
                ("In that run" if len(during) == 1 else f"In {len(back)} of those runs")
                + " the dead fraction fell again at a later step: a dead unit "
                "cannot recover through its own weights, but its input also depends on the weights of the "
                "layers before it, which keep learning, and `dead' is judged on "
                f"{setup['probe_size']:,} probe images only, so a dead unit can come back, as it did here. "
            )
    if not after:
        text += (
            "A unit stays dead when an update pushes its input below 0 for every image and the layers before "
            "it do not lift it again; at this learning rate "
            + ("that did not happen" if not during else "no unit stayed dead")
            + ", so dying ReLUs are a risk this recipe does not meet."
        )
    if "leaky_relu" in runs:
        same = not latex.differ(
            _per_seed(relu, "test_accuracy"), _per_seed(runs["leaky_relu"], "test_accuracy")
        )
        text += " Leaky ReLU exists to keep such units alive (a small slope for $x \\le 0$); " + (
            (
                "its accuracy is within the spread of ReLU's, as expected when no ReLU unit stays dead."
                if not after
                else "its accuracy is within the spread of ReLU's even so."
            )
            if same
            else "its accuracy differs from ReLU's by more than the spread."
        )
    return text + "\n"


def main(argv=None) -> Path:
    return common.main("activations", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
