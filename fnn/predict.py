"""A trained run on a person's own digits: class probabilities, the top classes, and a figure
of what the network saw.

`probabilities(loaded, images)` takes images made MNIST-like by `fnn.preprocess.read_image`
(gray, light ink on black, the digit in a 20 x 20 box with its centre of mass at the centre
of 28 x 28), subtracts the run's pixel mean as training did, runs one test-mode forward pass
(`fnn.train.predict`) and a softmax. `fnn predict` (fnn/cli/predict.py) is the command.
"""

from __future__ import annotations

import numpy as np

__all__ = ["probabilities", "top_classes", "seen_figure"]


def probabilities(loaded, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of `images` (N, 28, 28, 1) in [0, 1], in test mode.

    `loaded` is a `fnn.models.Loaded`; its pixel mean is subtracted first, as in training.
    """
    from fnn.train import predict

    x = np.asarray(images, np.float32)
    if loaded.pixel_mean is not None:
        x = x - loaded.pixel_mean
    scores = predict(loaded.model, loaded.params, loaded.state, x).astype(np.float64)
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))  # NOTE: minus the row max, no overflow
    return exp / exp.sum(axis=1, keepdims=True)


def top_classes(probs: np.ndarray, k: int) -> list[list]:
    """The `k` most probable classes of one row of probabilities as [[class, p], ...], best first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [[int(c), float(probs[c])] for c in order]


def seen_figure(pixels: np.ndarray, seen: np.ndarray, title: str = ""):
    """A Figure: the picture as read (`pixels`, any shape `to_mnist` takes) beside `seen` (28, 28, 1)."""
    from matplotlib.figure import Figure

    from fnn.preprocess import to_unit

    shown = to_unit(pixels)
    if shown.ndim == 3 and shown.shape[-1] in (1, 2):
        shown = shown[..., 0]  # gray (+ alpha): the gray
    fig = Figure(figsize=(5.5, 3))
    ax_in, ax_seen = fig.subplots(1, 2)
    ax_in.imshow(shown, cmap="gray", vmin=0, vmax=1)
    ax_in.set_title(f"input {shown.shape[1]}x{shown.shape[0]}")
    ax_seen.imshow(seen[..., 0], cmap="gray", vmin=0, vmax=1)
    ax_seen.set_title("seen by the network (28x28)")
    for ax in (ax_in, ax_seen):
        ax.set(xticks=[], yticks=[])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
