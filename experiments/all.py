"""Run every experiment in full, then build REPORT.md.

    python -m experiments.all [--quick] [--results DIR]

About 40 minutes on a 2-core CPU in full, plus about 8 for activations, dropout and
init_loss; --quick runs every experiment's reduced version.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from experiments import report

# The report's experiments, then those it does not show yet.
EXPERIMENTS = report.EXPERIMENTS + tuple(
    name for name in ("activations", "dropout", "init_loss") if name not in report.EXPERIMENTS
)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m experiments.all", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results", default="results")
    parser.add_argument("--report", default="REPORT.md")
    args = parser.parse_args(argv)
    for name in EXPERIMENTS:
        module = importlib.import_module(f"experiments.{name}")
        module.main([*(["--quick"] if args.quick else []), "--out", str(Path(args.results) / name)])
    return report.main(["--results", args.results, "--out", args.report])


if __name__ == "__main__":
    main()
