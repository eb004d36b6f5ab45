"""The one front door: train a configured model, evaluate its best epoch on test, write a run.

`train(model, mnist, optimizer, ...)` is what `fnn train` and every experiment call: `fit`
with one progress reporter, then the test evaluation of the best-validation parameters
(`fnn.train.best_epoch`), and, when given an output folder, the run's files
(`fnn.runfolder`: config, metrics.jsonl, checkpoint, history, metrics, curves).

`train_recipe(settings, out)` is the configured form behind `fnn train`: a model name, its
measured recipe (`fnn.models.RECIPES`) with any settings overridden, and MNIST from a path.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import checkpoint, data, lock, models, parallel, plots, provenance, runfolder, runtime
from fnn.layer import Layer
from fnn.losses import softmax_cross_entropy
from fnn.progress import Progress
from fnn.settings import Settings, SettingsError
from fnn.step import Epoch, make_epoch
from fnn.train import best_epoch, fit, predict

__all__ = [
    "RunResult",
    "Settings",
    "Progress",
    "train",
    "train_recipe",
    "evaluate_test",
    "SettingsError",
]


class RunResult(NamedTuple):
    metrics: dict  # what metrics.json holds
    history: list[dict]  # one record per epoch
    params: Any  # the best epoch's parameters and layer state
    state: Any
    test_scores: np.ndarray  # (N_test, K) test-mode scores of the best parameters


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
    arguments are those of `fnn.train.fit`. Nothing is written when `out` is None. While it
    runs, the process holds `out`'s lock (`fnn.lock.hold`): a second run on the same folder
    fails at once instead of mixing its files with this one's. Temporary files of a save that
    was killed are removed first.
    """
    start = time.perf_counter()
    out = None if out is None else Path(out)
    log = Progress(epochs, label, enabled=progress, batch_size=batch_size)
    with contextlib.nullcontext() if out is None else lock.hold(out):
        if out is not None:
            checkpoint.remove_stale_temporaries(out / "checkpoint.npz")
            runfolder.write_config(out, settings or {})
            if not resume:
                (out / "metrics.jsonl").unlink(missing_ok=True)
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
            log=log if out is None else runfolder.EpochLog(log, out / "metrics.jsonl"),
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
    log.finish(metrics, out)
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


def train_recipe(
    settings: Settings,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> RunResult | None:
    """`fnn train`: the model named in `settings`, its recipe, MNIST; a run folder in `out`.

    The run records its data (`data.provenance`: path, sha256, split sizes). With `resume`,
    training continues the checkpoint in `out` on the same data (checked by sha256) until
    `settings` asks for as many epochs as are done: bit for bit as an uninterrupted run when
    the total is unchanged; with a larger total the learning-rate schedule is recomputed for
    it (said on stderr; each history record carries the total it ran under, "epochs").
    Returns None, running and writing nothing, when the checkpoint already holds that many.

    Raises:
        SettingsError: more devices than exist; `out` holds another run's files (and neither
            resume nor overwrite); the checkpoint's settings or data differ from these; the
            batch is larger than the training set.
        fnn.lock.LockError: another process is running in `out`, or it cannot be written.
    """
    out = Path(out)
    meta = settings.resolved()
    if resume and overwrite:
        raise SettingsError("--resume continues the run in --out and --overwrite replaces it: pass one")
    if settings.devices > jax.device_count():
        raise SettingsError(
            f"--devices: {settings.devices} requested, {jax.device_count()} available "
            "(on a CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N)"
        )
    with lock.hold(out):
        saved = runfolder.check(out, meta, resume, overwrite)
        if saved is not None and saved["epochs_done"] >= meta["epochs"]:
            print(
                f"fnn train: already trained {saved['epochs_done']} epochs in {out} "
                f"(asked for {meta['epochs']}); nothing to do",
                file=sys.stderr,
            )
            return None
        mnist, recorded = provenance.load_as_recorded(saved or meta, settings.data)
        mismatch = provenance.mismatch(recorded, mnist) if saved is not None else None
        if mismatch and recorded:
            raise SettingsError(f"--resume: {mismatch}")
        if mismatch:
            print(f"fnn train: WARNING: {mismatch}", file=sys.stderr)
        recipe = models.Recipe(**{k: meta[k] for k in models.Recipe._fields})
        if recipe.batch_size > len(mnist.train.x):
            raise SettingsError(
                f"--batch-size: {recipe.batch_size} is larger than the training set ({len(mnist.train.x)} images)"
            )
        meta["data_source"] = data.provenance(mnist)
        if mnist.pixel_mean is not None:  # what `fnn.models.load` needs to preprocess new images
            meta["pixel_mean"] = [float(v) for v in mnist.pixel_mean.ravel()]
        if saved is not None and saved["epochs"] != meta["epochs"]:
            print(
                f"fnn train: resuming after {saved['epochs_done']} of {saved['epochs']} epochs with "
                f"--epochs {meta['epochs']}: the learning-rate schedule is recomputed for "
                f"{meta['epochs']} epochs (history records carry the total they ran under)",
                file=sys.stderr,
            )
        return _train_recipe(settings, meta, recipe, mnist, out, resume, progress)


def _train_recipe(settings, meta, recipe, mnist, out, resume, progress) -> RunResult:
    model = models.from_settings(meta)
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
    if progress:
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
        progress=progress,
    )
    return result._replace(metrics={"model": settings.model, **result.metrics})
