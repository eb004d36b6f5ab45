"""Download the MNIST IDX files from the public mirrors, checked and written atomically.

`fnn.data` decides *where* MNIST comes from and calls `download_idx` only when no local copy
exists; this module only fetches. It also defines `DataError` and `cache_dir` (both
re-exported by `fnn.data`), because it is the lower of the two modules: it never imports `fnn.data`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["DataError", "MIRRORS", "IDX_FILES", "cache_dir", "download", "download_idx", "digest"]

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


class DataError(ValueError):
    """MNIST could not be found, read or verified; the message says what was tried."""


def cache_dir() -> Path:
    """Where downloads and a user's own copy live: ($XDG_CACHE_HOME or ~/.cache)/fnn."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fnn"


def digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes, read in 1 MiB blocks (MNIST files are tens of MB)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _progress_bar(name: str) -> Callable[[int, int | None], None]:
    """A progress callback for `download` that redraws one stderr line."""

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


def download_idx(folder: Path, mirrors: Sequence[str], files: dict[str, str]) -> Path:
    """Make `folder` hold every file of `files` (name -> md5), trying each mirror in turn.

    A file already there with the right MD5 is kept. Raises DataError listing every failed
    attempt when some file could be fetched from no mirror.
    """
    errors = []
    for name, md5 in files.items():
        if (folder / name).exists() and digest(folder / name, "md5") == md5:
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
