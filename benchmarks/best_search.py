"""Candidate changes to the `best` recipe as it was before this search (the network without
`extra_convs`, commit f2db71c), one training run each on one seed; trial G became the recipe.
Prints JSON: per trial the training seconds (fit: compilation and validation included), the
test accuracy of the best-validation epoch (what the recipe reports) and of the last epoch, and
the validation and training accuracy of every epoch.

One seed cannot separate differences of about 0.1 point (the recipe's sd over seeds is
0.04-0.08): a trial that looks better is a candidate for a run over seeds, not a result.

    python -m benchmarks.best_search [--trials A_45_epochs,B_hidden_512] [--seed 0] [--epochs N]
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks.common import emit
from fnn import data, models, runtime
from fnn.augment import augmentation
from fnn.models.architectures import small_cnn
from fnn.train import best_epoch, evaluate_test, fit

BASE = models.RECIPES["best"]
AFFINE = models.AUGMENTATIONS[BASE.augment]
# `best`'s network when the search ran; trial G's is models.MODELS["best"] now.
MODEL = {"channels": (32, 64), "kernels": (5, 5), "batch_norm": True}
TRIALS = {  # each: what differs from that network and the recipe's settings
    "recipe": {},  # the network above with the recipe's settings
    "A_45_epochs": {"recipe": {"epochs": 45}},
    "B_hidden_512": {"model": {"hidden": 512}},
    "C_mild_affine": {"augment": {"rotation": 10.0, "scale": 0.1, "shift": 0.1}},
    "D_batch_64": {"recipe": {"batch_size": 64, "lr": 0.05, "warmup_steps": 1000}},
    "E_channels_48_96": {"model": {"channels": (48, 96)}},
    "F_affine_elastic": {"augment": {**AFFINE, "elastic_alpha": 34.0, "elastic_sigma": 4.0}},
    "G_extra_3x3_convs": {"model": {"extra_convs": 1}},
}


def trial(name: str, mnist, seed: int, epochs: int | None = None) -> dict:
    """Train trial `name` once on `mnist` with `seed` (for `epochs`, if given, whatever the
    trial says); its accuracies and seconds."""
    changes = TRIALS[name]
    recipe = BASE._replace(**changes.get("recipe", {}))
    recipe = recipe._replace(epochs=epochs) if epochs else recipe
    model = small_cnn(**{**MODEL, "drop_rate": recipe.drop_rate, **changes.get("model", {})})
    optimizer = recipe.make_optimizer(len(mnist.train.x) // recipe.batch_size)
    start = time.perf_counter()
    result = fit(
        model,
        mnist,
        optimizer,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        seed=seed,
        augment=augmentation(**changes.get("augment", AFFINE)),
        log=None,
    )
    seconds = time.perf_counter() - start
    _, chosen = evaluate_test(model, result.best_params, result.best_state, mnist.test)
    last = result.train_state
    _, final = evaluate_test(model, last.params, last.state, mnist.test)
    return {
        "trial": name,
        "changes": changes,
        "seed": seed,
        "seconds": seconds,
        "best_epoch": best_epoch(result.history),
        "test_best_val_epoch": chosen["test_accuracy"],
        "test_last_epoch": final["test_accuracy"],
        "val": [h["val_accuracy"] for h in result.history],
        "train_acc": [h["train_accuracy"] for h in result.history],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.best_search", description=__doc__)
    parser.add_argument("--trials", default=",".join(t for t in TRIALS if t != "recipe"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="MNIST file (default: fnn.data's search)")
    parser.add_argument("--validation", type=int, default=5000, help="training images held out")
    parser.add_argument("--epochs", type=int, help="every trial this many epochs (a quick check)")
    args = parser.parse_args(argv)
    names = args.trials.split(",")
    unknown = sorted(set(names) - set(TRIALS))
    if unknown:
        parser.error(f"unknown trial(s) {', '.join(unknown)}; choose from {', '.join(TRIALS)}")
    runtime.keep_freed_memory()
    mnist = data.load_mnist(args.data, validation=args.validation, seed=args.seed, subtract_mean=True)
    trials = []
    for name in names:
        trials.append(trial(name, mnist, args.seed, args.epochs))
        done = trials[-1]
        print(f"{name}: {done['test_best_val_epoch']:.4f} ({done['seconds']:.0f} s)", file=sys.stderr)
    out = {"benchmark": "best_search", **runtime.device_info(), "recipe": BASE._asdict(), "trials": trials}
    emit(out)
    return out


if __name__ == "__main__":
    main()
