"""The evidence behind a diagnosis, drawn: one block of panels per array that is not "ok".

What a block shows depends on what the doctor measured for that array (`Diagnosis.views`):
- a local derivative (kinds factor and branch, on an elementwise layer): the learner's dx/dy
  and the true one against x, every trial's elements, the wrong region shaded;
- a routing map (kind routing): for example 0, per channel, how many windows' gradients reach
  each input element, the learner's beside the true one, with the windows drawn;
- otherwise the gradient itself, the learner's beside the true one and |learner - true|,
  with named axes: for an image gradient example 0, H x W, a row per channel (the windows of
  a windowed layer drawn over it); for a matrix its two axes (example x feature, in feature
  x out feature); for a kernel H x W per output channel (input channel 0); a vector as a strip.
Every panel says what it shows; nothing is a maximum over hidden axes. The figure is a
`matplotlib.figure.Figure` (no pyplot), saved by the caller with `fnn.plots.save`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["error_figure", "MAX_PANELS"]

MAX_PANELS = 8  # channels drawn per array
EXAMPLE = 0  # the example drawn from a batch


def _maps(name: str, kind: str, manual: np.ndarray, true: np.ndarray) -> list[dict]:
    """Rows of (learner, true, |error|) maps with their axis names, for one array."""
    rows = []
    if manual.ndim == 4 and name == "dx":  # NHWC: one example, a row per channel
        for c in range(min(manual.shape[-1], MAX_PANELS)):
            rows.append(
                _row(
                    manual[EXAMPLE, :, :, c],
                    true[EXAMPLE, :, :, c],
                    f"example {EXAMPLE}, channel {c}",
                    "W",
                    "H",
                )
            )
    elif manual.ndim == 4:  # a kernel (k_h, k_w, C_in, C_out)
        for o in range(min(manual.shape[-1], MAX_PANELS)):
            rows.append(
                _row(
                    manual[:, :, 0, o],
                    true[:, :, 0, o],
                    f"in channel 0, out channel {o}",
                    "kernel column",
                    "kernel row",
                )
            )
    elif manual.ndim == 3 and name == "dx":  # (N, H, W) or (N, T, C): one example
        rows.append(_row(manual[EXAMPLE], true[EXAMPLE], f"example {EXAMPLE}", "axis 2", "axis 1"))
    elif manual.ndim >= 2:
        x_name, y_name = ("feature", "example") if name == "dx" else ("out feature", "in feature")
        shape = (manual.shape[0], -1)
        rows.append(_row(manual.reshape(shape), true.reshape(shape), "whole array", x_name, y_name))
    else:
        rows.append(_row(manual.reshape(1, -1), true.reshape(1, -1), "whole array", "index", ""))
    return rows


def _row(manual, true, where, x_name, y_name) -> dict:
    return {"manual": manual, "true": true, "where": where, "x": x_name, "y": y_name}


def _draw_boxes(ax, boxes) -> str:
    """Window outlines: all of them when they do not overlap, else a non-overlapping selection
    of the largest; returns what the title should say about them."""
    from matplotlib.patches import Rectangle

    chosen, taken = [], set()
    by_area = sorted(boxes, key=lambda b: (-(b[2] - b[0] + 1) * (b[3] - b[1] + 1), b))
    for top, left, bottom, right in by_area:
        cells = {(i, j) for i in range(top, bottom + 1) for j in range(left, right + 1)}
        if not cells & taken:
            chosen.append((top, left, bottom, right))
            taken |= cells
    for top, left, bottom, right in chosen:
        ax.add_patch(
            Rectangle(
                (left - 0.5, top - 0.5),
                right - left + 1,
                bottom - top + 1,
                fill=False,
                edgecolor="lime",
                linewidth=1.0,
                linestyle="--",
            )
        )
    return "dashed: the windows" if len(chosen) == len(boxes) else "dashed: some windows (they overlap)"


def _windowed(boxes, shape) -> bool:
    """Windows worth drawing: more than one element each, and none holding the whole image."""
    if not boxes:
        return False
    full = (0, 0, shape[0] - 1, shape[1] - 1)
    return any(b[2] > b[0] or b[3] > b[1] for b in boxes) and full not in boxes


def _map_block(fig, grid, finding, view) -> None:
    rows = _maps(finding.array, finding.kind, view["manual"], view["true"])
    boxes = view.get("boxes", [])
    for r, row in enumerate(rows):
        top = max(float(np.abs(row["manual"]).max()), float(np.abs(row["true"]).max())) or 1.0
        error = np.abs(row["manual"] - row["true"])
        panels = [
            ("learner's", row["manual"], "RdBu_r", -top, top),
            ("true (autodiff)", row["true"], "RdBu_r", -top, top),
            ("|learner - true|", error, "magma", 0, float(error.max()) or 1.0),
        ]
        for c, (what, image, cmap, lo, hi) in enumerate(panels):
            ax = fig.add_subplot(grid[r, c])
            shown = ax.imshow(image, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest", aspect="auto")
            where = row["where"]
            if row["x"] == "W" and _windowed(boxes, image.shape):
                where += "; " + _draw_boxes(ax, boxes)
            ax.set_title(f"{finding.array} ({finding.kind}) {what}\n{where}", fontsize=7)
            ax.set_xlabel(row["x"], fontsize=7)
            ax.set_ylabel(row["y"], fontsize=7)
            ax.tick_params(labelsize=6)
            fig.colorbar(shown, ax=ax, shrink=0.8)


def _routing_block(fig, grid, finding, view) -> None:
    routing = view["routing"]
    mine, true = routing["mine"], routing["true"]
    if mine.ndim == 3:  # (H, W, C)
        rows = [
            (mine[..., c], true[..., c], f"example {EXAMPLE}, channel {c}")
            for c in range(min(mine.shape[-1], MAX_PANELS))
        ]
    else:
        rows = [(mine.reshape(1, -1), true.reshape(1, -1), f"example {EXAMPLE}")]
    top = float(max(mine.max(), true.max())) or 1.0
    for r, (m, t, where) in enumerate(rows):
        for c, (what, image) in enumerate((("learner's", m), ("true", t))):
            ax = fig.add_subplot(grid[r, c])
            shown = ax.imshow(image, cmap="viridis", vmin=0, vmax=top, interpolation="nearest", aspect="auto")
            note = f"; {_draw_boxes(ax, routing['boxes'])}" if mine.ndim == 3 and routing["boxes"] else ""
            ax.set_title(
                f"{finding.array} (routing) {what}: how many windows' gradients\nreach each element, {where}{note}",
                fontsize=7,
            )
            ax.set_xlabel("W" if mine.ndim == 3 else "element", fontsize=7)
            ax.set_ylabel("H" if mine.ndim == 3 else "", fontsize=7)
            ax.tick_params(labelsize=6)
            fig.colorbar(shown, ax=ax, shrink=0.8)


def _derivative_block(fig, grid, finding, view) -> None:
    """Both local derivatives against x; beside them a zoom on the true one's range when the
    learner's dwarfs it."""
    d = view["derivative"]
    x, mine, true = d["x"].ravel(), d["mine"].ravel(), d["true"].ravel()
    order = np.argsort(x)
    x, mine, true = x[order], mine[order], true[order]
    spread = lambda v: float(np.nanmax(v) - np.nanmin(v)) if np.isfinite(v).any() else 0.0  # noqa: E731
    zoom = spread(mine) > 3 * max(spread(true), 1e-12)
    panels = [(grid[0, :2] if zoom else grid[0, :], "")] + (
        [(grid[0, 2], "zoom on the true range")] if zoom else []
    )
    for spec, note in panels:
        ax = fig.add_subplot(spec)
        ax.plot(
            x, true, "-", color="tab:blue", linewidth=1, label=f"true dx/dy (autodiff){_said(d, 'true_text')}"
        )
        ax.plot(x, mine, ".", color="tab:orange", markersize=3, label=f"your dx/dy{_said(d, 'mine_text')}")
        for bound in d["bounds"]:
            ax.axvline(bound, color="grey", linestyle=":", linewidth=1)
        if d["region"]:
            wrong = np.abs(mine - true) > 0
            ax.fill_between(
                x,
                0,
                1,
                where=wrong,
                color="red",
                alpha=0.1,
                transform=ax.get_xaxis_transform(),
                label=f"wrong: {d['region']}",
            )
        if note:
            low, high = float(np.nanmin(true)), float(np.nanmax(true))
            pad = 0.1 * (high - low) or 0.1 * max(abs(high), 1.0)
            ax.set_ylim(low - pad, high + pad)
        ax.set_xlabel("x (every element of every trial's input)", fontsize=8)
        ax.set_ylabel("local derivative dx/dy", fontsize=8)
        title = f"{finding.array} ({finding.kind}): your local derivative against the true one"
        ax.set_title(note or title, fontsize=8)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)


def _said(d: dict, key: str) -> str:
    return f": {d[key]}" if d.get(key) else ""


def _block_rows(finding, view) -> int:
    if "derivative" in view:
        return 1
    if "routing" in view:
        mine = view["routing"]["mine"]
        return min(mine.shape[-1], MAX_PANELS) if mine.ndim == 3 else 1
    return len(_maps(finding.array, finding.kind, view["manual"], view["true"]))


def error_figure(diagnosis):
    """A Figure of the evidence (see the module docstring) for every array not "ok" with the
    right shape.

    Args:
        diagnosis: a `fnn.gradcheck.Diagnosis`.

    Returns:
        A matplotlib Figure; when no array can be drawn, one that says so.
    """
    from matplotlib.figure import Figure

    views = getattr(diagnosis, "views", None) or {}
    wrong = [f for f in diagnosis.findings if f.kind != "ok" and f.array in views]
    if not wrong:
        fig = Figure(figsize=(6, 1.5))
        text = "every gradient agrees with autodiff" if diagnosis.ok else "no wrong array has the right shape"
        fig.text(0.5, 0.5, f"{diagnosis.layer}: {text}", ha="center", va="center")
        return fig
    heights = [_block_rows(f, views[f.array]) for f in wrong]
    fig = Figure(figsize=(11, 2.6 * sum(heights) + 0.8), layout="constrained")
    grid = fig.add_gridspec(sum(heights), 3)
    start = 0
    for finding, height in zip(wrong, heights):
        view, block = views[finding.array], grid[start : start + height, :].subgridspec(height, 3)
        if "derivative" in view:
            _derivative_block(fig, block, finding, view)
        elif "routing" in view:
            _routing_block(fig, block, finding, view)
        else:
            _map_block(fig, block, finding, view)
        start += height
    fig.suptitle(
        f"{diagnosis.layer} {diagnosis.config}: the learner's gradient against the true one", fontsize=10
    )
    return fig
