"""Run every experiment of the report in full, then write the README's recipe table from the
results and the report's body (`make report` builds REPORT.pdf).

    python -m experiments.all [--quick] [--results DIR] [--only a,b] [--readme README.md]

In full about 30 minutes on a 2-core CPU (each experiment prints its own time); --quick runs every experiment's reduced
version (and leaves the README alone).
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from experiments import report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.all", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results", default="results")
    parser.add_argument("--only", help="comma-separated experiment names (default: all)")
    parser.add_argument("--readme", default="README.md")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(report.EXPERIMENTS)
    unknown = sorted(set(names) - set(report.EXPERIMENTS))
    if unknown:
        parser.error(
            f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(report.EXPERIMENTS)}"
        )
    start = time.perf_counter()
    for i, name in enumerate(names, 1):
        print(
            f"experiments.all: [{i}/{len(names)}] {name} ({time.perf_counter() - start:.0f} s so far)",
            flush=True,
        )
        module = importlib.import_module(f"experiments.{name}")
        module.main([*(["--quick"] if args.quick else []), "--out", str(Path(args.results) / name)])
    found = report.load(Path(args.results))
    if not args.quick and all(name in found for name in report.RECIPE_RUNS.values()):
        report.main(["--results", args.results, "--readme-path", args.readme, "--readme"])
    report.main(["--results", args.results])
    print(f"experiments.all: done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    main()
