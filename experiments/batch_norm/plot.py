"""The batch-norm experiment's figures, from results.json alone, drawn at their printed size
(the report's 6.3-inch text width) with every text at FONT points or more."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments import figures
from experiments.figures import RC
from experiments.figures import TEXT_WIDTH as WIDTH

ARMS = ("bn", "no_bn")
STYLE = {"bn": ("C0", "-", "o", "with batch norm"), "no_bn": ("C3", "--", "s", "without batch norm")}


def _mean_sd(values, scale=1.0):
    """Means and sds (ddof 1) over the last axis of a nested list."""
    values = scale * np.asarray(values, float)
    sd = np.nanstd(values, axis=-1, ddof=1) if values.shape[-1] > 1 else np.zeros(values.shape[:-1])
    return np.nanmean(values, axis=-1), sd


def _errorbar(ax, x, per_seed, arm, scale=100.0):
    color, line, marker, label = STYLE[arm]
    mean, sd = _mean_sd(per_seed, scale)
    ax.errorbar(x, mean, yerr=sd, color=color, ls=line, marker=marker, ms=4, capsize=3, label=label)


def _init_scale(r, lr, out):
    """Accuracy against a, and the three measurements that explain it."""
    a = np.asarray(r["scales"])
    hidden = len(r["layers"]) - 1
    fig = Figure(figsize=(WIDTH, 3.9), layout="constrained")
    (ax_acc, ax_rel), (ax_var, ax_grow) = fig.subplots(2, 2, sharex=True)
    for arm in ARMS:
        _errorbar(ax_acc, a, r[arm]["val_accuracy"], arm)
        diverged = np.asarray(r[arm]["diverged"]).any(axis=1)
        if diverged.any():
            ax_acc.plot(a[diverged], np.full(diverged.sum(), 10.0), "kx", ms=7, mew=1.5, label="diverged")
    ax_acc.axvspan(min(r["he_scales"]), max(r["he_scales"]), color="0.85", zorder=0, label="He's std")
    ax_acc.set(ylabel="validation accuracy (%)", title="(a) accuracy after training", ylim=(0, 100))
    for arm in ARMS:
        color, line, marker, label = STYLE[arm]
        rel = lr * np.asarray(r[arm]["rel_grad"])[:, :, :hidden].mean(axis=(1, 2))
        ax_rel.plot(a, rel, color=color, ls=line, marker=marker, ms=4, label=label)
    rel_bn = lr * np.asarray(r["bn"]["rel_grad"])[:, :, :hidden].mean(axis=(1, 2))
    ax_rel.plot(a, rel_bn[-1] * (a / a[-1]) ** -2.0, "k:", label="$\\propto 1/a^2$")
    ax_rel.set(yscale="log", ylabel="lr $\\|dW\\|/\\|W\\|$", title="(b) size of the first update")
    ax_rel.legend(handles=ax_rel.get_lines()[-1:], loc="lower left")
    handles, labels = ax_acc.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels))
    var = np.asarray(r["bn"]["pre_var"])[:, :, :hidden].mean(axis=1).min(axis=1)
    ax_var.plot(a, var / r["eps"], color="C0", marker="o", ms=4, label="smallest over hidden layers")
    ax_var.axhline(1.0, color="k", lw=1.5, label="var $= \\epsilon$")
    ax_var.set(yscale="log", ylabel="var$(Wx)/\\epsilon$", title="(c) variance before batch norm")
    ax_var.legend(loc="upper left")
    growth = [[g if g is not None else np.nan for g in seeds] for seeds in r["bn"]["weight_growth"]]
    _errorbar(ax_grow, a, growth, "bn", scale=1.0)
    ax_grow.axhline(1.0, color="0.5", lw=1)
    ax_grow.set(yscale="log", ylabel="$\\|W\\|_{end}/\\|W\\|_{init}$", title="(d) weight growth, batch norm")
    for ax in (ax_acc, ax_rel, ax_var, ax_grow):
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    for ax in (ax_var, ax_grow):
        ax.set_xlabel("std $a$ of the initial hidden weights")
    figures.save(fig, out / "init_scale.png")


def _batch_size(r, out):
    b = np.asarray(r["batch_sizes"])
    fig = Figure(figsize=(WIDTH, 2.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, lr_arm in zip(axes, ("fixed", "scaled")):
        for arm in ARMS:
            per_seed = [[s["val_accuracy"] for s in seeds] for seeds in r["runs"][lr_arm][arm]]
            _errorbar(ax, b, per_seed, arm)
        if lr_arm == "fixed":
            title = f"(a) lr {r['lr']['fixed'][0]:g} at every B"
        else:
            title = f"(b) lr $\\times B/{r['reference_batch']}$ ({r['lr']['scaled'][0]:g} to {r['lr']['scaled'][-1]:g})"
        ax.set(xscale="log", xlabel="batch size B", title=title)
        ax.set_xticks(b, [str(v) for v in b])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy (%)")
    axes[0].legend(loc="lower right")
    figures.save(fig, out / "batch_size.png")


def _modes(r, out):
    fig = Figure(figsize=(WIDTH, 2.2), layout="constrained")
    ax_size, ax_diff = fig.subplots(1, 2)
    sizes = np.asarray(r["eval_batch_sizes"])
    mean, sd = _mean_sd(np.swapaxes(r["by_batch_size"], 0, 1), 100)
    ax_size.errorbar(
        sizes, mean, yerr=sd, color="C1", ls="--", marker="s", ms=4, capsize=3, label="batch statistics"
    )
    final, final_sd = _mean_sd([c[-1] for c in r["curves"]["running"]], 100)
    ax_size.axhline(final, color="C0", label="running statistics")
    ax_size.axhspan(final - final_sd, final + final_sd, color="C0", alpha=0.2)
    ax_size.set(xscale="log", xlabel="evaluation batch size", ylabel="accuracy (%)", ylim=(0, 100))
    ax_size.set_title("(a) after training, by evaluation batch")
    ax_size.set_xticks(sizes, [str(v) for v in sizes])
    ax_size.minorticks_off()
    ax_size.grid(alpha=0.3)
    ax_size.legend(loc="lower right")
    epochs = np.arange(1, len(r["curves"]["running"][0]) + 1)
    diff = 100 * (np.asarray(r["curves"]["running"]) - np.asarray(r["curves"]["batch"]))
    for seed_diff in diff:
        ax_diff.plot(epochs, seed_diff, color="0.6", lw=1, marker=".")
    mean, sd = _mean_sd(diff.T)
    ax_diff.errorbar(
        epochs, mean, yerr=sd, color="k", marker="o", ms=4, capsize=3, label="mean (grey: seeds)"
    )
    ax_diff.axhline(0, color="0.5", lw=1)
    ax_diff.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_diff.set(xlabel="epoch", ylabel="difference (points)")
    ax_diff.set_title(f"(b) running $-$ batch of {r['eval_batch']}")
    ax_diff.grid(alpha=0.3)
    figures.save(fig, out / "modes.png")


def plot(results: dict, out: Path) -> None:
    with matplotlib.rc_context(RC):
        _init_scale(results["init_scale"], results["setup"]["lr"], out)
        _batch_size(results["batch_size"], out)
        _modes(results["modes"], out)
