"""Data parallelism: 4 devices give the parameters of 1 device on the same global batch, and
2 processes joined with jax.distributed end with identical parameters."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("parallel_worker.py")
ROOT = WORKER.parent.parent


def env(devices):
    e = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


@pytest.mark.slow  # two fresh JAX processes: ~9 s
def test_four_devices_match_one_device(tmp_path):
    out = tmp_path / "single.npz"
    result = subprocess.run(
        [sys.executable, str(WORKER), "single", str(out)],
        env=env(4),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    saved = np.load(out)
    n = int(saved["n"])
    for i in range(n):
        np.testing.assert_allclose(saved[f"arr_{i}"], saved[f"arr_{n + i}"], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(saved["losses_one"], saved["losses_four"], rtol=1e-4)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two fresh JAX processes: ~9 s
def test_two_processes_on_localhost_end_identical(tmp_path):
    port = free_port()
    outs = [tmp_path / f"host{i}.npz" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "host", str(i), str(port), str(outs[i])],
            env=env(1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        for p in procs:
            p.wait(timeout=600)
    finally:
        for p in procs:
            p.kill()
    errors = [p.stderr.read()[-3000:] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    a, b = (np.load(o) for o in outs)
    assert sorted(a.files) == sorted(b.files)
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name])
    assert np.isfinite(a["losses"]).all()


def test_data_mesh_checks_the_device_count():
    import jax

    from fnn import models, optim, parallel
    from fnn.losses import softmax_cross_entropy

    mesh = parallel.data_mesh(1)
    assert mesh.devices.size == 1
    with pytest.raises(ValueError, match="num_devices"):
        parallel.data_mesh(jax.device_count() + 1)
    epoch = parallel.make_parallel_epoch(
        models.mlp((4,)), softmax_cross_entropy, optim.sgd(0.1), mesh=mesh, batch_size=3
    )
    assert callable(epoch.run) and epoch.batch_size == 3
