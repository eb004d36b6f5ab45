"""`fnn gradcheck`: every registered layer and loss, hand-written backward vs `jax.vjp` vs finite
differences in float64, as a table with the equation labels (exit 1 if any relative error
reaches --tolerance); `--layer FILE.py:FUNCTION` diagnoses a layer of your own instead."""

from __future__ import annotations

import argparse
import json

from fnn import gradcheck
from fnn.cli import layerfile
from fnn.cli.usage import UsageError, open_for_writing, positive_float
from fnn.gradcheck import table

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    g = subparsers.add_parser(
        "gradcheck",
        help="hand-written backward vs jax.vjp vs finite differences, every layer; --layer: diagnose yours",
    )
    g.add_argument("--json", metavar="PATH", help="also write the table (or the diagnosis) as JSON")
    g.add_argument("--tolerance", type=positive_float, default=1e-9, help="max relative error (default 1e-9)")
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
    g.set_defaults(run=run)
    return g


def run(args: argparse.Namespace) -> int:
    """The table of every registered case (or `--layer`'s diagnosis); 1 if any fails."""
    if args.layer:
        return _diagnose_layer(args)
    if stray := [f"--{k.replace('_', '-')}" for k in ("in_shape", "train", "plot") if getattr(args, k)]:
        raise UsageError(f"{', '.join(stray)}: only with --layer FILE.py:FUNCTION")
    known = sorted({c.constructor for c in gradcheck.CASES})
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        raise UsageError(f"--only: no case named {', '.join(unknown)}; the names are {', '.join(known)}")
    json_file = open_for_writing(args.json) if args.json else None  # fail before the work, not after
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


def _diagnose_layer(args: argparse.Namespace) -> int:
    """`--layer FILE.py:FUNCTION --in-shape DIMS`: print the diagnosis; 1 if any array is wrong."""
    json_file = open_for_writing(args.json) if args.json else None  # fail before the work, not after
    if args.plot:
        open_for_writing(args.plot, "--plot").close()
    try:
        layer, in_shape = layerfile.load_layer(args.layer), layerfile.parse_in_shape(args.in_shape)
        batch = layerfile.positive_int("--batch", args.batch)
        options = dict(batch=batch, train=args.train, seed=args.seed, tolerance=args.tolerance)
        # the user's apply and backward run inside diagnose: their exceptions are usage errors too
        diagnosis = layerfile.run_user_code(
            f"diagnosing {layer.name}", gradcheck.diagnose, layer, in_shape, **options
        )
    except layerfile.SpecError as e:  # --debug shows the user's traceback, the cause
        raise UsageError(str(e)) from e.__cause__
    print(diagnosis)
    if json_file:
        with json_file:
            json.dump(diagnosis.as_dict(), json_file, indent=1)
    if args.plot:
        from fnn import plots  # matplotlib only where a figure is drawn

        print(f"wrote {plots.save(gradcheck.error_figure(diagnosis), args.plot)}")
    return 0 if diagnosis.ok else 1
