"""Compiled training: train state, the jitted step (manual or autodiff gradients), two epoch
drivers, batched evaluation, and `fit` with history, best parameters, early stopping,
NaN/Inf stop and checkpoints.

The dataset is put on the device once; every epoch shuffles it there with a key derived from
(seed, epoch) and gathers the batches there. The last partial batch of an epoch is DROPPED
(every step has the same shape, so nothing compiles twice; a different subset is dropped
each epoch). Two drivers, the same arithmetic:
- "scan": the whole epoch is one compiled `lax.scan` over the batches (3x faster on an H100
  at batch 128, where one step is too short to hide the dispatch);
- "step": one jitted step dispatched per batch. On XLA:CPU the two are within 5% of each
  other (benchmarks/RESULTS.md); "step" is the default there. `default_driver()` picks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import checkpoint, runtime
from fnn.data import MNIST
from fnn.layer import Layer
from fnn.losses import softmax_cross_entropy
from fnn.optim import Optimizer

__all__ = [
    "TrainState",
    "init_train_state",
    "make_train_step",
    "train_step_fn",
    "shuffled_batches",
    "make_epoch",
    "make_evaluate",
    "per_step_epoch",
    "default_driver",
    "fit",
    "FitResult",
    "DivergedError",
    "GRADIENTS",
    "DRIVERS",
]

GRADIENTS = ("manual", "autodiff")
DRIVERS = ("scan", "step")
Loss = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


class TrainState(NamedTuple):
    params: Any
    state: Any  # layer state (batch-norm running statistics)
    opt_state: Any
    step: jax.Array  # int32: steps taken
    key: jax.Array  # PRNG key for dropout, split once per step


class DivergedError(RuntimeError):
    """The training loss became NaN or Inf."""


def init_train_state(
    model: Layer, optimizer: Optimizer, in_shape: tuple[int, ...], seed: int = 0
) -> TrainState:
    init_key, dropout_key = jax.random.split(jax.random.key(seed))
    _, params, state = model.init(init_key, in_shape)
    return TrainState(params, state, optimizer.init(params), jnp.zeros((), jnp.int32), dropout_key)


def train_step_fn(model: Layer, loss: Loss, optimizer: Optimizer, gradients: str):
    """The pure train step: (TrainState, x, labels) -> (TrainState, (loss, correct))."""
    if gradients not in GRADIENTS:
        raise ValueError(f"gradients must be one of {GRADIENTS}, got {gradients!r}")

    def step(ts: TrainState, x, labels):
        key, dropout_key = jax.random.split(ts.key)
        if gradients == "manual":
            scores, state, cache = model.apply(ts.params, ts.state, x, train=True, key=dropout_key)
            value, dscores = loss(scores, labels)
            _, grads = model.backward(ts.params, cache, dscores)
        else:

            def objective(params):
                scores, state, _ = model.apply(params, ts.state, x, train=True, key=dropout_key)
                return loss(scores, labels)[0], (scores, state)

            (value, (scores, state)), grads = jax.value_and_grad(objective, has_aux=True)(ts.params)
        params, opt_state = optimizer.update(grads, ts.opt_state, ts.params)
        correct = (scores.argmax(axis=1) == labels).sum()
        return TrainState(params, state, opt_state, ts.step + 1, key), (value, correct)

    return step


def make_train_step(model: Layer, loss: Loss, optimizer: Optimizer, gradients: str = "manual"):
    """One jit-compiled step `(ts, x, labels) -> (ts, (loss, correct))`; `ts` is donated.

    "manual" chains the hand-written backward; "autodiff" uses jax.value_and_grad through
    the same apply.
    """
    return runtime.jit(train_step_fn(model, loss, optimizer, gradients), donate_argnums=0)


def default_driver(backend: str | None = None) -> str:
    """ "step" on XLA:CPU, "scan" on accelerators (measured; see benchmarks/RESULTS.md)."""
    return "step" if (backend or jax.default_backend()) == "cpu" else "scan"


def shuffled_batches(key, n: int, batch_size: int):
    """A shuffled (num_batches, batch_size) index matrix; the remainder n % batch_size is dropped."""
    count = n // batch_size
    return jax.random.permutation(key, n)[: count * batch_size].reshape(count, batch_size)


def make_epoch(
    model: Layer,
    loss: Loss,
    optimizer: Optimizer,
    *,
    batch_size: int,
    gradients: str = "manual",
    driver: str | None = None,
):
    """`epoch(ts, x, labels, key) -> (ts, losses, correct)` over device-resident data.

    losses and correct are per batch, (num_batches,), still on the device.
    """
    driver = driver or default_driver()
    if driver not in DRIVERS:
        raise ValueError(f"driver must be one of {DRIVERS}, got {driver!r}")
    step = train_step_fn(model, loss, optimizer, gradients)
    shuffle = jax.jit(shuffled_batches, static_argnums=(1, 2))

    if driver == "scan":

        def scan_epoch(ts, x, labels, order):
            def body(ts, rows):
                return step(ts, x[rows], labels[rows])

            ts, (losses, correct) = jax.lax.scan(body, ts, order)
            return ts, losses, correct

        scan_epoch = runtime.jit(scan_epoch, donate_argnums=0)

        def epoch(ts, x, labels, key):
            return scan_epoch(ts, x, labels, shuffle(key, x.shape[0], batch_size))

        epoch.compiled = (scan_epoch,)
        return epoch

    def gather_step(ts, x, labels, order, i):
        rows = order[i]
        return step(ts, x[rows], labels[rows])

    return per_step_epoch(runtime.jit(gather_step, donate_argnums=0), shuffle, batch_size)


def per_step_epoch(gather_step, shuffle, batch_size: int):
    """The per-step driver: `gather_step(ts, x, labels, order, i)` dispatched once per batch.

    The batch index goes in as a traced int32, so every step reuses one compilation.
    """

    def epoch(ts, x, labels, key):
        order = shuffle(key, x.shape[0], batch_size)
        losses, correct = [], []
        for i in range(order.shape[0]):
            ts, (value, right) = gather_step(ts, x, labels, order, jnp.int32(i))
            losses.append(value)
            correct.append(right)
        return ts, jnp.stack(losses), jnp.stack(correct)

    epoch.compiled = (gather_step,)
    return epoch


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
        total_loss = float(sum(s[0] for s in sums))
        total_correct = int(sum(s[1] for s in sums))
        return total_loss / n, total_correct / n

    return evaluate


class FitResult(NamedTuple):
    train_state: TrainState  # after the last epoch run
    best_params: Any  # params and layer state of the epoch with the best validation accuracy
    best_state: Any
    history: list[dict]
    stopped_early: bool


def fit(
    model: Layer,
    data: MNIST,
    optimizer: Optimizer,
    *,
    epochs: int,
    batch_size: int = 128,
    loss: Loss = softmax_cross_entropy,
    seed: int = 0,
    gradients: str = "manual",
    driver: str | None = None,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    patience: int | None = None,
    meta: dict | None = None,
    log: Callable[[dict], None] | None = None,
    mesh: Any = None,
) -> FitResult:
    """Train for `epochs` epochs in total, evaluating on the validation split after each.

    Args:
        checkpoint_path: if given, the train state, best params, history and `meta` are saved
            there atomically after every epoch; with resume=True, training continues from it
            until `epochs` epochs are done (bit for bit the same as an uninterrupted run on CPU).
        patience: stop when validation accuracy has not improved for this many epochs.
        log: called with each epoch's history record (the CLI prints a progress line).
        mesh: a `jax.sharding.Mesh` (see `fnn.parallel.data_mesh`) to split every batch across
            its devices; batch_size must be divisible by its size.

    Raises:
        DivergedError: the mean training loss of an epoch was NaN or Inf; the checkpoint
            keeps the last good epoch.
    """
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not (isinstance(batch_size, int) and 1 <= batch_size <= len(data.train.x)):
        raise ValueError(f"batch_size must be an int in [1, {len(data.train.x)}], got {batch_size!r}")
    in_shape = data.train.x.shape[1:]
    ts = init_train_state(model, optimizer, in_shape, seed)
    best = {"params": ts.params, "state": ts.state}
    history: list[dict] = []
    if resume:
        if checkpoint_path is None or not Path(checkpoint_path).exists():
            raise checkpoint.CheckpointError(f"--resume: no checkpoint at {checkpoint_path}")
        restored, saved_meta = checkpoint.load(checkpoint_path, {"train_state": ts, "best": best})
        ts, best = restored["train_state"], restored["best"]
        history = saved_meta["history"]
    arrays = (data.train.x, data.train.labels, data.validation.x, data.validation.labels)
    if mesh is None:
        epoch_fn = make_epoch(
            model, loss, optimizer, batch_size=batch_size, gradients=gradients, driver=driver
        )
        x, labels, val_x, val_labels = jax.device_put(arrays)
    else:
        from fnn import parallel

        epoch_fn = parallel.make_parallel_epoch(
            model, loss, optimizer, mesh=mesh, batch_size=batch_size, gradients=gradients
        )
        ts, (x, labels, val_x, val_labels) = parallel.replicate(mesh, (ts, arrays))
    evaluate = make_evaluate(model, loss)
    data_key = jax.random.fold_in(jax.random.key(seed), 1)
    best_accuracy = max((h["val_accuracy"] for h in history), default=-1.0)
    best = jax.device_get(best)
    stopped_early = False
    for epoch in range(len(history), epochs):
        start = time.perf_counter()
        lr = float(optimizer.lr(ts.step))
        ts, losses, correct = epoch_fn(ts, x, labels, jax.random.fold_in(data_key, epoch))
        train_loss = float(losses.mean())  # waits for the epoch to finish
        train_seconds = time.perf_counter() - start
        if not math.isfinite(train_loss):
            where = f"; the checkpoint at {checkpoint_path} keeps epoch {epoch}" if checkpoint_path else ""
            raise DivergedError(
                f"training loss became {train_loss} in epoch {epoch + 1}{where} (try a lower --lr)"
            )
        train_accuracy = float(correct.sum()) / (losses.shape[0] * batch_size)
        val_loss, val_accuracy = evaluate(ts.params, ts.state, val_x, val_labels)
        record = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": lr,
            "seconds": time.perf_counter() - start,
            "train_seconds": train_seconds,
            "images": int(losses.shape[0] * batch_size),
            "batch_losses": [float(v) for v in np.asarray(losses)],
        }
        history.append(record)
        if val_accuracy > best_accuracy:
            best_accuracy = val_accuracy
            best = jax.device_get({"params": ts.params, "state": ts.state})
        if checkpoint_path is not None:
            checkpoint.save(
                checkpoint_path,
                {"train_state": ts, "best": best},
                {"history": history, "epochs_done": epoch + 1, "seed": seed, **(meta or {})},
            )
        if log:
            log(record)
        if patience is not None and epoch + 1 - _best_epoch(history) >= patience:
            stopped_early = True
            break
    return FitResult(ts, best["params"], best["state"], history, stopped_early)


def _best_epoch(history: list[dict]) -> int:
    return max(history, key=lambda h: h["val_accuracy"])["epoch"]
