"""im2col and col2im on a 5x5 example: what the fast convolution's two helpers do (the assignment's
Figures 2 and 3), drawn from fnn's own functions.

Question: how do im2col and col2im turn a convolution into a matrix product and back, and why
does col2im add? Input: one 5x5 single-channel image whose pixels hold their own numbers 1..25
(so every entry of the column matrix names the pixel it was copied from; 0 is padding). For
each (kernel, stride, padding) example, `fnn.im2col.im2col` gives the column matrix and
`fnn.im2col.col2im` of all-ones columns gives, per pixel, how many windows cover it. Also
checked: col2im(im2col(x)) = counts * x (col2im is not an inverse), and the adjoint identity
<im2col(x), c> = <x, col2im(c)> for a random c. Figure: im2col.png (per example: the input
with the first windows outlined, the column matrix in the assignment's orientation, the
overlap counts on one colour scale for all examples).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from experiments import common, latex
from fnn import plots
from fnn.im2col import col2im, im2col

WINDOW_COLOURS = ("tab:red", "tab:green", "tab:brown", "tab:purple")  # first three windows, and the last
WINDOW_LINES = ("-", "--", ":", "-.")
# the assignment's Figure 2: kernel 2, stride 1, no padding, one channel, on a 6x6 image (a 5x5 output)
FIGURE_2 = {"size": 6, "kernel": 2, "stride": 1, "padding": 0, "channels": 1}


@dataclasses.dataclass(frozen=True)
class Config:
    size: int = 5
    kernels: tuple = (2, 3)  # example i uses kernels[i], strides[i], paddings[i]
    strides: tuple = (1, 2)
    paddings: tuple = (0, 1)
    seed: int = 0  # draws the random columns of the adjoint check


QUICK = {"kernels": (2,), "strides": (1,), "paddings": (0,)}


def _example(size: int, k: int, s: int, p: int, rng: np.random.Generator) -> dict:
    """im2col and col2im of one (k, s, p) on the numbered size x size image."""
    x = jnp.arange(1, size * size + 1, dtype=jnp.float32).reshape(1, size, size, 1)
    pair = ((k, k), (s, s), (p, p))
    cols = im2col(x, *pair)  # (1, H_out, W_out, k k C): one row per window
    _, H_out, W_out, patch = cols.shape
    counts = col2im(jnp.ones_like(cols), x.shape, *pair)
    roundtrip = col2im(cols, x.shape, *pair)
    c = jnp.asarray(rng.standard_normal(cols.shape), jnp.float32)
    lhs, rhs = float(jnp.vdot(cols, c)), float(jnp.vdot(x, col2im(c, x.shape, *pair)))
    fnn_matrix = np.asarray(cols).reshape(H_out * W_out, patch)
    return {
        "kernel": k,
        "stride": s,
        "padding": p,
        "H_out": H_out,
        "W_out": W_out,
        "input": np.asarray(x[0, :, :, 0]).tolist(),
        "fnn_matrix": fnn_matrix.tolist(),  # (H_out W_out, k k C): fnn's layout
        "assignment_matrix": fnn_matrix.T.tolist(),  # (k k C, H_out W_out): the assignment's M
        "counts": np.asarray(counts[0, :, :, 0]).tolist(),
        "roundtrip_minus_counts_times_x": float(jnp.abs(roundtrip - counts * x).max()),
        "adjoint_relative_difference": abs(lhs - rhs) / max(abs(lhs), abs(rhs)),
    }


def run(config: Config) -> dict:
    if not len(config.kernels) == len(config.strides) == len(config.paddings):
        raise ValueError("kernels, strides and paddings must have one entry per example")
    rng = np.random.default_rng(config.seed)
    examples = [
        _example(config.size, k, s, p, rng)
        for k, s, p in zip(config.kernels, config.strides, config.paddings)
    ]
    return {"size": config.size, "channels": 1, "examples": examples}


def _title(e: dict) -> str:
    return f"k = {e['kernel']}, s = {e['stride']}, p = {e['padding']}"


def _title_tex(e: dict) -> str:
    return f"$k = {e['kernel']}$, $s = {e['stride']}$, $p = {e['padding']}$"


def _shown_windows(e: dict) -> list[int]:
    n = e["H_out"] * e["W_out"]
    return sorted({0, 1, 2, n - 1} & set(range(n)))


def plot(results: dict, out: Path) -> None:
    examples, size = results["examples"], results["size"]
    top = max(max(map(max, e["counts"])) for e in examples)
    widths = [1, 2.2, 1.15]  # drawn for the page width: 11 inches, fonts of 9-11 points
    fig = Figure(figsize=(11, 3.6 * len(examples)))
    axes = fig.subplots(len(examples), 3, squeeze=False, gridspec_kw={"width_ratios": widths})
    for row, e in zip(axes, examples):
        k, s, p = e["kernel"], e["stride"], e["padding"]
        ax_in, ax_cols, ax_counts = row
        # (a) the (padded) input, numbered pixels, and the first windows outlined
        padded = np.pad(np.asarray(e["input"]), p)
        extent = (-p - 0.5, size + p - 0.5, size + p - 0.5, -p - 0.5)
        background = np.pad(np.ones((size, size)), p, constant_values=0.75)  # padding drawn gray
        ax_in.imshow(background, cmap="Greys_r", vmin=0, vmax=1, extent=extent)
        for (i, j), value in np.ndenumerate(padded):
            grey = "dimgray" if value == 0 else "k"
            ax_in.text(j - p, i - p, f"{value:.0f}", ha="center", va="center", fontsize=9, color=grey)
        for n, window in enumerate(_shown_windows(e)):
            o, q = divmod(window, e["W_out"])
            inset = 0.06 * (n + 1)
            ax_in.add_patch(
                Rectangle(
                    (s * q - p - 0.5 + inset, s * o - p - 0.5 + inset),
                    k - 2 * inset,
                    k - 2 * inset,
                    fill=False,
                    lw=2.5,
                    ls=WINDOW_LINES[n],
                    color=WINDOW_COLOURS[n],
                )
            )
        note = "\ngray: zero padding" if p else "\nno padding"
        ax_in.set_title(f"input {size}x{size}, {_title(e)}{note}", fontsize=10)
        ax_in.set(xticks=[], yticks=[])
        # (b) the column matrix, the assignment's orientation: one column per window
        matrix = np.asarray(e["assignment_matrix"])
        shade = np.zeros(matrix.shape)
        ax_cols.imshow(shade, cmap="Greys", vmin=0, vmax=1, aspect="auto")
        for n, window in enumerate(_shown_windows(e)):
            ax_cols.axvspan(window - 0.5, window + 0.5, color=WINDOW_COLOURS[n], alpha=0.25)
        for (i, j), value in np.ndenumerate(matrix):
            grey = "gray" if value == 0 else "k"
            ax_cols.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=9, color=grey)
        ax_cols.set(xticks=range(matrix.shape[1]), yticks=range(matrix.shape[0]))
        ax_cols.set_xlabel(f"window t (h_out w_out = {e['H_out']} x {e['W_out']} columns)", fontsize=10)
        ax_cols.set_ylabel("offset (i, j)", fontsize=10)
        ax_cols.set_title(
            f"im2col: M, k*k*c = {matrix.shape[0]} rows x {matrix.shape[1]} columns (fnn: the transpose)",
            fontsize=10,
        )
        ax_cols.set_xticklabels(range(matrix.shape[1]), fontsize=9)
        ax_cols.set_yticklabels([f"({i // k},{i % k})" for i in range(matrix.shape[0])], fontsize=9)
        # (c) col2im of all-ones columns: windows covering each pixel
        counts = np.asarray(e["counts"])
        image = ax_counts.imshow(counts, cmap="Blues", vmin=0, vmax=top)
        for (i, j), value in np.ndenumerate(counts):
            ink = "white" if value > top / 2 else "k"
            ax_counts.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=10, color=ink)
        ax_counts.set_title("col2im(all-ones columns):\nwindows covering each pixel", fontsize=10)
        ax_counts.set(xticks=[], yticks=[])
        fig.colorbar(
            image,
            ax=ax_counts,
            fraction=0.046,
            pad=0.04,
            ticks=range(int(top) + 1),
        ).set_label("count (one scale for all rows)", fontsize=9)
    fig.tight_layout()
    plots.save(fig, out / "im2col.png")


def _figure_2_words(r: dict) -> str:
    """How the first example relates to the assignment's Figure 2 (FIGURE_2), from the data."""
    e, f = r["examples"][0], FIGURE_2
    same = (e["kernel"], e["stride"], e["padding"], r["channels"]) == (
        f["kernel"],
        f["stride"],
        f["padding"],
        f["channels"],
    )
    if not same:
        return ""
    out = (f["size"] + 2 * f["padding"] - f["kernel"]) // f["stride"] + 1
    if r["size"] == f["size"]:
        return (
            f" The first is the assignment's Figure 2 setting ($k = {f['kernel']}$, $s = {f['stride']}$, "
            f"$c = {f['channels']}$ on a ${f['size']}\\times{f['size']}$ image)."
        )
    return (
        f" The first uses the same $k = {f['kernel']}$, $s = {f['stride']}$, $c = {f['channels']}$ as the "
        f"assignment's Figure 2, which has a ${f['size']}\\times{f['size']}$ image "
        f"($h_\\mathrm{{out}} = w_\\mathrm{{out}} = {out}$); the ${r['size']}\\times{r['size']}$ image here "
        f"gives ${e['H_out']}\\times{e['W_out']}$."
    )


def section(r: dict) -> str:
    """The LaTeX of the im2col/col2im section, from results.json."""
    examples, size = r["examples"], r["size"]

    def describe(e: dict) -> str:
        counts = np.asarray(e["counts"])
        values, number = np.unique(counts, return_counts=True)
        spread = ", ".join(
            f"{n} pixels covered {v:.0f} time{'s' * bool(v != 1)}" for v, n in zip(values, number)
        )
        rows, columns = np.asarray(e["assignment_matrix"]).shape
        zeros = int(np.sum(np.asarray(e["assignment_matrix"]) == 0))
        pad_words = f", {zeros} of its entries are padding zeros" if zeros else ""
        return (
            f"With $k = {e['kernel']}$, $s = {e['stride']}$, $p = {e['padding']}$ the output is "
            f"${e['H_out']}\\times{e['W_out']}$, so $M$ has $k^2 c = {rows}$ rows and "
            f"$h_\\mathrm{{out}} w_\\mathrm{{out}} = {columns}$ columns{pad_words}; col2im of all-ones "
            f"columns gives {spread} (in all {int(counts.sum())}, the number of non-padding entries of $M$)."
        )

    checks = max(e["roundtrip_minus_counts_times_x"] for e in examples)
    adjoint = max(e["adjoint_relative_difference"] for e in examples)
    exact = "exactly, here" if checks == 0 else f"here to within {checks:.1g}"
    if adjoint == 0:
        adjoint_words = "0"
    else:
        exponent = int(np.floor(np.log10(adjoint)))
        adjoint_words = f"${adjoint / 10**exponent:.1f} \\times 10^{{{exponent}}}$, float32 rounding"
    interior = max(max(map(max, e["counts"])) for e in examples)
    return f"""\\section{{im2col and col2im}}\\label{{sec:exp-im2col}}

\\paragraph{{Question.}} How do the two helpers of the fast convolution turn it into one matrix
product, and why does col2im add where im2col copies? (The assignment's Figures 2 and 3.)

\\paragraph{{Setup.}} One ${size}\\times{size}$ image with $c = {r["channels"]}$ channel whose pixels
hold their own numbers $1, \\dots, {size * size}$, so that every entry of the column matrix names the
pixel it was copied from (0 is zero padding). Figure~\\ref{{fig:im2col-im2col}} draws, from fnn's own
\\texttt{{fnn.im2col.im2col}} and \\texttt{{col2im}}, {len(examples)} example{"s" * (len(examples) > 1)}:
{"; ".join(_title_tex(e) for e in examples)}.{_figure_2_words(r)}

\\paragraph{{im2col.}} The window slides over the (padded) input in row-major order; the content of
window number $t = o\\,w_\\mathrm{{out}} + q$ (top-left corner at row $s o - p$, column $s q - p$) is
read in the order of its offsets $(i, j)$ (then channel) and becomes column $t$ of the assignment's
matrix $M$, of $k^2 c$ rows and $h_\\mathrm{{out}} w_\\mathrm{{out}}$ columns (middle panels; the
outlined windows are the coloured columns). fnn stores the transpose: \\texttt{{im2col}} returns
$(N, H_\\mathrm{{out}}, W_\\mathrm{{out}}, k_h k_w C_\\mathrm{{in}})$, one \\emph{{row}} per window,
ordered $(i, j, c)$ so that the HWIO kernel reshaped to $(k_h k_w C_\\mathrm{{in}}, C_\\mathrm{{out}})$
multiplies it: the convolution is one product $y = \\mathrm{{cols}}\\,W + b$ of a
$(N H_\\mathrm{{out}} W_\\mathrm{{out}}) \\times (k^2 C_\\mathrm{{in}})$ matrix with a
$(k^2 C_\\mathrm{{in}}) \\times C_\\mathrm{{out}}$ one, and reshaping its rows gives the output feature
map. {" ".join(describe(e) for e in examples)}

\\paragraph{{col2im, and why it adds.}} col2im takes a matrix shaped like $M$ and puts each column back
where its window came from, \\emph{{adding}} where windows overlap (the assignment's Figure 3). The right
panels apply it to all-ones columns: the result counts how many windows cover each pixel (up to
{interior:.0f} here), which is how many copies of that pixel im2col made. In the backward pass each copy
receives its own gradient from the matrix product, and the chain rule sums the gradients of all copies
of a variable, so $dx = \\mathrm{{col2im}}(d\\mathrm{{cols}})$. col2im is therefore the
\\emph{{adjoint}} of im2col, not its inverse: $\\mathrm{{col2im}}(\\mathrm{{im2col}}(x)) =
\\mathrm{{counts}} \\odot x$ ({exact}), and
$\\langle \\mathrm{{im2col}}(x), c\\rangle = \\langle x, \\mathrm{{col2im}}(c)\\rangle$ for a random $c$
(relative difference {adjoint_words}). Padding entries are dropped on the way back: they
are constants, not inputs.

{latex.figure("im2col", "im2col.png", _caption(r), width=1.0)}"""


def _caption(r: dict) -> str:
    return (
        f"im2col and col2im from fnn's functions on a ${r['size']}\\times{r['size']}$ image whose pixels "
        "hold their numbers; one row per example (" + "; ".join(_title_tex(e) for e in r["examples"]) + "). "
        "Left: the input (gray: zero padding) with windows $t = 0, 1, 2$ (red solid, green dashed, brown "
        "dotted) and the last window (purple dash-dot) outlined; windows are numbered in row-major order "
        "of their output position. Middle: the column matrix $M$ in the assignment's orientation, "
        "$k^2 c$ rows (offsets $(i, j)$ in the window) by $h_\\mathrm{out} w_\\mathrm{out}$ columns (window $t$), "
        "the outlined windows shaded in their colours; fnn's array is its transpose. Right: col2im of "
        "all-ones columns, the number of windows covering each pixel, on one colour scale for all rows."
    )


def main(argv=None) -> Path:
    return common.main("im2col", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
