"""Someone's own layer, loss or optimizer against fnn's, on the registered cases of fnn's constructor.

`compare(make, like)` calls `make` with the arguments fnn's constructor `like` gets in each of
its registered cases (`reference_cases`: the layer and loss cases of `fnn.gradcheck.CASES`, and
`OPTIMIZER_CASES`), and compares, in float64, what it returns with what fnn's returns, on the
SAME parameters, inputs and keys:
- a layer (`make(*args, **kwargs) -> Layer`): `init` must give fnn's out_shape and params and
  state of fnn's keys and shapes (kind "init"); then, with fnn's params perturbed as
  `check_layer` does, `apply` must give fnn's y and new state (kind "forward": a wrong forward
  fails the case by itself), and `backward` fnn's gradients, array by array, against fnn's
  hand-written backward and `jax.vjp` of fnn's apply. A wrong gradient goes to the gradient
  doctor (`diagnose`), with the layer's own backward and cache and fnn's forward as the truth,
  which names what is wrong. Behind a wrong forward the doctor checks the backward against
  autodiff of the layer's own apply (is it at least consistent with what the forward computes?).
- a loss (`make(scores, labels, **kwargs) -> (loss, dscores)`, called as fnn's loss is): the
  same, through `loss_as_layer` (scores to the loss value; the gradient array is "dscores").
- an optimizer (`make(*args, **kwargs) -> (init, update)`, optax's protocol): over a few
  updates of the same params and random gradients, every update array must equal fnn's
  (`p <- p + u`); its state may be any pytree (`fnn.gradcheck.updates`).

A wrong forward's detail says what it computes when that is recognisable: another fnn
constructor called with the same arguments (a tanh posing as a sigmoid), minus or a multiple of
fnn's output, or float32 round-off. The student's init may draw other numbers: only its shapes
and keys are compared, and every case runs on fnn's params.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import layers as layer_lib
from fnn import losses as loss_lib
from fnn import optim as optim_lib
from fnn.gradcheck.cases import CASES, Case
from fnn.gradcheck.check import TOLERANCE, distinct_inputs
from fnn.gradcheck.diagnose import Diagnosis, diagnose
from fnn.gradcheck.rules import PASSING, Finding
from fnn.gradcheck.table import loss_as_layer
from fnn.gradcheck.updates import OPTIMIZER_CASES, compare_updates
from fnn.layer import Layer

__all__ = [
    "OPTIMIZER_CASES",
    "REFERENCE_KINDS",
    "CaseComparison",
    "Comparison",
    "compare",
    "reference_cases",
    "reference_names",
    "reference_kind",
]

REFERENCE_KINDS = ("init", "forward")  # what `compare` adds to the doctor's KINDS


def reference_kind(like: str) -> str:
    """ "layer", "loss" or "optimizer": what fnn's `like` is; ValueError for a name with no cases."""
    if like in layer_lib.__all__ and any(c.constructor == like for c in CASES):
        return "layer"
    if like in loss_lib.LOSSES:
        return "loss"
    if like in optim_lib.OPTIMIZERS:
        return "optimizer"
    raise ValueError(f"no registered cases for {like!r}; the names are {', '.join(reference_names())}")


def reference_names() -> tuple[str, ...]:
    """Every name `compare` accepts: fnn's layers and losses with registered cases, then its optimizers."""
    names = dict.fromkeys(c.constructor for c in CASES)
    return (*names, *dict.fromkeys(c.constructor for c in OPTIMIZER_CASES))


def reference_cases(like: str) -> tuple[Case, ...]:
    """The registered cases of fnn's constructor `like`."""
    cases = OPTIMIZER_CASES if reference_kind(like) == "optimizer" else CASES
    return tuple(c for c in cases if c.constructor == like)


class CaseComparison(NamedTuple):
    """One case: its findings (an "init" or "forward" finding first, if any; then one per
    gradient or update array) and the max relative error of each array (None: no number)."""

    case: Case
    findings: tuple[Finding, ...]
    errors: dict  # array name ("y", "loss", "dx", "W", ...) -> max relative error or None
    diagnosis: Diagnosis | None = None  # the doctor's, when it was asked

    @property
    def ok(self) -> bool:
        """Every array agrees (or is right to float32 precision: passes with a warning)."""
        return all(f.kind in PASSING for f in self.findings)

    @property
    def title(self) -> str:
        return f"{self.case.constructor}{_config(self.case)}"

    def max_error(self) -> float | None:
        """The largest relative error; None when no array has one, or one has none to have (a
        wrong shape or init: no number would say how wrong)."""
        if any(f.kind in ("shape", "init") for f in self.findings):
            return None
        values = [e for e in self.errors.values() if e is not None]
        return float(np.max(values)) if values else None  # NOTE: NaN propagates

    def as_dict(self) -> dict:
        return {
            "constructor": self.case.constructor,
            "config": _config(self.case),
            "ok": self.ok,
            "max_rel_error": _number(self.max_error()),
            "findings": [
                {
                    **f._asdict(),
                    "where": [list(ix) for ix in f.where],
                    "max_rel_error": _number(self.errors.get(f.array)),
                }
                for f in self.findings
            ],
        }


class Comparison(NamedTuple):
    """Every case of `like` for one maker: `ok` when every finding of every case is "ok"."""

    name: str  # the maker's name
    like: str
    cases: tuple[CaseComparison, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cases)

    def max_error(self) -> float | None:
        """The largest relative error of all cases; None if a case has none (`CaseComparison`)."""
        values = [c.max_error() for c in self.cases]
        return None if not values or None in values else float(np.max(values))

    def __str__(self) -> str:
        wrong = sum(not c.ok for c in self.cases)
        lines = [f"{self.name} like fnn's {self.like}: {wrong} of {len(self.cases)} cases wrong"]
        for c in self.cases:
            if c.ok:
                lines.append(f"ok     {c.title}  (max relative error {c.max_error() or 0.0:.1e})")
                continue
            lines.append(f"WRONG  {c.title}")
            rows = [("array", "kind", "detail")] + [(f.array, f.kind, f.detail) for f in c.findings]
            widths = [max(len(r[i]) for r in rows) for i in (0, 1)]
            lines += [f"       {a:<{widths[0]}}  {k:<{widths[1]}}  {d}" for a, k, d in rows]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "like": self.like,
            "ok": self.ok,
            "max_rel_error": _number(self.max_error()),
            "cases": [c.as_dict() for c in self.cases],
        }


def _config(case: Case) -> str:
    """The case's configuration: an optimizer's is its arguments alone (no input, no mode)."""
    if case.constructor in optim_lib.OPTIMIZERS:
        return _call("", case.args, case.kwargs)
    return case.config()


def _number(value: float | None) -> float | None:
    """JSON has no NaN or inf: those, like a missing number, are None."""
    return None if value is None or not np.isfinite(value) else float(value)


def compare(
    make: Callable[..., Any], like: str, *, seed: int = 0, tolerance: float = TOLERANCE
) -> Comparison:
    """Compare what `make` returns with fnn's `like`, on every registered case (module docstring).

    Args:
        make: called as fnn's `like` is, case by case: a layer constructor returning a Layer;
            a loss `(scores, labels, **kwargs) -> (loss, dscores)`; an optimizer constructor
            returning `(init, update)`.
        like: the name of fnn's constructor (`reference_names()`).
        seed: the draws (params, inputs, cotangents, keys). tolerance: relative, per array.

    Returns:
        A Comparison, one CaseComparison per case.

    Raises:
        ValueError: `like` has no registered cases. TypeError: `make` returned something that
            is not a Layer (or not an (init, update) pair). Whatever `make`'s code raises.
    """
    kind = reference_kind(like)
    run = {"layer": _layer_case, "loss": _loss_case, "optimizer": _optimizer_case}[kind]
    name = getattr(make, "__name__", repr(make))
    return Comparison(name, like, tuple(run(make, case, seed, tolerance) for case in reference_cases(like)))


def _named(tree: Any) -> dict:
    """{"W": leaf, ...}: the leaves of a pytree by path ("0/W" inside a serial), as the doctor names them."""
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path, simple=True, separator="/"): leaf for path, leaf in leaves}


def _shapes(tree: Any) -> dict:
    return {name: tuple(np.shape(leaf)) for name, leaf in _named(tree).items()}


def _relative(got: Any, expected: Any) -> float | None:
    """max|got - expected| / max|expected| (0 when both are 0); None when the shapes differ."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape != expected.shape:
        return None
    if expected.size == 0:
        return 0.0
    scale, diff = np.abs(expected).max(), np.abs(got - expected).max()
    return float(diff if scale == 0 else diff / scale)  # NaN in, NaN out


def _bad(error: float | None, tolerance: float) -> bool:
    return error is None or not error < tolerance  # NaN is bad


def _layer_case(make, case: Case, seed: int, tolerance: float) -> CaseComparison:
    reference = getattr(layer_lib, case.constructor)(*case.args, **case.kwargs)
    student = make(*case.args, **case.kwargs)
    if not isinstance(student, Layer):
        raise TypeError(f"{case.constructor}{_config(case)}: got a {type(student).__name__}, not a Layer")

    def others():  # fnn's other layers, with this case's arguments or with their defaults
        for other in layer_lib.__all__:
            for args, kwargs in ((case.args, case.kwargs), ((), {})):
                try:
                    if other != case.constructor:
                        yield _call(other, args, kwargs), getattr(layer_lib, other)(*args, **kwargs)
                except (TypeError, ValueError):
                    continue

    return _compare_layers(student, reference, case, seed, tolerance, others)


def _loss_case(make, case: Case, seed: int, tolerance: float) -> CaseComparison:
    N, K = case.in_shape
    labels = np.random.default_rng(seed).integers(0, K, N)  # as diagnose_case draws them
    reference = loss_as_layer(loss_lib.LOSSES[case.constructor], labels, name=case.constructor, **case.kwargs)
    student = loss_as_layer(make, labels, name=getattr(make, "__name__", "loss"), **case.kwargs)

    def others():  # fnn's other losses, with this case's keyword arguments or with none
        for other, loss in loss_lib.LOSSES.items():
            for kwargs in (case.kwargs, {}):
                if other != case.constructor:
                    yield _call(other, (), kwargs), loss_as_layer(loss, labels, name=other, **kwargs)

    as_layer = case._replace(in_shape=(K,), batch=N)
    return _compare_layers(student, reference, as_layer, seed, tolerance, others, loss=True)._replace(
        case=case
    )


def _compare_layers(
    student: Layer, reference: Layer, case: Case, seed: int, tolerance: float, others, loss: bool = False
) -> CaseComparison:
    """A layer (or a loss as a layer) against fnn's, on fnn's params; see the module docstring.
    `others()` yields (call, Layer) of fnn's other constructors, what a wrong forward may be."""
    in_shape, train, output = tuple(case.in_shape), case.train, "loss" if loss else "y"
    with jax.enable_x64(True):
        out_shape, params, state = reference.init(jax.random.key(seed), in_shape)
        problem = _init_problem(student, in_shape, seed, out_shape, params, state, case.constructor)
        if problem:
            return CaseComparison(case, (Finding("init", "init", problem),), {})
        rng = np.random.default_rng(seed)  # the draws of check_layer
        params = jax.tree.map(lambda a: a + 0.3 * rng.standard_normal(np.shape(a)), params)
        state = jax.tree.map(lambda a: a + rng.uniform(0.1, 0.6, np.shape(a)), state)
        x = jnp.asarray(distinct_inputs(rng, (case.batch, *in_shape)))
        key = jax.random.key(seed + 1) if train else None

        y_shape = jax.eval_shape(lambda x_: reference.apply(params, state, x_, train=train, key=key)[0], x)
        dy = jnp.asarray(rng.standard_normal(y_shape.shape))

        @jax.jit  # one compilation: both forwards, both backwards, and autodiff of fnn's forward
        def both(params, x, dy):
            def forward(p, x_):
                return reference.apply(p, state, x_, train=train, key=key)[0]

            y_ref, state_ref, cache_ref = reference.apply(params, state, x, train=train, key=key)
            y, new_state, cache = student.apply(params, state, x, train=train, key=key)
            gradients = (
                student.backward(params, cache, dy),
                reference.backward(params, cache_ref, dy),
                jax.vjp(forward, params, x)[1](dy),
            )
            return (y_ref, state_ref, y, new_state), gradients  # a cache may hold what is no array

        (y_ref, state_ref, y, new_state), (mine, theirs, (dparams_auto, dx_auto)) = both(params, x, dy)
        error = _relative(y, y_ref)
        wrong_forward = _forward_problem(y, y_ref, new_state, state_ref, error, case, tolerance, output)
        if wrong_forward:
            wrong_output = _bad(error, tolerance)  # else only the new state is wrong
            hint = (
                _lookalike(others, case, y, y_ref, params, state, x, key, tolerance) if wrong_output else ""
            )
            detail = wrong_forward + (f": {hint}" if hint else "")
            detail += " (the gradients below are checked against autodiff of your own apply)"
            diagnosis = _diagnose(student._replace(init=reference.init), case, seed, tolerance)
            findings = [Finding(output, "forward", detail), *_renamed(diagnosis.findings, loss)]
            return CaseComparison(case, tuple(findings), {output: error}, diagnosis)

        errors = {output: error, **_gradient_errors(mine, theirs, (dx_auto, dparams_auto), params)}
        names = ["dx", *_named(params)]
        if all(not _bad(errors.get(n), tolerance) for n in names) and _same_keys(mine, params):
            findings = [Finding(output, "ok", f"{output} agrees with fnn's {case.constructor}")]
            findings += [_agrees(n, errors[n], case.constructor) for n in names]
            return CaseComparison(case, _renamed(tuple(findings), loss), _renamed_errors(errors, loss))
        diagnosis = _diagnose(_hybrid(student, reference), case, seed, tolerance)
        findings = [Finding(output, "ok", f"{output} agrees with fnn's {case.constructor}")]
        for f in diagnosis.findings:  # the doctor's, unless it saw nothing where fnn's backward differs
            if f.kind == "ok" and _bad(errors.get(f.array), tolerance):
                f = Finding(
                    f.array, "mismatch", f"{_label(f.array)} differs from fnn's hand-written backward"
                )
            findings.append(f)
    return CaseComparison(case, _renamed(tuple(findings), loss), _renamed_errors(errors, loss), diagnosis)


def _init_problem(student, in_shape, seed, out_shape, params, state, like) -> str:
    """What differs between the student's init and fnn's (shapes and keys only), or ""."""
    got_out, got_params, got_state = _init_shapes(student, jax.random.key(seed), in_shape)
    for what, got, expected in (
        ("params", _shapes(got_params), _shapes(params)),
        ("state", _shapes(got_state), _shapes(state)),
    ):
        if got != expected:
            return f"init returns {what} {_show(got)}; fnn's {like} has {_show(expected)} for in_shape {in_shape}"
    if tuple(int(d) for d in got_out) != tuple(out_shape):
        return f"init says out_shape {tuple(got_out)}; fnn's {like} gives {tuple(out_shape)} for in_shape {in_shape}"
    return ""


def _init_shapes(layer: Layer, key, in_shape):
    """layer.init's out_shape, and its params and state as shapes only (nothing drawn, nothing
    compiled); by a real call if init cannot run on an abstract key."""
    out_shapes = []

    def shapes_only(key):
        out_shape, params, state = layer.init(key, in_shape)
        out_shapes.append(tuple(int(d) for d in out_shape))
        return params, state

    try:
        params, state = jax.eval_shape(shapes_only, key)
        return out_shapes[0], params, state
    except Exception:  # e.g. an init that reads the key's value: let the real call speak
        return layer.init(key, in_shape)


def _show(shapes: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {v}" for k, v in shapes.items()) + "}" if shapes else "{} (none)"


def _forward_problem(y, y_ref, new_state, state_ref, error, case, tolerance, output) -> str:
    """What is wrong with the forward (output, then new state), or ""."""
    what = f"fnn's {case.constructor}" + (" (train mode)" if case.train else "")
    if error is None:
        return f"apply returns {output} of shape {np.shape(y)}; {what} gives {np.shape(y_ref)}"
    if not error < tolerance:
        return f"apply differs from {what}: max relative error {error:.2g} in {output}"
    got, expected = _named(new_state), _named(state_ref)
    if _shapes(got) != _shapes(expected):
        return f"apply returns a new state {_show(_shapes(got))}; {what} returns {_show(_shapes(expected))}"
    for name, value in expected.items():
        state_error = _relative(got[name], value)
        if _bad(state_error, tolerance):
            return (
                f"{output} agrees, but apply's new state {name!r} differs from that of {what}: "
                f"max relative error {state_error:.2g}"
            )
    return ""


def _lookalike(others, case: Case, y, y_ref, params, state, x, key, tolerance: float) -> str:
    """What a wrong forward computes, when recognisable: another of fnn's constructors with the
    same arguments (or its defaults), minus or a multiple of fnn's output, or float32 round-off."""
    y, y_ref = np.asarray(y, np.float64), np.asarray(y_ref, np.float64)
    for call, layer in others():
        try:
            out_shape, p, s = layer.init(jax.random.key(0), tuple(case.in_shape))
            if _shapes(p) != _shapes(params) or _shapes(s) != _shapes(state):
                continue
            y_other = layer.apply(params, state, x, train=case.train, key=key)[0]
        except Exception:  # not callable with these arguments, or not on this input: not it
            continue
        error = _relative(y, y_other)
        if error is not None and error < tolerance:
            return f"it computes fnn's {call}: a {call.split('(')[0]} posing as a {case.constructor}?"
    if y.shape != y_ref.shape or not np.all(np.isfinite(y)):
        return ""
    if _relative(y, y_ref) < 1e-4:
        return "far below a real mistake: float32 arithmetic?"
    scale = float(np.vdot(y_ref, y_ref))
    c = float(np.vdot(y, y_ref) / scale) if scale else 0.0
    if scale and np.abs(y - c * y_ref).max() <= 1e-6 * np.abs(y_ref).max():
        return "it is minus fnn's output" if abs(c + 1) < 1e-6 else f"it is {c:.4g} times fnn's output"
    return ""


def _call(name: str, args: tuple, kwargs: dict) -> str:
    return f"{name}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"


def _gradient_errors(mine, theirs, auto, params) -> dict:
    """Relative error of each of the student's arrays against fnn's backward and autodiff (the
    larger); None for an array that is missing or shaped otherwise."""
    if not (isinstance(mine, tuple | list) and len(mine) == 2):
        return {}
    dx, dparams = mine
    got = {"dx": dx, **(_named(dparams) if isinstance(dparams, dict | tuple | list) else {})}
    errors = {}
    for name, hand, autodiff in (
        ("dx", theirs[0], auto[0]),
        *((n, _named(theirs[1])[n], _named(auto[1])[n]) for n in _named(params)),
    ):
        if name not in got:
            errors[name] = None
            continue
        a, b = _relative(got[name], hand), _relative(got[name], autodiff)
        errors[name] = None if a is None or b is None else max(a, b)
    return errors


def _same_keys(mine, params) -> bool:
    return isinstance(mine, tuple | list) and len(mine) == 2 and _shapes(mine[1]) == _shapes(params)


def _label(name: str) -> str:
    return name if name in ("dx", "dscores") else f"d{name}"


def _agrees(name: str, error: float, like: str) -> Finding:
    text = f"{_label(name)} agrees with fnn's {like} backward and autodiff (max relative error {error:.1e})"
    return Finding(name, "ok", text)


def _hybrid(student: Layer, reference: Layer) -> Layer:
    """The student's backward on the student's cache, with fnn's init and forward as the truth:
    what the doctor diagnoses when the student's forward agrees with fnn's."""

    def apply(params, state, x, *, train=False, key=None):
        y, new_state, _ = reference.apply(params, state, x, train=train, key=key)
        cache = student.apply(params, state, x, train=train, key=key)[2]
        return y, new_state, cache

    return Layer(student.name, reference.init, apply, student.backward)


def _diagnose(layer: Layer, case: Case, seed: int, tolerance: float) -> Diagnosis:
    return diagnose(layer, case.in_shape, batch=case.batch, train=case.train, seed=seed, tolerance=tolerance)


_DX = re.compile(r"\bdx\b")


def _renamed(findings: tuple[Finding, ...], loss: bool) -> tuple[Finding, ...]:
    """A loss's gradient is dscores, not dx."""
    if not loss:
        return tuple(findings)
    return tuple(
        f._replace(array="dscores" if f.array == "dx" else f.array, detail=_DX.sub("dscores", f.detail))
        for f in findings
    )


def _renamed_errors(errors: dict, loss: bool) -> dict:
    return {("dscores" if loss and k == "dx" else k): v for k, v in errors.items()}


def _optimizer_case(make, case: Case, seed: int, tolerance: float) -> CaseComparison:
    """STEPS updates of the student's optimizer and fnn's on the same params and gradients."""
    reference = optim_lib.OPTIMIZERS[case.constructor](*case.args, **case.kwargs)
    student = make(*case.args, **case.kwargs)
    if not (isinstance(student, tuple) and len(student) == 2 and all(map(callable, student))):
        raise TypeError(
            f"{case.constructor}{_config(case)}: got a {type(student).__name__}, not (init, update)"
        )
    what = "fnn's " + _call(case.constructor, case.args, case.kwargs)
    findings, errors = compare_updates(student, reference, what, seed=seed, tolerance=tolerance)
    return CaseComparison(case, findings, errors)
