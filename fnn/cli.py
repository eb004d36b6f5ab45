"""The `fnn` command: `fnn gradcheck`, `fnn train`, `fnn eval`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _gradcheck(args: argparse.Namespace) -> int:
    from fnn import gradcheck

    known = sorted({c.constructor for c in gradcheck.CASES})
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        raise UsageError(f"--only: no case named {', '.join(unknown)}; the names are {', '.join(known)}")
    json_file = _open_for_writing(args.json) if args.json else None  # fail before the work, not after
    cases = [c for c in gradcheck.CASES if not args.only or c.constructor in args.only]
    header = (
        f"{'case':<22} {'config':<58} {'equations':<40} {'max rel. error per array: autodiff / finite diff.'}"
    )
    print(header)
    print("-" * len(header))
    rows, failed = [], 0
    for case in cases:
        report = gradcheck.run_case(case, finite_differences=not args.no_fd)
        ok = report.ok(args.tolerance)
        failed += not ok
        cells = "  ".join(
            f"{e.name} {e.autodiff:.1e} / {'-' if e.finite_diff is None else f'{e.finite_diff:.1e}'}"
            for e in report.errors
        )
        equations = ",".join(label.removeprefix("eq:") for label in report.equations)
        print(
            f"{report.constructor:<22} {report.config:<58} {equations:<40} {cells}{'' if ok else '  FAIL'}",
            flush=True,
        )
        rows.append(report.as_dict(args.tolerance))
    print(f"{len(cases) - failed} of {len(cases)} cases below tolerance {args.tolerance:g} (float64)")
    if json_file:
        with json_file:
            json.dump({"tolerance": args.tolerance, "cases": rows}, json_file, indent=1)
    return 1 if failed else 0


def _open_for_writing(path: str):
    try:
        return open(path, "w")
    except OSError as e:
        raise UsageError(f"--json: cannot write {path}: {e.strerror}") from None


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fnn import run

    fields = {f.name for f in dataclasses.fields(run.Settings)}
    settings = run.Settings(**{k: v for k, v in vars(args).items() if k in fields})
    out = Path(args.out or f"runs/{args.model}")
    result = run.train_recipe(settings, out, resume=args.resume, overwrite=args.overwrite)
    if result is not None:
        print(json.dumps(result.metrics))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    import jax

    from fnn import checkpoint, data, models, provenance, run

    path = Path(args.checkpoint)
    path = path / "checkpoint.npz" if path.is_dir() else path
    meta = checkpoint.read_meta(path, require=("model", "validation", "seed"))
    try:
        model = models.from_settings(meta)
    except ValueError as e:
        raise checkpoint.CheckpointError(f"{path}: {e}") from None
    _, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    best = checkpoint.load(path, {"best": {"params": params, "state": state}})[0]["best"]
    if bad := checkpoint.nonfinite(best):
        raise checkpoint.CheckpointError(
            f"{path}: the saved parameters are not finite ({', '.join(bad[:3])}); the run diverged, train it again"
        )
    mnist, recorded = provenance.load_as_recorded(meta, args.data)
    mismatch = provenance.mismatch(recorded, mnist)
    if mismatch and recorded and not args.data:
        raise data.DataError(f"{mismatch}; pass --data {mnist.source} to evaluate on it anyway")
    if mismatch:
        print(f"fnn eval: WARNING: {mismatch}", file=sys.stderr)
    _, test = run.evaluate_test(model, best["params"], best["state"], mnist.test)
    print(json.dumps({"model": meta["model"], **test, "checkpoint": str(path), "data": mnist.source}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fnn", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks (also: FNN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "gradcheck", help="hand-written backward vs jax.vjp vs finite differences, every layer"
    )
    g.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    g.add_argument(
        "--tolerance", type=_positive_float, default=1e-9, help="max relative error (default 1e-9)"
    )
    g.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these constructors, e.g. conv2d batch_norm"
    )
    g.add_argument("--no-fd", action="store_true", help="skip the finite-difference witness")
    g.set_defaults(run=_gradcheck)

    from fnn.layers.conv import CONV_IMPLS
    from fnn.models import RECIPES
    from fnn.optim import OPTIMIZERS
    from fnn.step import DRIVERS, GRADIENTS

    t = sub.add_parser(
        "train",
        help="train a model on MNIST; writes history.json, metrics.json, curves.png, a checkpoint",
        description="Defaults (optimizer, lr, epochs, ...) are each model's measured recipe; see the README.",
    )
    t.add_argument("--model", choices=sorted(RECIPES), default="cnn")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS))
    t.add_argument("--lr", type=float, help="peak learning rate (linear warm-up, then cosine decay)")
    t.add_argument("--momentum", type=float, help="mu of momentum and nesterov")
    t.add_argument("--epochs", type=int, help="total epochs (with --resume: until this many are done)")
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--weight-decay", dest="weight_decay", type=float, help="L2 on weights, not biases or BN")
    t.add_argument("--warmup-steps", dest="warmup_steps", type=int)
    t.add_argument("--schedule", choices=["cosine", "constant"])
    t.add_argument(
        "--drop-rate",
        dest="drop_rate",
        type=float,
        help="dropout (probability of zeroing) before the last affine",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--gradients", choices=GRADIENTS, default="manual")
    t.add_argument("--conv-impl", dest="conv_impl", choices=CONV_IMPLS, default="auto")
    t.add_argument("--driver", choices=DRIVERS, help="epoch driver (default: step on CPU, scan on GPU)")
    t.add_argument(
        "--validation",
        type=int,
        default=5000,
        help="training images held out for validation (0: none; the best epoch is then the last)",
    )
    t.add_argument(
        "--patience", type=int, help="stop after this many epochs without a better validation accuracy"
    )
    t.add_argument(
        "--data", help="MNIST file or IDX folder (default: FNN_MNIST, data/mnist_all.mat, cache, download)"
    )
    t.add_argument("--out", help="output folder (default runs/<model>)")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the checkpoint in --out until --epochs epochs are done (same data, same settings)",
    )
    t.add_argument("--overwrite", action="store_true", help="replace the run files already in --out")
    t.add_argument(
        "--devices",
        type=int,
        default=1,
        help="data-parallel over this many devices (on CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N)",
    )
    t.set_defaults(run=_train)

    e = sub.add_parser("eval", help="test accuracy of a checkpoint's best parameters")
    e.add_argument("--checkpoint", required=True, help="a run folder or its checkpoint.npz")
    e.add_argument("--data", help="MNIST file (default: the one the run used)")
    e.set_defaults(run=_eval)
    for command in (g, t, e):  # `fnn train --debug` as well as `fnn --debug train`
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


class UsageError(ValueError):
    """A command-line value that cannot work (exit 2, like argparse's own errors)."""


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so that training stops the way Ctrl-C stops it."""


def _on_sigterm(signum, frame):
    raise _Terminated


def _interrupted(command: str, error: KeyboardInterrupt) -> int:
    from fnn.train import Interrupted

    signal_exit = 143 if isinstance(error, _Terminated) or isinstance(error.__cause__, _Terminated) else 130
    if not isinstance(error, Interrupted):
        print(f"fnn {command}: interrupted", file=sys.stderr)
    elif error.checkpoint_epoch is None:
        print(
            f"fnn {command}: interrupted in epoch {error.epoch}, before any checkpoint was written",
            file=sys.stderr,
        )
    else:
        print(
            f"fnn {command}: interrupted in epoch {error.epoch}; the checkpoint of epoch "
            f"{error.checkpoint_epoch} is intact; rerun with --resume",
            file=sys.stderr,
        )
    return signal_exit


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `fnn` command; return its exit status.

    Exit statuses: 0 done; 1 a check failed (gradcheck) or an internal error; 2 a bad flag,
    file, checkpoint, data or folder, or a file that could not be written; 3 training
    diverged; 130 / 143 interrupted by SIGINT / SIGTERM. Errors are one line on stderr; `--debug` (or the
    environment variable FNN_DEBUG=1) shows the Python traceback instead.
    """
    from fnn import runtime
    from fnn.checkpoint import CheckpointError
    from fnn.data import DataError
    from fnn.lock import LockError
    from fnn.settings import SettingsError
    from fnn.train import DivergedError

    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("FNN_DEBUG", "") not in ("", "0")
    runtime.keep_freed_memory()  # this process trains: reuse the step's buffers (fnn.runtime)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return args.run(args)
    except KeyboardInterrupt as e:
        if debug:
            raise
        return _interrupted(args.command, e)
    except Exception as e:
        if debug:
            raise
        if isinstance(e, (UsageError, SettingsError, DataError, CheckpointError, LockError)):
            status, message = 2, f"error: {e}"
        elif isinstance(e, DivergedError):
            status, message = 3, str(e)
        elif isinstance(e, OSError):
            status, message = 2, f"error: {e.filename or ''}: {e.strerror or e}"
        else:
            first_line = (str(e).splitlines() or [""])[0]
            status, message = (
                1,
                f"internal error: {type(e).__name__}: {first_line} (--debug shows the traceback)",
            )
        print(f"fnn {args.command}: {message}", file=sys.stderr)
        return status
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
