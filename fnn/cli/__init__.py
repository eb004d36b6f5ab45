"""The `fnn` command: `fnn train`, `eval`, `predict`, `gradcheck`, `explore`, `handout` (`fnn --help`).

One module per subcommand (`fnn.cli.train`, ...), each with `add_parser` and `run`; this one
holds `main`: the parser, `--version`, and the mapping from errors to one line on stderr and
an exit status. Everything worded in flags lives in this package (settings, run folders, the
run lock, the data a run recorded); the library's errors name values, and the command words them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "keep_compiled_programs"]


def build_parser(config_defaults: dict | None = None) -> argparse.ArgumentParser:
    """The `fnn` parser; `config_defaults` (from `fnn train --config`) replace train's defaults."""
    from fnn.cli import eval, explore, gradcheck, handout, predict, train

    parser = argparse.ArgumentParser(
        prog="fnn",
        description="Neural networks with hand-written backward passes: train, evaluate, predict, check them.",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks (also: FNN_DEBUG=1)")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    commands = [
        gradcheck.add_parser(sub),
        train.add_parser(sub, config_defaults),
        eval.add_parser(sub),
        predict.add_parser(sub),
        explore.add_parser(sub),
        handout.add_parser(sub),
    ]
    for command in commands:  # `fnn train --debug` as well as `fnn --debug train`
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def _version() -> str:
    import jax

    import fnn

    return f"fnn {fnn.__version__} (jax {jax.__version__}, Python {sys.version.split()[0]})"


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


def keep_compiled_programs() -> str | None:
    """Keep the programs XLA compiles on disk, so that the next `fnn` command that runs the same
    ones (the same model, batch size and jax) loads them instead of compiling again: 5.3 s of
    a 12.9 s `fnn train --model fast` (benchmarks/RESULTS.md, "Compiled programs kept on disk").

    The folder is $FNN_COMPILE_CACHE, else ($XDG_CACHE_HOME or ~/.cache)/fnn/xla. It grows
    with each model and batch size (0.4 MB for `fast`) and may be deleted at any time; it has
    no size cap (JAX's cap needs the `filelock` package, not a dependency of fnn).
    FNN_COMPILE_CACHE=off turns it off. A JAX cache folder already configured
    (JAX_COMPILATION_CACHE_DIR, or a program that calls `main`) is left as it is. Returns the
    folder in use, or None (off, or it cannot be created: the command then compiles as it
    would without it).
    """
    import jax

    from fnn.download import cache_dir

    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return configured
    chosen = os.environ.get("FNN_COMPILE_CACHE", "")
    if chosen.lower() == "off":
        return None
    folder = Path(chosen) if chosen else cache_dir() / "xla"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    return str(folder)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `fnn` command; return its exit status.

    Exit statuses: 0 done; 1 a check failed (gradcheck) or an internal error; 2 a bad flag,
    file, checkpoint, data or folder, or a file that could not be written; 3 training
    diverged; 4 some of several files graded by `fnn gradcheck --layer` could not run
    (fnn/cli/grade.py); 130 / 143 interrupted by SIGINT / SIGTERM. Errors are one line on
    stderr; `--debug` (or the environment variable FNN_DEBUG=1) shows the Python traceback.
    """
    from fnn import runtime
    from fnn.checkpoint import CheckpointError
    from fnn.cli.lock import LockError
    from fnn.cli.settings import SettingsError
    from fnn.cli.usage import UsageError
    from fnn.data import DataError
    from fnn.preprocess import PreprocessError
    from fnn.train import DivergedError

    args = build_parser().parse_args(argv)
    if getattr(args, "config", None):  # fnn train --config: its values become the defaults
        from fnn.cli.settings import read_config

        try:
            args = build_parser(read_config(args.config)).parse_args(argv)
        except SettingsError as e:
            print(f"fnn train: error: {e}", file=sys.stderr)
            return 2
    debug = args.debug or os.environ.get("FNN_DEBUG", "") not in ("", "0")
    runtime.keep_freed_memory()  # this process trains: reuse the step's buffers (fnn.runtime)
    keep_compiled_programs()
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
