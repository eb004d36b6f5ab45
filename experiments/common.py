"""What every experiment module shares: its command line, its output folder, its records.

An experiment is a frozen dataclass of settings, `run(config) -> dict` (the numbers) and
`plot(results, out_dir)` (the figures; experiments/__init__.py). `main(...)` turns the
dataclass into flags (`--epochs 3`, `--lrs 0.01,0.1` for tuples), applies `--quick` (a reduced
configuration that runs in seconds, used by the tests), `--replot` (the figures again from the
folder's results.json, nothing trained), writes `config.json` (every setting, and where it ran:
`fnn.runtime.environment`) and `results.json` (with `provenance`: the commit and the hashes
of the code it depends on, `experiments.codehash.record`), and draws the figures into
`results/<name>/` or `--out DIR`.

Every model an experiment trains goes through `train` (`fnn.train.fit`, then the best
validation epoch's parameters on test, as `fnn train` reports them), or `train_recipe` (the
same with a recipe's optimizer and schedule): at most two calls between an experiment and `fit`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from experiments import codehash
from fnn import data as data_lib
from fnn import models, runtime
from fnn.data import MNIST, Split
from fnn.layer import Layer
from fnn.losses import softmax_cross_entropy
from fnn.progress import Progress
from fnn.train import best_epoch, evaluate_test, fit

__all__ = [
    "main",
    "load_data",
    "confusion_matrix",
    "Trained",
    "train",
    "train_recipe",
    "classifier_seeds",
]


def load_data(path: str | None, *, train_size: int | None = None, seed: int = 0) -> MNIST:
    """MNIST with the train mean subtracted and 5,000 validation images; train cut to its
    first train_size (shuffled) images when given."""
    mnist = data_lib.load_mnist(path, seed=seed, subtract_mean=True)
    if train_size is None:
        return mnist
    return mnist._replace(train=Split(mnist.train.x[:train_size], mnist.train.labels[:train_size]))


def _parse_value(kind: Any, text: str) -> Any:
    if isinstance(kind, tuple):
        return tuple(type(kind[0])(v) for v in text.split(",")) if kind else tuple(text.split(","))
    if isinstance(kind, bool):
        return text.lower() in ("1", "true", "yes")
    return type(kind)(text) if kind is not None else text


def main(
    name: str,
    config_type: type,
    run_experiment: Callable[[Any], dict],
    plot: Callable[[dict, Path], None],
    quick: dict,
    argv: Sequence[str] | None = None,
    doc: str | None = None,
) -> Path:
    """Parse flags into `config_type`, run, write config.json/results.json and the figures."""
    defaults = config_type()
    parser = argparse.ArgumentParser(prog=f"python -m experiments.{name}", description=doc)
    for field in dataclasses.fields(config_type):
        value = getattr(defaults, field.name)
        shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            metavar=field.name.upper(),
            help=f"default {shown}",
        )
    parser.add_argument("--quick", action="store_true", help=f"reduced run in seconds: {quick}")
    parser.add_argument("--out", help=f"output folder (default results/{name})")
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw the figures from the folder's results.json; train nothing",
    )
    args = parser.parse_args(argv)
    out = Path(args.out or Path("results") / name)
    if args.replot:
        path = out / "results.json"
        if not path.is_file():
            parser.error(f"--replot: {path} does not exist; run the experiment first")
        plot(json.loads(path.read_text()), out)
        print(f"experiments.{name}: redrew the figures in {out}", file=sys.stderr)
        return out
    config = dataclasses.replace(defaults, **quick) if args.quick else defaults
    given = {
        f.name: _parse_value(getattr(defaults, f.name), getattr(args, f.name))
        for f in dataclasses.fields(config_type)
        if getattr(args, f.name) is not None
    }
    config = dataclasses.replace(config, **given)
    runtime.keep_freed_memory()  # reuse the step's buffers (fnn.runtime)
    out.mkdir(parents=True, exist_ok=True)
    record = {"experiment": name, "quick": args.quick, **dataclasses.asdict(config), **runtime.environment()}
    (out / "config.json").write_text(json.dumps(record, indent=1))
    start = time.perf_counter()
    print(f"experiments.{name}: {config}", file=sys.stderr, flush=True)
    results = run_experiment(config)
    results["seconds"] = time.perf_counter() - start
    results["quick"] = args.quick
    results["provenance"] = codehash.record(sys.modules[run_experiment.__module__].__file__)
    text = json.dumps(results, indent=1, default=_jsonable)
    (out / "results.json").write_text(text)
    plot(json.loads(text), out)  # from exactly what --replot reads
    print(f"experiments.{name}: wrote {out} in {results['seconds']:.0f}s", file=sys.stderr)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic, jax.Array)):
        return np.asarray(value).tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


class Trained(NamedTuple):
    history: list[dict]  # one record per epoch (fnn.train.fit)
    params: Any  # the best validation epoch's parameters and layer state
    state: Any
    test_scores: np.ndarray  # (N_test, K) test-mode scores of those parameters
    metrics: dict  # {"test_accuracy", "test_loss"} of those scores


def train(
    model: Layer,
    mnist: MNIST,
    optimizer: Any,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    label: str,
    loss=softmax_cross_entropy,
    epoch=None,
    on_epoch=None,
) -> Trained:
    """`fnn.train.fit` (one progress line per epoch, headed `label`), then its best epoch on test.
    `epoch` and `on_epoch` are fit's: a custom epoch driver, a hook after every epoch."""
    log = Progress(epochs, label, batch_size=batch_size)
    result = fit(
        model,
        mnist,
        optimizer,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        loss=loss,
        epoch=epoch,
        on_epoch=on_epoch,
        log=log,
    )
    scores, metrics = evaluate_test(model, result.best_params, result.best_state, mnist.test, loss)
    return Trained(result.history, result.best_params, result.best_state, scores, metrics)


def train_recipe(
    model: Layer, mnist: MNIST, recipe: models.Recipe, *, seed: int, label: str, epoch=None
) -> Trained:
    """`train` with `recipe`'s epochs, batch size, optimizer and schedule (over this training
    set's steps per epoch). `epoch(optimizer) -> fnn.step.Epoch`, if given, builds a custom
    epoch driver around the recipe's optimizer (e.g. one that measures as it trains)."""
    optimizer = recipe.make_optimizer(len(mnist.train.x) // recipe.batch_size)
    return train(
        model,
        mnist,
        optimizer,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        seed=seed,
        label=label,
        epoch=None if epoch is None else epoch(optimizer),
    )


def _classifier_detail(result: Trained, mnist: MNIST, shown: int = 32) -> dict:
    """The numbers behind one run's curves, confusion matrix and misclassified digits."""
    predicted = result.test_scores.argmax(axis=1)
    wrong = np.flatnonzero(predicted != mnist.test.labels)
    mean = 0.0 if mnist.pixel_mean is None else mnist.pixel_mean
    images = np.clip(np.rint(255 * (mnist.test.x[wrong[:shown]] + mean)), 0, 255).astype(np.uint8)
    return {
        "history": result.history,
        "test_accuracy": result.metrics["test_accuracy"],
        "test_size": len(mnist.test.labels),
        "confusion": confusion_matrix(mnist.test.labels, predicted).tolist(),
        "misclassified": {
            "index": wrong[:shown].tolist(),
            "true": mnist.test.labels[wrong[:shown]].tolist(),
            "predicted": predicted[wrong[:shown]].tolist(),
            "images": images.reshape(len(images), -1).tolist(),
        },
    }


def classifier_seeds(
    make_model: Callable[[], Layer],
    recipe: models.Recipe,
    *,
    seeds: Sequence[int],
    data: str | None,
    train_size: int | None,
    label: str,
) -> dict:
    """`train_recipe` once per seed (the seed draws the validation split, the initial
    weights, the batch order and the dropout masks): every seed's test accuracy, best epoch
    and training time, and the first seed's curves, confusion matrix and mistakes."""
    if not seeds:
        raise ValueError("classifier_seeds: give at least one seed")
    runs = []
    for seed in seeds:
        mnist = load_data(data, train_size=train_size, seed=seed)
        result = train_recipe(make_model(), mnist, recipe, seed=seed, label=f"{label} seed {seed}")
        runs.append(
            {
                "seed": seed,
                "test_accuracy": result.metrics["test_accuracy"],
                "best_epoch": best_epoch(result.history),
                "train_seconds": sum(h["train_seconds"] for h in result.history),
                **({"detail": _classifier_detail(result, mnist)} if not runs else {}),
            }
        )
    return {
        "seeds": list(seeds),
        "train_size": len(mnist.train.x),
        "validation_size": len(mnist.validation.labels),
        "test_size": len(mnist.test.labels),
        "test_accuracy": [r["test_accuracy"] for r in runs],
        "train_seconds": [r["train_seconds"] for r in runs],
        "runs": runs,
    }
