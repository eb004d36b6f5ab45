"""fnn vs PyTorch eager on the same models, threads and batch (CPU). Runs only when PyTorch
is importable (it is never a dependency of fnn); otherwise prints {"skipped": why}.

Same architecture, He initialisation, momentum SGD, float32; both use all the process's CPU
threads. The contenders alternate; medians of ms per training step. Prints JSON.

    python -m benchmarks.vs_torch [--batch-size 64] [--repeats 20] [--models mlp,cnn,cnn-bn,fast]
"""

from __future__ import annotations

import argparse
import inspect
import os

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.common import add_malloc_flag, alternate, emit, setup
from fnn import models, optim
from fnn.losses import softmax_cross_entropy
from fnn.models.architectures import small_cnn
from fnn.step import init_train_state, make_train_step


TWINS = ("mlp", "cnn", "cnn-bn", "fast")  # the models torch_model builds


def torch_model(torch, name: str):
    """PyTorch's twin of `fnn.models.MODELS[name]`, checked to have as many parameters."""
    net = _twin(torch, name)
    _, params, _ = models.MODELS[name]().init(jax.random.key(0), (28, 28, 1))
    ours = sum(int(np.size(leaf)) for leaf in jax.tree.leaves(params))
    theirs = sum(p.numel() for p in net.parameters())
    if ours != theirs:
        raise ValueError(f"{name}: fnn's model has {ours} parameters, PyTorch's twin {theirs}")
    return net


def _twin(torch, name: str):
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    if name == "fast":  # fnn.models.small_cnn's defaults
        c1, c2 = inspect.signature(small_cnn).parameters["channels"].default
        return nn.Sequential(
            nn.Conv2d(1, c1, 5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(25 * c2, 256),
            nn.ReLU(),
            nn.Linear(256, 10),
        )
    if name not in TWINS:
        raise ValueError(f"no PyTorch twin of {name!r}: choose from {', '.join(TWINS)}")
    bn = name == "cnn-bn"

    def block(c_in, c_out):
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1),
            *([nn.BatchNorm2d(c_out)] if bn else []),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]

    return nn.Sequential(
        *block(1, 32),
        *block(32, 64),
        nn.Flatten(),
        nn.Linear(3136, 128),
        *([nn.BatchNorm1d(128)] if bn else []),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vs_torch", description=__doc__)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--models", default="mlp,cnn,cnn-bn,fast")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    names = args.models.split(",")
    if unknown := sorted(set(names) - set(TWINS)):
        parser.error(f"no PyTorch twin of {', '.join(unknown)}; choose from {', '.join(TWINS)}")
    try:
        import torch
    except ImportError as e:
        out = {"benchmark": "vs_torch", "skipped": f"PyTorch is not importable ({e})"}
        emit(out)
        return out
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 28, 28, 1), np.float32)
    labels = rng.integers(0, 10, args.batch_size).astype(np.int32)
    fx, fy = jnp.asarray(x), jnp.asarray(labels)
    tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW for PyTorch
    ty = torch.from_numpy(labels.astype(np.int64))
    out = {
        "benchmark": "vs_torch",
        **setup(args),
        "torch": torch.__version__,
        "threads": threads,
        "batch_size": args.batch_size,
        "models": {},
    }
    for name in names:
        model = models.MODELS[name]()
        opt = optim.momentum(0.01)
        step = make_train_step(model, softmax_cross_entropy, opt)
        holder = [init_train_state(model, opt, (28, 28, 1))]

        def run_fnn(step=step, holder=holder):
            holder[0], (value, _) = step(holder[0], fx, fy)
            return value

        net = torch_model(torch, name)
        torch_opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def run_torch(net=net, torch_opt=torch_opt, loss_fn=loss_fn):
            torch_opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(tx), ty)
            loss.backward()
            torch_opt.step()
            return jnp.zeros(())  # already finished: PyTorch CPU is synchronous

        seconds = alternate({"fnn": run_fnn, "torch_eager": run_torch}, args.repeats)
        out["models"][name] = {
            "fnn_ms": 1e3 * seconds["fnn"],
            "torch_eager_ms": 1e3 * seconds["torch_eager"],
            "fnn_images_per_s": args.batch_size / seconds["fnn"],
            "torch_images_per_s": args.batch_size / seconds["torch_eager"],
            "fnn_over_torch_speed": seconds["torch_eager"] / seconds["fnn"],
        }
    emit(out)
    return out


if __name__ == "__main__":
    main()
