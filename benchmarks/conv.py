"""The three conv implementations (direct, im2col, xla): forward and forward+backward time
across input and batch sizes, side by side in one run; the measurement of
`experiments.conv_speed`, printed as JSON.

    python -m benchmarks.conv [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses

from benchmarks.common import add_malloc_flag, emit, setup
from experiments import conv_speed


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one small size (a smoke test)")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    config = dataclasses.replace(conv_speed.Config(), **(conv_speed.QUICK if args.quick else {}))
    results = conv_speed.run(dataclasses.replace(config, repeats=args.repeats))
    out = {"benchmark": "conv", **settings, **results}
    emit(out)
    return out


if __name__ == "__main__":
    main()
