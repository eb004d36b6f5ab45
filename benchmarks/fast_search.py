"""Architectures for the `fast` recipe, each trained with the recipe's settings over the same
seeds: test accuracy of the best-validation epoch (what `fnn train` reports) and the training
seconds. The step's speed of each shape is `benchmarks.fast_step`'s; this measures whether the
cheaper shapes keep the accuracy the recipe promises (99.0% over 5 seeds).

Seeds run in order inside each trial and the first run of a shape pays its compilation, so
compare `seconds` of later seeds only, and only within this one run of the benchmark.

    python -m benchmarks.fast_search [--trials channels_24_32,channels_16_32] [--seeds 5]
        [--data F --validation N --batch-size B]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from benchmarks.common import emit
from fnn import data, models, runtime
from fnn.models.architectures import small_cnn
from fnn.train import best_epoch, evaluate_test, fit

RECIPE = models.RECIPES["fast"]
TRIALS = {  # small_cnn's shape in each (its defaults, the recipe's network, are channels_16_32)
    "channels_24_32": {"channels": (24, 32)},  # the published 99%-in-one-epoch network
    "channels_16_32": {"channels": (16, 32)},
    "channels_16_24": {"channels": (16, 24)},
    "kernels_3_3": {"channels": (24, 32), "kernels": (3, 3)},
    "channels_16_32_kernels_3_3": {"channels": (16, 32), "kernels": (3, 3)},
}


def run(name: str, seed: int, mnist, recipe=RECIPE) -> dict:
    """Train trial `name` once with `recipe` on `mnist` (`seed`'s split); its accuracy and seconds."""
    model = small_cnn(**TRIALS[name])
    optimizer = recipe.make_optimizer(len(mnist.train.x) // recipe.batch_size)
    start = time.perf_counter()
    result = fit(model, mnist, optimizer, epochs=recipe.epochs, batch_size=recipe.batch_size, seed=seed, log=None)
    _, test = evaluate_test(model, result.best_params, result.best_state, mnist.test)
    return {
        "seed": seed,
        "seconds": time.perf_counter() - start,
        "best_epoch": best_epoch(result.history),
        "test_accuracy": test["test_accuracy"],
        "val": [h["val_accuracy"] for h in result.history],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fast_search", description=__doc__)
    parser.add_argument("--trials", default=",".join(TRIALS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--data", help="MNIST file (default: fnn.data's search)")
    parser.add_argument("--validation", type=int, default=5000, help="training images held out")
    parser.add_argument("--batch-size", type=int, default=RECIPE.batch_size)
    args = parser.parse_args(argv)
    names = args.trials.split(",")
    unknown = sorted(set(names) - set(TRIALS))
    if unknown:
        parser.error(f"unknown trial(s) {', '.join(unknown)}; choose from {', '.join(TRIALS)}")
    runtime.keep_freed_memory()
    recipe = RECIPE._replace(batch_size=args.batch_size)
    trials = []
    for name in names:
        runs = []
        for seed in range(args.seeds):
            mnist = data.load_mnist(args.data, validation=args.validation, seed=seed, subtract_mean=True)
            runs.append(run(name, seed, mnist, recipe))
            print(f"{name} seed {seed}: {runs[-1]['test_accuracy']:.4f} ({runs[-1]['seconds']:.1f} s)", file=sys.stderr)
        accuracies = [r["test_accuracy"] for r in runs]
        trials.append(
            {
                "trial": name,
                "model": TRIALS[name],
                "mean_test_accuracy": statistics.mean(accuracies),
                "sd_test_accuracy": statistics.stdev(accuracies) if len(runs) > 1 else 0.0,
                "runs": runs,
            }
        )
    out = {"benchmark": "fast_search", **runtime.device_info(), "recipe": recipe._asdict(), "trials": trials}
    emit(out)
    return out


if __name__ == "__main__":
    main()
