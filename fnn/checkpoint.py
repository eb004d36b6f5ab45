"""Atomic checkpoints of pytrees: one `.npz` (arrays + metadata) and a readable `.json` copy.

`save(path, tree, meta)` flattens `tree` (dicts, tuples, NamedTuples of arrays, PRNG keys
included) into arrays named by their path (a NamedTuple's fields by name, e.g.
`['train_state'].opt_state.velocity[0]['W']`) and adds `meta` as JSON. It writes, in order:
(1) a temporary `.npz` and (2) a temporary `.json` beside `path`, each flushed to disk
(fsync); then renames (3) the `.npz` and (4) the `.json` over the old ones. A write that
fails (disk full, permission denied) removes its temporaries, leaves the previous checkpoint
untouched and raises CheckpointError. The `.npz` is the truth, the `.json` a readable copy:
a crash between (3) and (4) leaves a new `.npz` beside the previous save's `.json`. The
files get mode 0o666 minus the umask, as any file the user creates (the kernel applies it).

`load(path, template)` restores a tree shaped like `template` and checks every name, shape
and dtype; `read_meta(path)` returns the metadata alone. Both validate the metadata (UTF-8,
a JSON object, a known "format", the keys in `require`), so a truncated, foreign or damaged
file fails with a one-line CheckpointError. `remove_stale_temporaries(path)` deletes what a
killed save left behind; `nonfinite(tree)` names the leaves holding NaN or Inf.
"""

from __future__ import annotations

import glob
import io
import json
import os
import secrets
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = [
    "save",
    "load",
    "read_meta",
    "remove_stale_temporaries",
    "nonfinite",
    "CheckpointError",
    "FORMAT",
]

FORMAT = "fnn-checkpoint-2"  # 2: optimizer state by name (optax protocol), no TrainState.step
_META = "__meta__"
_JSON_TYPES = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, foreign, does not fit the model, or cannot be written."""


def _is_key(leaf: Any) -> bool:
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _flatten(tree: Any) -> dict[str, np.ndarray]:
    arrays = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        name = jax.tree_util.keystr(path)
        arrays[name] = np.asarray(jax.random.key_data(leaf) if _is_key(leaf) else leaf)
    return arrays


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _write_temporary(path: Path, data: bytes) -> Path:
    """Write `data` to a new `<path.name>.<random>.tmp` beside `path`, flushed to disk.

    The file is created with mode 0o666, which the kernel reduces by the umask (as for any
    file the user creates; tempfile.mkstemp would force 0o600). Nothing is left on failure.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _write_pair(npz: Path, npz_data: bytes, json_data: bytes) -> None:
    """(1)-(4) of the module docstring; raise CheckpointError with what is left on disk."""
    json_path = npz.with_suffix(".json")
    previous = "the previous checkpoint is intact" if npz.exists() else "no previous checkpoint"
    temporaries: list[Path] = []
    try:
        npz.parent.mkdir(parents=True, exist_ok=True)
        temporaries.append(_write_temporary(npz, npz_data))  # (1)
        temporaries.append(_write_temporary(json_path, json_data))  # (2)
        os.replace(temporaries[0], npz)  # (3) from here on, the new checkpoint is the truth
    except BaseException as e:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise CheckpointError(f"could not write {npz}: {_reason(e)}; {previous}") from e
        raise
    try:
        os.replace(temporaries[1], json_path)  # (4)
    except OSError as e:
        temporaries[1].unlink(missing_ok=True)
        json_path.unlink(missing_ok=True)  # no readable copy rather than a stale one
        raise CheckpointError(
            f"could not write {json_path}: {_reason(e)}; {npz} was saved, its readable .json copy is missing"
        ) from e


def save(path: str | os.PathLike, tree: Any, meta: dict | None = None) -> Path:
    """Write `tree` and JSON-serialisable `meta` to `path` (.npz) and `path` with .json; the
    metadata also records the fnn version that wrote it (`"fnn_version"`).

    Returns:
        `path`, as a Path.
    Raises:
        CheckpointError: a file could not be written (the message says what is left on disk).
    """
    path = Path(path)
    arrays = _flatten(tree)
    full_meta = {**(meta or {}), "format": FORMAT, "arrays": sorted(arrays), "fnn_version": _version()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{_META: np.frombuffer(json.dumps(full_meta).encode(), np.uint8)})
    _write_pair(path, buffer.getvalue(), json.dumps(full_meta, indent=1).encode())
    return path


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the `<name>.*.tmp` files a killed save left beside `path` and its `.json`.

    Call it only while holding the run folder's lock (fnn.cli.lock.hold): a live save's
    temporaries look the same. Returns the removed paths.
    """
    path = Path(path)
    removed = []
    for target in (path, path.with_suffix(".json")):
        for tmp in sorted(path.parent.glob(glob.escape(target.name) + ".*.tmp")):
            if not tmp.is_file():
                continue
            try:
                tmp.unlink()
            except FileNotFoundError:
                continue
            except OSError as e:
                raise CheckpointError(f"could not remove the stale temporary {tmp}: {_reason(e)}") from e
            removed.append(tmp)
    return removed


def nonfinite(tree: Any) -> list[str]:
    """The names (keystr, as in a checkpoint) of the floating-point leaves holding NaN or Inf.

    PRNG keys and integer or boolean leaves are skipped.
    """
    names = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if _is_key(leaf):
            continue
        value = np.asarray(leaf)
        if jax.dtypes.issubdtype(value.dtype, np.inexact) and not np.isfinite(value).all():
            names.append(jax.tree_util.keystr(path))
    return names


def _parse_meta(path: Path, raw: np.ndarray) -> dict:
    """The `__meta__` array as a dict with a "format" key, else CheckpointError."""
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{path}: damaged metadata: not UTF-8 ({e.reason} at byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: damaged metadata: not JSON ({e.msg} at character {e.pos})") from e
    if not isinstance(meta, dict):
        kind = _JSON_TYPES.get(type(meta), "null")
        raise CheckpointError(f"{path}: damaged metadata: {kind}, expected a JSON object")
    if "format" not in meta:
        raise CheckpointError(f'{path}: not an fnn checkpoint (metadata without "format")')
    return meta


def _check_format(path: Path, meta: dict) -> None:
    if meta["format"] == "fnn-checkpoint-1":
        raise CheckpointError(
            f"{path}: written by fnn 0.1 (format fnn-checkpoint-1, positional optimizer state); "
            "this fnn reads fnn-checkpoint-2: train the run again (its config.json has the settings)"
        )
    if meta["format"] != FORMAT:
        raise CheckpointError(f"{path}: format {meta['format']!r}, expected {FORMAT!r}")


def _check_required(path: Path, meta: dict, require: Sequence[str]) -> None:
    keys = (require,) if isinstance(require, str) else tuple(require)
    missing = [key for key in keys if key not in meta]
    if missing:
        names = ", ".join(repr(key) for key in missing)
        raise CheckpointError(f"{path}: metadata lacks required key(s) {names}")


def _open(path: Path, require: Sequence[str] = ()) -> tuple[dict[str, np.ndarray], dict]:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: truncated or not a checkpoint ({type(e).__name__}: {e})") from e
    if _META not in arrays:
        raise CheckpointError(f"{path}: not an fnn checkpoint (no metadata)")
    meta = _parse_meta(path, arrays.pop(_META))
    _check_format(path, meta)
    _check_required(path, meta, require)
    return arrays, meta


def _version() -> str:
    from fnn import __version__

    return __version__


def _other_version(meta: dict) -> str:
    """Why a checkpoint may not fit, when another fnn version wrote it (the recipes' networks
    change between versions), or "" when this one did."""
    written = meta.get("fnn_version", "0.1.0")  # 0.1.0 recorded no version
    if written == _version():
        return ""
    return f"; it was written by fnn {written} and this is fnn {_version()}, whose network may differ: train it again"


def read_meta(path: str | os.PathLike, *, require: Sequence[str] = ()) -> dict:
    """The metadata of a checkpoint, without a template.

    Raises:
        CheckpointError: no file, not a checkpoint, damaged metadata, or a key of `require` missing.
    """
    return _open(Path(path), require)[1]


def load(path: str | os.PathLike, template: Any, *, require: Sequence[str] = ()) -> tuple[Any, dict]:
    """Restore a tree shaped like `template` from `path`; return (tree, meta).

    Raises:
        CheckpointError: as read_meta, or an array of `template` missing or of another shape/dtype.
    """
    path = Path(path)
    arrays, meta = _open(path, require)
    leaves = []
    for tpath, leaf in jax.tree_util.tree_leaves_with_path(template):
        name = jax.tree_util.keystr(tpath)
        if name not in arrays:
            raise CheckpointError(f"{path}: does not fit this model: no array {name}{_other_version(meta)}")
        value = arrays[name]
        expected = np.asarray(jax.random.key_data(leaf) if _is_key(leaf) else leaf)
        if value.shape != expected.shape or value.dtype != expected.dtype:
            raise CheckpointError(
                f"{path}: does not fit this model: {name} is {value.dtype}{list(value.shape)}, "
                f"expected {expected.dtype}{list(expected.shape)}{_other_version(meta)}"
            )
        leaves.append(jax.random.wrap_key_data(value) if _is_key(leaf) else jax.numpy.asarray(value))
    return jax.tree.unflatten(jax.tree.structure(template), leaves), meta
