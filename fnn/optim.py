"""Optimizers in optax's GradientTransformation protocol, written here (optax is not a dependency).

`update(grads, state, params=None) -> (updates, state)` returns what gets ADDED to the parameters:
`apply_updates(params, updates)` is p <- p + u (eq:update-apply). `chain` composes clipping, masked
weight decay and a rule; a rule counts its updates once, in its state's `count` (int32, the
argument of the schedule `lr`), and records the learning rate it last used in `lr` (what
`fnn.train.fit` logs: the schedule lives in the optimizer alone). Each constructor here returns a `ConstructedTransformation`,
a GradientTransformation that prints as the call that made it, e.g. `momentum(0.05, mu=0.9)`.
Derivation: derivations/optim.tex.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fnn import checks
from fnn.layer import call_text
from fnn.schedules import (
    Schedule,
    as_schedule,
    constant,
    cosine_decay,
    exponential_decay,
    linear_warmup,
    make_schedule,
    step_decay,
)

__all__ = [
    "GradientTransformation",
    "EmptyState",
    "SgdState",
    "MomentumState",
    "RmspropState",
    "AdamState",
    "Schedule",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "add_decayed_weights",
    "weights_mask",
    "sgd",
    "momentum",
    "nesterov",
    "rmsprop",
    "adam",
    "adamw",
    "constant",
    "step_decay",
    "exponential_decay",
    "cosine_decay",
    "linear_warmup",
    "make_schedule",
    "OPTIMIZERS",
    "make_optimizer",
]


class GradientTransformation(NamedTuple):
    """optax's protocol: `init(params) -> state`, `update(grads, state, params=None) -> (updates, state)`."""

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class ConstructedTransformation(GradientTransformation):
    """A GradientTransformation that prints as the call that made it (`call`). It adds no field:
    it unpacks as `init, update = opt` and is equal to the plain one with the same functions."""

    call = ""  # an instance's text; "" (print the fields) for one made by `_replace`

    def __new__(cls, init: Callable[[Any], Any], update: Callable[..., tuple[Any, Any]], call: str = ""):
        self = super().__new__(cls, init, update)
        self.call = call
        return self

    def __repr__(self) -> str:
        return self.call or super().__repr__()


def _constructor(make: Callable[..., GradientTransformation]) -> Callable[..., ConstructedTransformation]:
    """Decorate a function that returns a GradientTransformation: it prints as the call."""

    @functools.wraps(make)
    def construct(*args: Any, **kwargs: Any) -> ConstructedTransformation:
        init, update = make(*args, **kwargs)
        return ConstructedTransformation(init, update, call_text(make.__name__, args, kwargs.items()))

    return construct


class EmptyState(NamedTuple):
    """The state of a transform that keeps none (clipping, weight decay)."""


class SgdState(NamedTuple):
    count: jax.Array  # int32 scalar: updates so far, the schedule's argument
    lr: jax.Array  # float32 scalar: lr_t of the last update (0 before any), what logs show


class MomentumState(NamedTuple):
    count: jax.Array
    lr: jax.Array
    velocity: Any  # v, a pytree shaped like params


class RmspropState(NamedTuple):
    count: jax.Array
    lr: jax.Array
    nu: Any  # c, the running mean of g^2


class AdamState(NamedTuple):
    count: jax.Array  # t - 1
    lr: jax.Array
    mu: Any  # m, the running mean of g
    nu: Any  # v, the running mean of g^2


def _check_tree(owner: str, tree, params, what: str = "grads") -> None:
    want, got = jax.tree.structure(params), jax.tree.structure(tree)
    if params is not None and want != got:
        raise TypeError(f"{owner}: {what} must be shaped like params: expected {want}, got {got}")


def apply_updates(params, updates):
    """p <- p + u leaf by leaf (eq:update-apply), u cast to p's dtype; TypeError unless alike."""
    _check_tree("apply_updates", updates, params, "updates")
    return jax.tree.map(lambda p, u: p + jnp.asarray(u).astype(p.dtype), params, updates)


@_constructor
def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply `transforms` in order, each to the previous one's updates; state: their tuple."""

    def update(grads, state, params=None):
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(lambda params: tuple(t.init(params) for t in transforms), update)


@_constructor
def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """u <- u min(1, max_norm / ||u||), the L2 norm over the whole pytree; `EmptyState`."""
    max_norm = checks.number("clip_by_global_norm", "max_norm", max_norm, low=0.0, low_open=True)

    def update(grads, state, params=None):
        norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree.leaves(grads)))
        return jax.tree.map(lambda g: (g * jnp.minimum(1.0, max_norm / norm)).astype(g.dtype), grads), state

    return GradientTransformation(lambda params: EmptyState(), update)


def weights_mask(params):
    """The default decay mask: True for weights (ndim >= 2), False for biases, gamma, beta (ndim 1)."""
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


@_constructor
def add_decayed_weights(weight_decay: float, mask=None) -> GradientTransformation:
    """u <- u + weight_decay * p where mask is True (eq:weight-decay); `EmptyState`; needs params.

    Args:
        weight_decay: a number >= 0.
        mask: Python bools shaped like params, a callable params -> such bools, or None for
            `weights_mask`: ndim >= 2 (affine and conv kernels), not ndim 1 (biases, BN gamma/beta).
    """
    wd = checks.number("add_decayed_weights", "weight_decay", weight_decay, low=0.0)
    mask_fn = weights_mask if mask is None else mask if callable(mask) else (lambda params: mask)

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights: needs params: call update(grads, state, params)")
        _check_tree("add_decayed_weights", grads, params)
        _check_tree("add_decayed_weights", m := mask_fn(params), params, "mask")
        return jax.tree.map(lambda g, p, m: g + wd * p if m else g, grads, params, m), state

    return GradientTransformation(lambda params: EmptyState(), update)


def _rule(name, lr, state_type, step, weight_decay=0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """A rule `step(grads, state, lr_t, params) -> (updates, state)` with what all rules share:
    zero state, the structure check, lr_t = schedule(count), dtypes, the one `count + 1`, options."""
    schedule = as_schedule(name, lr)
    weight_decay = checks.number(name, "weight_decay", weight_decay, low=0.0)
    clip_norm = checks.optional_positive(name, "clip_norm", clip_norm)

    def init(params):  # count and lr 0, then a zero pytree shaped like params per other field
        slots = (jax.tree.map(jnp.zeros_like, params) for _ in state_type._fields[2:])
        return state_type(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32), *slots)

    def update(grads, state, params=None):
        _check_tree(name, grads, state[2] if len(state) > 2 else params)
        lr_t = schedule(state.count)
        updates, new = step(grads, state, lr_t, params)  # then keep the leaves' dtypes
        updates, new = jax.tree.map(lambda n, o: jnp.asarray(n, o.dtype), (updates, new), (grads, state))
        return updates, new._replace(count=state.count + 1, lr=jnp.asarray(lr_t, jnp.float32))

    parts = [clip_by_global_norm(clip_norm)] if clip_norm is not None else []
    parts += [add_decayed_weights(weight_decay, mask)] if weight_decay else []
    rule = GradientTransformation(init, update)
    return chain(*parts, rule) if parts else rule


@_constructor
def sgd(lr, *, weight_decay=0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """u = -lr_t g (eq:sgd); state `SgdState(count, lr)`.

    Args:
        lr: a number > 0 or a schedule count -> lr.
        weight_decay, mask: if weight_decay > 0, L2: chain(add_decayed_weights(...), rule).
        clip_norm: None or > 0: chain(clip_by_global_norm(clip_norm), ...) before all else.
    """

    def step(grads, state, lr_t, params):
        return jax.tree.map(lambda g: -lr_t * g, grads), state

    return _rule("sgd", lr, SgdState, step, weight_decay, mask, clip_norm)


@_constructor
def momentum(lr, mu=0.9, *, weight_decay=0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """v <- mu v - lr_t g; u = v (the assignment's form, eq:momentum); state `MomentumState`.

    At a constant lr this equals -lr times the heavy-ball trace h <- mu h + g, the other
    common form (eq:heavy-ball); with a schedule they differ. Options as in `sgd`.
    """
    mu = checks.probability("momentum", "mu", mu)

    def step(grads, state, lr_t, params):
        v = jax.tree.map(lambda v, g: mu * v - lr_t * g, state.velocity, grads)
        return v, state._replace(velocity=v)

    return _rule("momentum", lr, MomentumState, step, weight_decay, mask, clip_norm)


@_constructor
def nesterov(lr, mu=0.9, *, weight_decay=0.0, mask=None, clip_norm=None) -> GradientTransformation:
    """v' <- mu v - lr_t g; u = -mu v + (1 + mu) v' (eq:nesterov); `MomentumState`; options as sgd."""
    mu = checks.probability("nesterov", "mu", mu)

    def step(grads, state, lr_t, params):
        v_new = jax.tree.map(lambda v, g: mu * v - lr_t * g, state.velocity, grads)
        u = jax.tree.map(lambda v, w: -mu * v + (1 + mu) * w, state.velocity, v_new)
        return u, state._replace(velocity=v_new)

    return _rule("nesterov", lr, MomentumState, step, weight_decay, mask, clip_norm)


@_constructor
def rmsprop(lr, decay=0.99, eps=1e-8, *, weight_decay=0.0, mask=None, clip_norm=None):
    """c <- decay c + (1-decay) g^2; u = -lr_t g / (sqrt(c) + eps) (eq:rmsprop); options as sgd."""
    decay, eps = checks.probability("rmsprop", "decay", decay), checks.number("rmsprop", "eps", eps, low=0.0)

    def step(grads, state, lr_t, params):
        c = jax.tree.map(lambda c, g: decay * c + (1 - decay) * g * g, state.nu, grads)
        u = jax.tree.map(lambda g, c: -lr_t * g / (jnp.sqrt(c) + eps), grads, c)
        return u, state._replace(nu=c)

    return _rule("rmsprop", lr, RmspropState, step, weight_decay, mask, clip_norm)


def _adam(name, lr, b1, b2, eps, weight_decay, mask, clip_norm, decoupled: bool) -> GradientTransformation:
    """Adam (eq:adam); if decoupled (AdamW, eq:adamw) weight_decay p joins before lr_t scales."""
    b1, b2 = checks.probability(name, "b1", b1), checks.probability(name, "b2", b2)
    eps = checks.number(name, "eps", eps, low=0.0)
    decay = add_decayed_weights(weight_decay, mask) if decoupled and weight_decay else None

    def step(grads, state, lr_t, params):
        t = state.count + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        u = jax.tree.map(lambda m, v: (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps), m, v)
        if decay is not None:
            u, _ = decay.update(u, EmptyState(), params)  # u + weight_decay * p, masked
        return jax.tree.map(lambda u: -lr_t * u, u), state._replace(mu=m, nu=v)

    return _rule(name, lr, AdamState, step, 0.0 if decoupled else weight_decay, mask, clip_norm)


@_constructor
def adam(lr, b1=0.9, b2=0.999, eps=1e-8, *, weight_decay=0.0, mask=None, clip_norm=None):
    """Adam (eq:adam): u = -lr_t m_hat / (sqrt(v_hat) + eps); state `AdamState(count, lr, mu, nu)`.

    m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2, m_hat = m / (1-b1^t), v_hat = v / (1-b2^t),
    t = count + 1. Options as in `sgd`; weight_decay is L2 on the gradient (`adamw` decouples it).
    """
    return _adam("adam", lr, b1, b2, eps, weight_decay, mask, clip_norm, decoupled=False)


@_constructor
def adamw(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4, mask=None) -> GradientTransformation:
    """Adam with decoupled weight decay, as optax.adamw (eq:adamw); state `AdamState`.

    u = -lr_t (m_hat / (sqrt(v_hat) + eps) + weight_decay p), the decay where `mask` is True
    (as in `add_decayed_weights`; None: the leaves with ndim >= 2).
    """
    weight_decay = checks.number("adamw", "weight_decay", weight_decay, low=0.0)
    return _adam("adamw", lr, b1, b2, eps, weight_decay, mask, None, decoupled=True)


OPTIMIZERS = dict(sgd=sgd, momentum=momentum, nesterov=nesterov, rmsprop=rmsprop, adam=adam, adamw=adamw)


def make_optimizer(
    name, lr, *, total_steps, warmup_steps=0, schedule="cosine", mu=0.9, weight_decay=0.0
) -> GradientTransformation:
    """OPTIMIZERS[name](make_schedule(lr, ...)); ValueError for a bad setting, naming it.

    `mu` goes to "momentum" and "nesterov" only; `weight_decay` is L2 on the default mask,
    and for "adamw" its decoupled decay (0.0 here, not adamw's own default).
    """
    checks.one_of("make_optimizer", "name", name, tuple(OPTIMIZERS))
    checks.number(name, "lr", lr, low=0.0, low_open=True)
    lr_fn = make_schedule(lr, total_steps=total_steps, warmup_steps=warmup_steps, schedule=schedule)
    kwargs = {"mu": mu} if name in ("momentum", "nesterov") else {}
    return OPTIMIZERS[name](lr_fn, weight_decay=weight_decay, **kwargs)
