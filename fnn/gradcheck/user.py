"""`fnn gradcheck --layer FILE.py:FUNCTION --in-shape DIMS`: from what a user typed to a Layer.

`load_layer` imports FILE.py by its path (`importlib.util.spec_from_file_location`, as
`import` would: it runs the user's code and reads no data) and calls FUNCTION() with no
arguments. Every way this can fail (no such file, no such function, an exception in the
user's code, something that is not a Layer, a bad shape) raises `SpecError` with one line
that says what is allowed; the CLI reports it as a usage error (exit 2).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from fnn.layer import Layer

__all__ = [
    "SpecError",
    "load_layer",
    "split_spec",
    "parse_in_shape",
    "positive_int",
    "layer_from",
    "run_user_code",
]

EXAMPLE = "e.g. --layer my_layer.py:make_layer --in-shape 8,8,3"


class SpecError(ValueError):
    """A --layer or --in-shape that cannot work (the CLI reports it as a usage error, exit 2)."""


def load_layer(spec: str) -> Layer:
    """The Layer that FUNCTION() returns, for `spec` = "FILE.py:FUNCTION"."""
    path, function = split_spec(spec)
    module_spec = (
        importlib.util.spec_from_file_location("fnn_user_layer", path) if os.path.isfile(path) else None
    )
    if module_spec is None:
        raise SpecError(f"--layer: no Python file {path} ({EXAMPLE})")
    module = importlib.util.module_from_spec(module_spec)
    run_user_code(f"importing {path}", module_spec.loader.exec_module, module)
    return layer_from(module, function, path)


def split_spec(spec: str) -> tuple[str, str]:
    """Split "path/to/file.py:make_layer" into ("path/to/file.py", "make_layer")."""
    path, _, function = spec.rpartition(":")
    if not path or not function.isidentifier():
        raise SpecError(f"--layer: expected FILE.py:FUNCTION, got {spec!r} ({EXAMPLE})")
    return path, function


def parse_in_shape(text: str | None) -> tuple[int, ...]:
    """Parse "8,8,3" into (8, 8, 3): the per-example input shape, positive integers."""
    if text is None:
        raise SpecError(f"--in-shape: required with --layer ({EXAMPLE})")
    try:
        dims = tuple(int(d) for d in text.split(","))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise SpecError(
            f"--in-shape: expected positive integers separated by commas, got {text!r} ({EXAMPLE})"
        )
    return dims


def positive_int(flag: str, value: int) -> int:
    """`value` if it is at least 1, else a SpecError naming `flag`."""
    if value < 1:
        raise SpecError(f"{flag}: must be >= 1, got {value}")
    return value


def layer_from(module: Any, function: str, path: str) -> Layer:
    """The Layer that `module.function()` returns, or a SpecError saying what went wrong."""
    make = getattr(module, function, None)
    if not callable(make):
        defined = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise SpecError(f"--layer: {path} defines no function {function!r} (it has: {', '.join(defined)})")
    layer = run_user_code(f"{function}()", make)
    if not isinstance(layer, Layer):
        got = type(layer).__name__
        raise SpecError(
            f"--layer: {function}() returned a {got}, not an fnn.Layer(name, init, apply, backward)"
        )
    return layer


def run_user_code(what: str, function, *args, **kwargs):
    """`function(*args, **kwargs)`, any exception turned into a one-line SpecError naming `what`."""
    try:
        return function(*args, **kwargs)
    except Exception as e:  # the user's code: one line, not a traceback
        raise SpecError(f"--layer: {what} raised {type(e).__name__}: {_first_line(e)}") from e


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0]
