"""The three conv implementations (direct, im2col, xla): forward and forward+backward time
across input and batch sizes, side by side in one run; the measurement of
`experiments.conv_speed`, printed as JSON.

    python -m benchmarks.conv [--repeats 7]
"""

from __future__ import annotations

import argparse
import dataclasses

from benchmarks.common import emit, machine
from experiments import conv_speed


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    results = conv_speed.run(dataclasses.replace(conv_speed.Config(), repeats=args.repeats))
    out = {"benchmark": "conv", **machine(), **results}
    emit(out)
    return out


if __name__ == "__main__":
    main()
