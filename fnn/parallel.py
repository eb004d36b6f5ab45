"""Data-parallel training over a `jax.sharding.Mesh` of devices: batch sharded, parameters
replicated.

The train step is the same pure function as on one device (hand-written backward included);
only where its arrays live changes. The dataset and the train state are replicated, each
epoch's index matrix is sharded along the batch axis, and every gathered batch is constrained
to be split across the mesh's "data" axis. XLA's SPMD partitioner then runs each device's
share of the forward and backward and inserts the all-reduce where the hand-written backward
sums over the batch (dW = x^T dy, db = sum dy, the batch-norm reductions). Consequences:
- gradients are the global-batch gradients, so N devices give the same parameters as one
  device on the same global batch (to float tolerance: the sums are associated differently);
- batch norm is SYNCHRONISED: its mean and variance are over the global batch, not per device.
Several hosts join with `init_distributed` (jax.distributed) before building the mesh.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from fnn import runtime
from fnn.layer import Layer
from fnn.step import Epoch, per_step_epoch, shuffled_batches, train_step_fn

__all__ = ["data_mesh", "replicate", "make_parallel_epoch", "init_distributed"]

AXIS = "data"


def data_mesh(num_devices: int | None = None) -> Mesh:
    """A 1-D mesh named "data" over the first num_devices devices (all of them by default)."""
    devices = jax.devices()
    if num_devices is not None:
        if not 1 <= num_devices <= len(devices):
            raise ValueError(
                f"num_devices must be in [1, {len(devices)}] (visible devices), got {num_devices}"
            )
        devices = devices[:num_devices]
    return Mesh(np.asarray(devices), (AXIS,))


def replicate(mesh: Mesh, tree):
    """Put every leaf of `tree` (arrays or PRNG keys) on every device of the mesh.

    Built from host values with `make_array_from_callback`, so it also works when the mesh
    spans several processes (each passes the same values).
    """
    sharding = NamedSharding(mesh, P())

    def put(leaf):
        if hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(put(jax.random.key_data(leaf)))
        value = np.asarray(leaf)
        return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    return jax.tree.map(put, tree)


def make_parallel_epoch(
    model: Layer,
    loss,
    optimizer: Any,
    *,
    mesh: Mesh,
    batch_size: int,
    gradients: str = "manual",
    augment=None,
) -> Epoch:
    """Like `step.make_epoch` (per-step driver, `augment` as there), with each batch split across `mesh`.

    The returned Epoch's `place` replicates the train state and the data on the mesh.
    batch_size (the global batch) must be divisible by the mesh size.
    """
    size = mesh.devices.size
    if batch_size % size:
        raise ValueError(f"batch_size {batch_size} must be divisible by the number of devices {size}")
    step = train_step_fn(model, loss, optimizer, gradients)
    batch_sharding = NamedSharding(mesh, P(AXIS))
    replicated = NamedSharding(mesh, P())

    def sharded_step(ts, x, labels, order, i, key):
        rows = jax.lax.with_sharding_constraint(order[i], batch_sharding)
        xb = x[rows] if augment is None else augment(jax.random.fold_in(key, i), x[rows])
        xb = jax.lax.with_sharding_constraint(xb, batch_sharding)
        yb = jax.lax.with_sharding_constraint(labels[rows], batch_sharding)
        return step(ts, xb, yb)

    sharded_step = runtime.jit(sharded_step, donate_argnums=0, out_shardings=replicated)
    shuffle = jax.jit(shuffled_batches, static_argnums=(1, 2), out_shardings=replicated)
    run = per_step_epoch(sharded_step, shuffle, batch_size)
    return Epoch(run, functools.partial(replicate, mesh), batch_size, (sharded_step,))


def init_distributed(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join a multi-host run (CPU hosts talk through gloo collectives): call before anything
    else touches a device; afterwards `jax.devices()` lists every host's devices."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # used only by CPU devices
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
    )
