"""How the report prints a number: the one place for number formats (no LaTeX here).

An experiment's `facts(results)` returns a dict whose leaves are `Num`s (a float that knows
its printed form), ints, plain strings or `Table`s; nested dicts flatten to dotted keys. The
report writes each leaf as a macro (`\\R{optimizers.momentum_minus_sgd.mean}`), converting the
plain text to LaTeX in one place (`experiments.report`), and its claims compare the same
values as floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from experiments import stats

__all__ = ["Num", "num", "pct", "signed", "sci", "count", "pm", "paired", "mcnemar", "Table"]


class Num(float):
    """A float printed with `format(value, spec)`: compares as the float, prints as the report does."""

    spec: str

    def __new__(cls, value: float, spec: str = ".2f") -> Num:
        obj = super().__new__(cls, float(value))
        obj.spec = spec
        return obj

    def __str__(self) -> str:
        return format(float(self), self.spec)

    def __repr__(self) -> str:
        return f"Num({float(self)!r}, {self.spec!r})"


def num(x: float, digits: int = 2) -> Num:
    return Num(x, f".{digits}f")


def pct(fraction: float, digits: int = 2) -> Num:
    """A fraction as percent (0.9929 -> 99.29); the % sign is the prose's."""
    return Num(100 * float(fraction), f".{digits}f")


def signed(x: float, digits: int = 2) -> Num:
    """With its sign always shown (+0.012, -0.004): for differences."""
    return Num(x, f"+.{digits}f")


def sci(x: float, digits: int = 1) -> Num:
    """Scientific notation (1.2e-11); the report prints it as 1.2 x 10^-11."""
    return Num(x, f".{digits}e")


def count(n: int) -> Num:
    """A whole number with thousands separators (55,000)."""
    return Num(n, ",.0f")


def pm(values: Sequence[float], digits: int = 2, scale: float = 1.0) -> dict[str, Num | int]:
    """Mean and sd over seeds of `values` times `scale` (100: percent): {"mean", "sd", "n"}."""
    mean, sd = stats.mean_sd(np.asarray(values, float) * scale)
    return {"mean": num(mean, digits), "sd": num(sd, digits), "n": len(values)}


def paired(p: stats.Paired, digits: int = 3, scale: float = 1.0) -> dict[str, Num | int]:
    """A paired difference (`stats.paired`) times `scale`: {"mean", "sd", "lo", "hi", "n",
    "min", "max"} (min/max: the smallest and largest per-seed difference)."""
    d = np.asarray(p.diffs) * scale
    return {
        "mean": signed(p.mean * scale, digits),
        "sd": num(p.sd * scale, digits),
        "lo": signed(p.lo * scale, digits),
        "hi": signed(p.hi * scale, digits),
        "min": signed(d.min(), digits),
        "max": signed(d.max(), digits),
        "n": p.n,
    }


def mcnemar(m: stats.McNemar) -> dict[str, Num | int]:
    """{"only_a", "only_b", "p"}: the discordant images and the exact p-value."""
    return {"only_a": m.only_a, "only_b": m.only_b, "p": Num(m.p, ".2g")}


class Table(NamedTuple):
    """A table's header and rows as plain text cells; the caption is the prose's."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
