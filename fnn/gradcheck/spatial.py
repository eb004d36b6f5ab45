"""Geometry of an image gradient's error map, for the gradient doctor's border rule.

`wrong` is an (H, W) boolean map: the positions where dx differs from the true gradient (in
any example, channel or trial). `border_strips(wrong)` says whether the wrong positions form
strips along the edges, wrong from the edge inwards, with a correct interior, and how wide
each strip is; `band` draws those strips as a map (to compare coverage counts inside and out).
See fnn.gradcheck.rules for why these are the tests of a padding error. `window_boxes` gives
the rectangle of each window (from a coverage probe), for the plots.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIDES", "border_strips", "band", "window_boxes"]

SIDES = ("top", "bottom", "left", "right")


def _strips(wrong: np.ndarray) -> dict[str, int]:
    """Width of the strip along each edge that holds the wrong positions nearest that edge."""
    H, W = wrong.shape
    i, j = np.nonzero(wrong)
    distance = np.stack([i, H - 1 - i, j, W - 1 - j])  # to the top, bottom, left and right edges
    nearest = distance == distance.min(axis=0)
    alone = nearest & (nearest.sum(axis=0) == 1)
    preference = np.argsort(-alone.sum(axis=1), kind="stable")  # ties: the edge most are nearest to
    side = preference[np.argmax(nearest[preference], axis=0)]
    return {SIDES[s]: int(distance[s][side == s].max()) + 1 for s in range(4) if np.any(side == s)}


def band(widths: dict[str, int], H: int, W: int) -> np.ndarray:
    """(H, W) bool: the positions inside the strips of the given widths."""
    rows, columns = np.arange(H)[:, None], np.arange(W)[None, :]
    return (
        (rows < widths.get("top", 0))
        | (rows >= H - widths.get("bottom", 0))
        | (columns < widths.get("left", 0))
        | (columns >= W - widths.get("right", 0))
    )


def border_strips(wrong: np.ndarray) -> dict[str, int] | None:
    """{side: width} when the wrong positions are strips along the edges, else None.

    Strips: every wrong position lies in one; they leave a correct interior of at least 2 x 2
    positions (strips that meet, or leave a single line between them, are no border: a
    pattern that repeats across the image gives such strips); each line of a strip (the edge
    row or column, the next one in, ...) is at least half wrong.
    """
    if not wrong.any():
        return None
    widths = _strips(wrong)
    H, W = wrong.shape
    inside = (
        H - widths.get("top", 0) - widths.get("bottom", 0),
        W - widths.get("left", 0) - widths.get("right", 0),
    )
    if min(inside) < 2:
        return None  # no correct interior
    lines = {"top": wrong, "bottom": wrong[::-1], "left": wrong.T, "right": wrong.T[::-1]}
    if any(lines[side][d].mean() < 0.5 for side, width in widths.items() for d in range(width)):
        return None  # not wrong from the edge inwards: some line of a strip is mostly right
    return widths


def window_boxes(cover: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right), inclusive, of each window in `cover` (windows, H, W) bool,
    without repeats, in row-major order of their corners; windows that hold nothing are skipped."""
    boxes = set()
    for window in cover:
        rows, columns = np.nonzero(window)
        if len(rows):
            boxes.add((int(rows.min()), int(columns.min()), int(rows.max()), int(columns.max())))
    return sorted(boxes)
