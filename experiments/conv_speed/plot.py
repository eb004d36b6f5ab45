"""The convolution timing figure, from results.json alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments import figures

KINDS = ("forward", "forward_backward")
NAMES = {
    "python_loop": "Python loop (NumPy)",
    "naive": "naive loop (compiled by XLA)",
    "direct": "direct (9 offsets)",
    "im2col": "im2col",
    "xla": "xla",
    "winograd": "winograd",
}
STYLE = {  # colour and hatch per impl, told apart in print and in colour
    "python_loop": ("black", ""),
    "naive": ("tab:red", "xx"),
    "direct": ("tab:orange", "//"),
    "im2col": ("tab:blue", ""),
    "xla": ("tab:green", ".."),
    "winograd": ("tab:purple", "\\\\"),
}


def _bars(ax, positions, values, low_high, width, name):
    colour, hatch = STYLE.get(name, ("gray", ""))
    values, low_high = np.asarray(values), np.asarray(low_high)
    ax.bar(
        positions,
        values,
        width,
        yerr=[values - low_high[:, 0], low_high[:, 1] - values],
        capsize=1.5,
        color=colour,
        hatch=hatch,
        edgecolor="k",
        lw=0.4,
        error_kw={"lw": 0.8},
        label=NAMES.get(name, name),
    )


def _style(ax, title, ylabel):
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot(results: dict, out: Path) -> None:
    """speed.png: times per configuration, memory, and the Python loop (printed 6.3 in wide)."""
    rows, impls = results["rows"], results["impls"]
    labels = [f"{r['size']}², {r['batch']}" for r in rows]
    fig = Figure(figsize=(6.3, 5.8), layout="constrained")
    axes = fig.subplot_mosaic([["forward", "forward_backward"], ["memory", "python"]])
    width = 0.8 / len(impls)
    positions = np.arange(len(rows))
    for kind in KINDS:
        ax = axes[kind]
        for i, impl in enumerate(impls):
            _bars(
                ax,
                positions + (i - (len(impls) - 1) / 2) * width,
                [r[f"{impl}_{kind}_ms"] for r in rows],
                [r[f"{impl}_{kind}_iqr_ms"] for r in rows],
                width,
                impl,
            )
        _style(ax, kind.replace("_", " + "), "ms per call")
        ax.set_xticks(positions, labels, fontsize=8, rotation=30)
    ax = axes["memory"]
    mib = 2.0**20
    series = {
        "input x": ([r["input_bytes"] / mib for r in rows], "lightgray", ""),
        "im2col columns": ([r["im2col_bytes"] / mib for r in rows], "tab:brown", "--"),
        "im2col fwd+bwd temporaries": (
            [(r["im2col_forward_backward_temp_bytes"] or 0) / mib for r in rows],
            "tab:cyan",
            "++",
        ),
        "xla fwd+bwd temporaries": (
            [(r["xla_forward_backward_temp_bytes"] or 0) / mib for r in rows],
            "tab:olive",
            "oo",
        ),
    }
    w = 0.8 / len(series)
    for i, (name, (values, colour, hatch)) in enumerate(series.items()):
        ax.bar(
            positions + (i - (len(series) - 1) / 2) * w,
            values,
            w,
            color=colour,
            hatch=hatch,
            edgecolor="k",
            lw=0.4,
            label=name,
        )
    _style(ax, "memory (float32)", "MiB")
    top = max(max(values) for values, _, _ in series.values())
    ax.set_ylim(top=top * 300)  # room for the legend above the bars
    ax.set_xticks(positions, labels, fontsize=8, rotation=30)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    loop = results.get("python_loop")
    ax = axes["python"]
    if loop:
        names = ["python_loop", *impls]
        for i, name in enumerate(names):
            entry = loop["forward"][name]
            _bars(ax, [i], [entry["median_ms"]], [entry["iqr_ms"]], 0.7, name)
        ax.set_xticks([])
        _style(
            ax,
            f"forward at {loop['size']}², batch {loop['batch']}, {loop['c_in']}→{loop['c_out']} ch.",
            "ms per call",
        )
    else:
        ax.axis("off")
    handles, names = axes["python"].get_legend_handles_labels()
    if not handles:
        handles, names = axes["forward"].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    figures.save(fig, out / "speed.png")
