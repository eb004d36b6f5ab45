"""Training over epochs: batched evaluation, and `fit` with history, best parameters, early
stopping, a stop on NaN/Inf and atomic checkpoints.

`fit` runs an `Epoch` (from `fnn.step.make_epoch`, or `fnn.parallel.make_parallel_epoch` for
a device mesh) once per epoch, evaluates on the validation split after each, and keeps the
parameters of the best epoch by `best_epoch`'s rule: the highest validation accuracy, the
earliest on ties.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import checkpoint, checks, runtime
from fnn.data import MNIST, check_splits
from fnn.layer import Layer
from fnn.losses import softmax_cross_entropy
from fnn.progress import Progress
from fnn.step import Epoch, Loss, TrainState, init_train_state, make_epoch

__all__ = [
    "make_evaluate",
    "predict",
    "fit",
    "FitResult",
    "DivergedError",
    "Interrupted",
    "best_epoch",
    "evaluate_test",
    "learning_rate",
    "augment_as_read",
]


class DivergedError(RuntimeError):
    """A training loss or a parameter became NaN or Inf; nothing non-finite was saved.

    Attributes: `epoch` (1-based), `step` (1-based within the epoch), `checkpoint_epoch`
    (the epoch the checkpoint on disk holds; None when no checkpoint was written).
    """

    def __init__(self, message: str, epoch: int, step: int, checkpoint_epoch: int | None):
        super().__init__(message)
        self.epoch, self.step, self.checkpoint_epoch = epoch, step, checkpoint_epoch


class Interrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, or a signal turned into KeyboardInterrupt).

    A KeyboardInterrupt still, so code that stops on Ctrl-C keeps doing so; it adds `epoch`
    (the 1-based epoch that was running) and `checkpoint_epoch` (what the checkpoint on disk
    holds, intact: saves are atomic; None when none was written).
    """

    def __init__(self, epoch: int, checkpoint_epoch: int | None):
        super().__init__(f"interrupted in epoch {epoch}")
        self.epoch, self.checkpoint_epoch = epoch, checkpoint_epoch


class FitResult(NamedTuple):
    train_state: TrainState  # after the last epoch run
    best_params: Any  # params and layer state of the best epoch (`best_epoch`)
    best_state: Any
    history: list[dict]  # one record per epoch
    stopped_early: bool


def best_epoch(history: list[dict]) -> int:
    """The epoch (1-based) with the highest validation accuracy; the earliest on ties.

    Without a validation split (records whose "val_accuracy" is None) it is the last epoch.
    """
    if any(h["val_accuracy"] is None for h in history):
        return history[-1]["epoch"]
    return max(history, key=lambda h: (h["val_accuracy"], -h["epoch"]))["epoch"]


@jax.jit
def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.isfinite(leaf).all() for leaf in jax.tree.leaves(tree)]))


def make_evaluate(model: Layer, loss: Loss = softmax_cross_entropy, batch_size: int = 1000):
    """`evaluate(params, state, x, labels) -> (mean loss, accuracy)` in test mode, batched.

    The last batch is filled by repeating the final example and masked out: one compilation.
    """

    def per_example_loss(scores, labels):
        return jax.vmap(lambda s, y: loss(s[None], y[None])[0])(scores, labels)

    @runtime.jit
    def batch_sums(params, state, x, labels, start):
        idx = start + jnp.arange(batch_size)
        valid = idx < x.shape[0]
        idx = jnp.minimum(idx, x.shape[0] - 1)
        scores, _, _ = model.apply(params, state, x[idx], train=False)
        losses = per_example_loss(scores, labels[idx])
        correct = scores.argmax(axis=1) == labels[idx]
        return jnp.where(valid, losses, 0.0).sum(), jnp.where(valid, correct, False).sum()

    def evaluate(params, state, x, labels):
        n = x.shape[0]
        sums = [batch_sums(params, state, x, labels, jnp.int32(s)) for s in range(0, n, batch_size)]
        return float(sum(s[0] for s in sums)) / n, int(sum(s[1] for s in sums)) / n

    return evaluate


def predict(model: Layer, params: Any, state: Any, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Test-mode scores (N, K) of `x` (N, *in_shape), computed in batches of `batch_size`."""
    forward = runtime.jit(lambda p, s, xb: model.apply(p, s, xb, train=False)[0])
    batches = [
        forward(params, state, jnp.asarray(x[i : i + batch_size])) for i in range(0, len(x), batch_size)
    ]
    return np.concatenate([np.asarray(b) for b in batches])


def fit(
    model: Layer,
    data: MNIST,
    optimizer: Any,
    *,
    epochs: int,
    batch_size: int = 128,
    epoch: Epoch | None = None,
    loss: Loss = softmax_cross_entropy,
    seed: int = 0,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    patience: int | None = None,
    meta: dict | None = None,
    on_epoch: Callable[[dict, TrainState], None] | None = None,
    log: Callable[[dict], None] | str | None = "progress",
    augment: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
) -> FitResult:
    """Train for `epochs` epochs in total, evaluating on the validation split after each.

    Args:
        optimizer: any optimizer in optax's protocol (fnn.optim's, or optax's own).
        epoch: how an epoch runs; default `step.make_epoch(model, loss, optimizer,
            batch_size=batch_size)` (manual gradients, the backend's driver). Its batch size
            must equal `batch_size`.
        checkpoint_path: if given, the train state, best params, history and `meta` are saved
            there atomically after every epoch; with resume=True, training continues from it
            until `epochs` epochs are done (bit for bit the same as an uninterrupted run on CPU
            when `epochs` and the optimizer are the ones the checkpoint was trained with). A
            checkpoint that already holds `epochs` epochs or more is returned as it is.
        patience: stop when validation accuracy has not improved for this many epochs.
        on_epoch: called as `on_epoch(record, train_state)` after each epoch is recorded (and
            saved), before `log`: where an experiment measures the model as it trains.
        augment: `(key, x) -> x` applied to every training batch inside the compiled step
            (`fnn.augment.augmentation(...)`), on the images as read (the train mean, if
            `data` subtracted one, is added back first and subtracted after). Not with `epoch`
            (build that epoch with `make_epoch(..., augment=)`).
        log: called with each epoch's record, after it is saved; if it has a `step(epoch, done,
            total, loss)` method, that is called within the epoch. "progress" (the default):
            `fnn.progress.Progress`, one line per epoch on stderr (and a live bar in a
            terminal); None: silent.

    Every record carries "epochs", the total this call was asked for: a run resumed with
    another total shows where its learning-rate schedule was recomputed. Without a
    validation split (`data.validation` empty) "val_loss" and "val_accuracy" are None and the
    best epoch is the last.

    Raises:
        DivergedError: a training loss, or a parameter after the epoch, is NaN or Inf. The
            epoch is not saved: the checkpoint keeps the last good epoch.
        Interrupted: KeyboardInterrupt during training; the checkpoint keeps the last saved epoch.
        TypeError: `optimizer` is not an optimizer (no init and update, e.g. the string "sgd").
        fnn.data.DataError: the splits cannot be trained on (`fnn.data.check_splits`).
    """
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise TypeError(
            f"fit: optimizer must have init and update (optax's protocol), e.g. fnn.optim.sgd(0.1); got {optimizer!r}"
        )
    checks.positive_int("fit", "epochs", epochs)
    checks.positive_int("fit", "batch_size", batch_size)
    if batch_size > len(data.train.x):
        raise ValueError(
            f"fit: batch_size must be at most {len(data.train.x)} (the training set), got {batch_size}"
        )
    out_shape, _, _ = model.init(jax.random.key(0), np.shape(data.train.x)[1:])
    check_splits(data, num_classes=out_shape[-1])
    validate = len(data.validation.x) > 0
    if patience is not None and not validate:
        raise ValueError("fit: patience needs a validation split (data.validation is empty)")
    if epoch is not None and augment is not None:
        raise ValueError("fit: give augment to make_epoch when you pass your own epoch, not to fit")
    epoch = epoch or make_epoch(
        model, loss, optimizer, batch_size=batch_size, augment=augment_as_read(augment, data)
    )
    if log == "progress":
        log = Progress(epochs, batch_size=batch_size)
    on_step = getattr(log, "step", None)
    if epoch.batch_size != batch_size:
        raise ValueError(
            f"fit: the epoch's batch size {epoch.batch_size} differs from batch_size={batch_size}"
        )
    ts = init_train_state(model, optimizer, data.train.x.shape[1:], seed)
    best = {"params": ts.params, "state": ts.state}
    history: list[dict] = []
    if resume:
        ts, best, history = _restore(checkpoint_path, ts, best)
    saved = len(history) if checkpoint_path is not None and history else None
    arrays = (data.train.x, data.train.labels, data.validation.x, data.validation.labels)
    ts, (x, labels, val_x, val_labels) = epoch.place((ts, arrays))
    evaluate = make_evaluate(model, loss)
    data_key = jax.random.fold_in(jax.random.key(seed), 1)
    best = jax.device_get(best)
    stopped_early = False
    for index in range(len(history), epochs):
        try:
            start = time.perf_counter()
            steps = {} if on_step is None else {"on_step": functools.partial(on_step, index + 1)}
            ts, losses, correct = epoch.run(ts, x, labels, jax.random.fold_in(data_key, index), **steps)
            record = _train_record(index, losses, correct, batch_size, start, ts.opt_state)
            _check_finite(record, ts, saved, checkpoint_path)
            record["epochs"] = epochs
            if validate:
                record["val_loss"], record["val_accuracy"] = evaluate(ts.params, ts.state, val_x, val_labels)
            else:
                record["val_loss"] = record["val_accuracy"] = None
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            if best_epoch(history) == record["epoch"]:
                best = jax.device_get({"params": ts.params, "state": ts.state})
            if checkpoint_path is not None:
                meta_now = {"history": history, "epochs_done": index + 1, "seed": seed, **(meta or {})}
                checkpoint.save(checkpoint_path, {"train_state": ts, "best": best}, meta_now)
                saved = index + 1
            if on_epoch is not None:
                on_epoch(record, ts)
            if log:
                log(record)
        except KeyboardInterrupt as e:
            raise Interrupted(index + 1, saved) from e
        if patience is not None and record["epoch"] - best_epoch(history) >= patience:
            stopped_early = True
            break
    return FitResult(ts, best["params"], best["state"], history, stopped_early)


def augment_as_read(augment, data: MNIST):
    """`augment` made to act on `data`'s images as read: when `data` subtracted its train mean,
    the mean is added back before and subtracted after (so that what moves in from outside the
    picture is background, not minus the mean). For `make_epoch(..., augment=)`."""
    if augment is None or data.pixel_mean is None:
        return augment
    mean = jnp.asarray(data.pixel_mean, jnp.float32).reshape(data.train.x.shape[1:])
    return lambda key, x: augment(key, x + mean) - mean


def _check_finite(record: dict, ts: TrainState, saved: int | None, checkpoint_path) -> None:
    """Raise DivergedError if a batch loss or the parameters after the epoch are not finite."""
    losses = np.asarray(record["batch_losses"])
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        what, step = f"the training loss became {losses[bad[0]]} at step {bad[0] + 1}", int(bad[0]) + 1
    elif not bool(_all_finite((ts.params, ts.state))):
        what, step = f"the parameters became NaN or Inf at step {len(losses)} (the last)", len(losses)
    else:
        return
    if checkpoint_path is None:
        kept = ""
    elif saved is None:
        kept = "; no checkpoint was written"
    else:
        kept = f"; the checkpoint at {checkpoint_path} keeps epoch {saved}"
    raise DivergedError(
        f"training diverged in epoch {record['epoch']}: {what} of {len(losses)}{kept} "
        "(try a lower learning rate)",
        record["epoch"],
        step,
        saved,
    )


def _restore(path, ts: TrainState, best: dict) -> tuple[TrainState, dict, list[dict]]:
    """The train state, best parameters and history saved at `path`, shaped like ts and best."""
    if path is None or not Path(path).exists():
        raise checkpoint.CheckpointError(f"resume: no checkpoint at {path}")
    restored, saved_meta = checkpoint.load(path, {"train_state": ts, "best": best})
    return restored["train_state"], restored["best"], saved_meta["history"]


def _train_record(index, losses, correct, batch_size, start, opt_state) -> dict:
    """The training half of an epoch's record (waits for the epoch to finish)."""
    steps = int(losses.shape[0])
    record = {"epoch": index + 1, "train_loss": float(losses.mean())}
    record["train_seconds"] = time.perf_counter() - start
    record["train_accuracy"] = float(correct.sum()) / (steps * batch_size)
    record["images"] = steps * batch_size
    lr = learning_rate(opt_state)
    if lr is not None:
        record["lr"] = lr
    record["batch_losses"] = [float(v) for v in np.asarray(losses)]
    return record


def learning_rate(opt_state: Any) -> float | None:
    """The learning rate of the last update, as the optimizer's state records it (the `lr`
    field of fnn.optim's states, inside a chain too); None when it records none."""
    if hasattr(opt_state, "_fields") and "lr" in opt_state._fields:
        return float(opt_state.lr)
    if isinstance(opt_state, (tuple, list)):
        for inner in opt_state:
            found = learning_rate(inner)
            if found is not None:
                return found
    return None


def evaluate_test(model: Layer, params, state, split, loss: Loss = softmax_cross_entropy):
    """Test-mode scores of `split` (N, K) and {"test_accuracy", "test_loss"}: what a trained run
    reports for its best parameters (and `fnn eval` recomputes from the checkpoint)."""
    scores = predict(model, params, state, split.x)
    test_loss = float(loss(jnp.asarray(scores), jnp.asarray(split.labels))[0])
    accuracy = float((scores.argmax(axis=1) == split.labels).mean())
    return scores, {"test_accuracy": accuracy, "test_loss": test_loss}
