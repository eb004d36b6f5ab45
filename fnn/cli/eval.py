"""`fnn eval`: the test accuracy of a run's best (by validation) parameters, recomputed from its
checkpoint on the data the run recorded (or on `--data`, said when it differs)."""

from __future__ import annotations

import argparse
import json
import sys

import fnn.cli.provenance as provenance
from fnn import checkpoint, data, models
from fnn.train import evaluate_test

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    e = subparsers.add_parser("eval", help="test accuracy of a checkpoint's best parameters")
    e.add_argument("--checkpoint", required=True, help="a run folder or its checkpoint.npz")
    e.add_argument("--data", help="MNIST file (default: the one the run used)")
    e.set_defaults(run=run)
    return e


def run(args: argparse.Namespace) -> int:
    """Print {"model", "test_accuracy", "test_loss", "checkpoint", "data"} as JSON; return 0."""
    loaded = models.load(args.checkpoint)  # the best parameters; refuses NaN ones
    meta = loaded.settings
    if missing := [key for key in ("validation", "seed") if key not in meta]:
        raise checkpoint.CheckpointError(f"{args.checkpoint}: metadata lacks {missing}")
    mnist, recorded = provenance.load_as_recorded(meta, args.data)
    mismatch = provenance.mismatch(recorded, mnist)
    if mismatch and recorded and not args.data:
        raise data.DataError(f"{mismatch}; pass --data {mnist.source} to evaluate on it anyway")
    if mismatch:
        print(f"fnn eval: WARNING: {mismatch}", file=sys.stderr)
    _, test = evaluate_test(loaded.model, loaded.params, loaded.state, mnist.test)
    print(
        json.dumps({"model": meta["model"], **test, "checkpoint": str(args.checkpoint), "data": mnist.source})
    )
    return 0
