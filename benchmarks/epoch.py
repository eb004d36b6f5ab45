"""Epoch drivers: one compiled `lax.scan` over the batches vs one jitted step dispatched per
batch, for the CNN and the CNN with batch norm, on the real MNIST training set held on the
device. Times exclude compilation (the first epoch); the drivers alternate. Prints JSON.

    python -m benchmarks.epoch [--batch-size 128] [--train-size N] [--repeats 3] [--models cnn,cnn-bn]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from benchmarks.common import add_malloc_flag, alternate, emit, peak_rss_mib, setup
from fnn import data, models, optim
from fnn.losses import softmax_cross_entropy
from fnn.step import DRIVERS, default_driver, init_train_state, make_epoch


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epoch", description=__doc__)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, help="images per epoch (default: all 55,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="cnn,cnn-bn")
    parser.add_argument("--conv-impl", default="auto")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    mnist = data.load_mnist(subtract_mean=True)
    n = args.train_size or len(mnist.train.x)
    x, labels = jnp.asarray(mnist.train.x[:n]), jnp.asarray(mnist.train.labels[:n])
    out = {
        "benchmark": "epoch",
        **settings,
        "batch_size": args.batch_size,
        "images_per_epoch": (n // args.batch_size) * args.batch_size,
        "default_driver": default_driver(),
        "models": {},
    }
    for name in args.models.split(","):
        model = models.MODELS[name](conv_impl=args.conv_impl)
        opt = optim.momentum(0.01)
        contenders = {}
        for driver in DRIVERS:
            epoch = make_epoch(model, softmax_cross_entropy, opt, batch_size=args.batch_size, driver=driver)
            holder = [init_train_state(model, opt, (28, 28, 1))]

            def run(epoch=epoch, holder=holder):
                holder[0], losses, _ = epoch.run(holder[0], x, labels, jax.random.key(0))
                return losses

            contenders[driver] = run
        seconds = alternate(contenders, args.repeats, warmup=1)
        entry = {f"{d}_seconds_per_epoch": s for d, s in seconds.items()}
        entry.update({f"{d}_images_per_s": out["images_per_epoch"] / s for d, s in seconds.items()})
        entry["scan_over_step_time"] = seconds["scan"] / seconds["step"]
        entry["faster"] = min(seconds, key=seconds.get)
        out["models"][name] = entry
    out["peak_rss_mib"] = peak_rss_mib()  # the whole process: data, both drivers, compilation
    emit(out)
    return out


if __name__ == "__main__":
    main()
