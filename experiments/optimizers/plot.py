"""Figures of experiments.optimizers, from results.json alone, sized to print at the text width
(6.3 in) with every text at 8 pt or more.

lr_sweep.png: final loss against lr and against eta; gap.png: momentum minus SGD at equal eta,
per seed; quadratic.png: the loss per step; loss.png: the five
optimizers' training loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments import figures, stats
from experiments.optimizers.run import best, ok

LABELS = {"sgd": "SGD", "momentum": "momentum", "nesterov": "Nesterov", "rmsprop": "RMSProp", "adam": "Adam"}
STYLES = {  # colour, line style, marker: told apart in colour and in grey
    "sgd": ("tab:blue", "-", "o"),
    "momentum": ("tab:orange", "--", "s"),
    "nesterov": ("tab:green", "-.", "^"),
    "rmsprop": ("tab:red", ":", "v"),
    "adam": ("tab:purple", (0, (5, 1, 1, 1, 1, 1)), "D"),
}
FONT = 8  # pt, at print size: every figure here is drawn at the size it is printed
WIDTH = 6.3  # in, the report's text width


def _style(fig: Figure) -> None:
    for ax in fig.axes:
        ax.tick_params(labelsize=FONT)
        ax.xaxis.label.set_size(FONT + 1)
        ax.yaxis.label.set_size(FONT + 1)
        ax.title.set_size(FONT + 1)


def _sweep_figure(results: dict) -> Figure:
    setup = results["setup"]
    fig = Figure(figsize=(WIDTH, 2.9), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key in zip(axes, ("lr", "effective_lr")):
        top = ax.get_xaxis_transform()  # x in data, y in axes fraction: diverged rates sit at the top
        for name, entries in results["sweep"].items():
            color, line, marker = STYLES[name]
            stable = [e for e in entries if ok(e)]
            mean = [np.mean(e["final_loss"]) for e in stable]
            ax.plot(
                [e[key] for e in stable], mean, color=color, ls=line, marker=marker, ms=4, label=LABELS[name]
            )
            for e in entries:
                if not ok(e):
                    ax.plot(e[key], 0.93, marker="x", color=color, ms=7, mew=2, transform=top, ls="none")
            b = best(entries)
            if b is not None:
                ax.plot(b[key], np.mean(b["final_loss"]), marker="*", color=color, ms=12, mec="k", ls="none")
        ax.axhline(setup["chance_loss"], color="grey", ls=":", lw=1)
        ax.set(xscale="log", yscale="log")
        ax.grid(alpha=0.3, which="both")
    axes[0].plot([], [], "kx", ls="none", label="diverged")
    axes[0].plot([], [], "k*", ls="none", ms=8, label="best rate")
    axes[0].plot([], [], color="grey", ls=":", label="ln 10 (uniform guess)")
    axes[0].legend(fontsize=FONT, loc="lower left")
    axes[0].set(xlabel="learning rate lr", ylabel="final training loss")
    axes[1].set_xlabel(f"effective rate lr / (1 - mu), mu = {setup['mu']:g}")
    axes[0].set_title("at the same lr")
    axes[1].set_title("at the same effective rate")
    _style(fig)
    return fig


def _gap_figure(results: dict) -> Figure:
    sgd = {e["effective_lr"]: e for e in results["sweep"]["sgd"] if ok(e)}
    mom = {e["effective_lr"]: e for e in results["sweep"]["momentum"] if ok(e)}
    etas = sorted(set(sgd) & set(mom))
    fig = Figure(figsize=(4.4, 2.4), layout="constrained")
    ax = fig.subplots()
    for eta in etas:
        p = stats.paired(sgd[eta]["final_loss"], mom[eta]["final_loss"])
        ax.plot([eta] * p.n, p.diffs, "o", color="tab:orange", ms=3.5, alpha=0.6, mew=0)
        if p.n > 1:
            ax.errorbar(eta, p.mean, yerr=[[p.mean - p.lo], [p.hi - p.mean]], color="k", capsize=3, lw=1)
        ax.plot(eta, p.mean, "_", color="k", ms=10, mew=1.5)
    ax.axhline(0, color="grey", lw=1)
    ax.plot([], [], "o", color="tab:orange", ms=3.5, label="one seed")
    ax.errorbar([], [], yerr=[], color="k", capsize=3, lw=1, label="mean, 95% interval")
    ax.legend(fontsize=FONT, loc="upper right")
    ax.set(xscale="log", xlabel="effective rate", ylabel="momentum − SGD\nfinal loss")
    ax.grid(alpha=0.3, which="both")
    _style(fig)
    return fig


def _quadratic_figure(results: dict) -> Figure:
    q = results["quadratic"]
    runs = {(r["scenario"], r["optimizer"]): r for r in q["runs"]}
    fig = Figure(figsize=(4.4, 2.6), layout="constrained")
    ax = fig.subplots()
    for scenario, width in (("same effective lr", 0.9), ("largest stable lr", 1.8)):
        for name in ("sgd", "momentum"):
            color, line, _ = STYLES[name]
            ax.plot(runs[scenario, name]["loss"], color=color, ls=line, lw=width)
    for name in ("sgd", "momentum"):
        ax.plot([], [], color=STYLES[name][0], ls=STYLES[name][1], label=LABELS[name])
    ax.plot([], [], color="k", lw=0.9, label="same effective rate")
    ax.plot([], [], color="k", lw=1.8, label=f"{q['below']:g} of each limit")
    ax.set(yscale="log", xlabel="step", ylabel="f(w)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT, loc="lower left")
    _style(fig)
    return fig


def _loss_figure(results: dict) -> Figure:
    setup, window = results["setup"], results["setup"]["smooth"]
    fig = Figure(figsize=(WIDTH, 2.9), layout="constrained")
    ax = fig.subplots()
    for name, c in results["compare"].items():
        curves = [b for b in c["batch_losses"] if b is not None]
        if not curves:
            continue
        smoothed = np.array([np.convolve(b, np.ones(window) / window, mode="valid") for b in curves])
        mean = smoothed.mean(axis=0)
        sd = smoothed.std(axis=0, ddof=1) if len(smoothed) > 1 else np.zeros_like(mean)
        x = (np.arange(len(mean)) + window) / setup["steps_per_epoch"]
        color, line, _ = STYLES[name]
        ax.plot(x, mean, color=color, ls=line, lw=1.3, label=f"{LABELS[name]}, lr {c['lr']:g}")
        ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    ax.set(
        yscale="log",
        xlim=(0, setup["compare_epochs"]),
        xlabel="epoch",
        ylabel=f"training loss ({window}-step average)",
    )
    ax.set_xticks(range(setup["compare_epochs"] + 1))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=FONT)
    _style(fig)
    return fig


def plot(results: dict, out: Path) -> None:
    figures.save(_sweep_figure(results), out / "lr_sweep.png")
    figures.save(_gap_figure(results), out / "gap.png")
    figures.save(_quadratic_figure(results), out / "quadratic.png")
    figures.save(_loss_figure(results), out / "loss.png")
