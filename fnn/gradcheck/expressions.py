"""Names for a measured function of x: the gradient doctor's vocabulary for local derivatives.

A layer's local derivative dx/dy (measured element by element as dx / dy) is a set of numbers
at the inputs x drawn, with the layer's output y and parameters at the same elements. `name`
finds the simplest expression built from x, y and the parameters that equals those numbers
to round-off, or None: an expression is a TEMPLATE (v, 1 - v, v(1 - v), 1 - v^2, 1/(1 + v)^2,
...) applied to a VARIABLE (x, y, |x|, exp(x), sigmoid(x), tanh(x), ..., a parameter), times
a parameter or a constant, plus a constant; the fewest parts win (`Expression.cost`). So the
learner's sigmoid derivative is named x(1 - x) and the truth y(1 - y), and `relation` says
how the two differ: the input where the output belongs, a factor missing or extra, a constant.
Nothing here knows a layer's name: only the numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "Expression",
    "Sample",
    "name",
    "name_by_sign",
    "relation",
    "nice_number",
    "describe_range",
    "EXACT",
]

EXACT = 1e-8  # an expression names the numbers when it matches them to EXACT of their size

_TEMPLATES = (  # (text with {v}, function, cost); {v} is wrapped in parentheses where needed
    ("{v}", lambda v: v, 0),
    ("1 - {v}", lambda v: 1 - v, 1),
    ("1 + {v}", lambda v: 1 + v, 1),
    ("{v}^2", lambda v: v**2, 1),
    ("1/{v}", lambda v: 1 / v, 1),
    ("{v}(1 - {v})", lambda v: v * (1 - v), 2),
    ("1 - {v}^2", lambda v: 1 - v**2, 2),
    ("1/(1 + {v})", lambda v: 1 / (1 + v), 2),
    ("(1 - {v})^2", lambda v: (1 - v) ** 2, 2),
    ("1/{v}^2", lambda v: 1 / v**2, 2),
    ("sqrt({v})", lambda v: np.sqrt(v), 2),
    ("1/(1 + {v})^2", lambda v: 1 / (1 + v) ** 2, 3),
    ("1/(1 + {v}^2)", lambda v: 1 / (1 + v**2), 3),
    ("{v}(1 + {v})", lambda v: v * (1 + v), 3),
)


class Sample(NamedTuple):
    """Where the numbers were measured: x, y, and each parameter broadcast to x's elements."""

    x: np.ndarray
    y: np.ndarray | None
    params: dict  # name -> values at the same elements


class Expression(NamedTuple):
    """An expression of x, y and the parameters, and its values at the sample."""

    text: str
    values: np.ndarray
    template: str = ""  # the template, with {v} in place of the variable
    variable: str = ""
    cost: int = 0
    constant: bool = False


def _variables(s: Sample) -> list[tuple[str, np.ndarray, int]]:
    x = s.x
    found = [("x", x, 0)]
    if s.y is not None:
        found.append(("y", s.y, 0))
    with np.errstate(over="ignore"):
        found += [
            ("|x|", np.abs(x), 1),
            ("exp(x)", np.exp(x), 1),
            ("exp(-x)", np.exp(-x), 1),
            ("sigmoid(x)", 1 / (1 + np.exp(-x)), 1),
            ("tanh(x)", np.tanh(x), 1),
            ("sign(x)", np.sign(x), 1),
            ("sin(x)", np.sin(x), 2),
            ("cos(x)", np.cos(x), 2),
        ]
        if s.y is not None:
            found += [
                ("|y|", np.abs(s.y), 1),
                ("exp(y)", np.exp(s.y), 2),
                ("sigmoid(y)", 1 / (1 + np.exp(-s.y)), 2),
            ]
    found += [(key, np.asarray(value, np.float64), 1) for key, value in s.params.items()]
    return found


def _wrap(text: str) -> str:
    """`text` in parentheses when it has operators outside any (): "1 - x" but not "exp(-x)"."""
    depth, bare = 0, False
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        bare |= depth == 0 and ch in " /^"
    return f"({text})" if bare or text.startswith("-") else text


def _text(template: str, v: str) -> str:
    return v if template == "{v}" else template.replace("{v}", _wrap(v))


def candidates(s: Sample) -> list[Expression]:
    """Every template applied to every variable, finite at the sample, cheapest first."""
    found = []
    with np.errstate(all="ignore"):
        for variable, v, v_cost in _variables(s):
            if variable == "sign(x)":
                found.append(Expression(variable, v, "{v}", variable, v_cost))
                continue
            for template, function, cost in _TEMPLATES:
                values = function(v)
                if np.all(np.isfinite(values)):
                    found.append(
                        Expression(_text(template, variable), values, template, variable, v_cost + cost)
                    )
    return sorted(found, key=lambda e: e.cost)


def nice_number(value: float) -> str:
    """A constant as a learner would write it: 0.5, 2, 1/3, -0.25."""
    for q in (1, 2, 3, 4, 6, 8, 9):
        p = value * q
        if abs(p - round(p)) <= 1e-9 * max(1.0, abs(p)):
            p = int(round(p))
            return str(p) if q == 1 else (f"{p}/{q}" if q in (3, 6, 9) else f"{value:g}")
    return f"{value:.4g}"


def _close(values: np.ndarray, target: np.ndarray, size: float) -> bool:
    return bool(np.max(np.abs(values - target), initial=0.0) <= EXACT * size)


def name(
    target: np.ndarray, s: Sample, *, exclude: str = "", like: Expression | None = None
) -> Expression | None:
    """The cheapest expression equal to `target` at the sample (to EXACT), None if none is.

    Tried in order: a constant; an expression; a parameter times an expression; a constant
    times an expression; a constant times an expression plus a constant (least squares, then
    checked). `exclude`: a text not to return (to name something else than a given answer);
    `like`: another expression whose variable is preferred, at a cost of up to 2 more (so the
    truth is said in the learner's terms: y + 0.5 beside the learner's 1 + y)."""
    target = np.asarray(target, np.float64)
    if target.size == 0 or not np.all(np.isfinite(target)):
        return None
    size = max(float(np.abs(target).max()), 1e-300)
    c = float(target.mean())
    if _close(np.full_like(target, c), target, size):
        text = nice_number(c)
        return Expression(text, np.full_like(target, c), "", "", 0, True) if text != exclude else None
    pool = candidates(s)
    if like is not None and like.variable:
        best = name(target, s, exclude=exclude)
        pool_like = [e for e in pool if e.variable == like.variable]
        alike = _search(target, s, pool_like, size, exclude)
        if alike is not None and (best is None or alike.cost <= best.cost + 2):
            return alike
        return best
    return _search(target, s, pool, size, exclude)


def _search(
    target: np.ndarray, s: Sample, pool: list[Expression], size: float, exclude: str
) -> Expression | None:
    for e in pool:
        if e.text != exclude and _close(e.values, target, size):
            return e
    for key, p in s.params.items():
        p = np.asarray(p, np.float64)
        for e in pool:
            if e.variable == key or e.cost > 2:
                continue
            for text, values in (
                (f"{key} {_wrap(e.text)}", p * e.values),
                (f"{_wrap(e.text)}/{key}", e.values / p),
            ):
                if text != exclude and np.all(np.isfinite(values)) and _close(values, target, size):
                    return Expression(text, values, e.template, e.variable, e.cost + 2)
    for affine in (False, True):
        for e in pool:
            if e.variable == "sign(x)":
                continue  # a * sign(x) + b is two sides: name_by_sign says it better
            basis = np.stack([e.values, np.ones_like(e.values)] if affine else [e.values], axis=-1)
            if np.ptp(e.values) <= EXACT * max(np.abs(e.values).max(), 1e-300):
                continue  # a constant variable says nothing more than a constant
            coef = np.linalg.lstsq(basis, target, rcond=None)[0]
            if not _close(basis @ coef, target, size) or abs(coef[0]) <= EXACT:
                continue
            text = _scaled(e.text, float(coef[0]))
            if affine and abs(coef[1]) > EXACT * size:
                b = float(coef[1])
                text = f"{text} {'+' if b > 0 else '-'} {nice_number(abs(b))}"
            if text != exclude:
                return Expression(text, basis @ coef, e.template, e.variable, e.cost + 3 + 2 * affine)
    return None


def name_by_sign(target: np.ndarray, s: Sample) -> Expression | None:
    """One expression for x > 0 and one for x < 0 (a relu-like layer's two sides), when no
    single expression names `target`; None unless both sides are named."""
    target = np.asarray(target, np.float64)
    sides = []
    for keep, where in ((s.x > 0, "x > 0"), (s.x < 0, "x < 0")):
        if not keep.any():
            return None
        part = Sample(
            s.x[keep], None if s.y is None else s.y[keep], {k: v[keep] for k, v in s.params.items()}
        )
        e = name(target[keep], part)
        if e is None:
            return None
        sides.append((e, where))
    (a, at), (b, bt) = sides
    if a.text == b.text:
        return None
    return Expression(f"{a.text} where {at} and {b.text} where {bt}", target, "", "", a.cost + b.cost + 2)


def _scaled(text: str, a: float) -> str:
    if abs(a - 1) <= EXACT:
        return text
    if abs(a + 1) <= EXACT:
        return f"-{_wrap(text)}"
    return f"{nice_number(a)} {_wrap(text)}"


def relation(mine: Expression | None, truth: Expression | None, s: Sample) -> str:
    """How the learner's expression differs from the true one, in a learner's words; "" if
    the doctor cannot say."""
    if mine is not None and truth is not None and mine.template == truth.template and mine.template:
        swap = {
            ("x", "y"): "you used the input x where the output y belongs",
            ("y", "x"): "you used the output y where the input x belongs",
        }
        if (mine.variable, truth.variable) in swap and mine.text == truth.text.replace(
            truth.variable, mine.variable
        ):
            return swap[mine.variable, truth.variable]
    if mine is None or truth is None or truth.constant:
        return ""  # the truth a constant: the two expressions say it all
    with np.errstate(all="ignore"):
        extra, missing = mine.values / truth.values, truth.values / mine.values
    difference = mine.values - truth.values
    size = max(float(np.abs(truth.values).max()), 1e-300)
    c = float(difference.mean())
    if _close(np.full_like(difference, c), difference, size):
        return f"off by the constant {nice_number(c)}"
    found = []
    for ratio, what, penalty in ((missing, "missing", 0), (extra, "extra", 2)):  # missing: what to add
        if np.all(np.isfinite(ratio)):
            e = name(ratio, s)
            if e is not None and e.text not in ("1", "0"):
                found.append((e.cost + penalty, f"a factor {e.text} is {what}"))
    return min(found)[1] if found else ""


def describe_range(values: np.ndarray) -> str:
    """'from a to b' for a measured function that no expression names."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"from {lo:.3g} to {hi:.3g}" if not math.isclose(lo, hi) else f"{lo:.3g}"
