"""The figure of the finite-difference step study, from results.json alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from experiments import figures
from experiments.gradients.run import DTYPES, FLOOR, STENCILS

COLOURS = {"float32": "tab:red", "float64": "tab:blue"}
STYLES = {"float32": ("o", "-"), "float64": ("s", "--")}


def plot(results: dict, out: Path) -> None:
    """fd_step.png: error against step, one panel per stencil, both dtypes (printed 6.3 in wide)."""
    steps = np.asarray(results["fd_steps"], float)
    fig = Figure(figsize=(6.3, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, p in zip(axes, STENCILS):
        for dtype in DTYPES:
            logs = np.log10(np.maximum(np.asarray(results["fd_errors"][dtype][str(p)], float), FLOOR))
            mean = logs.mean(0)
            sd = logs.std(0, ddof=1) if len(logs) > 1 else np.zeros(len(steps))
            marker, line = STYLES[dtype]
            ax.plot(steps, 10**mean, marker=marker, ls=line, ms=3, lw=1, color=COLOURS[dtype])
            ax.fill_between(steps, 10 ** (mean - sd), 10 ** (mean + sd), color=COLOURS[dtype], alpha=0.2)
            entry = results["fd"][f"{dtype}_{p}"]
            if entry["roundoff_B"] is not None:
                ax.plot(
                    steps, entry["roundoff_B"] * entry["eps"] / steps, ls="-.", lw=1, color=COLOURS[dtype]
                )
            ax.plot(entry["best_step"], entry["best_error"], "*", ms=11, color=COLOURS[dtype], mec="k")
        C = results["fd"][f"float64_{p}"]["truncation_C"]
        if C is not None:
            ax.plot(steps, C * steps**p, ls=":", lw=1.5, color="k")
        ax.axvline(results["gradcheck_step"], color="tab:green", lw=1.5)
        ax.set(xscale="log", yscale="log", ylim=(3e-17, 3), xlabel="step h")
        ax.set_title(f"{STENCILS[p]} difference", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.xaxis.label.set_size(9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("|fd - <dx, v>| / (|dx| |v|)", fontsize=9)
    legend = [
        Line2D([], [], marker="o", ls="-", color=COLOURS["float32"], label="float32"),
        Line2D([], [], marker="s", ls="--", color=COLOURS["float64"], label="float64"),
        Line2D([], [], ls=":", color="k", lw=1.5, label="truncation C h^p"),
        Line2D([], [], ls="-.", color="gray", label="round-off B eps / h"),
        Line2D([], [], marker="*", ls="", ms=10, color="gray", mec="k", label="best step"),
        Line2D([], [], color="tab:green", lw=1.5, label="fnn.gradcheck's step"),
    ]
    fig.legend(handles=legend, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    figures.save(fig, out / "fd_step.png")
