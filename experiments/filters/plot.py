"""The filter and feature-map figures, from results.json alone (printed 6.3 in wide)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments import figures


def _grid(fig, images, columns, cmap, label, axes=None):
    """images on one colour scale (symmetric around 0 for "bwr"), with a colour bar."""
    images = np.asarray(images, float)
    rows = max(1, int(np.ceil(len(images) / columns)))
    axes = fig.subplots(rows, columns, squeeze=False) if axes is None else axes
    bound = float(np.abs(images).max()) or 1.0
    vmin, vmax = (-bound, bound) if cmap == "bwr" else (0.0, float(images.max()) or 1.0)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image in zip(axes.flat, images):
        shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
    bar = fig.colorbar(shown, ax=axes, shrink=0.85, pad=0.02)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=8)


def plot(results: dict, out: Path) -> None:
    filters = np.asarray(results["filters"])
    fig = Figure(figsize=(6.3, 3.2), layout="constrained")
    _grid(fig, filters, 8, "bwr", "weight")
    fig.suptitle(f"conv1: the {len(filters)} learned 3x3 filters", fontsize=9)
    figures.save(fig, out / "filters.png")
    for name, maps in results["feature_maps"].items():
        maps = np.asarray(maps)
        rows = int(np.ceil(len(maps) / 8))
        fig = Figure(figsize=(6.3, 0.75 * rows + 0.5), layout="constrained")
        digit_ax, maps_fig = fig.subfigures(1, 2, width_ratios=[1, 4.2])
        ax = digit_ax.subplots()
        ax.imshow(np.asarray(results["digit"]), cmap="gray_r")
        ax.set_title(f"input: a {results['digit_label']}", fontsize=9)
        ax.axis("off")
        _grid(maps_fig, maps, 8, "viridis", "activation")
        maps_fig.suptitle(f"{name} + ReLU: {len(maps)} feature maps", fontsize=9)
        figures.save(fig, out / f"features_{name}.png")
