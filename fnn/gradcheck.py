"""Proof that each hand-written backward is right: manual vs jax.vjp vs finite differences.

For a layer, a random input x and a random cotangent dy (never ones: for softmax and batch
norm a constant dy has zero input gradient and hides bugs), in float64:
- autodiff: `jax.vjp` of `apply` at (params, x), applied to dy, against `backward`;
  error = max|manual - autodiff| / max|autodiff| per array (0 when both are 0);
- finite differences, a witness independent of JAX's autodiff: along a random direction v
  of one array a, the 4th-order central difference of t -> <dy, apply(a + t v)> against
  <manual da, v>; error = |fd - <da, v>| / (|da| |v|), Euclidean norms: the bound of |<da, v>|,
  so a random v that happens to be nearly orthogonal to da cannot inflate the error.
Inputs are n distinct values at least 2/n apart and 1/n from 0 (`distinct_inputs`), so no
ReLU kink or pooling tie lies within the finite-difference step.

`CASES` registers every layer constructor and loss with configurations that cover padding 0
and > 0, stride 1 and 2, overlapping windows, non-square inputs, C_in != C_out, all three conv
impls, train and test mode; `fnn gradcheck` runs them and prints the table.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import layers as layer_lib
from fnn import losses as loss_lib
from fnn.layer import Layer

__all__ = [
    "ArrayError",
    "Report",
    "Case",
    "CASES",
    "TOLERANCE",
    "check_layer",
    "check_loss",
    "run_case",
    "equation_labels",
    "distinct_inputs",
]

TOLERANCE = 1e-9  # float64, relative
FD_STEP = 1e-4  # 4th-order stencil: truncation ~ h^4, round-off ~ 1e-16 / h


class ArrayError(NamedTuple):
    """Relative errors of one gradient array: manual vs autodiff and vs finite differences."""

    name: str  # "dx", "dscores", or a params key such as "W"
    autodiff: float
    finite_diff: float | None  # None when the finite-difference check was skipped


class Report(NamedTuple):
    """One check: what was checked, the equations cited, and an error per gradient array."""

    constructor: str
    config: str
    equations: tuple[str, ...]
    errors: tuple[ArrayError, ...]

    def max_error(self) -> float:
        values = [e.autodiff for e in self.errors] + [
            e.finite_diff for e in self.errors if e.finite_diff is not None
        ]
        return max(values)

    def ok(self, tolerance: float = TOLERANCE) -> bool:
        return self.max_error() < tolerance

    def as_dict(self, tolerance: float = TOLERANCE) -> dict:
        """A JSON-ready row: what was checked, the equations, every error, and the verdict."""
        return {
            "constructor": self.constructor,
            "config": self.config,
            "equations": list(self.equations),
            "errors": {e.name: {"autodiff": e.autodiff, "finite_diff": e.finite_diff} for e in self.errors},
            "max_error": self.max_error(),
            "ok": self.ok(tolerance),
        }


def equation_labels(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The `eq:...` labels a backward (or loss) cites in its docstring, in order."""
    return tuple(dict.fromkeys(re.findall(r"eq:[A-Za-z0-9-]+", inspect.getdoc(fn) or "")))


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
    return float(diff / scale if scale > 0 else diff)


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
    return abs(fd - analytic) / scale if scale > 0 else abs(fd)


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
    gamma is 1. Raises AssertionError if `init`'s out_shape differs from apply's output.
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

        y_shape = jax.eval_shape(forward, params, x)
        if tuple(y_shape.shape[1:]) != tuple(out_shape):
            raise AssertionError(
                f"{layer.name}: init says out_shape={tuple(out_shape)}, apply gave {y_shape.shape}"
            )
        dy = jnp.asarray(rng.standard_normal(y_shape.shape))

        @jax.jit  # one compilation per check instead of one per eager op
        def both(params, x, dy):
            _, _, cache = layer.apply(params, state, x, train=train, key=key)
            return layer.backward(params, cache, dy), jax.vjp(forward, params, x)[1](dy)

        (dx, dparams), (dparams_auto, dx_auto) = both(params, x, dy)
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
    return Report(constructor or layer.name, config, equation_labels(layer.backward), tuple(errors))


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
    """Check a loss's dscores against jax.grad of its loss value (and finite differences)."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, K, N)
        scores = _away_from_hinges(distinct_inputs(rng, (N, K)), labels, loss_kwargs.get("margin", 1.0))
        scores, labels = jnp.asarray(scores), jnp.asarray(labels)

        def value(s):
            return loss(s, labels, **loss_kwargs)[0]

        _, dscores = loss(scores, labels, **loss_kwargs)
        error = _relative(dscores, jax.grad(value)(scores))
        fd = _finite_difference(value, scores, dscores, rng) if finite_differences else None
    return Report(
        constructor or loss.__name__, config, equation_labels(loss), (ArrayError("dscores", error, fd),)
    )


def _away_from_hinges(scores: np.ndarray, labels: np.ndarray, margin: float) -> np.ndarray:
    """Shift s_j by 0.1 wherever s_j - s_y + margin lies within 0.05 of the SVM hinge."""
    correct = np.take_along_axis(scores, labels[:, None], axis=1)
    near = (np.abs(scores - correct + margin) < 0.05) & (np.arange(scores.shape[1]) != labels[:, None])
    return scores + 0.1 * near


class Case(NamedTuple):
    """A registered gradient check: a constructor called with args/kwargs, on in_shape."""

    constructor: str  # a name in fnn.layers.__all__ or fnn.losses.LOSSES
    args: tuple = ()
    kwargs: dict = {}
    in_shape: tuple[int, ...] = ()  # per example; for a loss (N, K)
    batch: int = 2
    train: bool = False

    def config(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        mode = "" if self.constructor in loss_lib.LOSSES else (" train" if self.train else " eval")
        return f"({', '.join(parts)}) on {self.in_shape}{mode}"


def run_case(case: Case, *, finite_differences: bool = True, seed: int = 0) -> Report:
    """Run one registered case."""
    if case.constructor in loss_lib.LOSSES:
        N, K = case.in_shape
        return check_loss(
            loss_lib.LOSSES[case.constructor],
            N,
            K,
            seed=seed,
            constructor=case.constructor,
            config=case.config(),
            finite_differences=finite_differences,
            **case.kwargs,
        )
    layer = getattr(layer_lib, case.constructor)(*case.args, **case.kwargs)
    return check_layer(
        layer,
        case.in_shape,
        batch=case.batch,
        train=case.train,
        seed=seed,
        constructor=case.constructor,
        config=case.config(),
        finite_differences=finite_differences,
    )


def _conv_cases() -> list[Case]:
    cases = []
    for impl in ("direct", "im2col", "xla"):
        cases += [
            Case("conv2d", (4, 3), {"stride": 1, "padding": 1, "impl": impl}, (6, 5, 3)),
            Case("conv2d", (3, (2, 3)), {"stride": 2, "padding": (1, 0), "impl": impl}, (7, 8, 2)),
            Case("conv2d", (2, 3), {"stride": 2, "padding": 0, "impl": impl}, (8, 8, 2)),  # floor drops a row
            Case("conv2d", (2, 5), {"impl": impl}, (5, 5, 2)),  # kernel = input size
        ]
    return cases


CASES: tuple[Case, ...] = (
    Case("affine", (5,), {}, (4,), batch=3),
    Case("affine", (3,), {}, (3, 2, 2)),
    Case("relu", (), {}, (3, 4, 2)),
    Case("leaky_relu", (0.2,), {}, (3, 4, 2)),
    Case("sigmoid", (), {}, (3, 4, 2)),
    Case("tanh", (), {}, (3, 4, 2)),
    Case("elu", (0.7,), {}, (3, 4, 2)),
    *_conv_cases(),
    Case("max_pool2d", (2,), {}, (6, 4, 3)),
    Case("max_pool2d", (3,), {"stride": 2, "padding": 1}, (7, 6, 2)),  # overlapping, padded
    Case("max_pool2d", (3,), {"stride": 2, "padding": 1, "pad_value": 0.0}, (7, 6, 2)),
    Case("avg_pool2d", (2,), {}, (6, 4, 3)),
    Case("avg_pool2d", (3,), {"stride": 2, "padding": 1}, (7, 6, 2)),
    Case("avg_pool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (7, 6, 2)),
    Case("batch_norm", (), {}, (5,), batch=4, train=True),
    Case("batch_norm", (), {}, (5,), batch=4, train=False),
    Case("batch_norm", (), {}, (4, 3, 2), batch=3, train=True),
    Case("batch_norm", (), {}, (4, 3, 2), batch=3, train=False),
    Case("batch_norm", (), {"unbiased_running_var": True}, (5,), batch=4, train=True),
    Case("dropout", (0.3,), {}, (4, 5), batch=3, train=True),
    Case("dropout", (0.3,), {}, (4, 5), batch=3, train=False),
    Case("flatten", (), {}, (3, 2, 2)),
    Case("softmax_cross_entropy", (), {}, (4, 5)),
    Case("multiclass_svm", (), {}, (4, 5)),
    Case("multiclass_svm", (), {"margin": 0.5}, (6, 3)),
)
