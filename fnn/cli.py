"""The `fnn` command: `fnn gradcheck`, `fnn train`, `fnn eval`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _gradcheck(args: argparse.Namespace) -> int:
    from fnn import gradcheck

    cases = [c for c in gradcheck.CASES if not args.only or c.constructor in args.only]
    if not cases:
        print(f"fnn gradcheck: no case matches --only {args.only}", file=sys.stderr)
        return 2
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
        rows.append(
            {
                "constructor": report.constructor,
                "config": report.config,
                "equations": list(report.equations),
                "errors": {
                    e.name: {"autodiff": e.autodiff, "finite_diff": e.finite_diff} for e in report.errors
                },
                "max_error": report.max_error(),
                "ok": ok,
            }
        )
    print(f"{len(cases) - failed} of {len(cases)} cases below tolerance {args.tolerance:g} (float64)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tolerance": args.tolerance, "cases": rows}, f, indent=1)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "gradcheck", help="hand-written backward vs jax.vjp vs finite differences, every layer"
    )
    g.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    g.add_argument("--tolerance", type=float, default=1e-9, help="max relative error (default 1e-9)")
    g.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these constructors, e.g. conv2d batch_norm"
    )
    g.add_argument("--no-fd", action="store_true", help="skip the finite-difference witness")
    g.set_defaults(run=_gradcheck)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
