"""Filters: what the CNN learned. The first conv layer's 3x3 filters as an image grid, and
the feature maps of one test digit after each conv layer (after its ReLU).

Question: what do the learned filters look like? Trains the CNN (without dropout, constant
learning rate) for --epochs and names that run in every caption. Each figure uses one colour
scale for all its panels, with a colour bar. Figures: filters.png, features_conv1.png,
features_conv2.png, digit.png.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from experiments import common, latex
from fnn import models, optim, plots


@dataclasses.dataclass(frozen=True)
class Config:
    epochs: int = 2
    lr: float = 0.05
    batch_size: int = 64
    digit: int = 0  # index into the test set
    seed: int = 0
    data: str | None = None
    train_size: int | None = None


QUICK = {"epochs": 1, "train_size": 1000}


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.seed)
    model = models.cnn()
    result = common.train(
        model,
        mnist,
        optim.momentum(config.lr),
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        label="cnn",
    )
    params, state = result.params, result.state
    x = jnp.asarray(mnist.test.x[config.digit : config.digit + 1])
    maps = {}
    for i, layer in enumerate(models.cnn_layers()[:6]):  # conv, relu, pool, conv, relu, pool
        x, _, _ = layer.apply(params[i], state[i], x)
        if layer.name == "relu":
            maps[f"conv{len(maps) + 1}"] = np.moveaxis(np.asarray(x[0]), -1, 0).tolist()
    mean = 0.0 if mnist.pixel_mean is None else mnist.pixel_mean
    filters = np.moveaxis(np.asarray(params[0]["W"])[:, :, 0, :], -1, 0)
    # A filter whose weights nearly cancel (|sum| < half of sum |w|) responds to contrast, not brightness.
    balance = np.abs(filters.sum(axis=(1, 2))) / np.abs(filters).sum(axis=(1, 2))
    return {
        "run": {
            "epochs": config.epochs,
            "lr": config.lr,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "train_size": len(mnist.train.x),
        },
        "contrast_filters": int((balance < 0.5).sum()),
        "silent_maps": {k: int(sum(np.max(m) == 0 for m in v)) for k, v in maps.items()},
        "filters": np.moveaxis(np.asarray(params[0]["W"])[:, :, 0, :], -1, 0).tolist(),  # (32, 3, 3)
        "feature_maps": maps,
        "digit": (np.asarray(mnist.test.x[config.digit]) + mean)[:, :, 0].tolist(),
        "digit_label": int(mnist.test.labels[config.digit]),
        "digit_index": config.digit,
        "val_accuracy": result.history[-1]["val_accuracy"],
    }


def plot(results: dict, out: Path) -> None:
    filters = np.asarray(results["filters"])
    plots.save(
        plots.image_grid(filters, f"conv1: the 32 learned 3x3 filters ({_run(results)})", label="weight"),
        out / "filters.png",
    )
    for name, maps in results["feature_maps"].items():
        maps = np.asarray(maps)
        plots.save(
            plots.image_grid(
                maps,
                f"{name} + ReLU: feature maps of test digit #{results['digit_index']} ({_run(results)})",
                columns=8,
                cmap="viridis",
                label="activation",
            ),
            out / f"features_{name}.png",
        )
    plots.save(
        plots.digit_grid(
            np.asarray(results["digit"])[None], [f"label {results['digit_label']}"], "input digit", columns=1
        ),
        out / "digit.png",
    )


def _run(results: dict) -> str:
    r = results["run"]
    return f"CNN, {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}, lr {r['lr']:g}, batch {r['batch_size']}, seed {r['seed']}"


def section(r: dict) -> str:
    run, maps = r["run"], r["feature_maps"]
    n = len(r["filters"])
    silent = "; ".join(
        f"{k}: {r['silent_maps'][k]} of {len(v)} maps are zero everywhere" for k, v in maps.items()
    )
    return (
        "\\section{Learned filters and feature maps}\\label{sec:exp-filters}\n"
        "What does the CNN learn? One CNN (the architecture of Table~\\ref{tab:architectures}, without dropout) "
        f"trained for {run['epochs']} epoch{'s' if run['epochs'] != 1 else ''} with momentum SGD at a constant lr {run['lr']:g}, batch "
        f"{run['batch_size']}, seed {run['seed']}, on {run['train_size']:,} images (validation accuracy "
        f"{100 * r['val_accuracy']:.2f}\\%); every panel of a figure shares one colour scale (the colour bar), "
        "so strengths compare across panels. "
        f"Figure~\\ref{{fig:filters-filters}} shows its {n} first-layer $3\\times 3$ filters: {r['contrast_filters']} "
        f"of {n} have weights that nearly cancel ($|\\sum w| < \\tfrac12 \\sum |w|$), so they respond to local "
        "contrast (a bright stroke against dark background, or an edge in one direction) rather than to "
        f"brightness. Figures~\\ref{{fig:filters-features-conv1}} and \\ref{{fig:filters-features-conv2}} show the "
        f"feature maps of test digit \\#{r['digit_index']} (a {r['digit_label']}, Figure~\\ref{{fig:filters-digit}}) "
        f"after each convolution and its ReLU ({silent}): the first layer's maps are copies of the digit in "
        "which the strokes of one direction or one side are bright; in the second layer's, at half the "
        "resolution after pooling, single maps light up on a part of the digit (one segment, or one side of a "
        "stroke) rather than on all of it.\n"
        + latex.figure(
            "filters",
            "filters.png",
            f"First-layer filters ({latex.esc(_run(r))}); blue negative, red positive.",
        )
        + latex.figure("filters", "digit.png", "The input digit.", width=0.2)
        + latex.figure(
            "filters", "features_conv1.png", f"Feature maps after conv1 and ReLU ({latex.esc(_run(r))})."
        )
        + latex.figure(
            "filters", "features_conv2.png", f"Feature maps after conv2 and ReLU ({latex.esc(_run(r))})."
        )
    )


def main(argv=None) -> Path:
    return common.main("filters", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
