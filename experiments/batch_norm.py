"""Batch normalisation: initialisation scale, batch size, and train vs test mode.

Questions (assignment 2): (a) how sensitive is training to the scale of the initial weights,
with and without batch norm, and why is batch norm not fully insensitive? (b) how does batch
norm behave across batch sizes, against the same network without it? (c) why does test mode
normalise with running averages instead of the batch's statistics?

Setup shared by the three parts: the MLP 784-256-256-256-256-10, each hidden layer affine -
batch norm - ReLU (without batch norm: affine - ReLU), softmax cross-entropy, SGD + momentum
0.9 at a constant learning rate, no weight decay, no dropout. Training images are the first
`*_train_size` of the shuffled training split (that of `data_seed`); every validation accuracy
is in test mode on the 5,000 held-out validation images. Each configuration is trained once per
seed in `seeds` (the seed draws the initial weights and the batch order); figures show mean +- sd.

(a) Every hidden weight is drawn from N(0, a^2) for a in `scales`; the scores layer keeps He
initialisation in every run, so that with batch norm the network computes the same function at
initialisation for every a (BN(a W x) = BN(W x) while var(W x) >> eps). Measured at
initialisation on a probe batch (the first `probe_size` training images, train mode):
||dW|| / ||W|| of each layer (the relative size of the first update is lr times it),
var(W x) of each hidden layer against batch norm's eps, and the std of the scores; after
training, ||W|| / ||W_init|| of the hidden layers (the kept, best-epoch parameters).
(b) He initialisation; batch sizes `batch_sizes`, with and without batch norm, in two arms: the
same lr for every batch size ("fixed") and lr * B / `reference_batch` ("scaled"). The same
number of epochs for every batch size, so small batches take more steps.
(c) One batch-norm network per seed; after every epoch the same `eval_size` validation images
are classified three ways: test mode (running statistics), train mode in batches of
`eval_batch` (batch statistics), train mode one image at a time. After the last epoch, train
mode at each of `eval_batch_sizes`.

Figures: init_scale.png (final validation accuracy against a, with and without batch norm, He's
scales marked), init_diagnostics.png (relative first update, var(W x) against eps, weight-norm
growth, against a), batch_size.png (final validation accuracy against the batch size, one
panel per arm), modes.png (the three evaluations per epoch; a zoom on running vs batch
statistics; accuracy against the evaluation batch size; the paired difference running - batch).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments import common, latex
from fnn import layers, models, optim, plots, runtime, step
from fnn.data import Split
from fnn.layer import serial
from fnn.layers.affine import AffineCache
from fnn.layers.norm import BatchNormTrainCache
from fnn.losses import softmax_cross_entropy
from fnn.train import DivergedError

EPS = 1e-5  # fnn.layers.batch_norm's default eps, used by every batch-norm layer here
ARMS = ("bn", "no_bn")
STYLE = {"bn": ("C0", "-", "o", "with batch norm"), "no_bn": ("C3", "--", "s", "without batch norm")}


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: tuple = (256, 256, 256, 256)
    lr: float = 0.02
    seeds: tuple = (0, 1, 2)
    data_seed: int = 0
    data: str | None = None
    scales: tuple = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)
    scale_epochs: int = 2
    scale_batch_size: int = 64
    scale_train_size: int = 10000
    probe_size: int = 256
    batch_sizes: tuple = (4, 16, 64, 256)
    reference_batch: int = 64
    batch_epochs: int = 2
    batch_train_size: int = 5000
    mode_epochs: int = 4
    mode_batch_size: int = 64
    mode_train_size: int = 10000
    eval_size: int = 2048
    eval_batch: int = 256
    eval_batch_sizes: tuple = (1, 2, 4, 16, 64, 256)


QUICK = {
    "hidden": (32, 32),
    "seeds": (0, 1),
    "scales": (1e-4, 0.1, 3.0),
    "scale_epochs": 1,
    "scale_train_size": 1000,
    "probe_size": 128,
    "batch_sizes": (16, 64),
    "batch_epochs": 1,
    "batch_train_size": 1000,
    "mode_epochs": 2,
    "mode_train_size": 1000,
    "eval_size": 512,
    "eval_batch_sizes": (1, 4, 256),
}


def mlp(hidden, *, batch_norm: bool, hidden_scale: float | None = None):
    """`fnn.models.mlp`'s network with every HIDDEN weight drawn with std `hidden_scale` (He's
    sqrt(2 / fan_in) when None); the scores layer is always He-initialised."""
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack.append(layers.affine(width, weight_scale=hidden_scale, name=f"affine{i + 1}"))
        if batch_norm:
            stack.append(layers.batch_norm(eps=EPS, name=f"batch_norm{i + 1}"))
        stack.append(layers.relu())
    stack.append(layers.affine(10, name="scores"))
    return serial(*stack, name="mlp")


def _subset(mnist, size):
    return mnist._replace(train=Split(mnist.train.x[:size], mnist.train.labels[:size]))


def _init_probe(model):
    """Jitted `(params, state, x, labels) -> dict` of train-mode measurements at one point."""

    def measure(params, state, x, labels):
        scores, _, caches = model.apply(params, state, x, train=True)
        _, dscores = softmax_cross_entropy(scores, labels)
        _, grads = model.backward(params, caches, dscores)
        affine = [i for i, c in enumerate(caches) if isinstance(c, AffineCache)]
        pre = [caches[i].x.reshape(x.shape[0], -1) @ params[i]["W"] + params[i]["b"] for i in affine]
        x_hat = [c.x_hat for c in caches if isinstance(c, BatchNormTrainCache)]
        return {
            "rel_grad": jnp.stack(
                [jnp.linalg.norm(grads[i]["W"]) / jnp.linalg.norm(params[i]["W"]) for i in affine]
            ),
            "pre_var": jnp.stack([z.var(axis=0).mean() for z in pre]),
            "pre_square": jnp.stack([(z * z).mean() for z in pre]),
            "x_hat_std": jnp.stack([h.std(axis=0).mean() for h in x_hat]) if x_hat else jnp.zeros(0),
            "score_std": scores.std(),
        }

    return runtime.jit(measure)


def _hidden_norms(params, count):
    """||W|| of the first `count` affine layers' weights, in order."""
    return [float(jnp.linalg.norm(p["W"])) for p in params if isinstance(p, dict) and "W" in p][:count]


def _scale_sweep(config, mnist):
    """Part (a): final accuracy and the measurements at initialisation, per arm, scale, seed."""
    data = _subset(mnist, config.scale_train_size)
    probe_x = jnp.asarray(data.train.x[: config.probe_size])
    probe_labels = jnp.asarray(data.train.labels[: config.probe_size])
    in_shape = data.train.x.shape[1:]
    out = {}
    for arm in ARMS:
        reference = mlp(config.hidden, batch_norm=arm == "bn")
        optimizer = optim.momentum(config.lr)
        # the scale changes only init: one compiled epoch and probe serve every scale and seed
        epoch = step.make_epoch(
            reference, softmax_cross_entropy, optimizer, batch_size=config.scale_batch_size
        )
        probe = _init_probe(reference)
        keys = (
            "val_accuracy",
            "train_accuracy",
            "diverged",
            "rel_grad",
            "pre_var",
            "pre_square",
            "x_hat_std",
        )
        rows = {key: [] for key in (*keys, "score_std", "weight_growth")}
        for scale in config.scales:
            model = mlp(config.hidden, batch_norm=arm == "bn", hidden_scale=scale)
            per_seed = {key: [] for key in rows}
            for seed in config.seeds:
                ts = step.init_train_state(model, optimizer, in_shape, seed)  # what fit starts from
                at_init = jax.device_get(probe(ts.params, ts.state, probe_x, probe_labels))
                for key in ("rel_grad", "pre_var", "pre_square", "x_hat_std"):
                    per_seed[key].append(np.asarray(at_init[key]).tolist())
                per_seed["score_std"].append(float(at_init["score_std"]))
                init_norms = _hidden_norms(ts.params, len(config.hidden))
                try:
                    result = common.train(
                        model,
                        data,
                        optimizer,
                        epochs=config.scale_epochs,
                        batch_size=config.scale_batch_size,
                        seed=seed,
                        epoch=epoch,
                        label=f"{arm} a={scale:g} seed {seed}",
                    )
                    last = result.history[-1]
                    growth = np.mean(np.divide(_hidden_norms(result.params, len(config.hidden)), init_norms))
                    per_seed["weight_growth"].append(float(growth))
                    per_seed["diverged"].append(False)
                    per_seed["val_accuracy"].append(last["val_accuracy"])
                    per_seed["train_accuracy"].append(last["train_accuracy"])
                except DivergedError:  # counted at chance accuracy, and marked
                    per_seed["weight_growth"].append(None)
                    per_seed["diverged"].append(True)
                    per_seed["val_accuracy"].append(0.1)
                    per_seed["train_accuracy"].append(0.1)
            for key in rows:
                rows[key].append(per_seed[key])
        out[arm] = rows
    return {
        "scales": list(config.scales),
        "he_scales": [math.sqrt(2 / 784), math.sqrt(2 / config.hidden[0])],
        "eps": EPS,
        "layers": [f"affine{i + 1}" for i in range(len(config.hidden))] + ["scores"],
        **out,
        **_slope(config, out["bn"]),
    }


def _slope(config, bn):
    """Least-squares slope of log ||dW||/||W|| (mean over the hidden layers and seeds) against
    log a, over the scales where every hidden layer's var(W x) exceeds 100 eps."""
    hidden = len(config.hidden)
    rel = np.array([np.mean([s[:hidden] for s in seeds]) for seeds in bn["rel_grad"]])
    var = np.array([np.min(np.mean(seeds, axis=0)) for seeds in bn["pre_var"]])
    used = var > 100 * EPS
    if used.sum() < 2:
        return {"slope": None, "slope_scales": []}
    scales = np.asarray(config.scales)[used]
    slope = np.polyfit(np.log(scales), np.log(rel[used]), 1)[0]
    return {"slope": float(slope), "slope_scales": scales.tolist()}


def _batch_sweep(config, mnist):
    """Part (b): final validation accuracy per arm (fixed / scaled lr), batch norm or not,
    batch size, seed. The reference batch size has one lr for both arms: trained once."""
    data = _subset(mnist, config.batch_train_size)
    lrs = {
        "fixed": [config.lr for _ in config.batch_sizes],
        "scaled": [config.lr * b / config.reference_batch for b in config.batch_sizes],
    }
    done = {}
    runs = {lr_arm: {arm: [] for arm in ARMS} for lr_arm in lrs}
    for arm in ARMS:
        for i, batch in enumerate(config.batch_sizes):
            for lr_arm in lrs:
                lr = lrs[lr_arm][i]
                if (arm, batch, lr) not in done:
                    model = models.mlp(config.hidden, batch_norm=arm == "bn")
                    optimizer = optim.momentum(lr)
                    epoch = step.make_epoch(model, softmax_cross_entropy, optimizer, batch_size=batch)
                    done[arm, batch, lr] = [
                        _final(
                            model,
                            data,
                            optimizer,
                            config.batch_epochs,
                            batch,
                            seed,
                            epoch,
                            f"{arm} B={batch} lr={lr:g}",
                        )
                        for seed in config.seeds
                    ]
                runs[lr_arm][arm].append(done[arm, batch, lr])
    return {
        "batch_sizes": list(config.batch_sizes),
        "reference_batch": config.reference_batch,
        "lr": lrs,
        "steps": [config.batch_epochs * (config.batch_train_size // b) for b in config.batch_sizes],
        "runs": runs,
    }


def _final(model, data, optimizer, epochs, batch, seed, epoch, label):
    """{"val_accuracy", "train_accuracy", "diverged"} of the last epoch (chance if diverged)."""
    try:
        result = common.train(
            model, data, optimizer, epochs=epochs, batch_size=batch, seed=seed, epoch=epoch, label=label
        )
    except DivergedError:
        return {"val_accuracy": 0.1, "train_accuracy": 0.1, "diverged": True}
    last = result.history[-1]
    return {"val_accuracy": last["val_accuracy"], "train_accuracy": last["train_accuracy"], "diverged": False}


def _mode_evaluator(model, x, labels, eval_batch, batch_sizes):
    """Jitted `(params, state) -> dict` of accuracies on (x, labels) in the three modes; also
    train mode at each of `batch_sizes` (each must divide len(x))."""

    def accuracy(scores):
        return (scores.argmax(axis=-1) == labels.reshape(scores.shape[:-1])).mean()

    def batched(params, state, size):
        xb = x.reshape(len(x) // size, size, *x.shape[1:])
        return jax.vmap(lambda b: model.apply(params, state, b, train=True)[0])(xb)

    def evaluate(params, state):
        single = batched(params, state, 1)
        return {
            "running": accuracy(model.apply(params, state, x, train=False)[0]),
            "batch": accuracy(batched(params, state, eval_batch)),
            "single": accuracy(single),
            "single_predictions": single.argmax(axis=-1).ravel(),
            "by_batch_size": jnp.stack([accuracy(batched(params, state, b)) for b in batch_sizes]),
        }

    return runtime.jit(evaluate)


def _modes(config, mnist):
    """Part (c): per seed, the three evaluations after every epoch, and the train-mode accuracy
    at each evaluation batch size after the last."""
    data = _subset(mnist, config.mode_train_size)
    x = jnp.asarray(mnist.validation.x[: config.eval_size])
    labels = jnp.asarray(mnist.validation.labels[: config.eval_size])
    model = models.mlp(config.hidden, batch_norm=True)
    optimizer = optim.momentum(config.lr)
    evaluate = _mode_evaluator(model, x, labels, config.eval_batch, config.eval_batch_sizes)
    curves = {key: [] for key in ("running", "batch", "single")}
    by_batch, distinct, share = [], [], []
    for seed in config.seeds:
        records = []
        common.train(
            model,
            data,
            optimizer,
            epochs=config.mode_epochs,
            batch_size=config.mode_batch_size,
            seed=seed,
            label=f"modes seed {seed}",
            on_epoch=lambda record, ts, records=records: records.append(
                jax.device_get(evaluate(ts.params, ts.state))
            ),
        )
        for key in curves:
            curves[key].append([float(r[key]) for r in records])
        by_batch.append(np.asarray(records[-1]["by_batch_size"]).tolist())
        predicted = np.asarray(records[-1]["single_predictions"])
        distinct.append(len(np.unique(predicted)))
        share.append(float((np.asarray(labels) == np.bincount(predicted).argmax()).mean()))
    return {
        "eval_size": config.eval_size,
        "eval_batch": config.eval_batch,
        "eval_batch_sizes": list(config.eval_batch_sizes),
        "curves": curves,
        "by_batch_size": by_batch,
        "single_distinct_predictions": distinct,
        "single_predicted_class_share": share,
    }


def run(config: Config) -> dict:
    sizes = (config.scale_train_size, config.batch_train_size, config.mode_train_size)
    mnist = common.load_data(config.data, train_size=max(sizes), seed=config.data_seed)
    if config.eval_size % config.eval_batch or any(config.eval_size % b for b in config.eval_batch_sizes):
        raise ValueError(f"eval_size {config.eval_size} must be a multiple of every evaluation batch size")
    return {
        "setup": {
            **dataclasses.asdict(config),
            "validation_size": len(mnist.validation.x),
            "momentum": 0.9,
            "bn_momentum": 0.9,
            "eps": EPS,
        },
        "init_scale": _scale_sweep(config, mnist),
        "batch_size": _batch_sweep(config, mnist),
        "modes": _modes(config, mnist),
    }


def _mean_sd(values, scale=1.0):
    """Means and sds (ddof 1) over the last axis of a nested list."""
    values = scale * np.asarray(values, float)
    sd = values.std(axis=-1, ddof=1) if values.shape[-1] > 1 else np.zeros(values.shape[:-1])
    return values.mean(axis=-1), sd


def _errorbar(ax, x, per_seed, key, scale=100.0, **kwargs):
    color, line, marker, label = STYLE[key]
    mean, sd = _mean_sd(per_seed, scale)
    ax.errorbar(x, mean, yerr=sd, color=color, ls=line, marker=marker, capsize=4, label=label, **kwargs)


def _plot_init_scale(r, out):
    a = np.asarray(r["scales"])
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for arm in ARMS:
        _errorbar(ax, a, r[arm]["val_accuracy"], arm)
        diverged = np.asarray(r[arm]["diverged"]).any(axis=1)
        if diverged.any():
            ax.plot(
                a[diverged],
                np.full(diverged.sum(), 10.0),
                "kx",
                ms=10,
                mew=2,
                label="diverged (counted as 10%)",
            )
    he = r["he_scales"]
    ax.axvspan(
        min(he),
        max(he),
        color="0.85",
        zorder=0,
        label="He: $\\sqrt{2/\\mathrm{fan_{in}}}$ (layer 1 to layers 2-4)",
    )
    ax.set(
        xscale="log",
        xlabel="std $a$ of the initial hidden weights",
        ylabel="final validation accuracy (%)",
        title="initialisation scale (mean ± sd over seeds)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plots.save(fig, out / "init_scale.png")


def _plot_diagnostics(r, lr, out):
    a = np.asarray(r["scales"])
    hidden = len(r["layers"]) - 1
    fig = Figure(figsize=(13, 4.2))
    ax_rel, ax_var, ax_grow = fig.subplots(1, 3)
    for arm in ARMS:
        color, line, marker, label = STYLE[arm]
        rel = lr * np.asarray(r[arm]["rel_grad"])[:, :, :hidden].mean(axis=(1, 2))
        shown = rel > 0
        ax_rel.plot(a[shown], rel[shown], color=color, ls=line, marker=marker, label=label)
        if (~shown).any():
            ax_rel.plot(
                a[~shown],
                np.full((~shown).sum(), ax_rel.get_ylim()[0]),
                "v",
                color=color,
                label=f"{label}: 0",
            )
    rel_bn = lr * np.asarray(r["bn"]["rel_grad"])[:, :, :hidden].mean(axis=(1, 2))
    ax_rel.plot(a, rel_bn[-1] * (a / a[-1]) ** -2.0, "k:", label="$\\propto 1/a^2$")
    ax_rel.set(
        xscale="log",
        yscale="log",
        xlabel="$a$",
        ylabel="lr $\\|dW\\|/\\|W\\|$ at init (hidden layers' mean)",
        title="relative size of the first update",
    )
    pre_var = np.asarray(r["bn"]["pre_var"]).mean(axis=1)
    for k, (line, marker) in enumerate(zip(("-", "--", "-.", ":"), ("o", "s", "^", "D"))):
        if k < hidden:
            ax_var.plot(a, pre_var[:, k], color=f"C{k}", ls=line, marker=marker, label=r["layers"][k])
    ax_var.axhline(r["eps"], color="k", lw=2, label=f"batch norm's eps = {r['eps']:g}")
    ax_var.set(
        xscale="log",
        yscale="log",
        xlabel="$a$",
        ylabel="var($Wx$) at init",
        title="variance before batch norm vs eps",
    )
    _errorbar(
        ax_grow,
        a,
        [[g if g is not None else np.nan for g in s] for s in r["bn"]["weight_growth"]],
        "bn",
        scale=1.0,
    )
    ax_grow.axhline(1.0, color="0.5", lw=1)
    ax_grow.set(
        xscale="log",
        yscale="log",
        xlabel="$a$",
        ylabel="$\\|W\\|_{end} / \\|W\\|_{init}$ (hidden layers' mean)",
        title="weight norm after training (with batch norm)",
    )
    for ax in (ax_rel, ax_var, ax_grow):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    plots.save(fig, out / "init_diagnostics.png")


def _plot_batch_size(r, out):
    b = np.asarray(r["batch_sizes"])
    fig = Figure(figsize=(11, 4.3))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, lr_arm in zip(axes, ("fixed", "scaled")):
        for arm in ARMS:
            per_seed = [[s["val_accuracy"] for s in seeds] for seeds in r["runs"][lr_arm][arm]]
            _errorbar(ax, b, per_seed, arm)
        lrs = ", ".join(f"{lr:g}" for lr in r["lr"][lr_arm])
        fixed = r["lr"]["fixed"][0]
        title = (
            f"lr {fixed:g} for every batch size"
            if lr_arm == "fixed"
            else f"lr x B / {r['reference_batch']} ({lrs})"
        )
        ax.set(xscale="log", xlabel="batch size B", title=title)
        ax.set_xticks(b, [str(v) for v in b])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("final validation accuracy (%)")
    fig.suptitle("batch size, with and without batch norm (equal epochs; mean ± sd over seeds)")
    fig.tight_layout()
    plots.save(fig, out / "batch_size.png")


MODE_STYLE = {
    "running": ("C0", "-", "o", "test mode (running statistics)"),
    "batch": ("C1", "--", "s", "train mode, batches of {eval_batch}"),
    "single": ("C3", ":", "^", "train mode, batches of 1"),
}


def _plot_modes(r, out):
    fig = Figure(figsize=(11, 8))
    ax_all, ax_zoom, ax_size, ax_diff = fig.subplots(2, 2).ravel()
    epochs = np.arange(1, len(r["curves"]["running"][0]) + 1)
    for key, (color, line, marker, label) in MODE_STYLE.items():
        mean, sd = _mean_sd(np.swapaxes(r["curves"][key], 0, 1), 100)
        label = label.format(eval_batch=r["eval_batch"])
        for ax in (ax_all, ax_zoom) if key != "single" else (ax_all,):
            ax.plot(epochs, mean, color=color, ls=line, marker=marker, label=label)
            ax.fill_between(epochs, mean - sd, mean + sd, color=color, alpha=0.2)
    for ax in (ax_all, ax_zoom):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel="accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax_all.set(ylim=(0, 100), title=f"the same {r['eval_size']} validation images")
    ax_zoom.set(title="zoom: running vs batch statistics")
    sizes = np.asarray(r["eval_batch_sizes"])
    mean, sd = _mean_sd(np.swapaxes(r["by_batch_size"], 0, 1), 100)
    ax_size.errorbar(
        sizes,
        mean,
        yerr=sd,
        color="C1",
        ls="--",
        marker="s",
        capsize=4,
        label="train mode (batch statistics)",
    )
    final, final_sd = _mean_sd([c[-1] for c in r["curves"]["running"]], 100)
    ax_size.axhline(final, color="C0", label="test mode (running statistics)")
    ax_size.axhspan(final - final_sd, final + final_sd, color="C0", alpha=0.2)
    ax_size.set(
        xscale="log", xlabel="evaluation batch size", ylabel="accuracy (%)", title="after the last epoch"
    )
    ax_size.set_xticks(sizes, [str(v) for v in sizes])
    ax_size.minorticks_off()
    ax_size.grid(alpha=0.3)
    ax_size.legend(fontsize=8)
    diff = 100 * (np.asarray(r["curves"]["running"]) - np.asarray(r["curves"]["batch"]))
    for seed_diff in diff:
        ax_diff.plot(epochs, seed_diff, color="0.6", lw=1, marker=".")
    mean, sd = _mean_sd(diff.T)
    ax_diff.errorbar(
        epochs, mean, yerr=sd, color="k", marker="o", capsize=4, label="mean ± sd (grey: each seed)"
    )
    ax_diff.axhline(0, color="0.5", lw=1)
    ax_diff.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_diff.set(
        xlabel="epoch",
        ylabel="accuracy difference (points)",
        title=f"running - batch-of-{r['eval_batch']} statistics, same network and images",
    )
    ax_diff.grid(alpha=0.3)
    ax_diff.legend(fontsize=8)
    fig.suptitle("batch norm at evaluation (mean ± sd over seeds)")
    fig.tight_layout()
    plots.save(fig, out / "modes.png")


def plot(results: dict, out: Path) -> None:
    _plot_init_scale(results["init_scale"], out)
    _plot_diagnostics(results["init_scale"], results["setup"]["lr"], out)
    _plot_batch_size(results["batch_size"], out)
    _plot_modes(results["modes"], out)


def _pct(values, digits=1):
    """Mean +- sd over seeds of accuracies (fractions), in percent, as LaTeX."""
    return latex.pm(values, digits, 100) + r"\%"


def _num(value, digits=2):
    """A positive number as LaTeX math content: plain from 0.1 to 99, else m x 10^e."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    exponent = int(exponent)
    if exponent in (-1, 0, 1):
        return f"{value:.{max(digits - 1 - exponent, 0)}f}"
    return f"{mantissa}\\times 10^{{{exponent}}}"


def _sci(value, digits=2):
    """`_num` in $...$; "--" for a missing value."""
    if value is None or not np.isfinite(value):
        return "--"
    return f"${_num(value, digits)}$"


def _scales(scales):
    """ "$a \\in \\{...\\}$" of a list of scales."""
    return "$a \\in \\{" + ",\\allowbreak ".join(f"{a:g}" for a in scales) + "\\}$"


def _points(differences):
    """ "$m \\pm s$" of accuracy differences (fractions) in points, with a sign."""
    mean, sd = latex.mean_sd(100 * np.asarray(differences, float))
    return f"${mean:+.2f} \\pm {sd:.2f}$"


def _versus(a, b):
    """How the runs `a` compare with the runs `b`: "better than", "worse than" (means differ by more
    than sd_a + sd_b) or "within the spread of"."""
    if not latex.differ(a, b):
        return "within the spread of"
    return "better than" if np.mean(a) > np.mean(b) else "worse than"


def _epochs(n):
    return f"{n} epoch{'' if n == 1 else 's'}"


def _init_numbers(r, lr):
    """Per scale (mean over seeds): what the section's text and tables quote."""
    s = r["init_scale"]
    hidden = len(s["layers"]) - 1
    out = []
    for i, a in enumerate(s["scales"]):
        bn_var = np.mean(s["bn"]["pre_var"][i], axis=0)[:hidden]
        no_square = np.mean(s["no_bn"]["pre_square"][i], axis=0)[:hidden]
        growth = [g for g in s["bn"]["weight_growth"][i] if g is not None]
        out.append(
            {
                "a": a,
                "update": lr * float(np.mean([v[:hidden] for v in s["bn"]["rel_grad"][i]])),
                "var_over_eps": float(bn_var.min() / s["eps"]),
                "x_hat_std": [float(v) for v in np.mean(s["bn"]["x_hat_std"][i], axis=0)],
                "growth": float(np.mean(growth)) if growth else None,
                "score_std_bn": float(np.mean(s["bn"]["score_std"][i])),
                "score_std_no_bn": float(np.mean(s["no_bn"]["score_std"][i])),
                "gain_no_bn": float(np.exp(np.mean(np.diff(np.log(no_square))) / 2)) if hidden > 1 else None,
                "diverged_no_bn": int(np.sum(s["no_bn"]["diverged"][i])),
                "diverged_bn": int(np.sum(s["bn"]["diverged"][i])),
            }
        )
    return out


def _section_init(r):
    s, setup = r["init_scale"], r["setup"]
    lr, hidden, seeds = setup["lr"], setup["hidden"], setup["seeds"]
    rows = _init_numbers(r, lr)
    a = s["scales"]
    mean = {arm: [float(np.mean(v)) for v in s[arm]["val_accuracy"]] for arm in ARMS}
    trained = {arm: [x for x, m in zip(a, mean[arm]) if m > 0.5] for arm in ARMS}
    he1, he2 = s["he_scales"]
    fig_acc, fig_diag = "fig:batch_norm-init-scale", "fig:batch_norm-init-diagnostics"
    acc_table = latex.table(
        ["$a$", "without batch norm", "diverged", "with batch norm"],
        [
            [
                f"${x:g}$",
                _pct(s["no_bn"]["val_accuracy"][i]),
                f"{row['diverged_no_bn']} of {len(seeds)}",
                _pct(s["bn"]["val_accuracy"][i]),
            ]
            for i, (x, row) in enumerate(zip(a, rows))
        ],
        f"Final validation accuracy (test mode, {setup['validation_size']:,} images; mean $\\pm$ sd over "
        f"{len(seeds)} seeds) against the std $a$ of the initial hidden weights. A diverged run counts as 10\\%.",
        "batch_norm-init-accuracy",
    )
    mech_table = latex.table(
        [
            "$a$",
            "update",
            "$\\min\\mathrm{var}/\\epsilon$",
            "std $\\hat x$",
            "growth",
            "scores (no BN)",
            "gain (no BN)",
        ],
        [
            [
                f"${row['a']:g}$",
                _sci(row["update"]),
                _sci(row["var_over_eps"]),
                f"${row['x_hat_std'][-1]:.3f}$" if row["x_hat_std"] else "--",
                _sci(row["growth"]),
                _sci(row["score_std_no_bn"]),
                _sci(row["gain_no_bn"]),
            ]
            for row in rows
        ],
        "Measured at initialisation on the probe batch (mean over seeds). With batch norm: update, the relative size "
        "of the first update of the hidden weights, lr$\\|dW\\|/\\|W\\|$ (mean over the hidden layers); "
        "$\\min\\mathrm{var}/\\epsilon$, the smallest variance of $Wx$ over the hidden layers in units of "
        "$\\epsilon$; std $\\hat x$, the std of the last hidden layer's normalised output (1 when normalisation "
        "works); growth, $\\|W\\|_{end}/\\|W\\|_{init}$ of the hidden weights after training. Without batch norm: "
        "the std of the scores, and the gain, the factor by which each hidden layer multiplies the root mean square "
        "of its pre-activation $Wx$ (geometric mean over the hidden layers; He's analysis predicts $a\\sqrt{n/2}$).",
        "batch_norm-init-mechanics",
    )
    text = [
        "\\subsection{Initialisation scale}\\label{sec:exp-batch_norm-init}",
        "\\paragraph{Question and setup.} How sensitive is training to the scale of the initial weights, with and "
        "without batch norm? Every hidden weight is drawn from $\\mathcal N(0, a^2)$ for "
        f"{_scales(a)}; the scores layer keeps He initialisation in every run, so "
        "that with batch norm the network computes the same function at initialisation for every $a$. Each run trains "
        f"{_epochs(setup['scale_epochs'])} on {setup['scale_train_size']:,} training images, batch "
        f"{setup['scale_batch_size']}, lr {lr:g}, once per seed ({len(seeds)} seeds). At initialisation, on a probe "
        f"batch of the first {setup['probe_size']} training images in train mode, we measure $\\|dW\\|/\\|W\\|$ of each "
        "layer, the variance of $Wx$ before each batch norm, and the std of the scores.",
    ]
    no_chance = [x for x, m, row in zip(a, mean["no_bn"], rows) if m < 0.2 and not row["diverged_no_bn"]]
    no_diverged = [x for x, row in zip(a, rows) if row["diverged_no_bn"]]
    near_he = int(np.argmin([abs(np.log(x / np.sqrt(he1 * he2))) for x in a]))
    bracket = bool(trained["no_bn"]) and min(trained["no_bn"]) <= he1 and max(trained["no_bn"]) >= he2
    around_he = bracket or a[near_he] in trained["no_bn"]
    text.append(
        f"\\paragraph{{Without batch norm}} (Figure~\\ref{{{fig_acc}}}, Table~\\ref{{tab:batch_norm-init-accuracy}}) "
        + (
            f"the network trains (final validation accuracy above 50\\%) only at {_scales(trained['no_bn'])}"
            if trained["no_bn"]
            else "the network trains (final validation accuracy above 50\\%) at none of the scales"
        )
        + (f"; it stays near chance (below 20\\%) at {_scales(no_chance)}" if no_chance else "")
        + (f"; runs diverged at {_scales(no_diverged)}" if no_diverged else "")
        + ". The reason is the gain of each layer (Table~\\ref{tab:batch_norm-init-mechanics}): a ReLU layer with "
        "fan-in $n$ and weights of std $a$ multiplies the root mean square of the signal by $a\\sqrt{n/2}$ "
        "(the ReLU keeps half of its input's second moment), measured "
        f"{_sci(rows[near_he]['gain_no_bn'])} at $a={a[near_he]:g}$ against the predicted "
        f"{_sci(a[near_he] * np.sqrt(hidden[0] / 2))}. Over the {len(hidden)} hidden layers the score std at "
        f"initialisation goes from {_sci(rows[0]['score_std_no_bn'])} at $a={a[0]:g}$ to "
        f"{_sci(rows[-1]['score_std_no_bn'])} at $a={a[-1]:g}$: the signal vanishes below the gain-1 scale and "
        "explodes above it, and so does the relative size of the first update (Figure~\\ref{"
        + fig_diag
        + "}, left). He initialisation chooses the gain-1 scale, "
        f"$\\sqrt{{2/\\mathrm{{fan_{{in}}}}}}$ = {he1:.3f} for the first layer and {he2:.3f} for the others (grey band "
        "in the figure); "
        + (
            "the scales that train bracket it."
            if bracket
            else f"the grid point nearest to it, $a={a[near_he]:g}$, is among the scales that train."
            if a[near_he] in trained["no_bn"]
            else f"in this run the grid point nearest to it, $a={a[near_he]:g}$, did not train "
            f"({_pct(s['no_bn']['val_accuracy'][near_he])})."
        )
    )
    best, worst = int(np.argmax(mean["bn"])), int(np.argmin(mean["bn"]))
    working = [row for row in rows if row["var_over_eps"] > 100]
    same = [row["score_std_bn"] for row in working]
    text.append(
        f"\\paragraph{{With batch norm}} the final accuracy lies between {_pct(s['bn']['val_accuracy'][worst])} "
        f"(at $a={a[worst]:g}$) and {_pct(s['bn']['val_accuracy'][best])} (at $a={a[best]:g}$); it trains at "
        f"{len(trained['bn'])} of the {len(a)} scales against {len(trained['no_bn'])} without. The forward pass does "
        "not depend on $a$: batch norm divides $aWx$ by its own standard deviation, so $\\mathrm{BN}(aWx)=\\mathrm{BN}(Wx)$, "
        + (
            f"and the measured score std at initialisation is the same, {_sci(min(same), 4)} to {_sci(max(same), 4)}, "
            f"at every scale where $\\mathrm{{var}}(Wx) \\gg \\epsilon$. "
            if same
            else ""
        )
        + "Yet the accuracy still moves with $a$, for two reasons that Figure~\\ref{"
        + fig_diag
        + "} measures."
    )
    fit = s["slope"]
    large = rows[-1]
    # the effective-lr story at the smallest scale where eps is not yet dominant
    i_small = next((i for i, row in enumerate(rows) if row["var_over_eps"] >= 1), 0)
    small = rows[i_small]
    small_acc, best_acc = s["bn"]["val_accuracy"][i_small], s["bn"]["val_accuracy"][best]
    text.append(
        "\\emph{The effective learning rate goes as $1/a^2$.} In the backward pass batch norm multiplies the gradient "
        "by $1/\\sqrt{\\mathrm{var}(Wx)+\\epsilon} \\propto 1/a$, so $\\|dW\\| \\propto 1/a$ while $\\|W\\| \\propto a$: "
        "the relative size of an update, lr$\\|dW\\|/\\|W\\|$, goes as $1/a^2$. The measured slope of "
        "$\\log \\|dW\\|/\\|W\\|$ against $\\log a$ is "
        + (f"${fit:.3f}$ over {_scales(s['slope_scales'])}" if fit is not None else "not measurable here")
        + f". At $a={large['a']:g}$ the first update changes the hidden weights by {_sci(large['update'])} of their norm, "
        f"and after training their norm has changed by a factor {_sci(large['growth'])}: the hidden layers barely learn "
        "in the epochs given"
        + (
            f", which is why the accuracy falls at the largest scales (from {_pct(s['bn']['val_accuracy'][best])} to "
            f"{_pct(s['bn']['val_accuracy'][-1])}, {latex.spread_words(s['bn']['val_accuracy'][best], s['bn']['val_accuracy'][-1])})"
            if best != len(a) - 1
            else ""
        )
        + f". At $a={small['a']:g}$ the first update is {_sci(small['update'])} times the weights. Scale invariance makes "
        "$dW$ orthogonal to $W$ (the derivative of the loss along $W$ is 0), so a gradient step can only lengthen "
        "$W$: $\\|W - \\mathrm{lr}\\,dW\\|^2 = \\|W\\|^2 + \\mathrm{lr}^2\\|dW\\|^2$ (exactly for SGD; "
        "approximately with momentum, whose velocity mixes past gradients). The measured norm grew by a factor "
        f"{_sci(small['growth'])}, which brings the effective learning rate down by its square: small scales "
        + (
            "correct themselves, after first steps that are larger than the weights"
            if small["update"] > 1
            else "correct themselves"
        )
        + (
            f"; the accuracy there, {_pct(small_acc)}, is still below the best, {_pct(best_acc)}, by more than the "
            f"spread: those first steps cost part of the {_epochs(setup['scale_epochs'])}."
            if i_small != best
            and latex.differ(small_acc, best_acc)
            and np.mean(small_acc) < np.mean(best_acc)
            else f"; the accuracy there, {_pct(small_acc)}, is within the spread of the best, {_pct(best_acc)}."
            if i_small != best
            else "; it is the best scale here."
        )
    )
    tiny = [row for row in rows if row["var_over_eps"] < 10]
    if tiny:
        t = tiny[0]
        expected = large["update"] * (large["a"] / t["a"]) ** 2
        text.append(
            "\\emph{At tiny scales $\\epsilon$ takes over.} Normalisation divides by $\\sqrt{\\mathrm{var}(Wx)+\\epsilon}$, "
            f"which removes the scale only while $\\mathrm{{var}}(Wx) \\gg \\epsilon = {_num(s['eps'], 1)}$. At $a={t['a']:g}$ the "
            f"smallest variance is ${_num(t['var_over_eps'])}\\,\\epsilon$, the normalised output of the last hidden layer "
            f"has std {t['x_hat_std'][-1]:.3f} instead of 1, and the signal shrinks layer after layer (score std "
            f"{_sci(t['score_std_bn'])} against {_sci(large['score_std_bn'])} at $a={large['a']:g}$). The relative "
            f"update there is {_sci(t['update'])}, not the {_sci(expected)} that $1/a^2$ would give: $\\epsilon$ caps the "
            "gradient, and the network starts from a different, nearly constant function."
        )
    text.append(
        "\\paragraph{Answer.} Without batch norm only "
        + (f"{_scales(trained['no_bn'])} train" if trained["no_bn"] else "no scale trains")
        + (", around He's gain-1 scale" if around_he else "")
        + f"; with batch norm {len(trained['bn'])} of {len(a)} scales do, because the forward pass ignores $a$. Batch norm does not make "
        "training independent of the scale: the effective learning rate still goes as $1/a^2$ (too small to move "
        "large weights, too large for small ones until their norm grows), and below $\\mathrm{var}(Wx) \\approx \\epsilon$ "
        "the invariance itself breaks."
    )
    return (
        "\n\n".join(text)
        + "\n\n"
        + latex.figure(
            "batch_norm",
            "init_scale.png",
            f"Final validation accuracy against the std $a$ of the initial hidden weights (mean $\\pm$ sd over {len(seeds)} "
            "seeds); grey: He's $\\sqrt{2/\\mathrm{fan_{in}}}$ from the first layer to the others. A cross marks a scale "
            "with a diverged run, counted at 10\\%.",
            width=0.7,
        )
        + latex.figure(
            "batch_norm",
            "init_diagnostics.png",
            "Why batch norm still depends on $a$. Left: relative size of the first update of the hidden weights at "
            "initialisation, with a $1/a^2$ line through the largest scale. Middle: variance of $Wx$ before each batch "
            "norm at initialisation against $\\epsilon$. Right: growth of the hidden weights' norm over training (with "
            "batch norm; mean $\\pm$ sd over seeds).",
            width=1.0,
        )
        + acc_table
        + mech_table
    )


def _section_batch(r):
    b, setup = r["batch_size"], r["setup"]
    sizes, ref = b["batch_sizes"], b["reference_batch"]
    val = {
        lr_arm: {
            arm: [[s["val_accuracy"] for s in seeds] for seeds in b["runs"][lr_arm][arm]] for arm in ARMS
        }
        for lr_arm in ("fixed", "scaled")
    }
    diverged = sum(
        s["diverged"]
        for lr_arm in b["runs"].values()
        for arm in lr_arm.values()
        for seeds in arm
        for s in seeds
    )
    table = latex.table(
        ["$B$", "steps", "fixed: no BN", "fixed: BN", "scaled lr", "scaled: no BN", "scaled: BN"],
        [
            [
                str(B),
                f"{b['steps'][i]:,}",
                _pct(val["fixed"]["no_bn"][i]),
                _pct(val["fixed"]["bn"][i]),
                f"{b['lr']['scaled'][i]:g}",
                _pct(val["scaled"]["no_bn"][i]),
                _pct(val["scaled"]["bn"][i]),
            ]
            for i, B in enumerate(sizes)
        ],
        f"Final validation accuracy against the batch size $B$ ({_epochs(setup['batch_epochs'])} on "
        f"{setup['batch_train_size']:,} images, so {b['steps'][0]:,} to {b['steps'][-1]:,} steps; mean $\\pm$ sd over "
        f"{len(setup['seeds'])} seeds). Fixed: lr {setup['lr']:g} for every $B$; scaled: lr $\\times B/{ref}$.",
        "batch_norm-batch-size",
    )

    def compare(lr_arm):
        better, worse, within = [], [], []
        for i, B in enumerate(sizes):
            bn, no = val[lr_arm]["bn"][i], val[lr_arm]["no_bn"][i]
            if not latex.differ(bn, no):
                within.append(B)
            elif np.mean(bn) > np.mean(no):
                better.append(B)
            else:
                worse.append(B)
        parts = []
        if better:
            parts.append(
                f"batch norm is better than the network without it at $B \\in \\{{{', '.join(map(str, better))}\\}}$"
            )
        if worse:
            parts.append(f"worse at $B \\in \\{{{', '.join(map(str, worse))}\\}}$")
        if within:
            parts.append(f"the two are within the spread at $B \\in \\{{{', '.join(map(str, within))}\\}}$")
        return "; ".join(parts)

    gap = {
        lr_arm: [
            float(np.mean(val[lr_arm]["bn"][i]) - np.mean(val[lr_arm]["no_bn"][i])) for i in range(len(sizes))
        ]
        for lr_arm in val
    }
    i_ref = sizes.index(ref) if ref in sizes else len(sizes) // 2
    B, R = sizes[0], sizes[i_ref]
    fixed, scaled = val["fixed"], val["scaled"]
    train_mode = [[s["train_accuracy"] for s in seeds] for seeds in b["runs"]["fixed"]["bn"]]
    text = [
        "\\subsection{Batch size}\\label{sec:exp-batch_norm-batch}",
        "\\paragraph{Question and setup.} Does batch norm still help when its statistics come from few examples? "
        "A batch-norm network is only comparable to the same network without batch norm at the same batch size and "
        "learning rate, so both are trained at every $B \\in \\{" + ", ".join(map(str, sizes)) + "\\}$ "
        f"(He initialisation, {_epochs(setup['batch_epochs'])} on {setup['batch_train_size']:,} training images for "
        f"every $B$, so smaller batches take more steps; {len(setup['seeds'])} seeds), in two arms: the same lr "
        f"{setup['lr']:g} for every $B$, and lr $\\times B/{ref}$ (from {b['lr']['scaled'][0]:g} to "
        f"{b['lr']['scaled'][-1]:g}), where the learning rate changes together with the batch size. At $B={ref}$ the "
        "arms coincide and share their runs."
        + (f" {diverged} runs diverged and count at 10\\%." if diverged else ""),
        f"\\paragraph{{Results}} (Figure~\\ref{{fig:batch_norm-batch-size}}, Table~\\ref{{tab:batch_norm-batch-size}}). "
        f"With the same lr for every batch size, {compare('fixed')}. With the scaled lr, {compare('scaled')}.",
    ]
    own = (
        f"Batch norm's own accuracy at $B={B}$ is {_pct(fixed['bn'][0])} with the fixed lr and {_pct(scaled['bn'][0])} "
        f"with the scaled lr, against {_pct(fixed['bn'][i_ref])} at $B={R}$"
    )
    if latex.differ(fixed["bn"][0], scaled["bn"][0]):
        own += "; the two arms differ by more than the spread there, so the learning rate matters at that batch size."
    else:
        own += (
            f"; the two arms agree within the spread at $B={B}$, although their learning rates differ "
            f"{ref / B:g}-fold, so the learning rate is not what sets batch norm's accuracy there."
        )
    own += (
        f" The network without batch norm at $B={B}$ and the scaled lr ({b['lr']['scaled'][0]:g}) reaches "
        f"{_pct(scaled['no_bn'][0])}: batch norm is {_versus(scaled['bn'][0], scaled['no_bn'][0])} it"
        + (
            ", so the small-batch deficit is batch norm's own."
            if _versus(scaled["bn"][0], scaled["no_bn"][0]) == "worse than"
            else "."
        )
    )
    if latex.differ(scaled["no_bn"][0], fixed["no_bn"][0]) and np.mean(fixed["no_bn"][0]) < np.mean(
        scaled["no_bn"][0]
    ):
        own += (
            f" With the fixed lr {setup['lr']:g} the network without batch norm reaches only {_pct(fixed['no_bn'][0])} "
            f"at $B={B}$: that learning rate is too large for it with batches of {B}, and batch norm's advantage in "
            f"that arm ({gap['fixed'][0] * 100:+.1f} points) measures the other network's instability more than batch "
            "norm's benefit."
        )
    text.append(own)
    text.append(
        f"Why batch norm loses at small batches: during the last epoch the batch-norm network at $B={B}$ (fixed lr) "
        f"classified {_pct(train_mode[0])} of its training images correctly in train mode, with the statistics of its "
        f"batch, against {_pct(fixed['bn'][0])} of the validation images in test mode, with the running statistics; "
        f"at $B={R}$ the two are {_pct(train_mode[i_ref])} and {_pct(fixed['bn'][i_ref])}. With $m=B$ values per "
        "feature the normalised values of a batch have mean 0 and mean square about 1, so each $|\\hat x| \\le "
        f"\\sqrt{{m-1}}$ ({np.sqrt(B - 1):.2f} at $m={B}$): an example's $\\hat x$ says mostly where it falls among "
        f"the other {B - 1} examples of its batch, which is noise the network must learn through. The biased batch "
        f"variance also averages to $\\frac{{m-1}}{{m}}\\sigma^2$ ({(B - 1) / B:.2f}$\\sigma^2$ at $m={B}$), while the "
        "running averages used at test time are smoother estimates; Section~\\ref{sec:exp-batch_norm-modes} measures "
        "the same train-mode accuracy drop at evaluation."
    )
    text.append(
        "\\paragraph{Answer.} At equal batch size and learning rate, batch norm is "
        f"{_versus(fixed['bn'][i_ref], fixed['no_bn'][i_ref])} the network without it at $B={R}$ "
        f"({gap['fixed'][i_ref] * 100:+.1f} points, fixed lr), and at $B={B}$ it is "
        f"{_versus(scaled['bn'][0], scaled['no_bn'][0])} the network without it when that network has a learning "
        f"rate it can use ({gap['scaled'][0] * 100:+.1f} points, scaled lr). Comparing at equal batch size and "
        "learning rate separates two effects that a design with the learning rate scaled with the batch size and no "
        "control without batch norm would mix: the number and size of the steps that a batch size implies, which "
        "affect both networks, and batch norm's dependence on its batch statistics, which is the difference between "
        "the two columns of each arm."
    )
    return (
        "\n\n".join(text)
        + "\n\n"
        + latex.figure(
            "batch_norm",
            "batch_size.png",
            f"Final validation accuracy against the batch size, with and without batch norm (mean $\\pm$ sd over "
            f"{len(setup['seeds'])} seeds). Left: the same lr for every batch size; right: lr $\\times B/{ref}$.",
            width=1.0,
        )
        + table
    )


def _section_modes(r):
    m, setup = r["modes"], r["setup"]
    final = {key: [c[-1] for c in m["curves"][key]] for key in ("running", "batch", "single")}
    diff = np.subtract(final["running"], final["batch"])
    first_diff = np.subtract([c[0] for c in m["curves"]["running"]], [c[0] for c in m["curves"]["batch"]])
    by_size = np.swapaxes(m["by_batch_size"], 0, 1)
    sizes = m["eval_batch_sizes"]
    all_one = all(d == 1 for d in m["single_distinct_predictions"])
    # the third panel's y range spans the train-mode accuracies (mean +- sd) and test mode's line: its
    # +- sd band is visible when it is at least 2% of that range
    size_mean, size_sd = (
        np.mean(by_size, axis=1),
        np.std(by_size, axis=1, ddof=1) if len(by_size[0]) > 1 else 0,
    )
    span = max(np.max(size_mean + size_sd), np.mean(final["running"])) - np.min(size_mean - size_sd)
    band_visible = 2 * latex.mean_sd(final["running"])[1] >= 0.02 * max(span, 1e-9)
    text = [
        "\\subsection{Train mode versus test mode}\\label{sec:exp-batch_norm-modes}",
        "\\paragraph{Question and setup.} Why does test mode normalise with running averages instead of the batch's "
        f"statistics? A batch-norm network (He initialisation, batch {setup['mode_batch_size']}, lr {setup['lr']:g}, "
        f"{_epochs(setup['mode_epochs'])} on {setup['mode_train_size']:,} training images, {len(setup['seeds'])} seeds) "
        f"is evaluated after every epoch on the same {m['eval_size']:,} validation images (the first "
        f"{m['eval_size']:,} of the validation split) three ways: test mode, with the running statistics "
        f"(running $={setup['bn_momentum']:g}\\,$running$\\,+\\,{1 - setup['bn_momentum']:g}\\,$batch); train mode, each image normalised with the statistics of "
        f"its batch of {m['eval_batch']}; and train mode one image at a time. After the last epoch the same images are "
        f"also classified in train mode in batches of {', '.join(map(str, sizes))}.",
        f"\\paragraph{{Results}} (Figure~\\ref{{fig:batch_norm-modes}}). After the last epoch, test mode reaches "
        f"{_pct(final['running'], 2)}, train mode with batches of {m['eval_batch']} {_pct(final['batch'], 2)}, and "
        f"train mode one image at a time {_pct(final['single'], 2)}. "
        + (
            "With one image, within each seed every image gets the same prediction: "
            if all_one
            else f"With one image, the number of distinct predictions within each seed is "
            f"{', '.join(map(str, m['single_distinct_predictions']))}: "
        )
        + "the batch mean of a single value is that value, so $x-\\mu=0$, $\\hat x=0$ and every batch-norm layer outputs "
        "its $\\beta$, whatever the input. The accuracy is then the share of that seed's one predicted class among the "
        f"{m['eval_size']:,} images ({_pct(m['single_predicted_class_share'], 2)}).",
        "The two curves that matter, running statistics against batch statistics of "
        f"{m['eval_batch']} images, are shown enlarged in the second panel, and their paired difference (same network, "
        f"same images) in the fourth: running $-$ batch is {_points(first_diff)} points after the first epoch and "
        f"{_points(diff)} after the last; as means over seeds the two final accuracies are "
        f"{latex.spread_words(final['running'], final['batch'])}. In train mode the accuracy depends on the evaluation "
        "batch size: "
        + ", ".join(f"{_pct(values, 1)} at {size}" for values, size in zip(by_size, sizes))
        + " (third panel): an image's prediction changes with the images it is batched with.",
        "\\paragraph{Answer.} A prediction must be a function of the image alone and must not collapse when a batch "
        "holds one image. Batch statistics fail both: they make each prediction depend on the rest of the batch, and "
        "at one image they erase the input. The running averages estimate the statistics of the training "
        "distribution, so test mode is a fixed affine map per feature, deterministic and independent of the batch, "
        + (
            f"and as accurate, within the spread, as normalising with batches of {m['eval_batch']} here."
            if not latex.differ(final["running"], final["batch"])
            else f"and more accurate than normalising with batches of {m['eval_batch']} here."
            if diff.mean() > 0
            else f"at a cost here of {100 * -diff.mean():.2f} points against batches of {m['eval_batch']}."
        ),
    ]
    return (
        "\n\n".join(text)
        + "\n\n"
        + latex.figure(
            "batch_norm",
            "modes.png",
            f"Accuracy on the same {m['eval_size']:,} validation images after each epoch (mean $\\pm$ sd over "
            f"{len(setup['seeds'])} seeds): test mode (running statistics) against train mode (batch statistics of "
            f"{m['eval_batch']} images, or of one image); the second panel zooms on the first two, the third shows the "
            "train-mode accuracy after the last epoch against the evaluation batch size, with test mode after the last "
            f"epoch as a horizontal line at its mean, {_pct(final['running'], 2)}"
            + (
                ", with a shaded band of $\\pm$ sd over seeds"
                if band_visible
                else " (its shaded $\\pm$ sd band is drawn but narrower than the line at this scale)"
            )
            + ". The fourth shows the paired difference running $-$ batch per epoch.",
            width=1.0,
        )
    )


def section(r: dict) -> str:
    """The LaTeX of the report's batch-norm section, from results.json."""
    setup = r["setup"]
    intro = (
        "\\section{Batch normalisation}\\label{sec:exp-batch_norm}\n\n"
        "The three questions this report asks about batch norm (its backward pass is derived in the appendix, "
        "Section~\\ref{sec:norm}): (a) sensitivity to the scale of the initial weights, (b) behaviour across batch "
        "sizes, (c) why test mode uses running averages. The network throughout is the MLP "
        f"784-{'-'.join(map(str, setup['hidden']))}-10, each hidden layer affine -- batch norm -- ReLU (affine -- ReLU "
        "without batch norm), trained with softmax cross-entropy and SGD with momentum "
        f"{setup['momentum']:g} at a constant learning rate, no weight decay, no dropout. Batch norm uses "
        f"$\\epsilon = {_num(setup['eps'], 1)}$ and running averages with momentum {setup['bn_momentum']:g}. Training images "
        "are the first images of the shuffled training split (data seed "
        f"{setup['data_seed']}); validation accuracy is in test mode on the {setup['validation_size']:,} held-out "
        f"images. Each configuration runs once per seed ({', '.join(map(str, setup['seeds']))}: initial weights and "
        "batch order); a difference is called real when the means differ by more than the sum of the two standard "
        "deviations, and within the spread otherwise."
        + (" \\emph{These numbers come from a reduced quick run.}" if r.get("quick") else "")
        + "\n\n"
    )
    return intro + _section_init(r) + "\n" + _section_batch(r) + "\n" + _section_modes(r)


def main(argv=None) -> Path:
    return common.main("batch_norm", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
