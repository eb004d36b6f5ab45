"""MNIST: read `mnist_all.mat`, IDX (gzipped or not) or `.npz`; find it, check it, split it.

`load_mnist` returns images float32 NHWC (N, 28, 28, 1) in [0, 1] and labels int32 in [0, 10).
Where the data comes from, in this order: an explicit path; the FNN_MNIST environment
variable; `data/mnist_all.mat` in this repository; the user cache directory
($XDG_CACHE_HOME or ~/.cache)/fnn; a download of the IDX files from the public MNIST mirrors,
checked against known digests and written atomically into the cache directory.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "Split",
    "MNIST",
    "load_mnist",
    "find_mnist",
    "read_mnist_file",
    "download",
    "DataError",
    "MAT_SHA256",
    "IDX_FILES",
    "MIRRORS",
]

MAT_SHA256 = "f584d0ec4b432217d39527ead35a2bc5845c3195b81de8bf76d0c719ad509a7b"
REPO_MAT = Path(__file__).resolve().parent.parent / "data" / "mnist_all.mat"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# The four IDX files and the MD5 digests under which the MNIST mirrors publish them.
IDX_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
NUM_CLASSES = 10
_IDX_PARTS = (("images", 3), ("labels", 1))


class DataError(ValueError):
    """MNIST could not be found, read or verified; the message says what was tried."""


class Split(NamedTuple):
    x: np.ndarray  # (N, 28, 28, 1) float32 in [0, 1] (minus the train mean if subtracted)
    labels: np.ndarray  # (N,) int32 in [0, 10)


class MNIST(NamedTuple):
    train: Split
    validation: Split
    test: Split
    pixel_mean: np.ndarray | None  # (28, 28, 1) train mean that was subtracted, or None
    source: str  # the file or folder read


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fnn"


def _digest(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _progress_bar(name: str) -> Callable[[int, int | None], None]:
    def show(done: int, total: int | None) -> None:
        if total:
            filled = int(30 * done / total)
            sys.stderr.write(
                f"\r{name} [{'#' * filled}{'.' * (30 - filled)}] {done / 1e6:.1f}/{total / 1e6:.1f} MB"
            )
        else:
            sys.stderr.write(f"\r{name} {done / 1e6:.1f} MB")
        sys.stderr.flush()

    return show


def download(
    url: str,
    dest: Path,
    md5: str,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download `url` to `dest` atomically: into a temporary file beside it, checked, then renamed.

    Raises DataError if the transfer is short (fewer bytes than Content-Length) or the MD5
    digest differs; `dest` is then untouched and no temporary file is left behind.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        h, done = hashlib.md5(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total is not None else None
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                h.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise DataError(f"download of {url} was truncated: {done} of {total} bytes")
        if h.hexdigest() != md5:
            raise DataError(f"download of {url} is corrupted: md5 {h.hexdigest()}, expected {md5}")
        os.replace(tmp, dest)
        return dest
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download_idx(folder: Path, mirrors: Sequence[str], files: dict[str, str]) -> Path:
    errors = []
    for name, md5 in files.items():
        if (folder / name).exists() and _digest(folder / name, "md5") == md5:
            continue
        for mirror in mirrors:
            try:
                download(mirror + name, folder / name, md5, progress=_progress_bar(name))
                sys.stderr.write("\n")
                break
            except (OSError, urllib.error.URLError, DataError) as e:
                errors.append(f"{mirror + name}: {e}")
        else:
            raise DataError("could not download MNIST:\n  " + "\n  ".join(errors))
    return folder


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
    tried = []
    candidates = []
    if os.environ.get("FNN_MNIST"):
        candidates.append(("FNN_MNIST", Path(os.environ["FNN_MNIST"])))
    candidates += [
        ("repository", REPO_MAT),
        ("cache", cache_dir() / "mnist_all.mat"),
        ("cache", cache_dir() / "idx"),
    ]
    for origin, candidate in candidates:
        if candidate.exists():
            return candidate
        tried.append(f"{origin}: {candidate} (missing)")
    if allow_download:
        try:
            return _download_idx(cache_dir() / "idx", mirrors, IDX_FILES)
        except DataError as e:
            tried.append(f"download: {e}")
    raise DataError(
        "MNIST not found. Tried:\n  "
        + "\n  ".join(tried)
        + "\nFix: pass a path (--data PATH), set FNN_MNIST, or copy mnist_all.mat into data/."
    )


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise DataError(f"{path}: not an IDX file (too short)")
    zero, dtype_code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\0\0" or dtype_code != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (header {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: truncated IDX file: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise DataError(f"{folder}: missing {stem} (or {stem}.gz)")


def read_mnist_file(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read (train images uint8 (N, 784), train labels, test images, test labels) from a
    `.mat` file (keys train0..train9, test0..test9), an `.npz` (x_train, y_train, x_test,
    y_test), or a folder of the four IDX files. Rows of the .mat file are sorted by class."""
    path = Path(path)
    try:
        if path.is_dir():
            stems = [f"{kind}-{what}-idx{n}-ubyte" for kind in ("train", "t10k") for what, n in _IDX_PARTS]
            arrays = tuple(_read_idx(_idx_file(path, stem)) for stem in stems)
        elif path.suffix == ".mat":
            from scipy.io import loadmat

            mat = loadmat(path)
            split = []
            for kind in ("train", "test"):
                missing = [f"{kind}{d}" for d in range(NUM_CLASSES) if f"{kind}{d}" not in mat]
                if missing:
                    raise DataError(f"{path}: not the assignment's mnist_all.mat: missing keys {missing}")
                split.append(np.concatenate([mat[f"{kind}{d}"] for d in range(NUM_CLASSES)]))
                split.append(np.concatenate([np.full(len(mat[f"{kind}{d}"]), d) for d in range(NUM_CLASSES)]))
            arrays = tuple(split)
        elif path.suffix == ".npz":
            with np.load(path) as npz:
                arrays = tuple(npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
        else:
            raise DataError(f"{path}: unknown MNIST format (expected .mat, .npz or a folder of IDX files)")
    except DataError:
        raise
    except Exception as e:  # scipy, zipfile and gzip each raise their own type on a damaged file
        raise DataError(f"{path}: could not read MNIST ({type(e).__name__}: {e})") from e
    x_train, y_train, x_test, y_test = arrays
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        x = np.asarray(x).reshape(len(x), -1)
        if x.shape[1] != 784 or len(x) != len(y):
            raise DataError(
                f"{path}: {name} images must be (N, 784) with N labels, got {x.shape} and {len(y)}"
            )
        if len(y) and (np.min(y) < 0 or np.max(y) >= NUM_CLASSES):
            raise DataError(
                f"{path}: {name} labels must lie in [0, {NUM_CLASSES}), got [{np.min(y)}, {np.max(y)}]"
            )
    return x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test


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
        validation: how many shuffled training images to hold out.
        seed: fixes the shuffle of train (the .mat rows are class-sorted) and of test.
        subtract_mean: subtract the per-pixel mean of the training split from every split.
    """
    source = find_mnist(path)
    known = (REPO_MAT, cache_dir() / "mnist_all.mat")
    if source.suffix == ".mat" and source.resolve() in known and _digest(source) != MAT_SHA256:
        raise DataError(f"{source}: sha256 differs from {MAT_SHA256}; the file is damaged, copy it again")
    x_train, y_train, x_test, y_test = read_mnist_file(source)
    if not 0 <= validation < len(x_train):
        raise DataError(f"validation must be in [0, {len(x_train)}), got {validation}")
    rng = np.random.default_rng(seed)
    order, test_order = rng.permutation(len(x_train)), rng.permutation(len(x_test))

    def as_split(x, y, rows):
        images = (x[rows].astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
        return Split(images, y[rows].astype(np.int32))

    n_train = len(x_train) - validation
    train = as_split(x_train, y_train, order[:n_train])
    val = as_split(x_train, y_train, order[n_train:])
    test = as_split(x_test, y_test, test_order)
    mean = None
    if subtract_mean:
        mean = train.x.mean(axis=0)
        train, val, test = (Split(s.x - mean, s.labels) for s in (train, val, test))
    return MNIST(train, val, test, mean, str(source))
