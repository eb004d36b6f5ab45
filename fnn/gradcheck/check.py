"""The checks: a layer's hand-written backward (or a loss's dscores) vs jax.vjp vs finite differences.

For a layer, a random input x and a random cotangent dy (never ones: for softmax and batch
norm a constant dy has zero input gradient and hides bugs), in float64:
- autodiff: `jax.vjp` of `apply` at (params, x), applied to dy, against `backward`;
  error = max|manual - autodiff| / max|autodiff| per array (0 when both are 0);
- finite differences, a witness independent of JAX's autodiff: along a random direction v
  of one array a, the 4th-order central difference of t -> <dy, apply(a + t v)> against
  <manual da, v>; error = |fd - <da, v>| / (|da| |v|), Euclidean norms: the bound of |<da, v>|,
  so a random v that happens to be nearly orthogonal to da cannot inflate the error.
Inputs are n distinct values at least 2/n apart and 1/n from 0 (`distinct_inputs`), so no
ReLU kink or pooling tie lies within the finite-difference step. A forward or true gradient
that is NaN or inf on these inputs fails the check (`UNDEFINED`): there is nothing to compare
with. Every comparison fails on NaN. A report cites the equation labels the layer declares
(`Layer.equations`) for the cache its apply returned (`equation_labels`); a loss's are in
`fnn.losses.EQUATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn.layer import Layer
from fnn.losses import EQUATIONS as LOSS_EQUATIONS

__all__ = [
    "ArrayError",
    "Report",
    "TOLERANCE",
    "check_layer",
    "check_loss",
    "equation_labels",
    "distinct_inputs",
    "UNDEFINED",
]

TOLERANCE = 1e-9  # float64, relative
UNDEFINED = "autodiff of apply is NaN or inf on these inputs: the forward is undefined there"
FD_STEP = 1e-4  # 4th-order stencil: truncation ~ h^4, round-off ~ 1e-16 / h


class ArrayError(NamedTuple):
    """Relative errors of one gradient array: manual vs autodiff and vs finite differences."""

    name: str  # "dx", "dscores", or a params key such as "W"
    autodiff: float
    finite_diff: float | None  # None when the finite-difference check was skipped


class Report(NamedTuple):
    """One check: what was checked, the equations cited, an error per gradient array, and why
    the check failed where no error says it (`UNDEFINED`; "" otherwise)."""

    constructor: str
    config: str
    equations: tuple[str, ...]
    errors: tuple[ArrayError, ...]
    failure: str = ""

    def max_error(self) -> float:
        """The largest error, NaN if any is NaN."""
        values = [e.autodiff for e in self.errors] + [
            e.finite_diff for e in self.errors if e.finite_diff is not None
        ]
        return float(np.max(values))  # NOTE: np.max propagates NaN; max() would skip it

    def ok(self, tolerance: float = TOLERANCE) -> bool:
        return not self.failure and self.max_error() < tolerance  # False for NaN

    def as_dict(self, tolerance: float = TOLERANCE) -> dict:
        """A JSON-ready row: what was checked, the equations, every error, and the verdict."""
        return {
            "constructor": self.constructor,
            "config": self.config,
            "equations": list(self.equations),
            "errors": {e.name: {"autodiff": e.autodiff, "finite_diff": e.finite_diff} for e in self.errors},
            "max_error": self.max_error(),
            "failure": self.failure,
            "ok": self.ok(tolerance),
        }


def equation_labels(layer: Layer, cache: Any) -> tuple[str, ...]:
    """The labels `layer` declares (`layer.equations`) for the backward that consumes `cache`;
    () if it declares none. `cache` may be abstract (from `jax.eval_shape`): only its type is read."""
    return dict(layer.equations).get(type(cache), ())


def _finite(*trees: Any) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(a)))) for a in jax.tree.leaves(trees))


def distinct_inputs(rng: np.random.Generator, shape: Sequence[int], scale: float = 2.0) -> np.ndarray:
    """n values in (-scale, scale) in random order and sign: magnitudes scale (i + 1/2) / n.

    Any two differ by at least scale / n and none lies within scale / (2n) of 0.
    """
    n = int(np.prod(shape))
    magnitudes = rng.permutation((np.arange(n) + 0.5) / n)
    return (scale * rng.choice([-1.0, 1.0], n) * magnitudes).reshape(shape)


def _relative(manual: jax.Array, reference: jax.Array) -> float:
    manual, reference = np.asarray(manual), np.asarray(reference)
    if reference.size == 0:
        return 0.0
    scale, diff = np.abs(reference).max(), np.abs(manual - reference).max()
    return float(diff if scale == 0 else diff / scale)  # NaN in, NaN out


def _finite_difference(
    g: Callable[[jax.Array], jax.Array], a: jax.Array, grad: jax.Array, rng: np.random.Generator
) -> float:
    """Relative error between <grad, v> and the 4th-order central difference of g along v."""
    v = rng.uniform(-1.0, 1.0, a.shape)
    h = FD_STEP
    fd = float((-g(a + 2 * h * v) + 8 * g(a + h * v) - 8 * g(a - h * v) + g(a - 2 * h * v)) / (12 * h))
    grad = np.asarray(grad)
    analytic = float(np.vdot(grad, v))
    scale = float(np.linalg.norm(grad) * np.linalg.norm(v))  # the largest |<grad, v>| can be
    return abs(fd) if scale == 0 else abs(fd - analytic) / scale  # NaN in, NaN out


def check_layer(
    layer: Layer,
    in_shape: Sequence[int],
    *,
    batch: int = 2,
    train: bool = False,
    seed: int = 0,
    finite_differences: bool = True,
    constructor: str | None = None,
    config: str = "",
) -> Report:
    """Check `layer.backward` against autodiff (and finite differences) in float64.

    Params and state from `init` are perturbed at random so that no bias is 0 and no
    gamma is 1.

    Args:
        layer: the Layer. in_shape: its per-example input shape. batch: N. train: the mode.
        seed: draws x, dy, the perturbations and the directions. finite_differences: also
            check against finite differences. constructor, config: labels for the report.

    Returns:
        A Report: one ArrayError for dx and one per params leaf (named by its path); failed
        (`UNDEFINED`) if apply's output or its autodiff gradient is NaN or inf.

    Raises:
        AssertionError: if `init`'s out_shape differs from apply's output shape, or dparams
            is not structured like params.
    """
    with jax.enable_x64(True):
        rng = np.random.default_rng(seed)  # NumPy draws: no compilation per new shape
        out_shape, params, state = layer.init(jax.random.key(seed), tuple(in_shape))
        params = jax.tree.map(lambda a: a + 0.3 * rng.standard_normal(a.shape), params)
        state = jax.tree.map(lambda a: a + rng.uniform(0.1, 0.6, a.shape), state)  # keeps var > 0
        x = jnp.asarray(distinct_inputs(rng, (batch, *in_shape)))
        key = jax.random.key(seed + 1) if train else None

        def forward(p, x_):
            return layer.apply(p, state, x_, train=train, key=key)[0]

        y_shape, cache_shape = jax.eval_shape(
            lambda p, x_: layer.apply(p, state, x_, train=train, key=key)[::2], params, x
        )
        if tuple(y_shape.shape[1:]) != tuple(out_shape):
            raise AssertionError(
                f"{layer.name}: init says out_shape={tuple(out_shape)}, apply gave {y_shape.shape}"
            )
        dy = jnp.asarray(rng.standard_normal(y_shape.shape))

        @jax.jit  # one compilation per check instead of one per eager op
        def both(params, x, dy):
            y, _, cache = layer.apply(params, state, x, train=train, key=key)
            return layer.backward(params, cache, dy), jax.vjp(forward, params, x)[1](dy), y

        (dx, dparams), (dparams_auto, dx_auto), y = both(params, x, dy)
        if jax.tree.structure(dparams) != jax.tree.structure(params):
            raise AssertionError(f"{layer.name}: dparams structure {jax.tree.structure(dparams)} != params'")

        leaves, treedef = jax.tree.flatten(params)
        named = [("dx", dx, dx_auto, jax.jit(lambda a: jnp.vdot(dy, forward(params, a))), x)]
        for i, (path, leaf) in enumerate(jax.tree_util.tree_leaves_with_path(params)):

            @jax.jit
            def g(a, i=i):
                return jnp.vdot(
                    dy, forward(jax.tree.unflatten(treedef, [*leaves[:i], a, *leaves[i + 1 :]]), x)
                )

            name = jax.tree_util.keystr(path, simple=True, separator="/")
            named.append((name, jax.tree.leaves(dparams)[i], jax.tree.leaves(dparams_auto)[i], g, leaf))
        errors = []
        for name, manual, auto, g, point in named:
            fd = _finite_difference(g, point, manual, rng) if finite_differences else None
            errors.append(ArrayError(name, _relative(manual, auto), fd))
        failure = "" if _finite(y, dparams_auto, dx_auto) else UNDEFINED
    labels = equation_labels(layer, cache_shape)
    return Report(constructor or layer.name, config, labels, tuple(errors), failure)


def check_loss(
    loss: Callable[..., tuple[jax.Array, jax.Array]],
    N: int = 4,
    K: int = 5,
    *,
    seed: int = 0,
    finite_differences: bool = True,
    constructor: str | None = None,
    config: str = "",
    **loss_kwargs: Any,
) -> Report:
    """Check a loss's dscores against jax.grad of its loss value (and finite differences).

    Args:
        loss: `loss(scores, labels, **loss_kwargs) -> (loss, dscores)`. N, K: scores (N, K).
        seed, finite_differences, constructor, config: as `check_layer`.

    Returns:
        A Report with one ArrayError, "dscores", citing `fnn.losses.EQUATIONS` for `loss`;
        failed (`UNDEFINED`) if the loss or its autodiff gradient is NaN or inf.
    """
    with jax.enable_x64(True):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, K, N)
        scores = _away_from_hinges(distinct_inputs(rng, (N, K)), labels, loss_kwargs.get("margin", 1.0))
        scores, labels = jnp.asarray(scores), jnp.asarray(labels)

        @jax.jit  # one compilation per check instead of one per eager op
        def value(s):
            return loss(s, labels, **loss_kwargs)[0]

        dscores, (loss_value, dscores_auto) = jax.jit(
            lambda s: (loss(s, labels, **loss_kwargs)[1], jax.value_and_grad(value)(s))
        )(scores)
        error = _relative(dscores, dscores_auto)
        fd = _finite_difference(value, scores, dscores, rng) if finite_differences else None
        failure = "" if _finite(loss_value, dscores_auto) else UNDEFINED
    labels = LOSS_EQUATIONS.get(loss, ())
    return Report(constructor or loss.__name__, config, labels, (ArrayError("dscores", error, fd),), failure)


def _away_from_hinges(scores: np.ndarray, labels: np.ndarray, margin: float) -> np.ndarray:
    """Shift s_j by 0.1 wherever s_j - s_y + margin lies within 0.05 of the SVM hinge."""
    correct = np.take_along_axis(scores, labels[:, None], axis=1)
    near = (np.abs(scores - correct + margin) < 0.05) & (np.arange(scores.shape[1]) != labels[:, None])
    return scores + 0.1 * near
