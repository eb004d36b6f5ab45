"""Time to accuracy: the training seconds each recipe needs to reach 98, 99, 99.2 and 99.5% test
accuracy, probed at a fixed step interval (a tenth of an epoch by default) while it trains;
the probes' own time is not counted, compilation and the per-epoch validation are. With
PyTorch importable, PyTorch eager runs the `fast` recipe too (same architecture, Adam,
warm-up + cosine schedule, batch, data and probes; its own initialisation and batch order).
Prints JSON; with --plot PATH, draws accuracy against seconds.

    python -m benchmarks.time_to_accuracy [--recipes fast,cnn] [--seeds 0,1,2] [--plot tta.png]
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.common import add_malloc_flag, emit, setup
from fnn import models
from fnn.data import load_mnist
from fnn.losses import softmax_cross_entropy
from fnn.progress import Progress
from fnn.step import Epoch, make_epoch, per_step_epoch, shuffled_batches
from fnn.train import augment_as_read, best_epoch, evaluate_test, fit, make_evaluate

__all__ = ["main", "race", "first_reach", "TARGETS"]

TARGETS = (0.98, 0.99, 0.992, 0.995)


def race(name: str, recipe: models.Recipe, mnist, *, seed: int, probes_per_epoch: int, label: str) -> dict:
    """Train `recipe` on `mnist` with fnn.train.fit, probing the test accuracy every
    steps_per_epoch // probes_per_epoch steps. The clock runs while the model trains
    (compilation and the per-epoch validation included) and stops during the probes. The
    reported test accuracy is the best validation epoch's, as everywhere."""
    model = models.MODELS[name](drop_rate=recipe.drop_rate)
    steps_per_epoch = len(mnist.train.x) // recipe.batch_size
    optimizer = recipe.make_optimizer(steps_per_epoch)
    augment = augment_as_read(recipe.make_augment(), mnist)
    base = make_epoch(model, softmax_cross_entropy, optimizer, batch_size=recipe.batch_size, augment=augment)
    (gather_step,) = base.compiled
    evaluate = make_evaluate(model)
    test_x, test_labels = jnp.asarray(mnist.test.x), jnp.asarray(mnist.test.labels)
    every = max(1, steps_per_epoch // probes_per_epoch)
    clock = {"start": 0.0, "paused": 0.0, "steps": 0}
    curve = []

    def probed_step(ts, x, labels, order, i, key):
        ts, out = gather_step(ts, x, labels, order, i, key)
        clock["steps"] += 1
        if clock["steps"] % every == 0:
            jax.block_until_ready(ts.params)
            now = time.perf_counter()
            _, accuracy = evaluate(ts.params, ts.state, test_x, test_labels)
            curve.append(
                {"step": clock["steps"], "seconds": now - clock["start"] - clock["paused"], "test": accuracy}
            )
            clock["paused"] += time.perf_counter() - now
        return ts, out

    shuffle = jax.jit(shuffled_batches, static_argnums=(1, 2))
    epoch = Epoch(
        per_step_epoch(probed_step, shuffle, recipe.batch_size), base.place, recipe.batch_size, base.compiled
    )
    clock["start"] = time.perf_counter()
    result = fit(
        model,
        mnist,
        optimizer,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        seed=seed,
        epoch=epoch,
        log=Progress(recipe.epochs, label, batch_size=recipe.batch_size),
    )
    wall = time.perf_counter() - clock["start"] - clock["paused"]
    _, metrics = evaluate_test(model, result.best_params, result.best_state, mnist.test)
    return {
        "seed": seed,
        "test_accuracy": metrics["test_accuracy"],
        "best_epoch": best_epoch(result.history),
        "epochs": len(result.history),
        "wall_seconds": wall,  # the training's clock, the probes left out (not the process's wall time)
        "probe_seconds": clock["paused"],
        "steps_per_epoch": steps_per_epoch,
        "probe_every": every,
        "curve": curve,
        "val_accuracy": [h["val_accuracy"] for h in result.history],
    }


def first_reach(curve: list[dict], target: float) -> float | None:
    """The seconds of the first probe at or above `target`, or None if none reached it."""
    return next((p["seconds"] for p in curve if p["test"] >= target), None)


def load_data(seed: int, train_size: int | None = None):
    """MNIST as every recipe trains on it (train mean subtracted, 5,000 validation images drawn
    by `seed`), the training split cut to its first `train_size` images when given."""
    mnist = load_mnist(None, seed=seed, subtract_mean=True)
    if train_size is None:
        return mnist
    return mnist._replace(
        train=mnist.train._replace(x=mnist.train.x[:train_size], labels=mnist.train.labels[:train_size])
    )


def _summary(runs: list[dict]) -> dict:
    reach = {}
    for target in TARGETS:
        times = [first_reach(r["curve"], target) for r in runs]
        reached = [t for t in times if t is not None]
        reach[f"{100 * target:g}"] = {
            "seconds_per_seed": times,
            "median_seconds": float(np.median(reached)) if len(reached) == len(times) else None,
        }
    final = [r["test_accuracy"] for r in runs]
    return {
        "seeds": [r["seed"] for r in runs],
        "test_accuracy_mean": float(np.mean(final)),
        "test_accuracy_per_seed": final,
        "wall_seconds_per_seed": [r["wall_seconds"] for r in runs],
        "reach": reach,
    }


def torch_race(recipe: models.Recipe, mnist, *, seed: int, probes_per_epoch: int) -> dict:
    """The `fast` recipe in PyTorch eager, probed like `race` (batch order and initial weights are
    PyTorch's, drawn from `seed`)."""
    import torch

    from benchmarks.vs_torch import torch_model

    torch.manual_seed(seed)
    net = torch_model(torch, "fast")
    x = torch.from_numpy(np.ascontiguousarray(mnist.train.x.transpose(0, 3, 1, 2)))
    y = torch.from_numpy(mnist.train.labels.astype(np.int64))
    tx = torch.from_numpy(np.ascontiguousarray(mnist.test.x.transpose(0, 3, 1, 2)))
    ty = torch.from_numpy(mnist.test.labels.astype(np.int64))
    steps_per_epoch = len(x) // recipe.batch_size
    total = recipe.epochs * steps_per_epoch
    warm = min(recipe.warmup_steps, total // 10)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)

    def lr_at(count):  # fnn.schedules.make_schedule: linear warm-up times a cosine to 0
        cosine = 0.5 * recipe.lr * (1 + np.cos(np.pi * min(count, total) / total))
        return cosine * min((count + 1) / warm, 1.0) if warm else cosine

    loss_fn = torch.nn.CrossEntropyLoss()
    every = max(1, steps_per_epoch // probes_per_epoch)
    curve, paused, count = [], 0.0, 0
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(x), generator=generator)[: steps_per_epoch * recipe.batch_size]
        for rows in order.view(steps_per_epoch, recipe.batch_size):
            for group in opt.param_groups:
                group["lr"] = lr_at(count)
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x[rows]), y[rows]).backward()
            opt.step()
            count += 1
            if count % every == 0:
                now = time.perf_counter()
                with torch.no_grad():
                    accuracy = float((net(tx).argmax(1) == ty).float().mean())
                curve.append({"step": count, "seconds": now - start - paused, "test": accuracy})
                paused += time.perf_counter() - now
    return {
        "seed": seed,
        "test_accuracy": curve[-1]["test"] if curve else None,
        "wall_seconds": time.perf_counter() - start - paused,
        "probe_seconds": paused,
        "curve": curve,
    }


def plot(out: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.3, 3.6))
    for i, (name, entry) in enumerate(out["recipes"].items()):
        for j, curve in enumerate(entry["curves"]):
            seconds = [p["seconds"] for p in curve]
            accuracy = [100 * p["test"] for p in curve]
            ax.plot(seconds, accuracy, color=f"C{i}", alpha=0.8, lw=1.2, label=name if j == 0 else None)
    for target in TARGETS:
        ax.axhline(100 * target, color="0.7", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(97, 100)
    ax.set_xlabel("training seconds (probes excluded)", fontsize=9)
    ax.set_ylabel("test accuracy (%)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Time to accuracy, {out['cpu_or_device']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.time_to_accuracy", description=__doc__)
    parser.add_argument("--recipes", default="fast,cnn")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--probes-per-epoch", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=0, help="override every recipe's epochs (0: its own)")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    parser.add_argument("--plot", help="write accuracy against time to this PNG")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    names = args.recipes.split(",")
    unknown = sorted(set(names) - set(models.RECIPES))
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(models.RECIPES)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    out = {"benchmark": "time_to_accuracy", **setup(args), "probes_per_epoch": args.probes_per_epoch}
    out["cpu_or_device"] = out.get("cpu") or out.get("device", "")
    out["recipes"] = {}
    contenders = [(name, "fnn") for name in names]
    try:
        import torch

        if "fast" in names and not args.no_torch:
            torch.set_num_threads(len(os.sched_getaffinity(0)))
            contenders.append(("fast", "torch"))
            out["torch"] = torch.__version__
    except ImportError as e:
        out["torch_skipped"] = f"PyTorch is not importable ({e})"
    for name, who in contenders:
        recipe = models.RECIPES[name]
        if args.epochs:
            recipe = recipe._replace(epochs=args.epochs)
        runs = []
        for seed in seeds:
            mnist = load_data(seed, args.train_size)
            if who == "fnn":
                runs.append(
                    race(name, recipe, mnist, seed=seed, probes_per_epoch=args.probes_per_epoch, label=name)
                )
            else:
                runs.append(torch_race(recipe, mnist, seed=seed, probes_per_epoch=args.probes_per_epoch))
        key = name if who == "fnn" else f"{name} (PyTorch eager)"
        out["recipes"][key] = {**_summary(runs), "curves": [r["curve"] for r in runs]}
    if args.plot:
        plot(out, args.plot)
    emit(out)
    return out


if __name__ == "__main__":
    main()
