"""Facts about a layer that the gradient doctor's rules weigh, each measured on the layer itself.

`fnn.gradcheck.diagnose` compares a hand-written backward with autodiff; when they disagree,
the rules in `fnn.gradcheck.rules` need more than the two gradients to say why. `Evidence`
measures, on first use only (each costs a few vjps or jvps, compiled once):
- `per_example(name)`: the true gradient of a parameter split into the contribution of each
  example, a vjp with the cotangent zeroed except at example n. The vjp is linear in dy,
  so the N contributions sum to the true gradient, for any layer (batch norm's too).
- `cover`: which output positions each input position reaches, for NHWC in and out. Probe:
  the input with one position (i, j) set far above the rest, so that a max over any window
  holding (i, j) picks it; the jvp along that position is nonzero exactly at the outputs
  whose windows hold it (conv, both poolings; all of them for batch norm in train mode).
  Summed over outputs it is the coverage count: how many windows cover each input.
- `single_window_gap(manual)`: per element of dx, the distance from the manual value to the
  contribution of the nearest single window that covers it (a vjp with dy kept at one
  output position only): 0 where overlapping windows were written over instead of added.
- `counts()`: the counts of this configuration a constant factor may equal, with a name and
  the question a learner should ask (the batch size N, the window area, the positions ...).
- `x_array`, `y_array`, `dy_array` (trials, ...): every trial's input, output and cotangent;
  `same_x`: the trials that share an input (one per cotangent); `named_params`.
- `true_dx_with(params)`: per trial, the true dx at other params (a kernel flipped, axes
  swapped): what a backward computes when it indexes a parameter wrongly.
- `pair(x, dy)`: the learner's backward and the vjp at any input and cotangent (compiled
  once), which `fnn.gradcheck.routing` calls with one-hot cotangents.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["Evidence", "Count"]

MORE = "is a contribution added more than once?"
FEWER = "are contributions averaged where they add?"


class Count(NamedTuple):
    """A count of the configuration, and what to ask when a gradient is off by it."""

    value: int
    name: str
    too_many: str = "a factor of it too many?"  # the gradient is `value` times the true one
    too_few: str = "a factor of it too few?"  # ... 1/value times


class Evidence:
    """Lazy facts about one layer at the diagnosis' params and trials (see the module docstring).

    Args:
        forward: `forward(params, x) -> y`, the layer's apply in the diagnosed mode.
        params: the params (pytree) the trials ran with.
        xs, dys: per trial, the input (N, *in_shape) and the cotangent (like y).
        names: the params' leaf names, in `jax.tree.leaves` order.
        sampled: the trials that `single_window_gap` may use (one per input is enough).
    """

    def __init__(
        self,
        forward: Callable,
        params: Any,
        xs: list,
        dys: list,
        names: list,
        sampled: list,
        pair: Callable | None = None,
    ):
        self.forward, self.params, self.xs, self.dys = forward, params, xs, dys
        self.names, self.sampled, self.pair = names, sampled, pair
        self.batch = xs[0].shape[0]
        self.x_shape, self.y_shape = xs[0].shape, dys[0].shape
        self.spatial = len(self.x_shape) == 4 and len(self.y_shape) == 4 and self.y_shape[0] == self.batch

    @functools.cached_property
    def same_x(self) -> list[list[int]]:
        """The trials grouped by input: [[0, 1], [2, 3], ...] (one trial per cotangent)."""
        groups: dict[int, list[int]] = {}
        for t, x in enumerate(self.xs):
            groups.setdefault(id(x), []).append(t)
        return list(groups.values())

    @functools.cached_property
    def x_array(self) -> np.ndarray:
        return np.stack([np.asarray(x, np.float64) for x in self.xs])

    @functools.cached_property
    def dy_array(self) -> np.ndarray:
        return np.stack([np.asarray(dy, np.float64) for dy in self.dys])

    @functools.cached_property
    def y_array(self) -> np.ndarray:
        """(trials, *y_shape): the forward at each trial's input."""
        outputs = {}
        for x in self.xs:
            if id(x) not in outputs:
                outputs[id(x)] = np.asarray(self.forward(self.params, x), np.float64)
        return np.stack([outputs[id(x)] for x in self.xs])

    @functools.cached_property
    def named_params(self) -> dict[str, Any]:
        return dict(zip(self.names, jax.tree.leaves(self.params)))

    @functools.cached_property
    def _dx_at(self):
        forward = self.forward
        return jax.jit(lambda params, x, dy: jax.vjp(lambda x_: forward(params, x_), x)[1](dy)[0])

    def true_dx_with(self, params: Any, trials: list[int]) -> np.ndarray:
        """(len(trials), *x_shape): the true dx of the given trials at other params."""
        return np.stack([np.asarray(self._dx_at(params, self.xs[t], self.dys[t])) for t in trials])

    @functools.cached_property
    def _per_example(self) -> dict[str, np.ndarray]:
        N, forward = self.batch, self.forward

        @jax.jit
        def split(params, x, dy):
            pull = jax.vjp(lambda p: forward(p, x), params)[1]
            eye = jnp.eye(N, dtype=dy.dtype).reshape(N, N, *([1] * (dy.ndim - 1)))
            return jax.vmap(lambda mask: pull(dy * mask)[0])(eye)

        parts = [jax.tree.leaves(split(self.params, x, dy)) for x, dy in zip(self.xs, self.dys)]
        return {name: np.stack([np.asarray(p[i]) for p in parts]) for i, name in enumerate(self.names)}

    def per_example(self, name: str) -> np.ndarray | None:
        """(trials, N, *shape): each example's contribution to the true gradient of param `name`;
        None when y is not batch-first (N rows) or N < 2."""
        if self.y_shape[:1] != (self.batch,) or self.batch < 2:
            return None
        return self._per_example[name]

    @functools.cached_property
    def cover(self) -> np.ndarray | None:
        """(P_out, H_in, W_in) bool: output position p's windows hold input position (i, j).

        None unless x and y are both (N, H, W, C)."""
        if not self.spatial:
            return None
        x0, forward = jnp.asarray(self.xs[0]), self.forward
        H, W = x0.shape[1:3]
        high = 2 * jnp.max(jnp.abs(x0)) + 1  # above every other input: any max picks it
        tangent = jnp.asarray(np.random.default_rng(0).uniform(0.5, 1.5, x0.shape))  # no cancellations

        @jax.jit
        def reached(params, e):
            at = ((jnp.arange(H)[:, None] * W + jnp.arange(W)[None, :]) == e)[None, :, :, None]
            probe = jnp.where(at, high, x0)
            _, y_dot = jax.jvp(lambda x: forward(params, x), (probe,), (jnp.where(at, tangent, 0.0),))
            return jnp.any(y_dot != 0, axis=(0, 3)).ravel()  # (P_out,)

        hits = np.asarray(lax.map(functools.partial(reached, self.params), jnp.arange(H * W)))
        return hits.T.reshape(-1, H, W)

    def coverage(self) -> np.ndarray | None:
        """(H_in, W_in): how many output positions' windows cover each input position."""
        return None if self.cover is None else self.cover.sum(axis=0)

    def single_window_gap(self, manual: np.ndarray, trials: list[int]) -> np.ndarray:
        """(len(trials), N, H_in, W_in, C): min over the windows covering each element of
        |manual - that window's contribution to the true dx|, for the given trials.

        Args:
            manual: (trials, N, H_in, W_in, C), the manual dx of every trial.
            trials: which of them to measure."""
        cover, forward = jnp.asarray(self.cover), self.forward
        P = cover.shape[0]

        @jax.jit
        def gap(params, x, dy, m):
            pull = jax.vjp(lambda x_: forward(params, x_), x)[1]

            def nearest(p, best):
                keep = (jnp.arange(P) == p).reshape(1, *dy.shape[1:3], 1)
                distance = jnp.abs(pull(dy * keep)[0] - m)
                return jnp.minimum(best, jnp.where(cover[p][None, :, :, None], distance, jnp.inf))

            return lax.fori_loop(0, P, nearest, jnp.full(m.shape, jnp.inf))

        return np.stack([np.asarray(gap(self.params, self.xs[t], self.dys[t], manual[t])) for t in trials])

    def counts(self) -> list[Count]:
        """Each count of this configuration a constant factor may equal, 1 excluded."""
        N, x_shape, y_shape = self.batch, self.x_shape, self.y_shape
        sum_for_mean = "did you sum where a mean was meant?"
        mean_again = "did you divide by N where the loss already did?"
        found = [Count(N, "the batch size N", sum_for_mean, mean_again)]
        if self.spatial:
            P_out = y_shape[1] * y_shape[2]
            found += [
                Count(P_out, "the number of output positions H_out*W_out", MORE, FEWER),
                Count(N * P_out, "the number of output positions in the batch N*H_out*W_out", MORE, FEWER),
            ]
            area = int(self.cover.sum(axis=(1, 2)).max())
            if 1 < area < x_shape[1] * x_shape[2]:  # a window that holds everything is no window
                missing, twice = "is a division by it missing?", "did you divide by it twice?"
                found.append(Count(area, "the window area k_h*k_w", missing, twice))
        found += [
            Count(math.prod(x_shape[1:]), "the number of input features per example"),
            Count(math.prod(y_shape[1:]), "the number of outputs per example"),
        ]
        if len(x_shape) == 4:
            found += [
                Count(x_shape[1] * x_shape[2], "the number of input positions H_in*W_in"),
                Count(x_shape[3], "the number of input channels C_in"),
            ]
        if len(y_shape) == 4:
            found.append(Count(y_shape[3], "the number of output channels C_out"))
        return [count for count in found if count.value > 1]
