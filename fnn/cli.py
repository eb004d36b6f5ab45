"""The `fnn` command: `fnn train`, `fnn eval`, `fnn predict`, `fnn gradcheck` (`fnn --help`).

Every error a user can cause ends in one line on stderr and an exit status (see `main`).
"""

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
    from fnn.gradcheck import table

    if args.layer:
        return _gradcheck_layer(args, gradcheck)
    if stray := [f"--{k.replace('_', '-')}" for k in ("in_shape", "train", "plot") if getattr(args, k)]:
        raise UsageError(f"{', '.join(stray)}: only with --layer FILE.py:FUNCTION")
    known = sorted({c.constructor for c in gradcheck.CASES})
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        raise UsageError(f"--only: no case named {', '.join(unknown)}; the names are {', '.join(known)}")
    json_file = _open_for_writing(args.json) if args.json else None  # fail before the work, not after
    cases = [c for c in gradcheck.CASES if not args.only or c.constructor in args.only]
    print(f"{table.HEADER}\n{'-' * len(table.HEADER)}")
    rows, failed = [], 0
    for case in cases:
        report = gradcheck.run_case(case, finite_differences=not args.no_fd)
        print(table.row(report, args.tolerance), flush=True)
        rows.append(report.as_dict(args.tolerance))
        if not report.ok(args.tolerance):  # say what is wrong, below the row
            failed += 1
            lines, rows[-1]["diagnosis"] = table.diagnosis_lines(case, args.tolerance)
            print("\n".join(lines), flush=True)
    print(f"{len(cases) - failed} of {len(cases)} cases below tolerance {args.tolerance:g} (float64)")
    if json_file:
        with json_file:
            json.dump({"tolerance": args.tolerance, "cases": rows}, json_file, indent=1)
    return 1 if failed else 0


def _gradcheck_layer(args: argparse.Namespace, gradcheck) -> int:
    """`--layer FILE.py:FUNCTION --in-shape DIMS`: print the diagnosis; 1 if any array is wrong."""
    from fnn import plots
    from fnn.gradcheck import user

    json_file = _open_for_writing(args.json) if args.json else None  # fail before the work, not after
    if args.plot:
        _open_for_writing(args.plot, "--plot").close()
    try:
        layer, in_shape = user.load_layer(args.layer), user.parse_in_shape(args.in_shape)
        batch = user.positive_int("--batch", args.batch)
        options = dict(batch=batch, train=args.train, seed=args.seed, tolerance=args.tolerance)
        # the user's apply and backward run inside diagnose: their exceptions are usage errors too
        diagnosis = user.run_user_code(
            f"diagnosing {layer.name}", gradcheck.diagnose, layer, in_shape, **options
        )
    except user.SpecError as e:  # --debug shows the user's traceback, the cause
        raise UsageError(str(e)) from e.__cause__
    print(diagnosis)
    if json_file:
        with json_file:
            json.dump(diagnosis.as_dict(), json_file, indent=1)
    if args.plot:
        print(f"wrote {plots.save(gradcheck.error_figure(diagnosis), args.plot)}")
    return 0 if diagnosis.ok else 1


def _open_for_writing(path: str, flag: str = "--json"):
    try:
        return open(path, "w")
    except OSError as e:
        raise UsageError(f"{flag}: cannot write {path}: {e.strerror}") from None


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fnn import run

    fields = {f.name for f in dataclasses.fields(run.Settings)}
    settings = run.Settings(**{k: v for k, v in vars(args).items() if k in fields})
    out = Path(args.out or f"runs/{args.model}")
    result = run.train_recipe(
        settings, out, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet
    )
    if result is not None:
        print(json.dumps({k: _rounded(v) for k, v in result.metrics.items()}))
    return 0


def _rounded(value):
    """4 decimals below 10 (accuracies, losses), 1 above (seconds, images/s)."""
    if isinstance(value, float):
        return round(value, 4) if abs(value) < 10 else round(value, 1)
    return value


def _eval(args: argparse.Namespace) -> int:
    from fnn import checkpoint, data, models, provenance, run

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
    _, test = run.evaluate_test(loaded.model, loaded.params, loaded.state, mnist.test)
    print(
        json.dumps({"model": meta["model"], **test, "checkpoint": str(args.checkpoint), "data": mnist.source})
    )
    return 0


def build_parser(config_defaults: dict | None = None) -> argparse.ArgumentParser:
    """The `fnn` parser; `config_defaults` (from `fnn train --config`) replace train's defaults."""
    parser = argparse.ArgumentParser(prog="fnn", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks (also: FNN_DEBUG=1)")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "gradcheck",
        help="hand-written backward vs jax.vjp vs finite differences, every layer; --layer: diagnose yours",
    )
    g.add_argument("--json", metavar="PATH", help="also write the table (or the diagnosis) as JSON")
    g.add_argument(
        "--tolerance", type=_positive_float, default=1e-9, help="max relative error (default 1e-9)"
    )
    g.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these constructors, e.g. conv2d batch_norm"
    )
    g.add_argument("--no-fd", action="store_true", help="skip the finite-difference witness")
    g.add_argument("--layer", metavar="FILE.py:FUNCTION", help="diagnose the Layer that FUNCTION() returns")
    g.add_argument("--in-shape", metavar="DIMS", help="--layer's input shape per example, e.g. 8,8,3")
    g.add_argument("--train", action="store_true", help="--layer in train mode")
    g.add_argument("--batch", type=int, default=4, help="--layer's batch size N (default 4)")
    g.add_argument("--seed", type=int, default=0, help="--layer's random draws (default 0)")
    g.add_argument("--plot", metavar="PATH", help="--layer: draw |manual - autodiff| of each wrong array")
    g.set_defaults(run=_gradcheck)

    from fnn import settings

    t = sub.add_parser(
        "train",
        help="train a model on MNIST; writes a run folder (curves, metrics, checkpoint, ...)",
        description="Train a model on MNIST into a run folder. Each recipe setting left out takes\n"
        "the model's measured recipe (the table below); --config takes them from a run's config.json.",
        epilog=settings.recipe_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    settings.add_arguments(t, defaults=config_defaults)
    t.add_argument("--out", help="output folder (default: runs/<model>)")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the checkpoint in --out until --epochs epochs are done (same data, same settings)",
    )
    t.add_argument("--overwrite", action="store_true", help="replace the run files already in --out")
    t.add_argument(
        "--config",
        metavar="CONFIG_JSON",
        help="take the settings of a run's config.json; flags override them",
    )
    t.add_argument("--quiet", action="store_true", help="no progress lines and no summary; the JSON still")
    t.set_defaults(run=_train)

    e = sub.add_parser("eval", help="test accuracy of a checkpoint's best parameters")
    e.add_argument("--checkpoint", required=True, help="a run folder or its checkpoint.npz")
    e.add_argument("--data", help="MNIST file (default: the one the run used)")
    e.set_defaults(run=_eval)
    from fnn import predict

    p = predict.add_parser(sub)
    for command in (g, t, e, p):  # `fnn train --debug` as well as `fnn --debug train`
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def _version() -> str:
    import jax

    import fnn

    return f"fnn {fnn.__version__} (jax {jax.__version__}, Python {sys.version.split()[0]})"


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
    from fnn.preprocess import PreprocessError
    from fnn.settings import SettingsError
    from fnn.train import DivergedError

    args = build_parser().parse_args(argv)
    if getattr(args, "config", None):  # fnn train --config: its values become the defaults
        from fnn.settings import read_config

        try:
            args = build_parser(read_config(args.config)).parse_args(argv)
        except SettingsError as e:
            print(f"fnn train: error: {e}", file=sys.stderr)
            return 2
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
        if isinstance(e, (UsageError, SettingsError, DataError, CheckpointError, LockError, PreprocessError)):
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
