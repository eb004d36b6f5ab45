"""Validation of user-given settings, shared by layers, optimizers, training and the CLI.

Every check takes `owner` (the layer, optimizer or option the value belongs to, e.g.
"conv1", "momentum", "--lr") and `what` (the argument's name), returns the value in its
normal form, and raises ValueError naming both and the value received. Booleans are never
numbers here: `momentum=True` is refused, although Python treats True as 1.

The rest check arrays a layer receives, on static shapes and dtypes, so they cost nothing
under `jit`. A layer declares what its params must be for an input x as a `Spec`,
{key: (expected shape, what the shape follows from)}, and starts `apply` and `backward` with
one call: `layer_inputs` (params against the spec, x's dtype: both cast to it) and, in
backward, `cotangent` (dy's shape).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

__all__ = [
    "positive_int",
    "int_pair",
    "number",
    "probability",
    "optional_positive",
    "one_of",
    "flag",
    "params_keys",
    "shape",
    "floating",
    "Spec",
    "tree",
    "layer_inputs",
    "cotangent",
]

Spec = Mapping[str, tuple[tuple[int, ...], str]]  # key -> (expected shape, what it follows from)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_int(owner: str, what: str, value: Any, *, minimum: int = 1) -> int:
    """`value` if it is an int >= minimum (default 1)."""
    if not _is_int(value) or value < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{owner}: {what} must be {kind}, got {value!r}")
    return value


def int_pair(owner: str, what: str, value: Any, *, minimum: int = 1) -> tuple[int, int]:
    """An int or a (height, width) pair of ints, each >= minimum, as a pair."""
    values = (value, value) if _is_int(value) else value
    ok = (
        isinstance(values, (tuple, list))
        and len(values) == 2
        and all(_is_int(v) and v >= minimum for v in values)
    )
    if not ok:
        kind = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{owner}: {what} must be an int or a pair of ints {kind}, got {value!r}")
    return tuple(values)


def number(
    owner: str,
    what: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """`value` as a float if it is a finite number within the bounds (closed unless *_open)."""
    ok = _is_number(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            bound = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            bound = f" {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            bound = f" {'<' if high_open else '<='} {high:g}"
        else:
            bound = ""
        raise ValueError(f"{owner}: {what} must be a finite number{bound}, got {value!r}")
    return float(value)


def probability(owner: str, what: str, value: Any) -> float:
    """A number in [0, 1): a drop rate, a momentum coefficient, a decay rate."""
    return number(owner, what, value, low=0.0, high=1.0, high_open=True)


def optional_positive(owner: str, what: str, value: Any) -> float | None:
    """None, or a finite number > 0 (e.g. weight_scale, clip norm)."""
    return None if value is None else number(owner, what, value, low=0.0, low_open=True)


def one_of(owner: str, what: str, value: Any, choices: Sequence[Any]) -> Any:
    """`value` if it is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{owner}: {what} must be one of {tuple(choices)}, got {value!r}")
    return value


def flag(owner: str, what: str, value: Any) -> bool:
    """`value` if it is True or False (not 0, 1 or a string: "False" would be true)."""
    if not isinstance(value, bool):
        raise ValueError(f"{owner}: {what} must be True or False, got {value!r}")
    return value


def params_keys(owner: str, params: Any, keys: Sequence[str], what: str = "params") -> None:
    """Raise TypeError unless `params` (or the `what` of a layer, e.g. its state) is a mapping
    with exactly `keys` (a pytree mistake)."""
    if not isinstance(params, Mapping) or set(params) != set(keys):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise TypeError(f"{owner}: {what} must be a dict with keys {sorted(keys)}, got {got}")


def shape(owner: str, what: str, got: Sequence[int], expected: Sequence[int], hint: str = "") -> tuple:
    """`got` as a tuple if it equals `expected`; else ValueError naming owner, what, both shapes.

    E.g. "conv1: params['W'] has shape (5, 5, 1, 32), expected (3, 3, 1, 32) (kernel 3x3, ...)",
    the `hint` (what the expected shape follows from) in parentheses.
    """
    got, expected = tuple(got), tuple(expected)
    if got != expected:
        hint = f" ({hint})" if hint else ""
        raise ValueError(f"{owner}: {what} has shape {got}, expected {expected}{hint}")
    return got


def floating(owner: str, what: str, value: Any) -> Any:
    """The dtype a layer computes in: `value.dtype` (canonical: float64 is float32 without x64)
    if it is a floating dtype (float16, bfloat16, float32, float64); else ValueError."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or not jax.dtypes.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"{owner}: {what} must have a floating dtype (float16, bfloat16, float32 or float64), "
            f"got {dtype if dtype is not None else type(value).__name__}; cast it, e.g. {what}.astype(jnp.float32)"
        )
    return jax.dtypes.canonicalize_dtype(dtype)


def tree(owner: str, what: str, value: Any, spec: Spec) -> None:
    """Raise unless `value` (a layer's params or state, named `what`) is a dict with exactly the
    keys of `spec` (TypeError) whose arrays have the shapes it gives (ValueError, as `shape`)."""
    params_keys(owner, value, tuple(spec), what)
    for key, (expected, hint) in spec.items():
        shape(owner, f"{what}[{key!r}]", jnp.shape(value[key]), expected, hint)


def layer_inputs(owner: str, params: Any, spec: Spec, x: Any, *, at_least: Any = None) -> tuple[dict, Any]:
    """(params, x) as a layer computes with them: in x's floating dtype (`floating`; promoted
    to `at_least` if given), after checking params against `spec` (`tree`)."""
    dtype = floating(owner, "x", x)
    dtype = dtype if at_least is None else jnp.promote_types(dtype, at_least)
    tree(owner, "params", params, spec)
    return {key: jnp.asarray(params[key], dtype) for key in spec}, jnp.asarray(x, dtype)


def cotangent(owner: str, dy: Any, expected: Sequence[int], dtype: Any, hint: str = "") -> Any:
    """`dy` in `dtype` if its shape is `expected` (the layer's output); else ValueError (`shape`)."""
    shape(owner, "dy", jnp.shape(dy), expected, hint)
    return jnp.asarray(dy, dtype)
