"""A trained run, back from its folder: `load(run_dir)` gives its model, best parameters and
state, its settings and the pixel mean its inputs had subtracted, ready to predict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from fnn import checkpoint
from fnn.layer import Layer
from fnn.models.architectures import INPUT_SHAPE, from_settings

__all__ = ["Loaded", "load"]


class Loaded(NamedTuple):
    """A trained run: `fnn.train.predict(model, params, state, x - pixel_mean)` classifies x."""

    model: Layer
    params: Any  # the best epoch's (by validation accuracy) parameters
    state: Any  # and layer state (batch norm's running statistics)
    settings: dict  # the checkpoint's metadata: the run's settings, data provenance, history
    pixel_mean: np.ndarray | None  # (28, 28, 1) float32 train mean subtracted in training, or None


def load(run_dir: str | os.PathLike) -> Loaded:
    """The best (by validation) parameters and layer state of a run, with its model.

    Args:
        run_dir: a run folder (`fnn train --out`) or its `checkpoint.npz`.
    Returns:
        `Loaded`. The pixel mean is the checkpoint's `"pixel_mean"` (784 floats, or null when
        none was subtracted).
    Raises:
        CheckpointError: no or a damaged checkpoint, an unknown model, parameters that are
            not finite (the run diverged), or a missing or malformed pixel mean.
    """
    path = Path(run_dir)
    path = path / "checkpoint.npz" if path.is_dir() else path
    meta = checkpoint.read_meta(path, require=("model",))
    try:
        model = from_settings(meta)
    except ValueError as e:
        raise checkpoint.CheckpointError(f"{path}: {e}") from None
    _, params, state = model.init(jax.random.key(0), INPUT_SHAPE)  # a template: shapes and dtypes
    tree, meta = checkpoint.load(
        path, {"best": {"params": params, "state": state}}, require=("model", "pixel_mean")
    )
    best = tree["best"]
    if bad := checkpoint.nonfinite(best):
        raise checkpoint.CheckpointError(
            f"{path}: the saved parameters are not finite ({', '.join(bad[:3])}); the run diverged, train it again"
        )
    return Loaded(model, best["params"], best["state"], meta, _pixel_mean(path, meta))


def _pixel_mean(path: Path, meta: dict) -> np.ndarray | None:
    """The (28, 28, 1) mean the run subtracted from its inputs (None if it subtracted none)."""
    if meta["pixel_mean"] is None:
        return None
    try:
        mean = np.asarray(meta["pixel_mean"], np.float32)
    except (TypeError, ValueError):
        mean = np.zeros(0, np.float32)
    if mean.shape != (784,) or not np.isfinite(mean).all():
        raise checkpoint.CheckpointError(f"{path}: damaged metadata: pixel_mean is not 784 finite numbers")
    return mean.reshape(INPUT_SHAPE)
