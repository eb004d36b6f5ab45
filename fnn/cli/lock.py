"""One run per folder: `hold(folder)` locks `<folder>/.fnn.lock` while a run writes there.

Why: two runs writing into one folder (`fnn train --out runs/cnn` started twice) would
silently mix their files: one's checkpoint beside the other's history and figures, a resume
from the other run's state. `hold` makes the second run stop at once with a message naming
the first (pid, host, start time, command), read from the JSON the holder writes into the
lock file: {"pid", "host", "started", "argv"}.

How: `fcntl.flock(LOCK_EX | LOCK_NB)` on the lock file. Stale locks cannot happen: a flock
belongs to an open file, and the kernel releases it when the process holding it dies
(finished, crashed, killed with SIGKILL). A lock file left by a killed run is therefore
just a file: the next `hold` takes the lock and rewrites the content. On exit the file is
truncated and unlocked, never unlinked: a second process may have it open, waiting, and
would then lock a file nobody else can see while a third creates a new one.

`hold` is re-entrant within one process (a nested `hold` of the same folder succeeds; only
the outermost exit unlocks). Where `fcntl` does not exist (Windows), `hold` still creates
the folder and writes the lock file, but cannot keep a second run out.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: no flock; see the module docstring
    fcntl = None

__all__ = ["hold", "LockError", "LOCK_NAME"]

LOCK_NAME = ".fnn.lock"

_held: dict[Path, list] = {}  # resolved folder -> [open lock file, nesting depth]
_held_guard = threading.Lock()


class LockError(RuntimeError):
    """The run folder is in use by another run, or cannot be created or written."""


def _cannot_use(folder: Path, error: OSError) -> LockError:
    reason = error.strerror or str(error)
    if error.filename is not None and Path(error.filename) != folder:
        reason += f": {error.filename}"
    return LockError(f"cannot use {folder} as the run folder: {reason}; choose another --out")


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise LockError(f"cannot use {folder} as the run folder: it is a file; choose another --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _cannot_use(folder, e) from e


def _holder(lock_path: Path) -> str:
    """Who holds the lock, from the JSON in the lock file; "" if it is empty or partial."""
    try:
        record = json.loads(lock_path.read_text())
        argv = [Path(record["argv"][0]).name, *record["argv"][1:]]
        return f"pid {record['pid']} on {record['host']}, started {record['started']}, command: {shlex.join(argv)}"
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        return ""


def _in_use(folder: Path) -> LockError:
    holder = _holder(folder / LOCK_NAME)
    who = f"another fnn run ({holder})" if holder else "another process"
    return LockError(f"{folder} is in use by {who}; wait for it to finish or choose another --out")


def _write_record(file: IO[str]) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "argv": sys.argv,
    }
    file.seek(0)
    file.truncate()
    file.write(json.dumps(record))
    file.flush()


def _acquire(folder: Path) -> IO[str]:
    """Create `folder`, open its lock file, lock it, write who we are; else LockError."""
    _make_folder(folder)
    try:
        file = os.fdopen(os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666), "r+")
    except OSError as e:
        raise _cannot_use(folder, e) from e
    try:
        if fcntl is not None:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise _in_use(folder) from None
    except OSError as e:  # e.g. a file system without locks (ENOLCK)
        file.close()
        raise _cannot_use(folder, e) from e
    try:
        _write_record(file)
    except OSError as e:
        _release(file)
        raise _cannot_use(folder, e) from e
    return file


def _release(file: IO[str]) -> None:
    """Empty the lock file (the run is over), then unlock and close it; never unlink."""
    with contextlib.suppress(OSError):
        file.seek(0)
        file.truncate()
        file.flush()
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
    file.close()


@contextlib.contextmanager
def hold(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold `folder` (created with its parents if missing) for this process; yield it as a Path.

    Raises:
        LockError: another live process holds the folder (the message names it), or the
            folder cannot be created or written (a file in its place, permission denied).
    """
    folder = Path(folder)
    key = folder.resolve()
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            entry = _held[key] = [_acquire(folder), 0]
        entry[1] += 1
    try:
        yield folder
    finally:
        with _held_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                _release(entry[0])
