"""Convolution speed: the implementations (direct, im2col, xla, winograd), forward and
forward + backward, across input and batch sizes, and the memory of im2col's column matrix.

Question: what does each formulation cost? Each function is jitted and timed side by side,
the contenders alternating, taking the median of repeats (`fnn.timing.alternate`); times are
also given as ratios to xla measured in the same run. Figures: speed.png (forward+backward
time per configuration). Which impl `impl="auto"` picks per shape is measured over more shape
classes by `python -m benchmarks.conv`.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import numpy as np
from matplotlib.figure import Figure

from fnn import experiment, layers, plots, runtime
from fnn.layers.conv import CONV_IMPLS
from fnn.timing import alternate

IMPLS = tuple(impl for impl in CONV_IMPLS if impl != "auto")  # auto runs one of these


@dataclasses.dataclass(frozen=True)
class Config:
    sizes: tuple = (7, 14, 28)
    batches: tuple = (32, 128)
    c_in: int = 32
    c_out: int = 64
    repeats: int = 7
    seed: int = 0


QUICK = {"sizes": (8,), "batches": (4,), "c_in": 4, "c_out": 8, "repeats": 2}


def _functions(impl, size, batch, config):
    layer = layers.conv2d(config.c_out, 3, padding=1, impl=impl)
    _, params, state = layer.init(jax.random.key(config.seed), (size, size, config.c_in))
    x = jax.random.normal(jax.random.key(1), (batch, size, size, config.c_in))

    @runtime.jit
    def forward(params, x):
        return layer.apply(params, state, x)[0]

    @runtime.jit
    def forward_backward(params, x):
        y, _, cache = layer.apply(params, state, x)
        return layer.backward(params, cache, y)

    return {"forward": lambda: forward(params, x), "forward_backward": lambda: forward_backward(params, x)}


def run(config: Config) -> dict:
    rows = []
    for size in config.sizes:
        for batch in config.batches:
            fns = {impl: _functions(impl, size, batch, config) for impl in IMPLS}
            contenders = {f"{impl}/{kind}": f for impl in IMPLS for kind, f in fns[impl].items()}
            medians = alternate(contenders, config.repeats)
            row = {"size": size, "batch": batch, "im2col_bytes": batch * size * size * 9 * config.c_in * 4}
            for impl in IMPLS:
                for kind in ("forward", "forward_backward"):
                    row[f"{impl}_{kind}_ms"] = 1e3 * medians[f"{impl}/{kind}"]
            for impl in IMPLS:
                row[f"{impl}_vs_xla_forward_backward"] = (
                    row[f"{impl}_forward_backward_ms"] / row["xla_forward_backward_ms"]
                )
            rows.append(row)
            print(
                f"  size {size} batch {batch}: "
                + ", ".join(f"{impl} {row[f'{impl}_forward_backward_ms']:.2f} ms" for impl in IMPLS),
                flush=True,
                file=sys.stderr,
            )
    fastest = {}
    for row in rows:
        best = min(IMPLS, key=lambda impl: row[f"{impl}_forward_backward_ms"])
        fastest[f"{row['size']}x{row['batch']}"] = best
    return {
        "rows": rows,
        "fastest_forward_backward": fastest,
        "backend": jax.default_backend(),
        "c_in": config.c_in,
        "c_out": config.c_out,
    }


def plot(results: dict, out: Path) -> None:
    rows = results["rows"]
    labels = [f"{r['size']}x{r['size']}\nbatch {r['batch']}" for r in rows]
    fig = Figure(figsize=(12, 4.5))
    ax_time, ax_mem = fig.subplots(1, 2)
    width = 0.27
    for i, impl in enumerate(IMPLS):
        ax_time.bar(
            np.arange(len(rows)) + (i - 1) * width,
            [r[f"{impl}_forward_backward_ms"] for r in rows],
            width,
            label=impl,
        )
    ax_time.set(
        xticks=range(len(rows)),
        ylabel="forward + backward (ms, median)",
        yscale="log",
        title=f"conv2d 3x3, {results['c_in']} -> {results['c_out']} channels ({results['backend']})",
    )
    ax_time.set_xticklabels(labels, fontsize=8)
    ax_time.legend()
    ax_mem.bar(range(len(rows)), [r["im2col_bytes"] / 2**20 for r in rows])
    ax_mem.set(xticks=range(len(rows)), ylabel="MiB", title="im2col column matrix (float32)")
    ax_mem.set_xticklabels(labels, fontsize=8)
    fig.tight_layout()
    plots.save(fig, out / "speed.png")


def main(argv=None) -> Path:
    return experiment.main("conv_speed", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
