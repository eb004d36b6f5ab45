"""The activations experiment's figures, from results.json alone, drawn at their printed size
(the report's 6.3-inch text width) with every text at FONT points or more."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from experiments import figures
from experiments.figures import FONT, RC
from experiments.figures import TEXT_WIDTH as WIDTH

DISPLAY = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "elu": "ELU"}
STYLES = {  # colour, line style, marker: every activation is told apart by all three
    "relu": ("C0", "-", "o"),
    "leaky_relu": ("C1", "--", "s"),
    "sigmoid": ("C2", ":", "^"),
    "tanh": ("C3", "-.", "v"),
    "elu": ("C4", (0, (5, 1, 1, 1)), "D"),
}


def _band(ax, x, values, name, scale=1.0):
    """Mean over the seeds (rows of `values`) as a line, +-sd as a shaded band."""
    values = scale * np.asarray(values, float)
    mean = values.mean(axis=0)
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros_like(mean)
    color, line, marker = STYLES[name]
    width = 2.6 if line == "-" else 1.4  # solid lines wider: they show under a curve that coincides
    ax.plot(x, mean, color=color, ls=line, lw=width, marker=marker, ms=3.5, label=DISPLAY[name])
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)


def _step_axis(ax, results):
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(0, results["setup"]["steps"])
    ax.set_xlabel("step (0: initialisation)")
    ax.grid(alpha=0.3)


def _arms(results):
    """(label, activation, test accuracies per seed) for the accuracy figure: every activation's
    main arm, and for sigmoid and tanh also the ReLU recipe (He, the recipe's rate)."""
    out = []
    for name, runs in results["runs"].items():
        sweep = results["sweep"].get(name)
        if sweep is None:
            out.append((DISPLAY[name], name, [r["test_accuracy"] for r in runs], True))
            continue
        he = next(a for a in sweep["arms"] if a["init"] == "he")
        if not any(r["diverged"] for r in he["runs"]):
            out.append((f"{DISPLAY[name]}\nHe", name, [r["test_accuracy"] for r in he["runs"]], False))
        label = f"{DISPLAY[name]}\nXavier"
        out.append((label, name, [r["test_accuracy"] for r in runs], True))
    return out


def _accuracy_figure(results):
    fig = Figure(figsize=(WIDTH, 2.35), layout="constrained")
    ax_acc, ax_sweep = fig.subplots(1, 2, width_ratios=(1.7, 1))
    arms = _arms(results)
    for i, (_, name, acc, filled) in enumerate(arms):
        color, _, marker = STYLES[name]
        dots = 100 * np.asarray(acc)
        face = color if filled else "white"
        ax_acc.plot(
            i + np.linspace(-0.15, 0.15, len(dots)), dots, marker, color=color, mfc=face, ms=4, ls="none"
        )
        ax_acc.plot([i - 0.3, i + 0.3], [dots.mean()] * 2, color="k", lw=1)
    ax_acc.set_xticks(range(len(arms)), [a[0].replace("leaky ", "leaky\n") for a in arms], fontsize=FONT)
    ax_acc.set(ylabel="test accuracy (%)", title="(a) each seed; bar: mean")
    ax_acc.grid(axis="y", alpha=0.3)
    for name, sweep in results["sweep"].items():
        color, line, marker = STYLES[name]
        xavier = [a for a in sweep["arms"] if a["init"] == "xavier"]
        lrs, val = [], []
        for arm in xavier:
            if not any(r["diverged"] for r in arm["runs"]):
                lrs.append(arm["lr"])
                val.append(100 * np.mean([r["val_accuracy"] for r in arm["runs"]]))
        ax_sweep.plot(lrs, val, color=color, ls=line, marker=marker, ms=4, label=f"{DISPLAY[name]}, Xavier")
        he = next(a for a in sweep["arms"] if a["init"] == "he")
        if not any(r["diverged"] for r in he["runs"]):
            he_val = 100 * np.mean([r["val_accuracy"] for r in he["runs"]])
            ax_sweep.plot(
                [he["lr"]], [he_val], marker, color=color, mfc="white", ms=6, label=f"{DISPLAY[name]}, He"
            )
        chosen = val[lrs.index(sweep["selected_lr"])]
        ax_sweep.plot([sweep["selected_lr"]], [chosen], "o", color=color, mfc="none", ms=11, mew=1.2)
        for arm in xavier:
            if any(r["diverged"] for r in arm["runs"]):
                ax_sweep.plot([arm["lr"]], [ax_sweep.get_ylim()[0]], "x", color=color, ms=7, mew=1.5)
    ax_sweep.set(xscale="log", xlabel="peak learning rate", ylabel="validation accuracy (%)")
    rates = results["setup"]["saturating_lrs"]
    ax_sweep.set_xticks(rates, [f"{v:g}" for v in rates])
    ax_sweep.minorticks_off()
    ax_sweep.set_title("(b) sigmoid, tanh: rate sweep")
    ax_sweep.grid(alpha=0.3)
    ax_sweep.legend(loc="lower right")
    return fig


def _per_layer_figure(results, key, layers_, scale, ylabel, log):
    fig = Figure(figsize=(WIDTH, 2.1), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(layers_), sharey=True))
    for ax, layer in zip(axes, layers_):
        for name, runs in results["runs"].items():
            _band(ax, runs[0]["steps"], [r[key][layer] for r in runs], name, scale)
        if log:
            ax.set_yscale("log")
        _step_axis(ax, results)
        ax.set_title(layer)
    axes[0].set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels))
    return fig


def plot(results: dict, out: Path) -> None:
    first = next(iter(results["runs"].values()))[0]
    with matplotlib.rc_context(RC):
        figures.save(_accuracy_figure(results), out / "accuracy.png")
        saturation = _per_layer_figure(
            results, "saturated", list(first["saturated"]), 100, "saturated inputs (%)", log=False
        )
        figures.save(saturation, out / "saturation.png")
        norms = _per_layer_figure(
            results, "grad_norm", list(first["grad_norm"]), 1.0, "$\\|dW\\|$ on the probe batch", log=True
        )
        figures.save(norms, out / "grad_norms.png")
