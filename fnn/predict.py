"""`fnn predict`: classify pictures of digits with a trained run.

    fnn predict --checkpoint runs/cnn seven.png photo.jpg [--top 3] [--json] [--show DIR]

Each file is read and made into an MNIST-like image (`fnn.preprocess.read_image`: gray,
light ink on black, the digit in a 20 x 20 box with its centre of mass at the centre of
28 x 28); the run's pixel mean is subtracted, as it was from every training image; all
images go through the network in one test-mode forward pass (`fnn.train.predict`), and a
softmax turns the scores into probabilities. Every file is read before the first result is
printed: a bad file stops the command with one line naming it, printing nothing else.

Output, one line per image in the order given: `PATH: 7 (98.1%), 1 (1.2%), 9 (0.3%)`, or
with --json one object per line, `{"path": PATH, "top": [[7, 0.9812], [1, 0.0121], ...]}`
(classes best first, probabilities rounded to 4 decimals). `--show DIR` also writes
DIR/<stem>_seen.png: the picture beside the 28 x 28 image the network saw. If the network
errs, look there first: a digit cut in two, or a stroke too faint, is visible at a glance.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "predict_command", "probabilities", "top_classes", "seen_figure"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `predict` command to `subparsers` (of `argparse`); it runs `predict_command`."""
    p = subparsers.add_parser(
        "predict",
        help="classify image files (PNG, JPEG, .npy) with a run's best parameters",
        description="Each image is made MNIST-like (gray, light on black, 20x20 box, centred) "
        "before the network sees it; --show writes what it saw.",
    )
    p.add_argument("--checkpoint", required=True, metavar="DIR", help="a run folder or its checkpoint.npz")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG or .npy files, one digit each")
    p.add_argument(
        "--top", type=_positive_int, default=3, metavar="K", help="classes shown per image (default 3)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per image and line")
    p.add_argument(
        "--show", metavar="DIR", help="write DIR/<stem>_seen.png: the image beside what the network saw"
    )
    p.set_defaults(run=predict_command)
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


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


def _line(path: str, top: list[list]) -> str:
    return f"{path}: " + ", ".join(f"{c} ({100 * p:.1f}%)" for c, p in top)


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


def _show(folder: Path, paths: list[str], images: np.ndarray, tops: list[list]) -> None:
    """Write folder/<stem>_seen.png per image (<stem>_2_seen.png, ... when stems repeat)."""
    from fnn.plots import save
    from fnn.preprocess import read_pixels

    used: dict[str, int] = {}
    for path, seen, top in zip(paths, images, tops):
        stem = Path(path).stem
        used[stem] = used.get(stem, 0) + 1
        name = stem if used[stem] == 1 else f"{stem}_{used[stem]}"
        fig = seen_figure(read_pixels(path), seen, _line(Path(path).name, top))
        save(fig, folder / f"{name}_seen.png")


def predict_command(args: argparse.Namespace) -> int:
    """`fnn predict`: print the top classes of each image (see the module docstring); return 0.

    Raises:
        fnn.checkpoint.CheckpointError: the checkpoint cannot be used (fnn.models.load).
        fnn.preprocess.PreprocessError: an image cannot be read or holds no digit.
        OSError: --show's folder or a figure cannot be written.
    """
    from fnn import models
    from fnn.preprocess import read_image

    images = np.stack([read_image(path) for path in args.images])  # a bad file fails first, fast
    if args.show:
        Path(args.show).mkdir(parents=True, exist_ok=True)  # an unwritable folder fails before the work
    loaded = models.load(args.checkpoint)
    probs = probabilities(loaded, images)
    tops = [top_classes(row, min(args.top, probs.shape[1])) for row in probs]
    for path, top in zip(args.images, tops):
        if args.json:
            print(json.dumps({"path": str(path), "top": [[c, round(p, 4)] for c, p in top]}))
        else:
            print(_line(str(path), top))
    if args.show:
        _show(Path(args.show), [str(p) for p in args.images], images, tops)
    return 0
