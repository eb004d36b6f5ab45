"""Learning-rate schedules: functions of the optimizer's step count, `count -> lr`.

A rule in `fnn.optim` takes `lr` as a float or as one of these; its state's `count` (the
updates done so far) is the argument. `make_schedule` is what the recipes use: a linear
warm-up, then a cosine decay to 0 over the run (or a constant rate). Each constructor here
returns a `ConstructedSchedule`, which prints as the call that made it, e.g.
`make_schedule(0.05, total_steps=4295)`. Derivation and the reason for warm-up:
derivations/optim.tex.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from fnn import checks
from fnn.layer import call_text

__all__ = [
    "Schedule",
    "as_schedule",
    "constant",
    "step_decay",
    "exponential_decay",
    "cosine_decay",
    "linear_warmup",
    "make_schedule",
]

Schedule = Callable[[jax.Array], jax.Array]  # count -> lr


class ConstructedSchedule:
    """A schedule count -> lr that prints as the call that made it (`call`)."""

    __slots__ = ("schedule", "call")

    def __init__(self, schedule: Schedule, call: str):
        self.schedule, self.call = schedule, call

    def __call__(self, count: jax.Array) -> jax.Array:
        return self.schedule(count)

    def __repr__(self) -> str:
        return self.call


def _constructor(make: Callable[..., Schedule]) -> Callable[..., ConstructedSchedule]:
    """Decorate a function that returns a schedule: the schedule prints as the call."""

    @functools.wraps(make)
    def construct(*args: Any, **kwargs: Any) -> ConstructedSchedule:
        return ConstructedSchedule(make(*args, **kwargs), call_text(make.__name__, args, kwargs.items()))

    return construct


def as_schedule(owner: str, lr) -> Schedule:
    """`lr` if it is a schedule (count -> lr); a float lr > 0 as `constant(lr)`; else ValueError."""
    if callable(lr):
        return lr
    return constant(checks.number(owner, "lr (or a schedule count -> lr)", lr, low=0.0, low_open=True))


@_constructor
def constant(lr: float) -> Schedule:
    """lr at every count."""
    return lambda count: jnp.asarray(lr)


@_constructor
def step_decay(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """lr * factor ** (count // every)."""
    return lambda count: lr * factor ** (count // every)


@_constructor
def exponential_decay(lr: float, rate: float, every: int = 1) -> Schedule:
    """lr * rate ** (count / every)."""
    return lambda count: lr * rate ** (count / every)


@_constructor
def cosine_decay(lr: float, total_steps: int, final_lr: float = 0.0) -> Schedule:
    """From lr at count 0 to final_lr at total_steps along half a cosine; final_lr after."""

    def schedule(count):
        t = jnp.minimum(count / total_steps, 1.0)
        return final_lr + 0.5 * (lr - final_lr) * (1 + jnp.cos(math.pi * t))

    return schedule


@_constructor
def linear_warmup(schedule: Schedule | float, warmup_steps: int) -> Schedule:
    """schedule(count) * min((count + 1) / warmup_steps, 1): from ~0 up to the schedule."""
    inner = as_schedule("linear_warmup", schedule)
    return lambda count: inner(count) * jnp.minimum((count + 1) / warmup_steps, 1.0)


@_constructor
def make_schedule(lr, *, total_steps, warmup_steps=0, schedule="cosine") -> Schedule:
    """linear_warmup(cosine_decay(lr, total_steps) or constant(lr), warmup_steps); 0: no warm-up."""
    lr = checks.number("make_schedule", "lr", lr, low=0.0, low_open=True)
    checks.positive_int("make_schedule", "total_steps", total_steps)
    checks.positive_int("make_schedule", "warmup_steps", warmup_steps, minimum=0)
    checks.one_of("make_schedule", "schedule", schedule, ("cosine", "constant"))
    lr_fn = cosine_decay(lr, total_steps) if schedule == "cosine" else constant(lr)
    return linear_warmup(lr_fn, warmup_steps) if warmup_steps else lr_fn
