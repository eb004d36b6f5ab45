"""The im2col/col2im figure, from results.json alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from experiments import figures

WINDOW_COLOURS = ("tab:red", "tab:green", "tab:brown", "tab:purple")  # first three windows, and the last
WINDOW_LINES = ("-", "--", ":", "-.")


def _shown_windows(e: dict) -> list[int]:
    n = e["H_out"] * e["W_out"]
    return sorted({0, 1, 2, n - 1} & set(range(n)))


def plot(results: dict, out: Path) -> None:
    """im2col.png: one row per example (printed 6.3 in wide; numbers at 8 points)."""
    examples, size = results["examples"], results["size"]
    top = max(max(map(max, e["counts"])) for e in examples)
    fig = Figure(figsize=(6.3, 2.3 * len(examples)), layout="constrained")
    axes = fig.subplots(len(examples), 3, squeeze=False, gridspec_kw={"width_ratios": [1.15, 2.6, 1]})
    for row, e in zip(axes, examples):
        k, s, p = e["kernel"], e["stride"], e["padding"]
        ax_in, ax_cols, ax_counts = row
        # the (padded) input, numbered pixels, and the first windows outlined
        padded = np.pad(np.asarray(e["input"]), p)
        extent = (-p - 0.5, size + p - 0.5, size + p - 0.5, -p - 0.5)
        background = np.pad(np.ones((size, size)), p, constant_values=0.8)  # padding drawn grey
        ax_in.imshow(background, cmap="Greys_r", vmin=0, vmax=1, extent=extent)
        for (i, j), value in np.ndenumerate(padded):
            ax_in.text(
                j - p,
                i - p,
                f"{value:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="dimgray" if value == 0 else "k",
            )
        for n, window in enumerate(_shown_windows(e)):
            o, q = divmod(window, e["W_out"])
            inset = 0.07 * (n + 1)
            ax_in.add_patch(
                Rectangle(
                    (s * q - p - 0.5 + inset, s * o - p - 0.5 + inset),
                    k - 2 * inset,
                    k - 2 * inset,
                    fill=False,
                    lw=1.8,
                    ls=WINDOW_LINES[n],
                    color=WINDOW_COLOURS[n],
                )
            )
        ax_in.set_title(f"input, k={k} s={s} p={p}", fontsize=9)
        ax_in.set(xticks=[], yticks=[])
        # the column matrix in the assignment's orientation: one column per window
        matrix = np.asarray(e["assignment_matrix"])
        ax_cols.imshow(np.zeros(matrix.shape), cmap="Greys", vmin=0, vmax=1, aspect="auto")
        for n, window in enumerate(_shown_windows(e)):
            ax_cols.axvspan(window - 0.5, window + 0.5, color=WINDOW_COLOURS[n], alpha=0.25)
        for (i, j), value in np.ndenumerate(matrix):
            ax_cols.text(
                j,
                i,
                f"{value:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="gray" if value == 0 else "k",
            )
        ax_cols.set_xticks(range(matrix.shape[1]), range(matrix.shape[1]), fontsize=8)
        ax_cols.set_yticks(
            range(matrix.shape[0]), [f"{i // k},{i % k}" for i in range(matrix.shape[0])], fontsize=8
        )
        ax_cols.set_xlabel("window (column of M)", fontsize=8)
        ax_cols.set_ylabel("offset i,j", fontsize=8)
        ax_cols.set_title(f"im2col: M is {matrix.shape[0]} x {matrix.shape[1]}", fontsize=9)
        # col2im of all-ones columns: windows covering each pixel
        counts = np.asarray(e["counts"])
        ax_counts.imshow(counts, cmap="Blues", vmin=0, vmax=top)
        for (i, j), value in np.ndenumerate(counts):
            ax_counts.text(
                j,
                i,
                f"{value:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > top / 2 else "k",
            )
        ax_counts.set_title("col2im(ones)", fontsize=9)
        ax_counts.set(xticks=[], yticks=[])
    figures.save(fig, out / "im2col.png")
