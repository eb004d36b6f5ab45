"""The Layer record, `serial`, and the bridge from hand-written backward to `jax.custom_vjp`.

A layer is an immutable record of three pure functions and of what it is:

    init(key, in_shape)                               -> (out_shape, params, state)
    apply(params, state, x, *, train=False, key=None) -> (y, new_state, cache)
    backward(params, cache, dy)                       -> (dx, dparams)

Shapes in `init` are per example (no batch axis); arrays in `apply` are batch first. Besides
its name (for errors) a Layer declares, as data: the constructor call that made it (`kind`,
`args`, `kwargs`: its repr prints that call), its `children` if it is a container, and the
`equations` its backward implements for each cache type its apply returns (what
`fnn.gradcheck` cites). A hand-made `Layer("my_layer", init, apply, backward)` leaves them
empty. `@constructor` fills in the call for a function that returns a Layer.
Derivation of the chain rule through `serial`: derivations/layer.tex (eq:serial-*).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import numpy as np

__all__ = ["Layer", "constructor", "call_text", "serial", "summary", "with_manual_vjp"]


class Layer(NamedTuple):
    """Three pure functions and what the layer is; see the module docstring."""

    name: str
    init: Callable[..., Any]
    apply: Callable[..., Any]
    backward: Callable[..., Any]
    kind: str = ""  # the constructor's name, e.g. "conv2d"; "" for a hand-made layer
    args: tuple = ()  # the constructor's positional arguments, as written
    kwargs: tuple[tuple[str, Any], ...] = ()  # its keyword arguments, as written, in order
    children: tuple[Layer, ...] = ()  # a container's layers, run in sequence (serial)
    equations: tuple[tuple[type, tuple[str, ...]], ...] = ()  # (cache type, labels backward cites)

    def __repr__(self) -> str:
        """The call that made the layer, e.g. `conv2d(32, 3, padding=1, name='conv1')`."""
        return call_text(self.kind, self.args, self.kwargs) if self.kind else f"Layer({self.name!r})"


def call_text(kind: str, args: tuple, kwargs: Iterable[tuple[str, Any]]) -> str:
    """`kind(arg, ..., key=value, ...)`, each value as it prints (a Layer, an optimizer or a
    schedule as its own call, a function as `<name>`); with more than two arguments that are
    records (the layers of a serial, the transformations of a chain), one per line."""
    parts = [_argument(a) for a in args] + [f"{k}={_argument(v)}" for k, v in kwargs]
    if sum(_is_record(a) for a in args) > 2:
        return f"{kind}(\n" + "".join("  " + p.replace("\n", "\n  ") + ",\n" for p in parts) + ")"
    return f"{kind}({', '.join(parts)})"


def _is_record(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _argument(value: Any) -> str:
    if isinstance(value, tuple) and not _is_record(value):
        return f"({', '.join(_argument(v) for v in value)}{',' if len(value) == 1 else ''})"
    if callable(value) and hasattr(value, "__name__"):  # a function: its repr shows an address
        return f"<{value.__name__}>"
    return repr(value)


def constructor(make: Callable[..., Layer]) -> Callable[..., Layer]:
    """Decorate a function that returns a Layer: the Layer records the call (`kind`, `args`,
    `kwargs`), so that it prints as e.g. `conv2d(32, 3, padding=1, name='conv1')`."""

    @functools.wraps(make)
    def construct(*args: Any, **kwargs: Any) -> Layer:
        layer = make(*args, **kwargs)
        return layer._replace(kind=make.__name__, args=args, kwargs=tuple(kwargs.items()))

    return construct


def serial(*layers: Layer, name: str = "serial") -> Layer:
    """Compose layers left to right; params, state and cache are tuples of the children's.

    `backward` runs the children in reverse, feeding each one's dx to the one before
    (eq:serial-chain). In train mode each child gets its own key split from `key`.
    """
    if not layers or not all(isinstance(layer, Layer) for layer in layers):
        raise TypeError(f"{name}: expects one or more Layers, got {layers!r}")
    count = len(layers)

    def check_tuple(what, value):
        if not isinstance(value, tuple) or len(value) != count:
            raise TypeError(
                f"{name}: {what} must be a tuple of {count} entries (one per layer), "
                f"got {type(value).__name__} of length {len(value) if hasattr(value, '__len__') else '?'}"
            )

    def init(key, in_shape):
        shape, params, state = tuple(in_shape), [], []
        for layer, layer_key in zip(layers, jax.random.split(key, count)):
            shape, p, s = layer.init(layer_key, shape)
            params.append(p)
            state.append(s)
        return shape, tuple(params), tuple(state)

    def apply(params, state, x, *, train=False, key=None):
        """Run the children in order; each gets its own key split from `key` (None: none).

        Args:
            params, state: tuples of the children's. x: the first child's input (N, ...).

        Returns:
            (y, new_state, cache): the last child's output; tuples of the children's.
        """
        check_tuple("params", params)
        check_tuple("state", state)
        keys = [None] * count if key is None else list(jax.random.split(key, count))
        new_state, caches = [], []
        for layer, p, s, k in zip(layers, params, state, keys):
            x, s, cache = layer.apply(p, s, x, train=train, key=k)
            new_state.append(s)
            caches.append(cache)
        return x, tuple(new_state), tuple(caches)

    def backward(params, cache, dy):
        """Implements eq:serial-chain: dx of layer l is dy of layer l - 1.

        Args:
            params, cache: tuples of the children's. dy: like the last child's output.

        Returns:
            (dx, dparams): dx like the input x; dparams a tuple of the children's.
        """
        check_tuple("params", params)
        dparams = [None] * count
        for i in reversed(range(count)):
            dy, dparams[i] = layers[i].backward(params[i], cache[i], dy)
        return dy, tuple(dparams)

    return Layer(
        name,
        init,
        apply,
        backward,
        kind="serial",
        args=layers,
        kwargs=(("name", name),),
        children=layers,
        equations=((tuple, ("eq:serial-chain",)),),  # the cache is the tuple of the children's
    )


def summary(model: Layer, in_shape: tuple[int, ...], *, file=None) -> str:
    """Print (to `file`, default stdout) and return a table of `model`'s layers: name, kind,
    output shape per example and parameter count, then the totals. A container's children are
    listed one by one (nested containers too); any other layer is one row."""
    rows, key = [], jax.random.key(0)

    def visit(layer, shape, depth):
        if layer.children:
            for child in layer.children:
                shape = visit(child, shape, depth + 1)
            return shape
        out_shape, params, state = layer.init(key, shape)
        sizes = [sum(int(np.size(a)) for a in jax.tree.leaves(tree)) for tree in (params, state)]
        indent = "  " * max(depth - 1, 0)
        rows.append((indent + layer.name, layer.kind or "Layer", str(tuple(out_shape)), *sizes))
        return out_shape

    visit(model, tuple(in_shape), 0)
    total, state_total = sum(r[3] for r in rows), sum(r[4] for r in rows)
    header = ("layer", "kind", "output (per example)", "params")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(3)]
    lines = [f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:<{widths[2]}}  {header[3]:>10}"]
    lines += [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>10,}" for r in rows]
    lines.append(
        f"{model.name}: input {tuple(in_shape)}, {total:,} parameters ({total * 4 / 2**20:.2f} MiB in float32)"
        + (f", {state_total:,} state values (batch-norm running statistics)" if state_total else "")
    )
    text = "\n".join(lines)
    print(text, file=file or sys.stdout)
    return text


def with_manual_vjp(layer: Layer, *, train: bool = False) -> Callable[..., Any]:
    """Wrap `layer.apply` as a `jax.custom_vjp` function whose VJP is `layer.backward`.

    Returns `f(params, state, x, key=None) -> (y, new_state)`. `jax.grad`, `jax.vjp`, `vmap`
    and `jit` through `f` then use the hand-written backward; the cotangent of `new_state` is
    ignored and `state` and `key` get zero cotangents (they are not learned).
    """

    @jax.custom_vjp
    def f(params, state, x, key=None):
        y, new_state, _ = layer.apply(params, state, x, train=train, key=key)
        return y, new_state

    def fwd(params, state, x, key=None):
        y, new_state, cache = layer.apply(params, state, x, train=train, key=key)
        return (y, new_state), (params, cache)

    def bwd(residuals, cotangents):
        params, cache = residuals
        dy, _ = cotangents
        dx, dparams = layer.backward(params, cache, dy)
        return dparams, None, dx, None

    f.defvjp(fwd, bwd)
    return f
