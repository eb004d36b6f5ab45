"""Readable reprs: a layer, an optimizer or a schedule prints as the call that made it.

A Layer is a NamedTuple of functions, so by default it prints as four function addresses.
`@constructor` wraps a constructor so that what it returns prints as its call, e.g.
`conv2d(32, 3, padding=1, name='conv1')` or `momentum(0.05, mu=0.9)`. A NamedTuple result
becomes an instance of a subclass that only adds the text (it is still a Layer or a
GradientTransformation: equal, unpackable, isinstance); a function result (a schedule) gets
the text as an attribute. `mark(obj, text, **attrs)` does the same for a call built by hand
(`fnn.serial` lists its children, one per line, and keeps them as `.layers`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["constructor", "mark", "call_text"]

_ATTR = "__fnn_call__"
_described_types: dict[type, type] = {}


def _described(cls: type) -> type:
    """A subclass of the NamedTuple type `cls` whose instances can carry their call text."""
    if cls not in _described_types:

        def call_or_fields(self):
            return self.__dict__.get(_ATTR) or cls.__repr__(self)

        namespace = {"__repr__": call_or_fields, "__module__": cls.__module__}
        _described_types[cls] = type(cls.__name__, (cls,), namespace)
    return _described_types[cls]


def _arg(value: Any) -> str:
    text = getattr(value, _ATTR, None)
    if text is None and isinstance(value, tuple) and not hasattr(value, "_fields"):
        return f"({', '.join(_arg(v) for v in value)}{',' if len(value) == 1 else ''})"
    if text is None and callable(value):
        text = f"<{getattr(value, '__name__', type(value).__name__)}>"
    return text if text is not None else repr(value)


def call_text(name: str, args: tuple, kwargs: dict) -> str:
    """`name(arg, ..., key=value, ...)`; with more than two arguments that are themselves
    described (the layers of a serial), one argument per line."""
    parts = [_arg(a) for a in args] + [f"{k}={_arg(v)}" for k, v in kwargs.items()]
    if sum(hasattr(a, _ATTR) for a in args) > 2:
        return f"{name}(\n" + "".join("  " + p.replace("\n", "\n  ") + ",\n" for p in parts) + ")"
    return f"{name}({', '.join(parts)})"


def mark(obj: Any, text: str, **attrs: Any) -> Any:
    """`obj` printing as `text` (a NamedTuple as its described subclass; a function in place),
    with `attrs` set on it."""
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        obj = _described(type(obj))(*obj)
    setattr(obj, _ATTR, text)
    for key, value in attrs.items():
        setattr(obj, key, value)
    return obj


def constructor(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `fn` so that its result prints as the call `fn(...)` it came from."""

    @functools.wraps(fn)
    def make(*args, **kwargs):
        return mark(fn(*args, **kwargs), call_text(fn.__name__, args, kwargs))

    return make
