"""Atomic checkpoints of pytrees: one `.npz` (arrays + metadata) and a readable `.json` copy.

`save(path, tree, meta)` flattens `tree` (dicts, tuples, NamedTuples of arrays, PRNG keys
included) into arrays named by their path (a NamedTuple's fields by name, e.g.
`['train_state'].opt_state.velocity[0]['W']`), adds `meta` as JSON, writes a temporary file beside `path`,
flushes it to disk and renames it over `path`: a run that dies mid-save leaves the previous
checkpoint intact. `load(path, template)` restores a tree shaped like `template` and checks
every name, shape and dtype, so a truncated or foreign file fails with a clear CheckpointError.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["save", "load", "read_meta", "CheckpointError", "FORMAT"]

FORMAT = "fnn-checkpoint-2"  # 2: optimizer state by name (optax protocol), no TrainState.step
_META = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, foreign, or does not fit the model."""


def _is_key(leaf: Any) -> bool:
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _flatten(tree: Any) -> dict[str, np.ndarray]:
    arrays = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        name = jax.tree_util.keystr(path)
        arrays[name] = np.asarray(jax.random.key_data(leaf) if _is_key(leaf) else leaf)
    return arrays


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: str | os.PathLike, tree: Any, meta: dict | None = None) -> Path:
    """Write `tree` and JSON-serialisable `meta` to `path` (.npz) and `path` with .json."""
    path = Path(path)
    arrays = _flatten(tree)
    full_meta = {"format": FORMAT, "arrays": sorted(arrays), **(meta or {})}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{_META: np.frombuffer(json.dumps(full_meta).encode(), np.uint8)})
    _write_atomic(path, buffer.getvalue())
    _write_atomic(path.with_suffix(".json"), json.dumps(full_meta, indent=1).encode())
    return path


def _open(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: truncated or not a checkpoint ({type(e).__name__}: {e})") from e
    if _META not in arrays:
        raise CheckpointError(f"{path}: not an fnn checkpoint (no metadata)")
    meta = json.loads(arrays.pop(_META).tobytes().decode())
    if meta.get("format") == "fnn-checkpoint-1":
        raise CheckpointError(
            f"{path}: written by fnn 0.1 (format fnn-checkpoint-1, positional optimizer state); "
            "this fnn reads fnn-checkpoint-2: train the run again (its config.json has the settings)"
        )
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    return arrays, meta


def read_meta(path: str | os.PathLike) -> dict:
    """The metadata of a checkpoint, without a template."""
    return _open(Path(path))[1]


def load(path: str | os.PathLike, template: Any) -> tuple[Any, dict]:
    """Restore a tree shaped like `template` from `path`; return (tree, meta)."""
    path = Path(path)
    arrays, meta = _open(path)
    leaves = []
    for tpath, leaf in jax.tree_util.tree_leaves_with_path(template):
        name = jax.tree_util.keystr(tpath)
        if name not in arrays:
            raise CheckpointError(f"{path}: does not fit this model: no array {name}")
        value = arrays[name]
        expected = np.asarray(jax.random.key_data(leaf) if _is_key(leaf) else leaf)
        if value.shape != expected.shape or value.dtype != expected.dtype:
            raise CheckpointError(
                f"{path}: does not fit this model: {name} is {value.dtype}{list(value.shape)}, "
                f"expected {expected.dtype}{list(expected.shape)}"
            )
        leaves.append(jax.random.wrap_key_data(value) if _is_key(leaf) else jax.numpy.asarray(value))
    return jax.tree.unflatten(jax.tree.structure(template), leaves), meta
