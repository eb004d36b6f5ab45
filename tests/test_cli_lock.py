import fcntl
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from fnn.cli import lock
from fnn.cli.lock import LOCK_NAME, LockError

# The child loads fnn/cli/lock.py by its path, not through `import fnn` (which imports JAX), to stay fast.
HOLDER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("fnn_lock", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with module.hold(sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


def start_holder(folder: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, lock.__file__, str(folder), "train", "--out", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if child.stdout.readline().strip() != "held":
        child.kill()
        pytest.fail(f"the holder did not start: {child.communicate()[1]}")
    return child


def test_a_second_process_is_refused_and_a_killed_holder_leaves_no_lock(tmp_path):
    folder = tmp_path / "runs" / "cnn"
    child = start_holder(folder)
    try:
        with pytest.raises(LockError) as info:
            with lock.hold(folder):
                pass
        message = str(info.value)
        assert f"{folder} is in use by another fnn run (pid {child.pid} on " in message
        assert "train --out" in message and message.endswith("wait for it to finish or choose another --out")
    finally:
        child.kill()
        child.wait()
    assert json.loads((folder / LOCK_NAME).read_text())["pid"] == child.pid  # left by the killed run
    with lock.hold(folder):
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_a_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    record = {"pid": finished.pid, "host": "h", "started": "2000-01-01T00:00:00", "argv": ["fnn"]}
    (tmp_path / LOCK_NAME).write_text(json.dumps(record))
    with lock.hold(tmp_path):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_the_lock_file_says_who_holds_it_and_is_emptied_on_exit(tmp_path):
    with lock.hold(tmp_path / "new" / "run") as folder:
        assert folder == tmp_path / "new" / "run"
        record = json.loads((folder / LOCK_NAME).read_text())
        assert set(record) == {"pid", "host", "started", "argv"}
        assert record["pid"] == os.getpid() and record["argv"] == sys.argv
        assert datetime.fromisoformat(record["started"]).tzinfo is not None
    assert (folder / LOCK_NAME).read_text() == ""  # kept, not unlinked


def locked_elsewhere(folder: Path) -> bool:
    """Whether a new open file (as another process would have) fails to lock `folder`."""
    with open(folder / LOCK_NAME) as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return False


def test_hold_is_reentrant_in_one_process(tmp_path):
    with lock.hold(tmp_path):
        with lock.hold(tmp_path / "sub" / ".."):  # the same folder, spelled differently
            assert locked_elsewhere(tmp_path)
        assert locked_elsewhere(tmp_path)  # only the outermost exit unlocks
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not locked_elsewhere(tmp_path)


def test_an_empty_lock_file_held_elsewhere_says_another_process(tmp_path):
    (tmp_path / LOCK_NAME).write_text("")
    with open(tmp_path / LOCK_NAME) as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LockError, match=r"is in use by another process; wait for it"):
            with lock.hold(tmp_path):
                pass


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(
        LockError, match=r"cannot use .*out as the run folder: it is a file; choose another --out"
    ):
        with lock.hold(tmp_path / "out"):
            pass
    with pytest.raises(LockError, match="Not a directory"):
        with lock.hold(tmp_path / "out" / "run"):
            pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_parent_is_refused(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o500)
    try:
        with pytest.raises(LockError, match=r"cannot use .*run as the run folder: Permission denied"):
            with lock.hold(parent / "run"):
                pass
    finally:
        parent.chmod(0o700)
