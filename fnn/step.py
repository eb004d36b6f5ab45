"""The compiled train step and the epoch drivers: what `fnn.train` and `fnn.parallel` share.

A step is a pure function `(TrainState, x, labels) -> (TrainState, (loss, correct))`:
forward in train mode, the loss, gradients (the hand-written backward, or jax.grad through
the same apply), then the optimizer's update, added to the parameters. Any optimizer in
optax's protocol works: `init(params) -> state`, `update(grads, state, params) -> (updates,
state)`; the step count lives in the optimizer's state, nowhere else.

The dataset is put on the device once; every epoch shuffles it there with its own key and
gathers the batches there. The last partial batch of an epoch is DROPPED (every step has the
same shape, so nothing compiles twice; a different subset is dropped each epoch). Two
drivers, the same arithmetic:
- "scan": the whole epoch is one compiled `lax.scan` over the batches (faster on GPUs, where
  one step is too short to hide the dispatch);
- "step": one jitted step dispatched per batch (the default on XLA:CPU, where both are
  within a few percent; benchmarks/RESULTS.md). `default_driver()` picks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fnn import checks, runtime
from fnn.layer import Layer
from fnn.optim import apply_updates

__all__ = [
    "TrainState",
    "Epoch",
    "init_train_state",
    "train_step_fn",
    "make_train_step",
    "shuffled_batches",
    "augment_key",
    "make_epoch",
    "per_step_epoch",
    "default_driver",
    "GRADIENTS",
    "DRIVERS",
]

GRADIENTS = ("manual", "autodiff")
DRIVERS = ("scan", "step")
Loss = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


class TrainState(NamedTuple):
    params: Any  # the model's parameters
    state: Any  # layer state (batch-norm running statistics)
    opt_state: Any  # the optimizer's state, step count included
    key: jax.Array  # PRNG key for dropout, split once per step


class Epoch(NamedTuple):
    """How one epoch runs: `run(ts, x, labels, key, on_step=None) -> (ts, losses, correct)`,
    per batch; `on_step(done, total, loss)` reports progress (after every step, or at the end).

    `place(tree)` puts the train state and the data where `run` expects them (one device,
    or replicated over a mesh); `batch_size` is the global batch; `compiled` lists the jitted
    functions (a test counts their compilations).
    """

    run: Callable[..., Any]
    place: Callable[[Any], Any]
    batch_size: int
    compiled: tuple


def init_train_state(model: Layer, optimizer: Any, in_shape: tuple[int, ...], seed: int = 0) -> TrainState:
    """Initial parameters (from `seed`), optimizer state and dropout key."""
    init_key, dropout_key = jax.random.split(jax.random.key(seed))
    _, params, state = model.init(init_key, in_shape)
    return TrainState(params, state, optimizer.init(params), dropout_key)


def train_step_fn(model: Layer, loss: Loss, optimizer: Any, gradients: str = "manual"):
    """The pure train step: (TrainState, x, labels) -> (TrainState, (loss, correct)).

    "manual" chains the hand-written backward; "autodiff" uses jax.value_and_grad through
    the same apply.
    """
    checks.one_of("train step", "gradients", gradients, GRADIENTS)

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
        updates, opt_state = optimizer.update(grads, ts.opt_state, ts.params)
        correct = (scores.argmax(axis=1) == labels).sum()
        return TrainState(apply_updates(ts.params, updates), state, opt_state, key), (value, correct)

    return step


def make_train_step(model: Layer, loss: Loss, optimizer: Any, gradients: str = "manual"):
    """One jit-compiled step `(ts, x, labels) -> (ts, (loss, correct))`; `ts` is donated."""
    return runtime.jit(train_step_fn(model, loss, optimizer, gradients), donate_argnums=0)


def default_driver(backend: str | None = None) -> str:
    """ "step" on XLA:CPU, "scan" on accelerators (measured; see benchmarks/RESULTS.md)."""
    return "step" if (backend or jax.default_backend()) == "cpu" else "scan"


def augment_key(epoch_key):
    """The epoch's augmentation key: a stream apart from the one that shuffles (the batch
    order is the same with or without augmentation)."""
    return jax.random.fold_in(epoch_key, 1)


def shuffled_batches(key, n: int, batch_size: int):
    """A shuffled (n // batch_size, batch_size) index matrix; the remainder is dropped."""
    count = n // batch_size
    return jax.random.permutation(key, n)[: count * batch_size].reshape(count, batch_size)


def make_epoch(
    model: Layer,
    loss: Loss,
    optimizer: Any,
    *,
    batch_size: int,
    gradients: str = "manual",
    driver: str | None = None,
    augment: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
) -> Epoch:
    """One device's epoch over device-resident data, by the "scan" or the "step" driver.

    `augment(key, x) -> x`, if given, transforms each gathered batch inside the compiled step
    (e.g. `fnn.augment.augmentation(...)`), with a key folded from the epoch's key and the
    step's index: seeded, and never a host loop.
    """
    driver = checks.one_of("make_epoch", "driver", driver or default_driver(), DRIVERS)
    step = train_step_fn(model, loss, optimizer, gradients)
    shuffle = jax.jit(shuffled_batches, static_argnums=(1, 2))

    def batch(x, rows, key, i):
        xb = x[rows]
        return xb if augment is None else augment(jax.random.fold_in(key, i), xb)

    if driver == "scan":

        def scan_epoch(ts, x, labels, order, key):
            def body(ts, step_rows):
                i, rows = step_rows
                return step(ts, batch(x, rows, key, i), labels[rows])

            ts, (losses, correct) = jax.lax.scan(body, ts, (jnp.arange(order.shape[0]), order))
            return ts, losses, correct

        scan_epoch = runtime.jit(scan_epoch, donate_argnums=0)

        def run(ts, x, labels, key, on_step=None):
            order = shuffle(key, x.shape[0], batch_size)
            ts, losses, correct = scan_epoch(ts, x, labels, order, augment_key(key))
            if on_step is not None:  # one compiled call: the only progress is its end
                on_step(losses.shape[0], losses.shape[0], losses[-1])
            return ts, losses, correct

        return Epoch(run, jax.device_put, batch_size, (scan_epoch,))

    def gather_step(ts, x, labels, order, i, key):
        rows = order[i]
        return step(ts, batch(x, rows, key, i), labels[rows])

    gather_step = runtime.jit(gather_step, donate_argnums=0)
    return Epoch(per_step_epoch(gather_step, shuffle, batch_size), jax.device_put, batch_size, (gather_step,))


def per_step_epoch(gather_step, shuffle, batch_size: int):
    """The per-step driver: `gather_step(ts, x, labels, order, i, key)` dispatched once per batch.

    The batch index goes in as a traced int32, so every step reuses one compilation; `key` is
    the epoch's augmentation key (the step folds `i` into it). Returns `run(ts, x, labels, key,
    on_step=None) -> (ts, losses, correct)`; `on_step(done, total, loss)` is called after each
    step is dispatched (`loss` may still be computing).
    """

    def run(ts, x, labels, key, on_step=None):
        order, aug_key = shuffle(key, x.shape[0], batch_size), augment_key(key)
        losses, correct = [], []
        for i in range(order.shape[0]):
            ts, (value, right) = gather_step(ts, x, labels, order, jnp.int32(i), aug_key)
            losses.append(value)
            correct.append(right)
            if on_step is not None:
                on_step(i + 1, order.shape[0], value)
        return ts, jnp.stack(losses), jnp.stack(correct)

    return run
