"""Convolution speed: the assignment's naive loop against im2col, XLA's convolution and fnn's other
impls, forward and forward + backward, and the memory of im2col's column matrix.

Question: what does the "fast" im2col formulation buy over the naive loops the assignment
describes, and what does it cost in memory? Contenders, all jitted, float32, 3x3 kernel,
stride 1, padding 1:
- naive: the definition as loops, one output pixel (n, o, q) per iteration, its window times
  all C_out filters (`naive_forward` / `naive_backward` below, a `lax.fori_loop`: unrolled
  Python loops would compile N H_out W_out separate products);
- direct (fnn's impl="direct"): a sum over the k_h k_w = 9 window offsets, each one batched
  matmul over all pixels -- a loop over offsets, not over pixels;
- im2col: every window as a row of the column matrix, one matmul; backward through col2im;
- xla: `lax.conv_general_dilated`, backward by hand with the same primitive;
- winograd: F(2x2, 3x3) (fnn/winograd.py).
Each configuration's functions are timed side by side, contenders alternating round-robin
after warm-up calls; every repeat is kept and summarised by the median and the interquartile
range. Memory: the column matrix (N H_out W_out, k_h k_w C_in) against the input
(N, H_in, W_in, C_in), and the temporary buffers XLA's compiled program allocates per impl.
Figures: speed.png (forward and forward + backward times with interquartile bars; memory).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from matplotlib.figure import Figure

from benchmarks.timing import time_once
from experiments import common, latex
from fnn import layers, plots, runtime
from fnn.im2col import output_size, pad
from fnn.layers.conv import CONV_IMPLS

IMPLS = ("naive", *(impl for impl in CONV_IMPLS if impl != "auto"))  # auto runs one of the others
KINDS = ("forward", "forward_backward")
NAMES = {
    "naive": "naive loop",
    "direct": "direct (9 offsets)",
    "im2col": "im2col",
    "xla": "xla",
    "winograd": "winograd",
}
K = 3  # kernel size; stride 1, padding 1


@dataclasses.dataclass(frozen=True)
class Config:
    sizes: tuple = (7, 14, 28)
    batches: tuple = (32, 128)
    c_in: int = 32
    c_out: int = 64
    repeats: int = 7
    warmup: int = 2
    seed: int = 0


QUICK = {"sizes": (6,), "batches": (2,), "c_in": 3, "c_out": 4, "repeats": 2, "warmup": 1}


def naive_forward(params: dict, x: jax.Array, *, s: tuple, p: tuple) -> jax.Array:
    """The assignment's convolution as loops: for every image n and output pixel (o, q), the
    window xp[n, s o : s o + k_h, s q : s q + k_w, :] times every filter, plus b.

    Args:
        params: {"W": (k_h, k_w, C_in, C_out), "b": (C_out,)}. x: (N, H_in, W_in, C_in).
        s, p: stride and padding, (height, width) pairs.

    Returns:
        y: (N, H_out, W_out, C_out).
    """
    W, b = params["W"], params["b"]
    k_h, k_w, C_in, C_out = W.shape
    N = x.shape[0]
    H_out, W_out = output_size("naive", x.shape[1:3], (k_h, k_w), s, p)
    xp = pad(x, p)

    def pixel(t, y):  # t runs over (n, o, q) in row-major order
        n, o, q = t // (H_out * W_out), (t // W_out) % H_out, t % W_out
        window = lax.dynamic_slice(xp, (n, s[0] * o, s[1] * q, 0), (1, k_h, k_w, C_in))[0]
        return y.at[n, o, q, :].set(jnp.einsum("ijc,ijcf->f", window, W) + b)

    y = jnp.zeros((N, H_out, W_out, C_out), x.dtype)
    return lax.fori_loop(0, N * H_out * W_out, pixel, y)


def naive_backward(params: dict, x: jax.Array, dy: jax.Array, *, s: tuple, p: tuple):
    """The same loop backwards: each output pixel adds W dy[n, o, q] to its window of dx and
    window (x) dy[n, o, q] to dW (windows overlap: contributions add).

    Args:
        params, x, s, p: as naive_forward. dy: (N, H_out, W_out, C_out).

    Returns:
        (dx, {"W": dW, "b": db}): dx like x, dW and db like W and b.
    """
    W = params["W"]
    k_h, k_w, C_in, _ = W.shape
    N, H_out, W_out, _ = dy.shape
    xp = pad(x, p)

    def pixel(t, grads):
        dxp, dW = grads
        n, o, q = t // (H_out * W_out), (t // W_out) % H_out, t % W_out
        start = (n, s[0] * o, s[1] * q, 0)
        window = lax.dynamic_slice(xp, start, (1, k_h, k_w, C_in))[0]
        g = dy[n, o, q, :]
        dwindow = lax.dynamic_slice(dxp, start, (1, k_h, k_w, C_in))[0] + jnp.einsum("ijcf,f->ijc", W, g)
        return lax.dynamic_update_slice(dxp, dwindow[None], start), dW + jnp.einsum("ijc,f->ijcf", window, g)

    dxp, dW = lax.fori_loop(0, N * H_out * W_out, pixel, (jnp.zeros_like(xp), jnp.zeros_like(W)))
    dx = dxp[:, p[0] : p[0] + x.shape[1], p[1] : p[1] + x.shape[2], :]
    return dx, {"W": dW, "b": dy.sum(axis=(0, 1, 2))}


def _programs(impl: str, params: dict, x: jax.Array) -> dict:
    """Compiled forward and forward + backward of `impl` (the upstream gradient is y itself)."""
    s = p = (1, 1)
    if impl == "naive":

        def forward(params, x):
            return naive_forward(params, x, s=s, p=p)

        def forward_backward(params, x):
            return naive_backward(params, x, naive_forward(params, x, s=s, p=p), s=s, p=p)

    else:
        layer = layers.conv2d(params["W"].shape[3], K, padding=1, impl=impl)

        def forward(params, x):
            return layer.apply(params, {}, x)[0]

        def forward_backward(params, x):
            y, _, cache = layer.apply(params, {}, x)
            return layer.backward(params, cache, y)

    return {
        "forward": runtime.jit(forward).lower(params, x).compile(),
        "forward_backward": runtime.jit(forward_backward).lower(params, x).compile(),
    }


def _temp_bytes(compiled) -> int | None:
    """Bytes of temporary buffers XLA allocates for one call, if the backend reports them."""
    try:
        return int(compiled.memory_analysis().temp_size_in_bytes)
    except Exception:  # noqa: BLE001 - a backend without memory analysis: no number
        return None


def _relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def _measure(size: int, batch: int, config: Config) -> dict:
    layer = layers.conv2d(config.c_out, K, padding=1)
    _, params, _ = layer.init(jax.random.key(config.seed), (size, size, config.c_in))
    x = jax.random.normal(jax.random.key(config.seed + 1), (batch, size, size, config.c_in))
    programs = {impl: _programs(impl, params, x) for impl in IMPLS}
    contenders = {
        (impl, kind): (lambda c=programs[impl][kind]: c(params, x)) for impl in IMPLS for kind in KINDS
    }
    for fn in contenders.values():
        for _ in range(config.warmup):
            time_once(fn)
    times = {key: [] for key in contenders}
    for _ in range(config.repeats):  # round-robin: a noisy neighbour slows every contender alike
        for key, fn in contenders.items():
            times[key].append(1e3 * time_once(fn))
    naive_grads = programs["naive"]["forward_backward"](params, x)
    xla_grads = programs["xla"]["forward_backward"](params, x)
    H_out = size + 2 - K + 1
    row = {
        "size": size,
        "batch": batch,
        "input_bytes": batch * size * size * config.c_in * 4,
        "im2col_bytes": batch * H_out * H_out * K * K * config.c_in * 4,
        "naive_vs_xla_difference": max(
            _relative(programs["naive"]["forward"](params, x), programs["xla"]["forward"](params, x)),
            _relative(naive_grads[0], xla_grads[0]),
            _relative(naive_grads[1]["W"], xla_grads[1]["W"]),
        ),
        "times_ms": {f"{impl}_{kind}": t for (impl, kind), t in times.items()},
    }
    row["im2col_ratio"] = row["im2col_bytes"] / row["input_bytes"]
    for (impl, kind), t in times.items():
        q25, median, q75 = np.percentile(t, [25, 50, 75])
        row[f"{impl}_{kind}_ms"] = float(median)
        row[f"{impl}_{kind}_iqr_ms"] = [float(q25), float(q75)]
        row[f"{impl}_{kind}_temp_bytes"] = _temp_bytes(programs[impl][kind])
    return row


def run(config: Config) -> dict:
    rows = []
    for size in config.sizes:
        for batch in config.batches:
            row = _measure(size, batch, config)
            rows.append(row)
            print(
                f"  size {size} batch {batch}: "
                + ", ".join(f"{impl} {row[f'{impl}_forward_backward_ms']:.2f} ms" for impl in IMPLS),
                flush=True,
                file=sys.stderr,
            )
    return {
        "rows": rows,
        "impls": list(IMPLS),
        "backend": jax.default_backend(),
        "device": runtime.device_info(),
        "c_in": config.c_in,
        "c_out": config.c_out,
        "kernel": K,
        "repeats": config.repeats,
        "warmup": config.warmup,
    }


_STYLE = {  # colour and hatch per impl, told apart in print and in colour
    "naive": ("tab:red", "xx"),
    "direct": ("tab:orange", "//"),
    "im2col": ("tab:blue", ""),
    "xla": ("tab:green", ".."),
    "winograd": ("tab:purple", "\\\\"),
}


def plot(results: dict, out: Path) -> None:
    rows, impls = results["rows"], results["impls"]
    labels = [f"{r['size']}x{r['size']}\nbatch {r['batch']}" for r in rows]
    fig = Figure(figsize=(9, 7.5))  # drawn for the page width
    axes = fig.subplot_mosaic([["forward", "forward_backward"], ["memory", "legend"]])
    width = 0.8 / len(impls)
    positions = np.arange(len(rows))
    for kind in KINDS:
        ax = axes[kind]
        for i, impl in enumerate(impls):
            median = np.array([r[f"{impl}_{kind}_ms"] for r in rows])
            iqr = np.array([r[f"{impl}_{kind}_iqr_ms"] for r in rows])
            colour, hatch = _STYLE.get(impl, ("gray", ""))
            ax.bar(
                positions + (i - (len(impls) - 1) / 2) * width,
                median,
                width,
                yerr=[median - iqr[:, 0], iqr[:, 1] - median],
                capsize=2,
                color=colour,
                hatch=hatch,
                edgecolor="k",
                lw=0.5,
                label=NAMES.get(impl, impl),
            )
        ax.set(xticks=positions, yscale="log", ylabel="ms per call", title=kind.replace("_", " + "))
        ax.set_xticklabels(labels, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, names = axes["forward"].get_legend_handles_labels()
    ax = axes["memory"]
    mib = 2.0**20
    series = {
        "input x": ([r["input_bytes"] / mib for r in rows], "lightgray", ""),
        # colours and hatches apart from every impl's time bars (_STYLE), so the legend tells them apart
        "im2col column matrix": ([r["im2col_bytes"] / mib for r in rows], "tab:brown", "--"),
        "im2col fwd+bwd temporaries (XLA)": (
            [(r["im2col_forward_backward_temp_bytes"] or 0) / mib for r in rows],
            "tab:cyan",
            "++",
        ),
        "xla fwd+bwd temporaries (XLA)": (
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
            lw=0.5,
            label=name,
        )
    ax.set(xticks=positions, yscale="log", ylabel="MiB (float32)", title="memory")
    ax.set_xticklabels(labels, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    more_handles, more_names = ax.get_legend_handles_labels()
    axes["legend"].axis("off")
    axes["legend"].legend(
        handles + more_handles,
        [f"time: {n}" for n in names] + [f"memory: {n}" for n in more_names],
        loc="center",
        fontsize=9,
        title=f"median of {results['repeats']} repeats, bars: interquartile range",
        title_fontsize=8,
    )
    fig.suptitle(
        f"conv2d {results['kernel']}x{results['kernel']}, stride 1, padding 1, "
        f"{results['c_in']} -> {results['c_out']} channels, jitted, {results['backend']}"
    )
    fig.tight_layout()
    plots.save(fig, out / "speed.png")


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def _cell(row: dict, impl: str, kind: str) -> str:
    low, high = row[f"{impl}_{kind}_iqr_ms"]
    return f"${_ms(row[f'{impl}_{kind}_ms'])}\\,[{_ms(low)}, {_ms(high)}]$"


def _separated(row: dict, a: str, b: str, kind: str) -> bool:
    """Whether the interquartile ranges of impls a and b do not overlap (a difference beyond the spread)."""
    (low_a, high_a), (low_b, high_b) = row[f"{a}_{kind}_iqr_ms"], row[f"{b}_{kind}_iqr_ms"]
    return high_a < low_b or high_b < low_a


def _beyond(rows: list, a: str, b: str, kinds: tuple = KINDS) -> str:
    """How many of the (row, kind) comparisons of a and b lie beyond the spread, in words."""
    pairs = [(row, kind) for row in rows for kind in kinds]
    apart = [(row, kind) for row, kind in pairs if _separated(row, a, b, kind)]
    if len(apart) == len(pairs):
        return "beyond the spread in every case (the interquartile ranges do not overlap)"
    within = [
        f"{_config_list([row])} {kind.replace('_', ' + ')}" for row, kind in pairs if (row, kind) not in apart
    ]
    return f"beyond the spread in {len(apart)} of {len(pairs)} cases (within it: {', '.join(within)})"


def _against(rows: list, a: str, b: str, kind: str) -> str:
    """'faster in 5 of 6 configurations, beyond the spread in 2 of them (...); slower in 1 of 6
    (...), within the spread': how a's median compares with b's, and how often beyond the spread."""
    parts = []
    for word, chosen in (
        ("faster", [row for row in rows if row[f"{a}_{kind}_ms"] < row[f"{b}_{kind}_ms"]]),
        ("slower", [row for row in rows if row[f"{a}_{kind}_ms"] > row[f"{b}_{kind}_ms"]]),
        ("as fast", [row for row in rows if row[f"{a}_{kind}_ms"] == row[f"{b}_{kind}_ms"]]),
    ):
        if not chosen:
            continue
        clear = [row for row in chosen if _separated(row, a, b, kind)]
        if len(chosen) == len(rows):
            count = f"in all {len(rows)} configurations" if len(rows) > 1 else "in the one configuration"
        else:
            count = f"in {len(chosen)} of {len(rows)} ({_config_list(chosen)})"
        if word == "as fast":
            spread = ""
        elif not clear:
            spread = ", within the spread" if len(chosen) == 1 else ", all within the spread"
        elif len(clear) == len(chosen):
            spread = ", beyond the spread" if len(chosen) == 1 else ", all beyond the spread"
        else:
            spread = f", beyond the spread in {len(clear)} of them ({_config_list(clear)})"
        parts.append(f"{word} {count}{spread}")
    return "; ".join(parts)


def _ratio_range(rows: list, a: str, b: str, kind: str) -> tuple[float, float]:
    ratios = [r[f"{a}_{kind}_ms"] / r[f"{b}_{kind}_ms"] for r in rows]
    return min(ratios), max(ratios)


def _times(low: float, high: float) -> str:
    """'2.1 to 4.5 times' for a range of ratios, '2.1 times' when they (nearly) agree."""
    return f"{low:.2g} to {high:.2g} times" if abs(high - low) > 0.05 * high else f"{low:.2g} times"


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.3g}"


def _config_list(rows: list) -> str:
    return ", ".join(f"${r['size']}\\times{r['size']}$/{r['batch']}" for r in rows)


def _where(device: dict) -> str:
    """'the CPU (AMD EPYC, 2 cores)' or the accelerator's name."""
    if device["backend"] == "cpu":
        return f"the CPU ({latex.esc(device['cpu'])}, {device['cores']} cores)"
    return latex.esc(f"{device['device']} ({device['backend']})")


def section(r: dict) -> str:
    """The LaTeX of the convolution-speed section, from results.json."""
    rows, impls = r["rows"], r["impls"]
    k = r["kernel"]
    largest = max(rows, key=lambda row: row["batch"] * row["size"] ** 2)
    columns = ["size", "batch", *(latex.esc(NAMES[i]) for i in impls)]
    tables = ""
    for kind, what in (("forward", "forward"), ("forward_backward", "forward + backward")):
        body = [[f"${row['size']}\\times{row['size']}$", str(row["batch"])] for row in rows]
        for cells, row in zip(body, rows):
            cells += [_cell(row, impl, kind) for impl in impls]
        tables += latex.table(
            columns,
            body,
            f"Convolution {what}: milliseconds per call, median of {r['repeats']} repeats "
            f"[interquartile range], contenders alternating; $k = {k}$, stride 1, padding 1, "
            f"$C_\\mathrm{{in}} = {r['c_in']}$, $C_\\mathrm{{out}} = {r['c_out']}$, float32, {latex.esc(r['backend'])}.",
            f"conv-speed-{kind.replace('_', '-')}",
            size="\\footnotesize",
        )
    mem_rows = []
    for row in rows:
        temps = [row[f"{impl}_forward_backward_temp_bytes"] for impl in impls]
        mem_rows.append(
            [
                f"${row['size']}\\times{row['size']}$",
                str(row["batch"]),
                f"{row['input_bytes'] / 2**20:.2f}",
                f"{row['im2col_bytes'] / 2**20:.2f}",
                f"{row['im2col_ratio']:.2f}",
                *("--" if t is None else f"{t / 2**20:.1f}" for t in temps),
            ]
        )
    tables += latex.table(
        ["size", "batch", "$x$", "columns", "ratio", *(latex.esc(NAMES[i]) for i in impls)],
        mem_rows,
        "Memory in MiB (float32). $x$: the input; columns: im2col's column matrix "
        "$(N H_\\mathrm{out} W_\\mathrm{out}, k^2 C_\\mathrm{in})$; ratio: columns / $x$. Then, per impl, "
        "the temporary buffers XLA's compiled forward + backward program allocates for one call "
        "(\\texttt{memory\\_analysis}; arguments and outputs not included).",
        "conv-speed-memory",
        size="\\footnotesize",
    )

    def fastest(kind):
        winners, close = {}, []
        for row in rows:
            first, second = sorted(impls, key=lambda i: row[f"{i}_{kind}_ms"])[:2]
            winners.setdefault(first, []).append(row)
            if not _separated(row, first, second, kind):
                close.append(
                    f"{_config_list([row])}: {latex.esc(NAMES[first])} and {latex.esc(NAMES[second])}"
                )
        if len(winners) == 1:
            words = f"{latex.esc(NAMES[next(iter(winners))])} in every configuration"
        else:
            words = "; ".join(
                f"{latex.esc(NAMES[impl])} in {len(won)} of {len(rows)} ({_config_list(won)})"
                for impl, won in sorted(winners.items(), key=lambda item: -len(item[1]))
            )
        if close:
            words += (
                f". In {len(close)} of these the interquartile ranges of the two fastest overlap, so their "
                "order is within the spread (" + "; ".join(close) + ")"
            )
        return words

    paragraphs = []
    low_f, high_f = _ratio_range(rows, "naive", "im2col", "forward")
    low_b, high_b = _ratio_range(rows, "naive", "im2col", "forward_backward")
    if low_f > 1 and low_b > 1:
        paragraphs.append(
            f"\\paragraph{{Naive against im2col.}} The naive loop takes {_times(low_f, high_f)} as long as "
            f"im2col forward, and {_times(low_b, high_b)} as long forward + backward "
            "(Tables~\\ref{tab:conv-speed-forward} and~\\ref{tab:conv-speed-forward-backward}), "
            f"{_beyond(rows, 'naive', 'im2col')}. Both do the "
            "same multiplications; the loop does them as $N H_\\mathrm{out} W_\\mathrm{out}$ small "
            f"vector--matrix products of length $k^2 C_\\mathrm{{in}} = {k * k * r['c_in']}$, one per "
            "iteration, re-reading the kernel each time, while im2col does them as one large matrix "
            "product that the BLAS-style kernel tiles for cache and vector units."
        )
    else:
        paragraphs.append(
            f"\\paragraph{{Naive against im2col.}} The naive loop's time relative to im2col ranges from "
            f"{low_f:.2g} to {high_f:.2g} (forward) and {low_b:.2g} to {high_b:.2g} (forward + backward) "
            "(Tables~\\ref{tab:conv-speed-forward} and~\\ref{tab:conv-speed-forward-backward}): "
            "it is not slower everywhere, so here one large matrix product does not always beat "
            "many small ones."
        )
    paragraphs.append(
        f"\\paragraph{{Fastest.}} Forward, the fastest impl is {fastest('forward')}. Forward + backward: "
        f"{fastest('forward_backward')}."
    )
    low_x, high_x = _ratio_range(rows, "im2col", "xla", "forward_backward")
    direct_words = (
        f"Against direct, im2col's forward is {_against(rows, 'im2col', 'direct', 'forward')}; "
        f"forward + backward it is {_against(rows, 'im2col', 'direct', 'forward_backward')}."
    )
    # a mechanism only for the differences beyond the spread
    clear = {
        sign: [
            f"{_config_list([row])} {kind.replace('_', ' + ')}"
            for kind in KINDS
            for row in rows
            if _separated(row, "im2col", "direct", kind)
            and (row[f"im2col_{kind}_ms"] > row[f"direct_{kind}_ms"]) == (sign == "slower")
        ]
        for sign in ("slower", "faster")
    }
    if clear["slower"]:
        direct_words += (
            f" Where im2col is slower by more than the spread ({', '.join(clear['slower'])}), the column "
            f"matrix is the likely cost: direct reads the input {k * k} times in place and accumulates "
            f"{k * k} matrix products, while im2col first writes the whole column matrix, "
            f"{rows[0]['im2col_ratio']:.0f} times the input, to memory and reads it back."
        )
    if clear["faster"]:
        direct_words += (
            " Where it is faster by more than the spread, the likely reason is that its one large matrix "
            f"product, against direct's {k * k} smaller ones, outweighs the cost of writing the column matrix."
        )
    paragraphs.append(
        f"\\paragraph{{im2col against direct and xla.}} {direct_words} XLA's own convolution "
        + (
            f"beats im2col forward + backward everywhere: im2col takes {_times(low_x, high_x)} as long, "
            f"{_beyond(rows, 'im2col', 'xla', ('forward_backward',))}. It computes the same sums without "
            "materialising the windows."
            if low_x > 1
            else f"and im2col trade places (im2col/xla {low_x:.2g} to {high_x:.2g}, forward + backward)."
        )
    )
    im_temp = largest["im2col_forward_backward_temp_bytes"]
    xla_temp = largest["xla_forward_backward_temp_bytes"]
    temp_words = ""
    if im_temp is not None and xla_temp is not None:
        temps = {impl: largest[f"{impl}_forward_backward_temp_bytes"] or 0 for impl in impls}
        most = max(temps, key=temps.get)
        temp_words = (
            f" XLA's compiled forward + backward allocates {_mib(im_temp)} MiB of temporaries for im2col "
            f"against {_mib(xla_temp)} MiB for xla (Table~\\ref{{tab:conv-speed-memory}}); the largest is "
            f"{_mib(temps[most])} MiB, for {latex.esc(NAMES[most])}."
        )
    ratios = sorted({round(row["im2col_ratio"], 2) for row in rows})
    ratio_words = (
        f"here {ratios[0]:.2f} in every configuration"
        if len(ratios) == 1
        else f"here {ratios[0]:.2f} to {ratios[-1]:.2f}"
    )
    paragraphs.append(
        "\\paragraph{Memory.} The column matrix holds every window: $N H_\\mathrm{out} W_\\mathrm{out}$ rows "
        "of $k^2 C_\\mathrm{in}$ numbers, against $N H_\\mathrm{in} W_\\mathrm{in} C_\\mathrm{in}$ for the input, "
        "a ratio $k^2 H_\\mathrm{out} W_\\mathrm{out} / (H_\\mathrm{in} W_\\mathrm{in})$, which is "
        f"$k^2 = {k * k}$ at stride 1 with `same' padding ({ratio_words}). "
        f"At ${largest['size']}\\times{largest['size']}$, batch {largest['batch']}, that is "
        f"{_mib(largest['im2col_bytes'])} MiB for a {_mib(largest['input_bytes'])} MiB input, "
        "and the backward builds a second matrix of the same size (the gradient of the columns) before "
        f"col2im folds it back.{temp_words} Each value of $x$ is copied into up to $k^2$ rows; "
        "col2im must add those copies' gradients (Section~\\ref{sec:exp-im2col})."
    )
    return (
        "\\section{Convolution speed: naive loops, im2col and XLA}\\label{sec:exp-conv_speed}\n\n"
        "\\paragraph{Question.} The assignment calls im2col the fast version of the convolution layer. "
        "How much faster is it than the naive loops, and what does it cost in memory?\n\n"
        f"\\paragraph{{Setup.}} One convolution, ${k}\\times{k}$ kernel, stride 1, padding 1, "
        f"$C_\\mathrm{{in}} = {r['c_in']}$, $C_\\mathrm{{out}} = {r['c_out']}$, float32, on "
        f"{_where(r['device'])}, every function compiled with \\texttt{{jax.jit}}. Input sizes "
        f"{', '.join(sorted({str(row['size']) for row in rows}, key=int))} and batches "
        f"{', '.join(sorted({str(row['batch']) for row in rows}, key=int))}. The contenders: "
        "\\emph{naive loop}, the assignment's definition, one output pixel $(n, o, q)$ per iteration "
        "of a compiled loop (\\texttt{lax.fori\\_loop}), its window times all filters; "
        "\\emph{direct}, fnn's sum over the $k^2$ window offsets, each one matrix product over all "
        "pixels (a loop over offsets, not the naive loop over pixels); \\emph{im2col}, one matrix "
        "product with the column matrix, backward through col2im; \\emph{xla}, "
        "\\texttt{lax.conv\\_general\\_dilated}, backward by hand with the same primitive; "
        "\\emph{winograd}, F($2\\times2$, $3\\times3$). Forward + backward runs the forward and the "
        "hand-written backward with $dy = y$. The naive loop agrees with xla to a relative "
        f"{max(row['naive_vs_xla_difference'] for row in rows):.1e} ($y$, $dx$, $dW$). After "
        f"{r['warmup']} warm-up calls, each contender is called {r['repeats']} times, all contenders "
        "in turn, so that load from elsewhere slows them alike; tables give the median and the "
        "interquartile range, and Figure~\\ref{fig:conv_speed-speed} draws them.\n\n"
        + tables
        + "\n\n".join(paragraphs)
        + "\n\n"
        + latex.figure(
            "conv_speed",
            "speed.png",
            "Top: milliseconds per call (log scale), forward and forward + backward, median of the "
            "repeats with interquartile bars, for each input size and batch; impls told apart by colour "
            "and hatch. Bottom: the input, im2col's column matrix, and XLA's temporary buffers for the "
            "forward + backward of im2col and xla, in MiB (log scale).",
            width=1.0,
        )
    )


def main(argv=None) -> Path:
    return common.main("conv_speed", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
