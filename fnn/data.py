"""MNIST: read `mnist_all.mat`, IDX (gzipped or not) or `.npz`; find it, check it, split it.

`load_mnist` returns images float32 NHWC (N, 28, 28, 1) in [0, 1] and labels int32 in [0, 10).
Where the data comes from, in this order: an explicit path; the FNN_MNIST environment
variable; `fnn/mnist/mnist_all.mat` inside the package (`PACKAGED_MAT`, in wheels too: found
offline from any directory; the assignment's file as is, sha256 `MAT_SHA256`, its arrays
already zlib-compressed, so gzip or xz would save < 0.4%); the user cache directory
($XDG_CACHE_HOME or ~/.cache)/fnn; a download of the IDX files from the public MNIST mirrors
(`fnn.download`). A path that is named (the argument or FNN_MNIST) but missing is an error,
never a reason to fall back to the next source.

What is accepted, checked as the arrays are read (anything else is a one-line DataError
naming the file, the array and one offending value):
- images: N rows of 784 pixels, as (N, 784), (N, 28, 28) or (N, 28, 28, 1), N >= 1.
  Unsigned or signed integers must lie in 0..255 and are divided by 255; floats must lie in
  [0, 1] and are used as they are (never divided by 255 again). Negative or larger values,
  NaN, inf, bool, strings and objects are refused.
- labels: class indices 0..9 of shape (N,) (an (N, 1) column is squeezed) with integer dtype;
  floats are accepted only when they are whole numbers (3.0 yes, 3.7 no). One-hot (N, 10)
  labels are refused with a hint; so are bool and strings.
- train and test each have as many labels as images, and neither is empty.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fnn.download import IDX_FILES, MIRRORS, DataError, cache_dir, digest, download, download_idx

__all__ = [
    "Split",
    "MNIST",
    "load_mnist",
    "find_mnist",
    "read_mnist_file",
    "check_splits",
    "fingerprint",
    "provenance",
    "download",
    "cache_dir",
    "DataError",
    "MAT_SHA256",
    "PACKAGED_MAT",
    "IDX_FILES",
    "MIRRORS",
]

MAT_SHA256 = "f584d0ec4b432217d39527ead35a2bc5845c3195b81de8bf76d0c719ad509a7b"
PACKAGED_MAT = Path(__file__).resolve().parent / "mnist" / "mnist_all.mat"  # package data (pyproject)
NUM_CLASSES = 10
# The four IDX files of a folder (train images, train labels, test images, test labels): the
# order read_mnist_file returns them and fingerprint hashes them; each may also end in .gz.
IDX_STEMS = tuple(name.removesuffix(".gz") for name in IDX_FILES)


class Split(NamedTuple):
    x: np.ndarray  # (N, 28, 28, 1) float32 in [0, 1] (minus the train mean if subtracted)
    labels: np.ndarray  # (N,) int32 in [0, 10)


class MNIST(NamedTuple):
    train: Split
    validation: Split
    test: Split
    pixel_mean: np.ndarray | None  # (28, 28, 1) train mean that was subtracted, or None
    source: str  # the file or folder read
    sha256: str | None = None  # fingerprint(source), or None for data built in memory


def find_mnist(
    path: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    allow_download: bool = True,
) -> Path:
    """Resolve where MNIST is, in the documented order; raise DataError saying what was tried."""
    if path is not None:
        if not Path(path).exists():
            raise DataError(f"MNIST path {path} does not exist")
        return Path(path)
    named = os.environ.get("FNN_MNIST")
    if named:
        if not Path(named).exists():
            raise DataError(f"FNN_MNIST={named} does not exist; point it at MNIST or unset it")
        return Path(named)
    tried = []
    for origin, candidate in (
        ("package", PACKAGED_MAT),
        ("cache", cache_dir() / "mnist_all.mat"),
        ("cache", cache_dir() / "idx"),
    ):
        if candidate.exists():
            return candidate
        tried.append(f"{origin}: {candidate} (missing)")
    if allow_download:
        try:
            return download_idx(cache_dir() / "idx", mirrors, IDX_FILES)
        except DataError as e:
            tried.append(f"download: {e}")
    raise DataError(
        "MNIST not found. Tried:\n  "
        + "\n  ".join(tried)
        + f"\nFix: pass its path, set FNN_MNIST, copy mnist_all.mat into {cache_dir()}/, "
        "or reinstall fnn (its package ships fnn/mnist/mnist_all.mat)."
    )


def fingerprint(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file; for an IDX folder, the sha256 of the four IDX files'
    own sha256 hex digests, concatenated as ASCII in the order of IDX_STEMS (train images,
    train labels, test images, test labels), each file hashed as stored (gzipped or not)."""
    path = Path(path)
    if not path.is_dir():
        return digest(path)
    parts = "".join(digest(_idx_file(path, stem)) for stem in IDX_STEMS)
    return hashlib.sha256(parts.encode("ascii")).hexdigest()


def provenance(mnist: MNIST) -> dict:
    """What was trained on, JSON-ready: the source (an absolute path, so that the record holds
    from any working folder), its sha256 and the size of each split."""
    return {
        "path": str(Path(mnist.source).resolve()),
        "sha256": mnist.sha256,
        "train": int(len(mnist.train.labels)),
        "validation": int(len(mnist.validation.labels)),
        "test": int(len(mnist.test.labels)),
    }


def _read_idx(path: Path) -> np.ndarray:
    """One IDX array of unsigned bytes: header (0, 0, 0x08, ndim), ndim big-endian sizes, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise DataError(f"{path}: IDX header truncated: {len(raw)} bytes, need at least 4")
    zero, dtype_code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\0\0" or dtype_code != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (header {raw[:4].hex()})")
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header truncated: {len(raw)} bytes for {ndim} dimensions")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    expected = int(np.prod(dims))
    if data.size > expected:
        raise DataError(
            f"{path}: IDX file has {data.size - expected} extra bytes after the data its header declares (shape {dims})"
        )
    if data.size < expected:
        raise DataError(f"{path}: truncated IDX file: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise DataError(f"{folder}: missing {stem} (or {stem}.gz)")


def _read_arrays(path: Path) -> tuple:
    """(train images, train labels, test images, test labels) as stored in the file, unchecked."""
    if path.is_dir():
        return tuple(_read_idx(_idx_file(path, stem)) for stem in IDX_STEMS)
    if path.suffix == ".mat":
        from scipy.io import loadmat

        mat, arrays = loadmat(path), []
        for kind in ("train", "test"):
            missing = [f"{kind}{d}" for d in range(NUM_CLASSES) if f"{kind}{d}" not in mat]
            if missing:
                raise DataError(f"{path}: not the assignment's mnist_all.mat: missing keys {missing}")
            arrays.append(np.concatenate([mat[f"{kind}{d}"] for d in range(NUM_CLASSES)]))
            arrays.append(np.concatenate([np.full(len(mat[f"{kind}{d}"]), d) for d in range(NUM_CLASSES)]))
        return tuple(arrays)
    if path.suffix == ".npz":
        keys = ("x_train", "y_train", "x_test", "y_test")
        with np.load(path) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing keys {missing}; an .npz needs {', '.join(keys)}")
            return tuple(npz[k] for k in keys)
    raise DataError(f"{path}: unknown MNIST format (expected .mat, .npz or a folder of IDX files)")


def _first_bad(values: np.ndarray, ok: np.ndarray) -> str:
    """'VALUE at [i, j]': the first element of `values` where `ok` is False."""
    index = tuple(int(i) for i in np.argwhere(~ok)[0])
    return f"{values[index].item()!r} at {list(index)}"


def _check_images(where: str, x: np.ndarray) -> np.ndarray:
    """`x` as (N, 784) rows, still in its own dtype, if it follows the pixel rule; else DataError."""
    if x.dtype.kind not in "uif":  # bool is kind "b", strings "U"/"S", objects "O"
        raise DataError(f"{where} have dtype {x.dtype}; pass integers in 0..255 or floats in [0, 1]")
    if x.ndim == 0 or x.size != len(x) * 784:
        raise DataError(f"{where} must be N images of 28x28 = 784 pixels, got shape {x.shape}")
    x = x.reshape(len(x), 784)
    high = 1 if x.dtype.kind == "f" else 255
    if x.size and not (0 <= x.min() and x.max() <= high):  # NaN fails both comparisons
        bad = _first_bad(x, (x >= 0) & (x <= high))
        raise DataError(f"{where} must lie in [0, {high}] ({x.dtype}), got {bad}")
    return x


def _check_labels(where: str, y: np.ndarray) -> np.ndarray:
    """`y` as int64 class indices of shape (N,), if it follows the label rule; else DataError."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[1] == NUM_CLASSES:
        raise DataError(f"{where} look one-hot (shape {y.shape}); pass class indices, e.g. y.argmax(1)")
    if y.ndim != 1:
        raise DataError(f"{where} must have shape (N,), got {y.shape}")
    if y.dtype.kind not in "uif":
        raise DataError(f"{where} have dtype {y.dtype}; pass integer class indices 0..{NUM_CLASSES - 1}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        bad = _first_bad(y, np.isfinite(y) & (y == np.round(y)))
        raise DataError(f"{where} must be whole numbers, got {bad}")
    if y.size and not (0 <= y.min() and y.max() < NUM_CLASSES):
        bad = _first_bad(y, (y >= 0) & (y < NUM_CLASSES))
        raise DataError(f"{where} must lie in [0, {NUM_CLASSES}), got {bad}")
    return y.astype(np.int64)


def check_splits(mnist: MNIST, num_classes: int) -> None:
    """Raise DataError unless every split of `mnist` (built by hand, say) can be trained on:
    as many labels as images, integer labels in [0, num_classes), and the train split's
    image shape in every split. `fit` checks what it is handed: under jit an out-of-range
    label would be clamped, not refused."""
    in_shape = np.shape(mnist.train.x)[1:]
    for name, split in zip(("train", "validation", "test"), (mnist.train, mnist.validation, mnist.test)):
        x, y = np.asarray(split.x), np.asarray(split.labels)
        if x.ndim < 2 or x.shape[1:] != in_shape:
            raise DataError(f"the {name} split's images have shape {x.shape}, expected (N, *{in_shape})")
        if y.shape != (len(x),):
            raise DataError(f"the {name} split has {len(x)} images but labels of shape {y.shape}")
        if y.dtype.kind not in "ui":
            raise DataError(f"the {name} split's labels have dtype {y.dtype}; pass integer class indices")
        if y.size and not (0 <= y.min() and y.max() < num_classes):
            bad = _first_bad(y, (y >= 0) & (y < num_classes))
            raise DataError(
                f"the {name} split's labels must lie in [0, {num_classes}) (the model's outputs), got {bad}"
            )


def read_mnist_file(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read and check (train images, train labels, test images, test labels) from a `.mat`
    file (keys train0..train9, test0..test9), an `.npz` (x_train, y_train, x_test, y_test) or
    a folder of the four IDX files. Images come back as (N, 784) in their stored dtype (the
    module docstring's rule says how load_mnist scales them), labels as int64 (N,).
    Rows of the .mat file are sorted by class."""
    path = Path(path)
    try:
        arrays = [np.asarray(a) for a in _read_arrays(path)]
    except DataError:
        raise
    except Exception as e:  # scipy, zipfile and gzip each raise their own type on a damaged file
        raise DataError(f"{path}: could not read MNIST ({type(e).__name__}: {e})") from e
    checked = []
    for name, x, y in (("train", arrays[0], arrays[1]), ("test", arrays[2], arrays[3])):
        x = _check_images(f"{path}: {name} images", x)
        y = _check_labels(f"{path}: {name} labels", y)
        if len(x) != len(y):
            raise DataError(f"{path}: {name} has {len(x)} images but {len(y)} labels")
        if len(x) == 0:
            raise DataError(f"{path}: the {name} split is empty (0 images)")
        checked += [x, y]
    return tuple(checked)


def load_mnist(
    path: str | os.PathLike | None = None,
    *,
    validation: int = 5000,
    seed: int = 0,
    subtract_mean: bool = False,
) -> MNIST:
    """Load MNIST as float32 NHWC in [0, 1] with int32 labels, split and shuffled by `seed`.

    Args:
        path: a .mat, .npz or IDX folder; None searches as the module docstring says.
        validation: how many shuffled training images to hold out, an int in [0, N_train).
        seed: fixes the shuffle of train (the .mat rows are class-sorted) and of test.
        subtract_mean: subtract the per-pixel mean of the training split from every split.
    """
    source = find_mnist(path)
    sha256 = fingerprint(source)
    known = (PACKAGED_MAT.resolve(), (cache_dir() / "mnist_all.mat").resolve())
    if source.suffix == ".mat" and source.resolve() in known and sha256 != MAT_SHA256:
        raise DataError(f"{source}: sha256 is not {MAT_SHA256}: damaged; reinstall fnn or copy it again")
    x_train, y_train, x_test, y_test = read_mnist_file(source)
    if isinstance(validation, bool) or not isinstance(validation, (int, np.integer)):
        raise DataError(f"validation must be an int, got {validation!r}")
    if not 0 <= validation < len(x_train):
        raise DataError(f"validation must be in [0, {len(x_train)}) (the training images), got {validation}")
    rng = np.random.default_rng(seed)
    order, test_order = rng.permutation(len(x_train)), rng.permutation(len(x_test))

    def as_split(x, y, rows):
        scale = 1.0 if x.dtype.kind == "f" else 255.0  # the pixel rule: integers 0..255, floats [0, 1]
        images = (x[rows].astype(np.float32) / np.float32(scale)).reshape(-1, 28, 28, 1)
        return Split(images, y[rows].astype(np.int32))

    n_train = len(x_train) - validation
    train = as_split(x_train, y_train, order[:n_train])
    val = as_split(x_train, y_train, order[n_train:])
    test = as_split(x_test, y_test, test_order)
    mean = None
    if subtract_mean:
        mean = train.x.mean(axis=0)
        train, val, test = (Split(s.x - mean, s.labels) for s in (train, val, test))
    return MNIST(train, val, test, mean, str(source), sha256)
