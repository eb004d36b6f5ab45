"""The report's one statistical method, stated once (report/sections/setup.tex) and used everywhere.

- Arms that share seeds (same initial weights, same batch order, same validation split) are
  compared PAIRED: the per-seed difference b - a, its mean and sample sd, and a 95% Student-t
  interval for the mean difference (`paired`).
- Two models scored on the one test set are compared by McNemar's exact test on their paired
  per-image outcomes: the images only one of them gets right, tested against a fair coin
  (`mcnemar`).
- A difference is "reliable" when the interval excludes 0, or p < 0.05; otherwise the report says
  "no reliable difference".

Everything here is a plain function of numbers: no results.json layout, no LaTeX.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats

__all__ = ["mean_sd", "Paired", "paired", "McNemar", "mcnemar", "LEVEL", "ALPHA"]

LEVEL = 0.95  # confidence of every interval the report prints
ALPHA = 0.05  # the p-value below which a McNemar difference is called reliable


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single value)."""
    values = np.asarray(values, float)
    if values.size == 0:
        raise ValueError("mean_sd: no values")
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


class Paired(NamedTuple):
    """The paired difference b - a over seeds: per seed, mean, sd and the 95% t-interval."""

    diffs: tuple[float, ...]
    mean: float
    sd: float
    lo: float
    hi: float

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def reliable(self) -> bool:
        """The interval excludes 0."""
        return self.lo > 0 or self.hi < 0

    @property
    def sign(self) -> int:
        """+1 if b is reliably larger, -1 if reliably smaller, 0 if no reliable difference."""
        return 0 if not self.reliable else (1 if self.mean > 0 else -1)


def paired(a: Sequence[float], b: Sequence[float]) -> Paired:
    """b - a per seed (a[i] and b[i] share seed i), with a 95% Student-t interval of the mean.

    With one seed the interval is unbounded (no difference is reliable)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"paired: a and b must be equal-length 1-D sequences, got {a.shape} and {b.shape}")
    d = b - a
    mean, sd = mean_sd(d)
    if d.size < 2:
        return Paired(tuple(d.tolist()), mean, 0.0, -np.inf, np.inf)
    half = scipy_stats.t.ppf(0.5 + LEVEL / 2, d.size - 1) * sd / np.sqrt(d.size)
    return Paired(tuple(d.tolist()), mean, sd, mean - half, mean + half)


class McNemar(NamedTuple):
    """Two models on one test set: images only a gets right, only b gets right, exact p."""

    only_a: int
    only_b: int
    p: float

    @property
    def reliable(self) -> bool:
        return self.p < ALPHA

    @property
    def sign(self) -> int:
        """+1 if b is reliably more accurate, -1 if reliably less, 0 if no reliable difference."""
        return 0 if not self.reliable else (1 if self.only_b > self.only_a else -1)


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> McNemar:
    """McNemar's exact test: the discordant images, two-sided binomial test against p = 1/2."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"mcnemar: need two equal-length 1-D outcome vectors, got {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    n = only_a + only_b
    p = 1.0 if n == 0 else float(scipy_stats.binomtest(min(only_a, only_b), n, 0.5).pvalue)
    return McNemar(only_a, only_b, min(p, 1.0))
