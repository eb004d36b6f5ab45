"""Derived statistics and claims of cnn (experiments.classifiers; no LaTeX, no prose)."""

from __future__ import annotations

from experiments import classifiers

__all__ = ["facts", "CLAIMS"]


def facts(results: dict) -> dict:
    return classifiers.facts(results, "cnn")


# What each claim means: experiments.classifiers.CLAIM.
CLAIMS = {name: classifiers.CLAIM[name] for name in classifiers.CNN_CLAIMS}
