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
    with pytest.raises(CheckpointError, match=r"does not fit.*W"):
        checkpoint.load(good, other)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "missing.npz", tree())


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = checkpoint.save(tmp_path / "c.npz", tree())
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.os, "replace", fail)
    with pytest.raises(OSError):
        checkpoint.save(path, {"other": jnp.ones(2)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.npz"]
