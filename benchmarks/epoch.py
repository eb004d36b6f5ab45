"""Epoch drivers: one compiled `lax.scan` over the batches vs one jitted step dispatched per
batch, for the CNN and the CNN with batch norm, on the real MNIST training set held on the
device. Times exclude compilation (the first epoch); the drivers alternate. Prints JSON.

`--compare-impls auto,winograd` compares conv impls on the whole CNN instead: its train step
(momentum SGD, manual gradients) at batch 64 and 128 with every conv by each impl, side by side
with a 2048^3 matmul whose FLOP/s over the CNN's dense FLOPs per image is the images/s ceiling;
then this benchmark once per impl in a subprocess (`--conv-impl`, CNN only), for each impl's peak
resident memory (ru_maxrss of that process) and epoch images/s.

    python -m benchmarks.epoch [--batch-size 128] [--train-size N] [--repeats 3] [--models cnn,cnn-bn]
                               [--conv-impl auto] [--compare-impls auto,winograd]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import jax
import jax.numpy as jnp

from benchmarks.common import add_malloc_flag, alternate, emit, peak_rss_mib, setup
from fnn import data, models, optim, runtime
from fnn.losses import softmax_cross_entropy
from fnn.step import DRIVERS, default_driver, init_train_state, make_epoch, make_train_step


def cnn_dense_flops() -> int:
    """FLOPs of one training image through the CNN by the dense definitions: forward, dW and dx
    (2 per multiply-add) of each conv and affine layer, less the first layer's unused dx."""
    macs = [28 * 28 * 32 * 9 * 1, 14 * 14 * 64 * 9 * 32, 3136 * 128, 128 * 10]  # forward, per image
    return sum(2 * m * (2 if i == 0 else 3) for i, m in enumerate(macs))


def _step(impl: str, x, labels):
    """A call of one CNN train step with every conv by `impl`, its state carried from call to call."""
    model, opt = models.cnn(conv_impl=impl), optim.momentum(0.01)
    step = make_train_step(model, softmax_cross_entropy, opt)
    holder = [init_train_state(model, opt, (28, 28, 1))]

    def run():
        holder[0], (loss, _) = step(holder[0], x, labels)
        return loss

    return run


def compare_impls(impls: list[str], args) -> dict:
    """Step ms by impl (side by side, with the ceiling) and each impl's epoch process (see above)."""
    n, repeats = 2048, 10 * args.repeats
    a, matmul = jnp.ones((n, n)), runtime.jit(jnp.matmul)
    out = {"dense_mflop_per_image": cnn_dense_flops() / 1e6, "step": {}, "epoch_process": {}}
    for batch in (64, 128):
        x = jax.random.uniform(jax.random.key(1), (batch, 28, 28, 1))
        labels = jax.random.randint(jax.random.key(2), (batch,), 0, 10)
        contenders = {"matmul": lambda: matmul(a, a), **{i: _step(i, x, labels) for i in impls}}
        seconds = alternate(contenders, repeats)
        ceiling = 2 * n**3 / seconds.pop("matmul") / cnn_dense_flops()
        entry = {"ceiling_images_per_s": ceiling, "matmul_gflop_per_s": ceiling * cnn_dense_flops() / 1e9}
        for impl, t in seconds.items():
            entry[impl] = {"ms": 1e3 * t, "images_per_s": batch / t, "of_ceiling": batch / t / ceiling}
            entry[impl]["time_over_" + impls[0]] = t / seconds[impls[0]]
        out["step"][f"batch_{batch}"] = entry
        print(f"  step, batch {batch}: {entry}", file=sys.stderr, flush=True)
    for impl in impls:  # one process each: ru_maxrss is the peak of the whole process
        argv = ["--conv-impl", impl, "--models", "cnn", "--batch-size", str(args.batch_size)]
        argv += ["--repeats", str(args.repeats)] + ["--glibc-malloc"] * args.glibc_malloc
        argv += ["--train-size", str(args.train_size)] if args.train_size else []
        command = [sys.executable, "-m", "benchmarks.epoch", *argv]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"benchmarks.epoch {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout)
        out["epoch_process"][impl] = {"peak_rss_mib": result["peak_rss_mib"], **result["models"]["cnn"]}
        print(f"  epoch process, {impl}: {out['epoch_process'][impl]}", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epoch", description=__doc__)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, help="images per epoch (default: all 55,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="cnn,cnn-bn")
    parser.add_argument("--conv-impl", default="auto")
    parser.add_argument("--compare-impls", help="comma-separated conv impls, e.g. auto,winograd")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    if args.compare_impls:
        run = {k: getattr(args, k) for k in ("batch_size", "train_size", "repeats", "compare_impls")}
        out = {"benchmark": "epoch", **settings, **run, **compare_impls(args.compare_impls.split(","), args)}
        emit(out)
        return out
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
