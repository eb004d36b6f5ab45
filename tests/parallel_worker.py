"""Run by tests/test_parallel.py in fresh processes (device counts are fixed at JAX start-up).

python tests/parallel_worker.py single OUT.npz          # 1 device vs 4 devices, one process
python tests/parallel_worker.py host ID PORT OUT.npz    # one of 2 processes, 1 CPU device each
"""

import sys

import numpy as np


def train(mesh, steps=6):
    import jax

    from fnn import models, optim, parallel, step
    from fnn.losses import softmax_cross_entropy

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 64).astype(np.int32)
    model = models.cnn(batch_norm=True, channels=(4, 8), hidden=16)
    opt = optim.momentum(0.05)
    ts = step.init_train_state(model, opt, (28, 28, 1), seed=0)
    if mesh is None:
        epoch = step.make_epoch(model, softmax_cross_entropy, opt, batch_size=16, driver="step")
    else:
        epoch = parallel.make_parallel_epoch(model, softmax_cross_entropy, opt, mesh=mesh, batch_size=16)
    ts, data = epoch.place((ts, (x, labels)))
    for e in range(steps // 4):
        ts, losses, _ = epoch.run(ts, *data, jax.random.key(e))
    leaves = [np.asarray(leaf) for leaf in jax.tree.leaves((ts.params, ts.state))]
    return leaves, np.asarray(losses)


def main():
    if sys.argv[1] == "single":
        import jax

        from fnn import parallel

        assert jax.device_count() == 4, jax.devices()
        one, losses_one = train(None)
        four, losses_four = train(parallel.data_mesh(4))
        np.savez(sys.argv[2], *one, *four, losses_one=losses_one, losses_four=losses_four, n=len(one))
    else:
        process_id, port, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        from fnn import parallel

        parallel.init_distributed(f"127.0.0.1:{port}", 2, process_id)
        import jax

        assert jax.device_count() == 2 and jax.local_device_count() == 1
        leaves, losses = train(parallel.data_mesh())
        np.savez(out, *leaves, losses=losses)


if __name__ == "__main__":
    main()
