"""Optimizers over pytrees, no optax: sgd, momentum, nesterov, rmsprop, adam; lr schedules.

An `Optimizer` is `(init, update)`: `init(params) -> OptState`,
`update(grads, opt_state, params) -> (params, opt_state)`. `lr` is a float or a schedule
`step -> lr` (step counts updates from 0). Options shared by every rule:
- `weight_decay`: adds weight_decay * p to the gradient of every weight named "W"
  (never to biases "b" or batch-norm "gamma"/"beta");
- `clip_norm`: rescales the whole gradient so that its global L2 norm is at most clip_norm.
Derivation: derivations/optim.tex (eq:sgd, eq:momentum, eq:nesterov, eq:rmsprop, eq:adam).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "Optimizer",
    "OptState",
    "sgd",
    "momentum",
    "nesterov",
    "rmsprop",
    "adam",
    "constant",
    "step_decay",
    "exponential_decay",
    "cosine_decay",
    "linear_warmup",
    "OPTIMIZERS",
    "make_optimizer",
]

Schedule = Callable[[jax.Array], jax.Array]


class Optimizer(NamedTuple):
    init: Callable[[Any], OptState]
    update: Callable[[Any, OptState, Any], tuple[Any, OptState]]
    lr: Schedule  # the schedule, for logging


class OptState(NamedTuple):
    step: jax.Array  # int32 scalar: updates applied so far
    slots: tuple  # per-rule accumulators, each a pytree shaped like params


# Schedules: step -> lr, written in jnp so they trace under jit.


def constant(lr: float) -> Schedule:
    return lambda step: jnp.asarray(lr, jnp.float32)


def step_decay(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """lr * factor ** (step // every)."""
    return lambda step: lr * factor ** (step // every)


def exponential_decay(lr: float, rate: float, every: int = 1) -> Schedule:
    """lr * rate ** (step / every)."""
    return lambda step: lr * rate ** (step / every)


def cosine_decay(lr: float, total_steps: int, final_lr: float = 0.0) -> Schedule:
    """From lr at step 0 to final_lr at total_steps along half a cosine; final_lr after."""

    def schedule(step):
        t = jnp.minimum(step / total_steps, 1.0)
        return final_lr + 0.5 * (lr - final_lr) * (1 + jnp.cos(math.pi * t))

    return schedule


def linear_warmup(schedule: Schedule | float, warmup_steps: int) -> Schedule:
    """Scale `schedule` linearly from ~0 to 1 over the first warmup_steps steps."""
    inner = _as_schedule(schedule)
    return lambda step: inner(step) * jnp.minimum((step + 1) / warmup_steps, 1.0)


def _as_schedule(lr: float | Schedule) -> Schedule:
    if callable(lr):
        return lr
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number or a schedule step -> lr, got {lr!r}")
    return constant(lr)


def _decay_mask(params):
    """True for the leaves that weight decay applies to: those stored under the key "W"."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: getattr(path[-1], "key", None) == "W" if path else False, params
    )


def _optimizer(lr, weight_decay, clip_norm, num_slots, rule) -> Optimizer:
    """Shared plumbing: schedule, step count, weight decay, clipping, structure check.

    `rule(g, p, slots, lr, t) -> (p, slots)` updates one leaf; t = step + 1.
    """
    schedule = _as_schedule(lr)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be positive or None, got {clip_norm!r}")

    def init(params):
        zeros = tuple(jax.tree.map(jnp.zeros_like, params) for _ in range(num_slots))
        return OptState(jnp.zeros((), jnp.int32), zeros)

    def update(grads, opt_state, params):
        if jax.tree.structure(grads) != jax.tree.structure(params):
            raise TypeError(
                f"optimizer: grads must be shaped like params: {jax.tree.structure(grads)} "
                f"!= {jax.tree.structure(params)}"
            )
        if weight_decay:
            grads = jax.tree.map(
                lambda g, p, m: g + weight_decay * p if m else g, grads, params, _decay_mask(params)
            )
        if clip_norm is not None:
            norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree.leaves(grads)))
            grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, clip_norm / (norm + 1e-12)), grads)
        step_lr = schedule(opt_state.step)
        t = opt_state.step + 1
        treedef = jax.tree.structure(params)
        leaves = zip(
            jax.tree.leaves(grads), jax.tree.leaves(params), *(jax.tree.leaves(s) for s in opt_state.slots)
        )
        new_params, new_slots = [], [[] for _ in range(num_slots)]
        for g, p, *slots in leaves:
            p, slots = rule(g, p, slots, step_lr.astype(p.dtype), t)
            new_params.append(p)
            for acc, s in zip(new_slots, slots):
                acc.append(s)
        slots = tuple(jax.tree.unflatten(treedef, s) for s in new_slots)
        return jax.tree.unflatten(treedef, new_params), OptState(t, slots)

    return Optimizer(init, update, schedule)


def sgd(lr, *, weight_decay: float = 0.0, clip_norm: float | None = None) -> Optimizer:
    """p <- p - lr g  (eq:sgd)."""
    return _optimizer(lr, weight_decay, clip_norm, 0, lambda g, p, s, lr, t: (p - lr * g, ()))


def momentum(lr, mu: float = 0.9, *, weight_decay: float = 0.0, clip_norm: float | None = None) -> Optimizer:
    """v <- mu v - lr g;  p <- p + v  (the assignment's form, eq:momentum)."""
    _check_unit("momentum", "mu", mu)

    def rule(g, p, slots, lr, t):
        v = mu * slots[0] - lr * g
        return p + v, (v,)

    return _optimizer(lr, weight_decay, clip_norm, 1, rule)


def nesterov(lr, mu: float = 0.9, *, weight_decay: float = 0.0, clip_norm: float | None = None) -> Optimizer:
    """v' <- mu v - lr g;  p <- p - mu v + (1 + mu) v'  (eq:nesterov)."""
    _check_unit("nesterov", "mu", mu)

    def rule(g, p, slots, lr, t):
        v = slots[0]
        v_new = mu * v - lr * g
        return p - mu * v + (1 + mu) * v_new, (v_new,)

    return _optimizer(lr, weight_decay, clip_norm, 1, rule)


def rmsprop(
    lr, decay: float = 0.99, eps: float = 1e-8, *, weight_decay: float = 0.0, clip_norm: float | None = None
) -> Optimizer:
    """c <- decay c + (1 - decay) g^2;  p <- p - lr g / (sqrt(c) + eps)  (eq:rmsprop)."""
    _check_unit("rmsprop", "decay", decay)

    def rule(g, p, slots, lr, t):
        c = decay * slots[0] + (1 - decay) * g * g
        return p - lr * g / (jnp.sqrt(c) + eps), (c,)

    return _optimizer(lr, weight_decay, clip_norm, 1, rule)


def adam(
    lr,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
) -> Optimizer:
    """m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; p <- p - lr m_hat / (sqrt(v_hat) + eps),
    with bias corrections m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)  (eq:adam)."""
    _check_unit("adam", "b1", b1)
    _check_unit("adam", "b2", b2)

    def rule(g, p, slots, lr, t):
        m = b1 * slots[0] + (1 - b1) * g
        v = b2 * slots[1] + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        return p - lr * m_hat / (jnp.sqrt(v_hat) + eps), (m, v)

    return _optimizer(lr, weight_decay, clip_norm, 2, rule)


def _check_unit(name: str, what: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
        raise ValueError(f"{name}: {what} must be in [0, 1), got {value!r}")


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "rmsprop": rmsprop, "adam": adam}


def make_optimizer(
    name: str,
    lr: float,
    *,
    total_steps: int,
    warmup_steps: int = 0,
    schedule: str = "cosine",
    mu: float = 0.9,
    weight_decay: float = 0.0,
) -> Optimizer:
    """Build a named optimizer with a linear warm-up then a cosine (or constant) schedule.

    `mu` is the momentum coefficient of "momentum" and "nesterov" (ignored by the others).
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {schedule!r}")
    lr_fn = cosine_decay(lr, total_steps) if schedule == "cosine" else constant(lr)
    if warmup_steps:
        lr_fn = linear_warmup(lr_fn, warmup_steps)
    kwargs = {"mu": mu} if name in ("momentum", "nesterov") else {}
    return OPTIMIZERS[name](lr_fn, weight_decay=weight_decay, **kwargs)
