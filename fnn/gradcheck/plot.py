"""Where a backward is wrong: |manual - autodiff| per element, one row of panels per wrong array.

An image gradient dx (N, H, W, C) gets one panel per channel (the max over the batch); a
kernel (k_h, k_w, C_in, C_out) one per output channel (the max over the input channels);
anything else one panel, as a matrix. A border band, an overlap pattern or a few bad
elements show at a glance. The figure is a `matplotlib.figure.Figure` (no pyplot), saved by
the caller with `fnn.plots.save`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["error_figure"]

MAX_PANELS = 8  # channels drawn per array


def _panels(name: str, error: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(title, 2-D map) per panel of one array's error."""
    if error.ndim == 4:  # dx (N, H, W, C): the max over N; a kernel (k_h, k_w, C_in, C_out): over C_in
        reduced, channel = (0, "channel") if name == "dx" else (2, "out channel")
        return [
            (f"{channel} {c}", error[..., c].max(axis=reduced))
            for c in range(min(error.shape[-1], MAX_PANELS))
        ]
    if error.ndim == 3:
        return [(f"channel {c}", error[..., c]) for c in range(min(error.shape[-1], MAX_PANELS))]
    return [("", error.reshape(error.shape[0], -1) if error.ndim > 1 else error.reshape(1, -1))]


def error_figure(diagnosis):
    """A Figure of |manual - autodiff| (first trial) for every array not "ok" with the right shape.

    Args:
        diagnosis: a `fnn.gradcheck.Diagnosis`.

    Returns:
        A matplotlib Figure; when no array can be drawn, one that says so.
    """
    from matplotlib.figure import Figure

    wrong = [f for f in diagnosis.findings if f.kind != "ok" and f.array in diagnosis.errors]
    if not wrong:
        fig = Figure(figsize=(6, 1.5))
        text = "every gradient agrees with autodiff" if diagnosis.ok else "no wrong array has the right shape"
        fig.text(0.5, 0.5, f"{diagnosis.layer}: {text}", ha="center", va="center")
        return fig
    rows = [(f, _panels(f.array, diagnosis.errors[f.array])) for f in wrong]
    columns = max(len(panels) for _, panels in rows)
    fig = Figure(figsize=(2.4 * columns + 1, 2.4 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for row, (finding, panels) in zip(axes, rows):
        top = max(float(m.max()) for _, m in panels) or 1.0
        for ax, (title, image) in zip(row, panels):
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            shown = ax.imshow(image, cmap="magma", vmin=0, vmax=top, interpolation="nearest")
            ax.set_title(f"{finding.array} ({finding.kind}) {title}".strip(), fontsize=8)
        fig.colorbar(shown, ax=list(row), shrink=0.8)
    fig.suptitle(f"{diagnosis.layer}: |manual - autodiff| per element", fontsize=10)
    return fig
