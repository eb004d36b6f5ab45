"""The one front door: train a configured model, evaluate its best epoch on test, write a run.

`train(model, mnist, optimizer, ...)` is what `fnn train` and every experiment call: `fit`
with one progress reporter, then the test evaluation of the best-validation parameters
(`fnn.train.best_epoch`), and, when given an output folder, the run's files:

    config.json        every setting, the fnn and jax versions, the device (`write_config`)
    checkpoint.npz     train state, best parameters, history (+ checkpoint.json, readable)
    history.json       one record per epoch
    metrics.json       test accuracy and loss, best epoch, wall time, images/s, device
    curves.png         loss per iteration and epoch, train/validation accuracy per epoch

`train_recipe(settings, out)` is the configured form behind `fnn train`: a model name, its
measured recipe (`fnn.models.RECIPES`) with any settings overridden, and MNIST from a path.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import checkpoint, data, models, parallel, plots, runtime
from fnn.layer import Layer
from fnn.losses import softmax_cross_entropy
from fnn.step import GRADIENTS, Epoch, make_epoch
from fnn.train import best_epoch, fit, predict

__all__ = [
    "RunResult",
    "Settings",
    "Progress",
    "train",
    "train_recipe",
    "evaluate_test",
    "write_config",
    "SettingsError",
]


class SettingsError(ValueError):
    """The settings cannot run: they contradict a checkpoint, or the folder holds another run."""


class RunResult(NamedTuple):
    metrics: dict  # what metrics.json holds
    history: list[dict]  # one record per epoch
    params: Any  # the best epoch's parameters and layer state
    state: Any
    test_scores: np.ndarray  # (N_test, K) test-mode scores of the best parameters


class Progress:
    """One line per epoch on stderr: loss, accuracies, learning rate, seconds."""

    def __init__(self, epochs: int, label: str = "", *, enabled: bool = True):
        self.epochs, self.label, self.enabled = epochs, label, enabled

    def __call__(self, record: dict) -> None:
        if not self.enabled:
            return
        done = int(30 * record["epoch"] / self.epochs)
        lr = f"  lr {record['lr']:.4g}" if "lr" in record else ""
        print(
            f"{self.label + ' ' if self.label else ''}epoch {record['epoch']:>3}/{self.epochs} "
            f"[{'#' * done}{'.' * (30 - done)}] loss {record['train_loss']:.4f}  "
            f"train {100 * record['train_accuracy']:.2f}%  val {100 * record['val_accuracy']:.2f}%"
            f"{lr}  {record['seconds']:.1f}s",
            file=sys.stderr,
            flush=True,
        )


def write_config(out: Path, settings: dict) -> dict:
    """Write `settings` with the fnn and jax versions and the device to out/config.json."""
    import fnn

    record = {
        **settings,
        "fnn": fnn.__version__,
        "jax": jax.__version__,
        "device": runtime.describe_devices(),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(record, indent=1))
    return record


def train(
    model: Layer,
    mnist: data.MNIST,
    optimizer: Any,
    *,
    epochs: int,
    batch_size: int,
    out: str | Path | None = None,
    settings: dict | None = None,
    seed: int = 0,
    loss=softmax_cross_entropy,
    lr_schedule=None,
    epoch: Epoch | None = None,
    resume: bool = False,
    patience: int | None = None,
    label: str = "",
    progress: bool = True,
) -> RunResult:
    """Train `model`, evaluate the best-validation epoch on test; write a run folder if `out`.

    `settings` (JSON-ready) is recorded in config.json and in the checkpoint; the other
    arguments are those of `fnn.train.fit`. Nothing is written when `out` is None.
    """
    start = time.perf_counter()
    out = None if out is None else Path(out)
    if out is not None:
        write_config(out, settings or {})
    result = fit(
        model,
        mnist,
        optimizer,
        epochs=epochs,
        batch_size=batch_size,
        epoch=epoch,
        loss=loss,
        seed=seed,
        lr_schedule=lr_schedule,
        checkpoint_path=None if out is None else out / "checkpoint.npz",
        resume=resume,
        patience=patience,
        meta=settings,
        log=Progress(epochs, label, enabled=progress),
    )
    history = result.history
    scores, test = evaluate_test(model, result.best_params, result.best_state, mnist.test, loss)
    metrics = {
        **test,
        "best_epoch": best_epoch(history),
        "epochs": len(history),
        "stopped_early": result.stopped_early,
        "images_per_second": sum(h["images"] for h in history) / sum(h["train_seconds"] for h in history),
        "seconds": time.perf_counter() - start,
        "device": runtime.describe_devices(),
    }
    if out is not None:
        (out / "history.json").write_text(json.dumps(history))
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
        title = f"{label or model.name}: test accuracy {100 * metrics['test_accuracy']:.2f}%"
        plots.save(plots.training_curves(history, title), out / "curves.png")
    return RunResult(metrics, history, result.best_params, result.best_state, scores)


def evaluate_test(model: Layer, params, state, split: data.Split, loss=softmax_cross_entropy):
    """Test-mode scores of `split` and {"test_accuracy", "test_loss"}: what a run reports and
    `fnn eval` re-computes from the checkpoint."""
    scores = predict(model, params, state, split.x)
    test_loss = float(loss(jnp.asarray(scores), jnp.asarray(split.labels))[0])
    return scores, {
        "test_accuracy": float((scores.argmax(axis=1) == split.labels).mean()),
        "test_loss": test_loss,
    }


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything `fnn train` can set. A recipe field left None takes the model's recipe."""

    model: str = "cnn"
    epochs: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    momentum: float | None = None
    batch_size: int | None = None
    weight_decay: float | None = None
    warmup_steps: int | None = None
    schedule: str | None = None
    drop_rate: float | None = None
    seed: int = 0
    gradients: str = GRADIENTS[0]
    conv_impl: str = "auto"
    driver: str | None = None
    validation: int = 5000
    patience: int | None = None
    devices: int = 1
    data: str | None = None

    def resolved(self) -> dict:
        """The settings as recorded: every recipe field filled in from the model's recipe."""
        recipe = models.RECIPES[self.model]
        values = dataclasses.asdict(self)
        return {
            k: (getattr(recipe, k) if k in recipe._fields and v is None else v) for k, v in values.items()
        }


def train_recipe(settings: Settings, out: str | Path, *, resume: bool = False) -> RunResult:
    """`fnn train`: the model named in `settings`, its recipe, MNIST; a run folder in `out`.

    Raises:
        SettingsError: `out` holds a checkpoint and resume is False, or resume is True and
            the checkpoint's settings differ (other than epochs).
    """
    out = Path(out)
    meta = settings.resolved()
    _check_folder(out / "checkpoint.npz", meta, resume)
    mnist = data.load_mnist(
        settings.data, validation=settings.validation, seed=settings.seed, subtract_mean=True
    )
    model = models.from_settings(meta)
    recipe = models.Recipe(**{k: meta[k] for k in models.Recipe._fields})
    steps_per_epoch = len(mnist.train.x) // recipe.batch_size
    optimizer = recipe.make_optimizer(steps_per_epoch)
    if settings.devices == 1:
        epoch = make_epoch(
            model,
            softmax_cross_entropy,
            optimizer,
            batch_size=recipe.batch_size,
            gradients=settings.gradients,
            driver=settings.driver,
        )
    else:
        epoch = parallel.make_parallel_epoch(
            model,
            softmax_cross_entropy,
            optimizer,
            mesh=parallel.data_mesh(settings.devices),
            batch_size=recipe.batch_size,
            gradients=settings.gradients,
        )
    print(
        f"fnn train: {settings.model} on {mnist.source} ({len(mnist.train.x)} train images), "
        f"{runtime.describe_devices()}",
        file=sys.stderr,
    )
    result = train(
        model,
        mnist,
        optimizer,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        out=out,
        settings=meta,
        seed=settings.seed,
        lr_schedule=recipe.lr_schedule(steps_per_epoch),
        epoch=epoch,
        resume=resume,
        patience=settings.patience,
        label=settings.model,
    )
    return result._replace(metrics={"model": settings.model, **result.metrics})


# Settings a resumed run may change: they do not change the arithmetic of the epochs done.
_FREE_ON_RESUME = ("epochs", "driver", "patience", "devices")


def _check_folder(path: Path, meta: dict, resume: bool) -> None:
    if not resume:
        if path.exists():
            raise SettingsError(f"{path} exists; pass --resume to continue it or choose another --out")
        return
    saved = checkpoint.read_meta(path)
    changed = {
        k: (saved.get(k), v) for k, v in meta.items() if k not in _FREE_ON_RESUME and saved.get(k) != v
    }
    if changed:
        raise SettingsError(f"--resume: settings differ from the checkpoint's (saved, given): {changed}")
