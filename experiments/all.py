"""Run every experiment of the report (or redraw its figures), then write the report's numbers
(report/build/numbers.tex) and the README's recipe table from the results; `make report` then
builds REPORT.pdf and SUPPLEMENT.pdf.

    python -m experiments.all [--quick | --replot] [--results DIR] [--only a,b] [--readme README.md]

In full about 97 minutes on a 2-core CPU, 56 of them `best`'s (each experiment prints its own
time). --quick runs every experiment's reduced version (and leaves the README alone); --replot
trains nothing and redraws every experiment's figures from its results.json
(`python -m experiments.<name> --replot`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from experiments import report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.all", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="every experiment's reduced run (seconds each)")
    mode.add_argument(
        "--replot", action="store_true", help="redraw every experiment's figures; train nothing"
    )
    parser.add_argument("--results", default="results")
    parser.add_argument("--only", help="comma-separated experiment names (default: all)")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument(
        "--numbers", default="report/build/numbers.tex", help="where to write the report's numbers"
    )
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(report.EXPERIMENTS)
    unknown = sorted(set(names) - set(report.EXPERIMENTS))
    if unknown:
        parser.error(
            f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(report.EXPERIMENTS)}"
        )
    start = time.perf_counter()
    for i, name in enumerate(names, 1):
        out = Path(args.results) / name
        if args.replot and not (out / "results.json").is_file():
            print(
                f"experiments.all: [{i}/{len(names)}] {name}: no {out / 'results.json'} to redraw", flush=True
            )
            continue
        print(
            f"experiments.all: [{i}/{len(names)}] {name} ({time.perf_counter() - start:.0f} s so far)",
            flush=True,
        )
        flags = ["--quick"] if args.quick else ["--replot"] if args.replot else []
        importlib.import_module(f"{report.PACKAGE}.{name}").main([*flags, "--out", str(out)])
    found = report.load(Path(args.results))
    if not args.quick and all(name in found for name, _ in report.RECIPE_RUNS.values()):
        report.main(["--results", args.results, "--readme-path", args.readme, "--readme"])
    problems = report.write(Path(args.results), Path(args.numbers))
    print(f"experiments.all: wrote {args.numbers}; done in {time.perf_counter() - start:.0f} s")
    if problems:
        print(
            f"experiments.all: {len(problems)} problems in the report's facts or prose "
            "(`python -m experiments.report` lists them; `make report` fails until they are fixed)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
