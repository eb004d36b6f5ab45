"""What every subcommand shares about its flags: the usage error (exit 2, one line) and the
argparse types and opens that word their errors as flags."""

from __future__ import annotations

import argparse

__all__ = ["UsageError", "open_for_writing", "positive_float", "positive_int"]


class UsageError(ValueError):
    """A command-line value that cannot work (exit 2, like argparse's own errors)."""


def open_for_writing(path: str, flag: str = "--json"):
    """`path` opened for writing, before any work; else a UsageError naming `flag`."""
    try:
        return open(path, "w")
    except OSError as e:
        raise UsageError(f"{flag}: cannot write {path}: {e.strerror}") from None


def positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value
