import errno
import json
import os
import re
import stat

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import checkpoint
from fnn.checkpoint import CheckpointError


def tree():
    return {
        "params": ({"W": jnp.arange(6.0).reshape(2, 3), "b": jnp.zeros(3)}, {}),
        "step": jnp.int32(7),
        "key": jax.random.key(3),
    }


def test_round_trip_with_keys_and_meta(tmp_path):
    path = checkpoint.save(tmp_path / "c.npz", tree(), {"history": [{"epoch": 1}]})
    restored, meta = checkpoint.load(path, tree())
    np.testing.assert_array_equal(restored["params"][0]["W"], tree()["params"][0]["W"])
    assert int(restored["step"]) == 7
    np.testing.assert_array_equal(jax.random.key_data(restored["key"]), jax.random.key_data(tree()["key"]))
    assert meta["history"] == [{"epoch": 1}]
    assert (tmp_path / "c.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.npz"]  # no temporary files left


def test_truncated_foreign_and_mismatched_checkpoints_are_refused(tmp_path):
    path = checkpoint.save(tmp_path / "c.npz", tree())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        checkpoint.load(path, tree())
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an fnn checkpoint"):
        checkpoint.load(tmp_path / "foreign.npz", tree())
    good = checkpoint.save(tmp_path / "g.npz", tree())
    other = tree()
    other["params"][0]["W"] = jnp.zeros((3, 3))
    with pytest.raises(CheckpointError, match=r"does not fit.*W") as refused:
        checkpoint.load(good, other)
    assert "written by" not in str(refused.value)  # this version wrote it: the shapes say it all
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "missing.npz", tree())


@pytest.mark.parametrize("written, recorded", [("0.1.0", None), ("0.0.9", "0.0.9")])
@pytest.mark.parametrize("change", ["shape", "missing"])
def test_a_mismatch_names_the_fnn_version_that_wrote_the_checkpoint(tmp_path, written, recorded, change):
    import fnn

    meta = checkpoint.read_meta(checkpoint.save(tmp_path / "c.npz", tree()))
    if recorded is None:  # 0.1.0 wrote no version
        del meta["fnn_version"]
    else:
        meta["fnn_version"] = recorded
    path = raw_checkpoint(tmp_path / "c.npz", json.dumps(meta).encode())
    other = tree()
    if change == "shape":
        other["params"][0]["W"] = jnp.zeros((3, 3))
    else:
        other["params"][1]["W"] = jnp.zeros(3)  # a layer the checkpoint does not have
    message = f"written by fnn {written} and this is fnn {fnn.__version__}"
    with pytest.raises(CheckpointError, match=re.escape(message)):
        checkpoint.load(path, other)


def test_save_records_its_own_version_over_the_callers(tmp_path):
    import fnn

    path = checkpoint.save(tmp_path / "c.npz", tree(), {"fnn_version": "0.0.9", "format": "x", "epoch": 1})
    meta = checkpoint.read_meta(path)
    assert (meta["fnn_version"], meta["format"], meta["epoch"]) == (fnn.__version__, checkpoint.FORMAT, 1)


def raw_checkpoint(path, meta_bytes):
    """A checkpoint whose `__meta__` holds `meta_bytes` verbatim, beside valid arrays."""
    np.savez(path, **checkpoint._flatten(tree()), __meta__=np.frombuffer(meta_bytes, np.uint8))
    return path


@pytest.mark.parametrize(
    "meta_bytes, require, fragment",
    [
        (b'{"format": "fnn-\xff"}', (), "not UTF-8"),
        (b'{"format": ', (), "not JSON"),
        (b"[1, 2]", (), "an array, expected a JSON object"),
        (b"3", (), "a number, expected a JSON object"),
        (b'{"arrays": []}', (), 'without "format"'),
        (None, ("epochs_done", "config"), "lacks required key(s) 'epochs_done'"),  # config is there
    ],
    ids=["bad UTF-8", "bad JSON", "a list", "a number", "no format", "missing required key"],
)
def test_damaged_metadata_is_refused_in_one_line(tmp_path, meta_bytes, require, fragment):
    if meta_bytes is None:
        path = checkpoint.save(tmp_path / "c.npz", tree(), {"config": {}})
    else:
        path = raw_checkpoint(tmp_path / "c.npz", meta_bytes)
    readers = [
        lambda: checkpoint.read_meta(path, require=require),
        lambda: checkpoint.load(path, tree(), require=require),
    ]
    for read in readers:
        with pytest.raises(CheckpointError) as info:
            read()
        assert fragment in str(info.value) and str(path) in str(info.value)
        assert "\n" not in str(info.value)


def test_required_keys_present_and_the_positional_form(tmp_path):
    path = checkpoint.save(tmp_path / "c.npz", tree(), {"epochs_done": 2})
    assert checkpoint.read_meta(path)["epochs_done"] == 2
    assert checkpoint.read_meta(path, require=["epochs_done"])["format"] == checkpoint.FORMAT
    assert checkpoint.load(path, tree(), require=("epochs_done",))[1]["epochs_done"] == 2


def no_space(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failing_fsync", [1, 2])  # 1: the .npz's temporary, 2: the .json's
def test_disk_full_keeps_the_previous_checkpoint(tmp_path, monkeypatch, failing_fsync):
    path = checkpoint.save(tmp_path / "c.npz", tree(), {"epoch": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        calls.append(fd)
        return no_space() if len(calls) == failing_fsync else real_fsync(fd)

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    with pytest.raises(CheckpointError) as info:
        checkpoint.save(path, tree(), {"epoch": 2})
    assert str(info.value) == (
        f"could not write {path}: {os.strerror(errno.ENOSPC)}; the previous checkpoint is intact"
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no *.tmp either


def test_a_failed_first_save_says_there_was_none(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint.os, "fsync", no_space)
    with pytest.raises(CheckpointError, match="no previous checkpoint"):
        checkpoint.save(tmp_path / "c.npz", tree())
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = checkpoint.save(tmp_path / "c.npz", tree())
    before = path.read_bytes()
    monkeypatch.setattr(checkpoint.os, "replace", lambda *args: no_space())
    with pytest.raises(CheckpointError, match="intact"):
        checkpoint.save(path, {"other": jnp.ones(2)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.npz"]


def test_a_failed_json_rename_leaves_no_stale_copy(tmp_path, monkeypatch):
    path = checkpoint.save(tmp_path / "c.npz", tree(), {"epoch": 1})
    real_replace = os.replace
    monkeypatch.setattr(
        checkpoint.os,
        "replace",
        lambda src, dst: no_space() if str(dst).endswith(".json") else real_replace(src, dst),
    )
    with pytest.raises(
        CheckpointError, match=r"c\.json.*c\.npz was saved, its readable \.json copy is missing"
    ):
        checkpoint.save(path, tree(), {"epoch": 2})
    assert checkpoint.read_meta(path)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = checkpoint.save(tmp_path / "c.npz", tree())
    finally:
        os.umask(old)
    for written in (path, path.with_suffix(".json")):
        assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask


def test_remove_stale_temporaries_removes_only_them(tmp_path):
    path = checkpoint.save(tmp_path / "checkpoint.npz", tree())
    stale = [tmp_path / "checkpoint.npz.a1b2c3d4.tmp", tmp_path / "checkpoint.json.x_y9.tmp"]
    kept = [tmp_path / "other.npz.a1b2c3d4.tmp", tmp_path / "notes.tmp", tmp_path / "checkpoint.npz.tmp"]
    for p in stale + kept:
        p.write_bytes(b"partial")
    assert sorted(checkpoint.remove_stale_temporaries(path)) == sorted(stale)
    remaining = {p.name for p in tmp_path.iterdir()}
    assert remaining == {"checkpoint.npz", "checkpoint.json"} | {p.name for p in kept}
    assert checkpoint.remove_stale_temporaries(path) == []
    assert checkpoint.remove_stale_temporaries(tmp_path / "missing" / "checkpoint.npz") == []


def test_nonfinite_names_nan_and_inf_leaves_and_skips_ints_and_keys():
    t = tree()
    assert checkpoint.nonfinite(t) == []
    t["params"][0]["W"] = t["params"][0]["W"].at[1, 2].set(jnp.nan)
    t["scale"] = jnp.array([1.0, jnp.inf], jnp.bfloat16)
    t["count"] = np.array([2**31 - 1], np.int32)
    assert checkpoint.nonfinite(t) == ["['params'][0]['W']", "['scale']"]
