"""The numbers of the im2col/col2im example (see the package docstring for the question)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from fnn.im2col import col2im, im2col


@dataclasses.dataclass(frozen=True)
class Config:
    size: int = 5
    kernels: tuple = (2, 3)  # example i uses kernels[i], strides[i], paddings[i]
    strides: tuple = (1, 2)
    paddings: tuple = (0, 1)
    seed: int = 0  # draws the random columns of the adjoint check


QUICK = {"kernels": (2,), "strides": (1,), "paddings": (0,)}


def _example(size: int, k: int, s: int, p: int, rng: np.random.Generator) -> dict:
    """im2col and col2im of one (k, s, p) on the numbered size x size image."""
    x = jnp.arange(1, size * size + 1, dtype=jnp.float32).reshape(1, size, size, 1)
    pair = ((k, k), (s, s), (p, p))
    cols = im2col(x, *pair)  # (1, H_out, W_out, k k C): one row per window
    _, H_out, W_out, patch = cols.shape
    counts = col2im(jnp.ones_like(cols), x.shape, *pair)
    roundtrip = col2im(cols, x.shape, *pair)
    c = jnp.asarray(rng.standard_normal(cols.shape), jnp.float32)
    lhs, rhs = float(jnp.vdot(cols, c)), float(jnp.vdot(x, col2im(c, x.shape, *pair)))
    fnn_matrix = np.asarray(cols).reshape(H_out * W_out, patch)
    return {
        "kernel": k,
        "stride": s,
        "padding": p,
        "H_out": H_out,
        "W_out": W_out,
        "input": np.asarray(x[0, :, :, 0]).tolist(),
        "fnn_matrix": fnn_matrix.tolist(),  # (H_out W_out, k k C): fnn's layout
        "assignment_matrix": fnn_matrix.T.tolist(),  # (k k C, H_out W_out): the assignment's M
        "counts": np.asarray(counts[0, :, :, 0]).tolist(),
        "roundtrip_minus_counts_times_x": float(jnp.abs(roundtrip - counts * x).max()),
        "adjoint_relative_difference": abs(lhs - rhs) / max(abs(lhs), abs(rhs)),
    }


def run(config: Config) -> dict:
    if not len(config.kernels) == len(config.strides) == len(config.paddings):
        raise ValueError("kernels, strides and paddings must have one entry per example")
    rng = np.random.default_rng(config.seed)
    examples = [
        _example(config.size, k, s, p, rng)
        for k, s, p in zip(config.kernels, config.strides, config.paddings)
    ]
    return {"size": config.size, "channels": 1, "examples": examples}
