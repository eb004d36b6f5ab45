"""`fnn gradcheck --layer FILE.py:FUNCTION [--in-shape DIMS | --like NAME]`: from what a user typed
to the code that gets checked.

`load_function` imports FILE.py by its path (`importlib.util.spec_from_file_location`, as
`import` would: it runs the user's code and reads no data) and returns FUNCTION. `load_layer`
calls it with no arguments (a Layer, for the doctor); with `--like`, `constructor` wraps it
to be called as fnn's constructor is, case by case (a Layer, a loss itself, or an optimizer's
(init, update)). Every way this can fail (no such file, no such function, an exception in the
user's code, something that is not a Layer, a bad shape) raises `SpecError` with one line
that says what is allowed; the CLI reports it as a usage error (exit 2).

Neighbours: FILE.py's folder goes first on `sys.path` whenever the user's code runs, as
`python FILE.py` would have it, so that `from base import ...` finds base.py beside it, from
any working folder: while the file is imported, while FUNCTION() runs, and during every call
of the returned layer's init, apply and backward (an import inside a function runs at call
time). In between, `sys.path` is as it was; modules once imported stay in `sys.modules`.

Exits: user code must not end the command, or a layer that was never checked would look
like a pass. `sys.exit()` (SystemExit) anywhere in the user's code is a SpecError. So is
`os._exit()`: while the user's code runs, `os._exit` is replaced by a stand-in that raises
instead (a forked child still exits). What no Python code can catch still ends the process:
a signal, or a C extension's `exit()`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sys
from typing import Any

from fnn.layer import Layer, call_text

__all__ = [
    "SpecError",
    "load_function",
    "load_layer",
    "constructor",
    "split_spec",
    "parse_in_shape",
    "positive_int",
    "run_user_code",
]

EXAMPLE = "e.g. --layer my_layer.py:make_layer --in-shape 8,8,3"


class SpecError(ValueError):
    """A --layer or --in-shape that cannot work (the CLI reports it as a usage error, exit 2)."""


def load_function(spec: str) -> Any:
    """FUNCTION of FILE.py, for `spec` = "FILE.py:FUNCTION", run with FILE.py's folder first on
    sys.path (module docstring); a SpecError if the file or the function is not there."""
    return _load(spec)[0]


def _load(spec: str) -> tuple[Any, str, str]:
    """(FUNCTION run beside its file, the file's folder, FUNCTION's name)."""
    path, function = split_spec(spec)
    module_spec = (
        importlib.util.spec_from_file_location("fnn_user_layer", path) if os.path.isfile(path) else None
    )
    if module_spec is None:
        raise SpecError(f"--layer: no Python file {path} ({EXAMPLE})")
    folder = os.path.dirname(os.path.realpath(path))  # as Python's sys.path[0] for a script
    module = importlib.util.module_from_spec(module_spec)
    with _first_on_path(folder):
        run_user_code(f"importing {path}", module_spec.loader.exec_module, module)
    make = getattr(module, function, None)
    if not callable(make):
        defined = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise SpecError(f"--layer: {path} defines no function {function!r} (it has: {', '.join(defined)})")
    return _beside(folder, make), folder, function


def load_layer(spec: str) -> Layer:
    """The Layer that FUNCTION() returns, for `spec` = "FILE.py:FUNCTION"; its functions run
    with FILE.py's folder first on sys.path (module docstring)."""
    make, folder, function = _load(spec)
    return _checked_layer(run_user_code(f"{function}()", make), f"{function}()", folder)


def constructor(spec: str, kind: str):
    """FUNCTION of FILE.py, to be called as fnn's constructor of `kind` ("layer", "loss" or
    "optimizer") is: a layer constructor whose Layer is checked and runs beside its file; a
    loss as it is; an optimizer constructor whose (init, update) is checked and runs beside its file."""
    make, folder, function = _load(spec)
    if kind == "loss":
        return make

    def call(*args, **kwargs):
        what = call_text(function, args, kwargs.items())
        made = make(*args, **kwargs)
        if kind == "layer":
            return _checked_layer(made, what, folder)
        if not (isinstance(made, tuple) and len(made) == 2 and all(map(callable, made))):
            raise SpecError(
                f"--layer: {what} returned a {type(made).__name__}, not an optimizer "
                "(init, update), e.g. fnn.optim.GradientTransformation(init, update)"
            )
        return tuple(_beside(folder, f) for f in made)

    call.__name__ = function
    return call


def _checked_layer(layer: Any, what: str, folder: str) -> Layer:
    """`layer`, its functions run beside `folder`; a SpecError if it is not a Layer."""
    if not isinstance(layer, Layer):
        got = type(layer).__name__
        raise SpecError(f"--layer: {what} returned a {got}, not an fnn.Layer(name, init, apply, backward)")
    functions = {name: getattr(layer, name) for name in ("init", "apply", "backward")}
    return layer._replace(**{name: _beside(folder, f) for name, f in functions.items() if callable(f)})


@contextlib.contextmanager
def _first_on_path(folder: str):
    """`folder` first on sys.path, as `python FILE.py` puts the script's folder; removed after."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
        elif folder in sys.path:  # the user's code moved it: remove one copy, ours
            sys.path.remove(folder)


def _beside(folder: str, function):
    """`function`, run with `folder` first on sys.path (its name, docstring and attributes kept)."""

    @functools.wraps(function)
    def beside(*args, **kwargs):
        with _first_on_path(folder):
            return function(*args, **kwargs)

    return beside


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


class _HardExit(SystemExit):
    """Raised by the stand-in for os._exit while the user's code runs."""


def run_user_code(what: str, function, *args, **kwargs):
    """`function(*args, **kwargs)`, any exception, sys.exit() or os._exit() turned into a one-line
    SpecError naming `what` (KeyboardInterrupt passes)."""
    try:
        with _no_hard_exit():
            return function(*args, **kwargs)
    except SpecError:  # already one line, from a check on what the user's code returned
        raise
    except SystemExit as e:  # would end the command with no output: with status 0, a false pass
        call = "os._exit" if isinstance(e, _HardExit) else "sys.exit"
        code = "" if e.code is None else repr(e.code)
        raise SpecError(f"--layer: {what} called {call}({code}); a layer file must not exit") from e
    except Exception as e:  # the user's code: one line, not a traceback
        raise SpecError(f"--layer: {what} raised {type(e).__name__}: {_first_line(e)}") from e


@contextlib.contextmanager
def _no_hard_exit():
    """os._exit replaced by a stand-in that raises _HardExit in this process (a forked child,
    whose pid differs, still exits); restored afterwards."""
    real_exit, pid = os._exit, os.getpid()

    def stand_in(status):
        if os.getpid() != pid:
            real_exit(status)
        raise _HardExit(status)

    os._exit = stand_in
    try:
        yield
    finally:
        os._exit = real_exit


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0]
