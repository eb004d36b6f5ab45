"""`fnn predict`: classify pictures of digits with a trained run.

    fnn predict --checkpoint runs/cnn seven.png photo.jpg [--top 3] [--json] [--show DIR]

Each file is read and made into an MNIST-like image (`fnn.preprocess.read_image`: gray,
light ink on black, the digit in a 20 x 20 box with its centre of mass at the centre of
28 x 28); the run's pixel mean is subtracted, as it was from every training image; all
images go through the network in one test-mode forward pass (`fnn.predict.probabilities`), and a
softmax turns the scores into probabilities. Every file is read before the first result is
printed: a bad file stops the command with one line naming it, printing nothing else.

Output, one line per image in the order given: `PATH: 7 (98.1%), 1 (1.2%), 9 (0.3%)`, or
with --json one object per line, `{"path": PATH, "top": [[7, 0.9812], [1, 0.0121], ...]}`
(classes best first, probabilities rounded to 4 decimals). A file name that is not valid
UTF-8 (Linux allows any bytes) is printed with each bad byte as a backslash escape, the name
b"\\xff.png" as `\\xff.png` (`os.fsencode(path).decode("utf-8", "backslashreplace")`), in
the text, the JSON and the figures alike: the output is always valid UTF-8 and strict JSON
(Python's own escape of such a byte, a lone surrogate, is rejected by strict readers).

`--show DIR` also writes DIR/<stem>_seen.png: the picture beside the 28 x 28 image the network
saw. If the network errs, look there first: a digit cut in two, or a stroke too faint, is
visible at a glance. Names never collide: a name already taken in this run (by an input of the
same stem from another folder or with another suffix, by a numbered name, or by an input that
lives in DIR), compared without case, gets the next free number, <stem>_2_seen.png, ...;
the same inputs in the same order give the same names.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from fnn.cli.usage import positive_int
from fnn.predict import probabilities, seen_figure, top_classes

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `predict` command to `subparsers` (of `argparse`); it runs `run`."""
    p = subparsers.add_parser(
        "predict",
        help="classify image files (PNG, JPEG, .npy) with a run's best parameters",
        description="Each image is made MNIST-like (gray, light on black, 20x20 box, centred) "
        "before the network sees it; --show writes what it saw.",
    )
    p.add_argument("--checkpoint", required=True, metavar="DIR", help="a run folder or its checkpoint.npz")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG or .npy files, one digit each")
    p.add_argument(
        "--top", type=positive_int, default=3, metavar="K", help="classes shown per image (default 3)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per image and line")
    p.add_argument(
        "--show", metavar="DIR", help="write DIR/<stem>_seen.png: the image beside what the network saw"
    )
    p.set_defaults(run=run)
    return p


def _shown(path: str) -> str:
    """`path` as valid UTF-8 text: bytes that are not UTF-8 become escapes, b"\\xff" as `\\xff`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _line(path: str, top: list[list]) -> str:
    return f"{_shown(path)}: " + ", ".join(f"{c} ({100 * p:.1f}%)" for c, p in top)


def _figure_names(folder: Path, paths: list[str]) -> list[str]:
    """One free file name in `folder` per path, <stem>_seen.png or <stem>_<k>_seen.png (module
    docstring); a name is taken once chosen, or if an input of that name lives in `folder`."""
    inside = folder.resolve()
    taken = {Path(p).name.casefold() for p in paths if Path(p).resolve().parent == inside}
    names = []
    for path in paths:
        stem, number = Path(path).stem, 1
        name = f"{stem}_seen.png"
        while name.casefold() in taken:
            number += 1
            name = f"{stem}_{number}_seen.png"
        taken.add(name.casefold())
        names.append(name)
    return names


def _show(folder: Path, paths: list[str], images: np.ndarray, tops: list[list]) -> None:
    """Write each image's figure to `folder`, under the names `_figure_names` gives."""
    from fnn.plots import save
    from fnn.preprocess import read_pixels

    for path, name, seen, top in zip(paths, _figure_names(folder, paths), images, tops):
        save(seen_figure(read_pixels(path), seen, _line(path, top)), folder / name)


def run(args: argparse.Namespace) -> int:
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
            print(json.dumps({"path": _shown(str(path)), "top": [[c, round(p, 4)] for c, p in top]}))
        else:
            print(_line(str(path), top))
    if args.show:
        _show(Path(args.show), [str(p) for p in args.images], images, tops)
    return 0
