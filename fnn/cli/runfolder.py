"""A run folder's rules and files (`fnn train`).

    config.json        every setting, the fnn and jax versions, the device (`write_config`)
    metrics.jsonl      one line per epoch as it finishes (`EpochLog`): a running or crashed
                       run can be read and plotted
    checkpoint.npz     train state, best parameters, history (+ checkpoint.json, readable)
    history.json       one record per epoch, at the end
    metrics.json       test accuracy and loss, best epoch, wall time, images/s, device
    curves.png         loss per iteration and epoch, train/validation accuracy per epoch

`check` is the rule of a fresh run (refuse a folder holding another run's files, or empty
it when told to overwrite) and of a resumed one (the checkpoint's settings must match).
One process at a time writes a folder: `fnn.cli.lock.hold`.
"""

from __future__ import annotations

import json
from pathlib import Path

from fnn import checkpoint, models, runtime
from fnn.cli.settings import FREE_ON_RESUME, SettingsError
from fnn.progress import Progress

__all__ = ["RUN_FILES", "write_config", "EpochLog", "check"]

# The files of a run folder: a fresh run refuses a folder holding any of them (see --overwrite).
RUN_FILES = (
    "config.json",
    "checkpoint.npz",
    "checkpoint.json",
    "history.json",
    "metrics.json",
    "metrics.jsonl",
    "curves.png",
)


def write_config(out: Path, settings: dict) -> dict:
    """Write `settings` with where the run ran (`fnn.runtime.environment`) to out/config.json."""
    record = {
        **{k: v for k, v in settings.items() if k != "pixel_mean"},  # the checkpoint keeps it
        **runtime.environment(),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(record, indent=1))
    return record


class EpochLog:
    """An epoch log that also appends each record to a JSON-lines file (readable mid-run)."""

    def __init__(self, log: Progress, path: Path):
        self.log, self.path, self.step = log, path, log.step

    def __call__(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.log(record)


def check(out: Path, meta: dict, resume: bool, overwrite: bool) -> dict | None:
    """Refuse a folder holding another run (unless `overwrite`: then empty it of run files);
    with `resume`, return the checkpoint's metadata after checking that its settings equal `meta`
    and that its parameters fit the model (before anything in `out` is rewritten)."""
    if not resume:
        present = [name for name in RUN_FILES if (out / name).exists()]
        if present and not overwrite:
            raise SettingsError(
                f"{out} holds another run ({', '.join(present)}); pass --resume to continue it, "
                "--overwrite to replace it, or choose another --out"
            )
        for name in present:
            (out / name).unlink()
        return None
    saved = checkpoint.read_meta(out / "checkpoint.npz", require=("history", "epochs_done", "epochs"))
    changed = {k: (saved.get(k), v) for k, v in meta.items() if k not in FREE_ON_RESUME and saved.get(k) != v}
    if changed:
        raise SettingsError(f"--resume: settings differ from the checkpoint's (saved, given): {changed}")
    models.load(out)  # its parameters fit this fnn's model (CheckpointError names the versions)
    return saved
