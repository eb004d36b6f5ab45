"""Which data a run used, and whether a file is that data.

A run records `fnn.data.provenance(mnist)` (path, sha256, split sizes) in its checkpoint.
`fnn eval` and `fnn train --resume` reload the data the way the run saw it
(`load_as_recorded`) and compare fingerprints (`mismatch`): a resumed run must not rank
validation accuracies measured on two different validation sets, and an evaluation must
not report another test set's accuracy without saying so.
"""

from __future__ import annotations

from pathlib import Path

from fnn.data import MNIST, load_mnist

__all__ = ["load_as_recorded", "mismatch"]


def load_as_recorded(meta: dict, path: str | Path | None = None) -> tuple[MNIST, dict | None]:
    """MNIST split as the run with settings `meta` saw it, and the provenance it recorded.

    Reads `path` if given, else the file the run recorded if it still exists, else the
    default search (`fnn.data.find_mnist`). Compare the two with `mismatch`.
    """
    recorded = meta.get("data_source")
    if path is None and recorded and Path(recorded["path"]).exists():
        path = recorded["path"]
    mnist = load_mnist(path, validation=meta["validation"], seed=meta["seed"], subtract_mean=True)
    return mnist, recorded


def mismatch(recorded: dict | None, mnist: MNIST) -> str | None:
    """A sentence naming both files if `mnist` is not the data a run recorded; else None."""
    if recorded is None:
        return f"the checkpoint does not record its data (written by an older fnn); using {mnist.source}"
    if recorded["sha256"] != mnist.sha256:
        return (
            f"the run was trained on {recorded['path']} (sha256 {recorded['sha256'][:12]}...), "
            f"but {mnist.source} has sha256 {(mnist.sha256 or '?')[:12]}...: a different file"
        )
    return None
