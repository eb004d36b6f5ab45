"""`fnn gradcheck`: every registered layer and loss, hand-written backward vs `jax.vjp` vs finite
differences in float64, as a table with the equation labels (exit 1 if any relative error
reaches --tolerance); `--layer FILE.py:FUNCTION` diagnoses a layer of your own instead, and
with `--like NAME` checks it against fnn's NAME on NAME's registered cases. A folder, a glob or
several --layer grade many files, each in its own process (`fnn.cli.grade`)."""

from __future__ import annotations

import argparse
import json

import fnn.cli.grade as grade
import fnn.cli.layerfile as layerfile
from fnn import gradcheck
from fnn.cli.usage import UsageError, open_for_writing, positive_float, positive_int
from fnn.gradcheck import table

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    g = subparsers.add_parser(
        "gradcheck",
        help="hand-written backward vs jax.vjp vs finite differences, every layer; --layer: diagnose yours",
        description=__doc__,
        epilog=grade.EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("--json", metavar="PATH", help="also write the table (or the diagnosis) as JSON")
    g.add_argument("--tolerance", type=positive_float, default=1e-9, help="max relative error (default 1e-9)")
    g.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these constructors, e.g. conv2d batch_norm"
    )
    g.add_argument("--no-fd", action="store_true", help="skip the finite-difference witness")
    g.add_argument(
        "--layer",
        action="append",
        metavar="FILE.py:FUNCTION",
        help="diagnose the Layer that FUNCTION() returns; FOLDER:FUNCTION, a quoted glob "
        "('subs/*.py:FUNCTION') or several --layer grade each file in its own process",
    )
    g.add_argument(
        "--like",
        metavar="NAME",
        help="--layer: check against fnn's NAME (e.g. max_pool2d, softmax_cross_entropy, momentum) on "
        "its registered cases, FUNCTION called with the arguments NAME gets in each",
    )
    g.add_argument("--in-shape", metavar="DIMS", help="--layer's input shape per example, e.g. 8,8,3")
    g.add_argument("--train", action="store_true", help="--layer in train mode")
    g.add_argument("--batch", type=int, default=None, help="--layer's batch size N (default 4)")
    g.add_argument("--seed", type=int, default=0, help="--layer's random draws (default 0)")
    g.add_argument("--plot", metavar="PATH", help="--layer: draw |manual - autodiff| of each wrong array")
    g.add_argument("--csv", metavar="PATH", help="--layer: also write one line per file (a gradebook)")
    g.add_argument("--timeout", type=positive_float, help="several files: seconds each may run (default 60)")
    g.add_argument("--jobs", type=positive_int, help="several files: how many run at once (default: cores)")
    g.set_defaults(run=run)
    return g


def run(args: argparse.Namespace) -> int:
    """The table of every registered case (or `--layer`'s check, or grading); 1 if any fails."""
    if args.layer:
        _check_layer_flags(args)
        if grade.is_bulk(args.layer):
            try:
                return grade.run(args)
            except layerfile.SpecError as e:
                raise UsageError(str(e)) from None
        if stray := _given(args, "timeout", "jobs"):
            raise UsageError(f"{stray}: only with several files (a folder, a glob or several --layer)")
        return _check_one(args)
    if stray := _given(args, "in_shape", "train", "plot", "like", "csv", "batch", "timeout", "jobs"):
        raise UsageError(f"{stray}: only with --layer FILE.py:FUNCTION")
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


def _given(args: argparse.Namespace, *names: str) -> str:
    """The flags among `names` that were given, as `--a, --b` ("" if none)."""
    return ", ".join(f"--{n.replace('_', '-')}" for n in names if getattr(args, n) not in (None, False))


def _check_layer_flags(args: argparse.Namespace) -> None:
    """The flags that go with --layer, checked before any file is read."""
    if args.like:
        try:
            gradcheck.reference_kind(args.like)
        except ValueError:
            names = ", ".join(gradcheck.reference_names())
            raise UsageError(
                f"--like: fnn has no registered cases for {args.like!r}; the names are {names}"
            ) from None
        if stray := _given(args, "in_shape", "train", "batch"):
            raise UsageError(f"{stray}: not with --like (the registered cases of {args.like} fix them)")


def _check_one(args: argparse.Namespace) -> int:
    """One file, in this process: the diagnosis (or the comparison, with --like); 1 if anything is wrong."""
    (spec,) = args.layer
    json_file = open_for_writing(args.json) if args.json else None  # fail before the work, not after
    csv_file = open_for_writing(args.csv, "--csv") if args.csv else None
    if args.plot:
        open_for_writing(args.plot, "--plot").close()
    path, _, function = spec.rpartition(":")
    rec = grade.error_record(path, function, "not checked: interrupted")
    try:
        try:
            if args.like:
                rec, figure_source = _compare(args, spec)
            else:
                rec, figure_source = _diagnose(args, spec, want_errors=bool(json_file or csv_file))
        except layerfile.SpecError as e:  # --debug shows the user's traceback, the cause
            rec = grade.error_record(path, function, str(e))
            raise UsageError(str(e)) from e.__cause__
        except Exception as e:
            rec = grade.error_record(path, function, f"internal error: {type(e).__name__}: {e}")
            raise
    finally:  # the files say what happened, whatever happened
        if json_file:
            with json_file:
                json.dump(rec, json_file, indent=1)
        if csv_file:
            with csv_file:
                grade.write_csv([rec], csv_file)
    if args.plot:
        from fnn import plots  # matplotlib only where a figure is drawn

        print(f"wrote {plots.save(gradcheck.error_figure(figure_source), args.plot)}")
    return 0 if rec["status"] == "ok" else 1


def _diagnose(args: argparse.Namespace, spec: str, *, want_errors: bool) -> tuple[dict, gradcheck.Diagnosis]:
    """`--layer FILE.py:FUNCTION --in-shape DIMS`: print the doctor's diagnosis; the record."""
    path, function = layerfile.split_spec(spec)
    layer, in_shape = layerfile.load_layer(spec), layerfile.parse_in_shape(args.in_shape)
    batch = layerfile.positive_int("--batch", 4 if args.batch is None else args.batch)
    options = dict(batch=batch, train=args.train, seed=args.seed, tolerance=args.tolerance)
    # the user's apply and backward run inside diagnose: their exceptions are usage errors too
    diagnosis = layerfile.run_user_code(
        f"diagnosing {layer.name}", gradcheck.diagnose, layer, in_shape, **options
    )
    print(diagnosis)
    errors = _relative_errors(layer, in_shape, options, diagnosis) if want_errors else {}
    arrays = [
        {"array": f.array, "kind": f.kind, "max_rel_error": errors.get(f.array), "detail": f.detail}
        for f in diagnosis.findings
    ]
    numbers = [e for e in errors.values() if e is not None]
    rec = grade.record(
        path,
        function,
        "ok" if diagnosis.ok else "wrong",
        arrays=arrays,
        max_rel_error=max(numbers) if numbers and len(numbers) == len(arrays) else None,
    )
    return {**diagnosis.as_dict(), **rec}, diagnosis


def _relative_errors(layer, in_shape, options: dict, diagnosis) -> dict:
    """Per gradient array, backward vs autodiff (`check_layer`, no finite differences); None
    where the doctor found a wrong shape, or where the check cannot run."""
    try:
        report = gradcheck.check_layer(
            layer,
            in_shape,
            batch=options["batch"],
            train=options["train"],
            seed=options["seed"],
            finite_differences=False,
        )
    except Exception:  # a structure the check refuses: the findings say what is wrong
        return {f.array: None for f in diagnosis.findings}
    shaped = {f.array for f in diagnosis.findings if f.kind == "shape"}
    found = {e.name: e.autodiff for e in report.errors}
    return {f.array: None if f.array in shaped else _finite(found.get(f.array)) for f in diagnosis.findings}


def _finite(value):
    return None if value is None or value != value or value in (float("inf"), float("-inf")) else value


def _compare(args: argparse.Namespace, spec: str) -> tuple[dict, gradcheck.Diagnosis]:
    """`--layer FILE.py:FUNCTION --like NAME`: print the comparison with fnn's NAME; the record."""
    path, function = layerfile.split_spec(spec)
    make = layerfile.constructor(spec, gradcheck.reference_kind(args.like))
    comparison = layerfile.run_user_code(
        f"checking {function} like fnn's {args.like}",
        gradcheck.compare,
        make,
        args.like,
        seed=args.seed,
        tolerance=args.tolerance,
    )
    print(comparison)
    found = comparison.as_dict()
    arrays = [
        {
            "array": f["array"],
            "kind": f["kind"],
            "max_rel_error": f["max_rel_error"],
            "detail": f["detail"],
            "case": case["constructor"] + case["config"],
        }
        for case in found["cases"]
        for f in case["findings"]
    ]
    rec = grade.record(
        path,
        function,
        "ok" if comparison.ok else "wrong",
        arrays=arrays,
        max_rel_error=comparison.max_error(),
    )
    return {**rec, "like": args.like, "cases": found["cases"]}, _figure_source(comparison)


def _figure_source(comparison: gradcheck.Comparison) -> gradcheck.Diagnosis:
    """The diagnosis whose error maps --plot draws: the first with a wrong array it can draw."""
    diagnoses = [c.diagnosis for c in comparison.cases if c.diagnosis is not None]
    for diagnosis in diagnoses:
        if any(f.kind != "ok" and f.array in diagnosis.errors for f in diagnosis.findings):
            return diagnosis
    return diagnoses[0] if diagnoses else gradcheck.Diagnosis(comparison.name, "", (), {})
