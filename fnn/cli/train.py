"""`fnn train`: a model, its measured recipe (`fnn.models.RECIPES`) with any flag overriding
it, MNIST from a path; a run folder in `--out` (default runs/<model>), whose files and rules
are `fnn.cli.runfolder`'s: one run at a time (`fnn.cli.lock`), a fresh run refuses another
run's files unless --overwrite, --resume continues the checkpoint on the same data
(`fnn.cli.provenance`) with the same settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax

import fnn.cli.lock as lock
import fnn.cli.provenance as provenance
import fnn.cli.runfolder as runfolder
import fnn.cli.settings as settings
from fnn import checkpoint, data, models, parallel, runtime
from fnn.cli.settings import Settings, SettingsError
from fnn.losses import softmax_cross_entropy
from fnn.progress import Progress
from fnn.step import make_epoch
from fnn.train import augment_as_read, best_epoch, evaluate_test, fit

__all__ = ["add_parser", "run", "train_recipe", "RunResult"]


class RunResult(NamedTuple):
    metrics: dict  # what metrics.json holds (and stdout's JSON)
    history: list[dict]  # one record per epoch
    params: Any  # the best epoch's parameters and layer state
    state: Any


def add_parser(subparsers, config_defaults: dict | None = None) -> argparse.ArgumentParser:
    """Add `train` to `subparsers`; `config_defaults` (from --config) replace the flags' defaults."""
    t = subparsers.add_parser(
        "train",
        help="train a model on MNIST; writes a run folder (curves, metrics, checkpoint, ...)",
        description="Train a model on MNIST into a run folder. Each recipe setting left out takes\n"
        "the model's measured recipe (the table below); --config takes them from a run's config.json.",
        epilog=settings.recipe_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    settings.add_arguments(t, defaults=config_defaults)
    t.add_argument("--out", help="output folder (default: runs/<model>)")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the checkpoint in --out until --epochs epochs are done (same data, same settings)",
    )
    t.add_argument("--overwrite", action="store_true", help="replace the run files already in --out")
    t.add_argument(
        "--config",
        metavar="CONFIG_JSON",
        help="take the settings of a run's config.json; flags override them",
    )
    t.add_argument("--quiet", action="store_true", help="no progress lines and no summary; the JSON still")
    t.set_defaults(run=run)
    return t


def run(args: argparse.Namespace) -> int:
    """`fnn train`: train, then print the metrics as one JSON object on stdout; return 0."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    chosen = Settings(**{k: v for k, v in vars(args).items() if k in fields})
    out = Path(args.out or f"runs/{args.model}")
    result = train_recipe(chosen, out, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    if result is not None:
        print(json.dumps({k: _rounded(v) for k, v in result.metrics.items()}))
    return 0


def _rounded(value):
    """4 decimals below 10 (accuracies, losses), 1 above (seconds, images/s)."""
    if isinstance(value, float):
        return round(value, 4) if abs(value) < 10 else round(value, 1)
    return value


def train_recipe(
    chosen: Settings,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> RunResult | None:
    """The model named in `chosen`, its recipe, MNIST; a run folder in `out`.

    The run records its data (`fnn.data.provenance`: path, sha256, split sizes). With `resume`,
    training continues the checkpoint in `out` on the same data (checked by sha256) until
    `chosen` asks for as many epochs as are done: bit for bit as an uninterrupted run when
    the total is unchanged; with a larger total the learning-rate schedule is recomputed for
    it (said on stderr; each history record carries the total it ran under, "epochs").
    Returns None, running and writing nothing, when the checkpoint already holds that many.

    Raises:
        SettingsError: more devices than exist; `out` holds another run's files (and neither
            resume nor overwrite); the checkpoint's settings or data differ from these; the
            batch is larger than the training set.
        fnn.cli.lock.LockError: another process is running in `out`, or it cannot be written.
    """
    out = Path(out)
    meta = chosen.resolved()
    if resume and overwrite:
        raise SettingsError("--resume continues the run in --out and --overwrite replaces it: pass one")
    if chosen.devices > jax.device_count():
        raise SettingsError(
            f"--devices: {chosen.devices} requested, {jax.device_count()} available "
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
        mnist, recorded = provenance.load_as_recorded(saved or meta, chosen.data)
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
        meta["pixel_mean"] = [float(v) for v in mnist.pixel_mean.ravel()]  # for fnn.models.load
        if saved is not None and saved["epochs"] != meta["epochs"]:
            print(
                f"fnn train: resuming after {saved['epochs_done']} of {saved['epochs']} epochs with "
                f"--epochs {meta['epochs']}: the learning-rate schedule is recomputed for "
                f"{meta['epochs']} epochs (history records carry the total they ran under)",
                file=sys.stderr,
            )
        return _train(chosen, meta, recipe, mnist, out, resume, progress)


def _train(chosen: Settings, meta: dict, recipe, mnist: data.MNIST, out: Path, resume: bool, progress: bool):
    """Fit, evaluate the best epoch on test, write the run folder's files (the lock is held)."""
    start = time.perf_counter()
    model = models.from_settings(meta)
    steps_per_epoch = len(mnist.train.x) // recipe.batch_size
    optimizer = recipe.make_optimizer(steps_per_epoch)
    augment = augment_as_read(recipe.make_augment(), mnist)
    options = dict(batch_size=recipe.batch_size, gradients=chosen.gradients, augment=augment)
    if chosen.devices == 1:
        epoch = make_epoch(model, softmax_cross_entropy, optimizer, driver=chosen.driver, **options)
    else:
        mesh = parallel.data_mesh(chosen.devices)
        epoch = parallel.make_parallel_epoch(model, softmax_cross_entropy, optimizer, mesh=mesh, **options)
    if progress:
        print(
            f"fnn train: {chosen.model} on {mnist.source} ({len(mnist.train.x)} train images), "
            f"{runtime.describe_devices()}",
            file=sys.stderr,
        )
    log = Progress(recipe.epochs, chosen.model, enabled=progress, batch_size=recipe.batch_size)
    checkpoint.remove_stale_temporaries(out / "checkpoint.npz")
    runfolder.write_config(out, meta)
    if not resume:
        (out / "metrics.jsonl").unlink(missing_ok=True)
    result = fit(
        model,
        mnist,
        optimizer,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        epoch=epoch,
        seed=chosen.seed,
        checkpoint_path=out / "checkpoint.npz",
        resume=resume,
        patience=chosen.patience,
        meta=meta,
        log=runfolder.EpochLog(log, out / "metrics.jsonl"),
    )
    history = result.history
    _, test = evaluate_test(model, result.best_params, result.best_state, mnist.test)
    metrics = {
        "model": chosen.model,
        **test,
        "best_epoch": best_epoch(history),
        "epochs": len(history),
        "stopped_early": result.stopped_early,
        "images_per_second": sum(h["images"] for h in history) / sum(h["train_seconds"] for h in history),
        "seconds": time.perf_counter() - start,
        "device": runtime.describe_devices(),
    }
    (out / "history.json").write_text(json.dumps(history))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    from fnn import plots  # matplotlib only where a figure is drawn: not for eval or --help

    try:
        title = f"{chosen.model}: test accuracy {100 * metrics['test_accuracy']:.2f}%"
        plots.save(plots.training_curves(history, title), out / "curves.png")
    except OSError as e:  # the run is done and saved: a figure is not worth failing it
        print(
            f"fnn train: WARNING: could not write {out / 'curves.png'}: {e.strerror or e}; "
            "the checkpoint, history and metrics are written",
            file=sys.stderr,
        )
    log.finish(metrics, out)
    return RunResult(metrics, history, result.best_params, result.best_state)
