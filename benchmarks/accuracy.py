"""Time to accuracy: train a model with its recipe (fnn's defaults) and report the training
time (compilation and evaluation excluded) at which the test accuracy, measured after each
epoch, first reached 98%, 99% and 99.2%. Prints JSON.

    python -m benchmarks.accuracy [--model cnn] [--epochs 5] [--batch-size B] [--lr LR]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

from benchmarks.common import add_malloc_flag, emit, setup
from fnn import data, models
from fnn.losses import softmax_cross_entropy
from fnn.step import default_driver, init_train_state, make_epoch
from fnn.train import make_evaluate

THRESHOLDS = (0.98, 0.99, 0.992)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    parser.add_argument("--model", default="cnn", choices=sorted(models.MODELS))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--driver", default=None)
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    recipe = models.RECIPES[args.model]
    epochs = args.epochs or recipe.epochs
    batch_size = args.batch_size or recipe.batch_size
    lr = args.lr or recipe.lr
    mnist = data.load_mnist(subtract_mean=True)
    x, labels = jnp.asarray(mnist.train.x), jnp.asarray(mnist.train.labels)
    test_x, test_labels = jnp.asarray(mnist.test.x), jnp.asarray(mnist.test.labels)
    model = models.MODELS[args.model](drop_rate=recipe.drop_rate)
    opt = recipe._replace(epochs=epochs, lr=lr, batch_size=batch_size).make_optimizer(len(x) // batch_size)
    driver = args.driver or default_driver()
    epoch = make_epoch(model, softmax_cross_entropy, opt, batch_size=batch_size, driver=driver)
    evaluate = make_evaluate(model)
    # one epoch on a throw-away state first (same shapes), so that no compilation is timed
    warm = init_train_state(model, opt, (28, 28, 1), seed=1)
    evaluate(warm.params, warm.state, test_x, test_labels)
    jax.block_until_ready(epoch.run(warm, x, labels, jax.random.key(99))[1])  # donates `warm`
    ts = init_train_state(model, opt, (28, 28, 1))
    elapsed, curve, reached = 0.0, [], {}
    for e in range(epochs):
        start = time.perf_counter()
        ts, losses, _ = epoch.run(ts, x, labels, jax.random.key(e))
        jax.block_until_ready(losses)
        elapsed += time.perf_counter() - start
        _, accuracy = evaluate(ts.params, ts.state, test_x, test_labels)
        curve.append({"epoch": e + 1, "seconds": elapsed, "test_accuracy": accuracy})
        for t in THRESHOLDS:
            if accuracy >= t and str(t) not in reached:
                reached[str(t)] = elapsed
    out = {
        "benchmark": "accuracy",
        **settings,
        "model": args.model,
        "driver": driver,
        "batch_size": batch_size,
        "lr": lr,
        "epochs": epochs,
        "seconds_to_test_accuracy": reached,
        "curve": curve,
        "final_test_accuracy": curve[-1]["test_accuracy"],
    }
    emit(out)
    return out


if __name__ == "__main__":
    main()
