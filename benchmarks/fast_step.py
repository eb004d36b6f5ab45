"""The levers on the `fast` recipe's train step, side by side in one run: the convolution impl
of each layer, channel counts and kernel sizes (speed only: `benchmarks.fast_search` measures
the accuracy of the other shapes), and PyTorch eager on the recipe's own architecture when
it is importable. Then two pieces alone: max pool + ReLU as fnn's two layers against one
fused pass (the routing of the gradient written once), and the first convolution with its
bias add and without. Prints JSON.

Every variant trains on the same random batch with Adam (the recipe's optimizer); the steps
alternate, medians of ms per step (benchmarks.timing.alternate).

    python -m benchmarks.fast_step [--batch-size 256] [--repeats 15] [--quick]
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from benchmarks.common import add_malloc_flag, alternate, emit, setup
from benchmarks.vs_torch import torch_model
from fnn import layers, optim, runtime
from fnn.layer import serial
from fnn.losses import softmax_cross_entropy
from fnn.models.architectures import small_cnn
from fnn.step import init_train_state, make_train_step

BASELINE = "recipe (conv impl auto: im2col, xla)"


def variant(impls=("auto", "auto"), channels=(16, 32), kernels=(5, 3)):
    """`small_cnn`'s layers with a convolution impl per layer (small_cnn takes one for both)."""
    stack = []
    for i, (width, k, impl) in enumerate(zip(channels, kernels, impls)):
        stack += [
            layers.conv2d(width, k, impl=impl, name=f"conv{i + 1}"),
            layers.max_pool2d(2),
            layers.relu(),
        ]
    stack += [layers.affine(256, name="affine1"), layers.relu(), layers.affine(10, name="scores")]
    return serial(*stack)


VARIANTS = {
    BASELINE: lambda: small_cnn(),
    "conv1 xla (both xla)": lambda: variant(("xla", "auto")),
    "conv1 direct": lambda: variant(("direct", "auto")),
    "conv2 im2col": lambda: variant(("auto", "im2col")),
    "conv2 direct": lambda: variant(("auto", "direct")),
    "channels 24, 32 (the published network)": lambda: small_cnn(channels=(24, 32)),
    "channels 32, 32": lambda: small_cnn(channels=(32, 32)),
    "kernels 3, 3": lambda: small_cnn(kernels=(3, 3)),
    "both xla, channels 24, 32": lambda: variant(("xla", "xla"), channels=(24, 32)),
}
QUICK = (BASELINE, "conv1 xla (both xla)")


def step_runner(model, x, labels):
    """A callable running one Adam step of `model` on (x, labels), its state carried along."""
    opt = optim.adam(1e-3)
    step = make_train_step(model, softmax_cross_entropy, opt)
    holder = [init_train_state(model, opt, x.shape[1:])]

    def run():
        holder[0], (value, _) = step(holder[0], x, labels)
        return value

    return run


def torch_runner(torch, x, labels):
    """PyTorch eager: the same architecture, Adam, one step per call (synchronous on a CPU)."""
    net = torch_model(torch, "fast")
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx = torch.from_numpy(np.array(x).transpose(0, 3, 1, 2).copy())  # writable, NCHW
    ty = torch.from_numpy(np.asarray(labels).astype(np.int64))

    def run():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(tx), ty).backward()
        opt.step()
        return jnp.zeros(())

    return run


def pool_relu_pieces(batch: int, rng) -> dict:
    """fnn's max_pool2d(2) + relu (apply and backward) against one fused pass, on the first
    convolution's 24x24x16 maps: the callables, after checking that they agree."""
    x = jnp.asarray(rng.standard_normal((batch, 24, 24, 16), np.float32))
    dy = jnp.asarray(rng.standard_normal((batch, 12, 12, 16), np.float32))
    pool_relu = serial(layers.max_pool2d(2), layers.relu())
    _, params, state = pool_relu.init(jax.random.key(0), x.shape[1:])

    @runtime.jit
    def layered(x, dy):
        y, _, cache = pool_relu.apply(params, state, x, train=True)
        return y, pool_relu.backward(params, cache, dy)[0]

    @runtime.jit
    def fused(x, dy):
        n, h, w, c = x.shape
        win = (
            x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // 2, w // 2, 4, c)
        )
        top, arg = win.max(axis=3), jnp.argmax(win, axis=3)
        through = jnp.where(top > 0, dy, 0)  # ReLU's mask on the pooled value
        routed = jnp.where(jnp.arange(4)[:, None] == arg[:, :, :, None, :], through[:, :, :, None, :], 0)
        dx = routed.reshape(n, h // 2, w // 2, 2, 2, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
        return jnp.maximum(top, 0), dx

    for a, b in zip(layered(x, dy), fused(x, dy)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    return {"pool + relu, two layers": lambda: layered(x, dy), "pool + relu, fused": lambda: fused(x, dy)}


def bias_pieces(batch: int, rng) -> dict:
    """The first convolution (5x5, 1 -> 16, XLA) forward with its bias add and without."""
    x = jnp.asarray(rng.random((batch, 28, 28, 1), np.float32))
    W = jnp.asarray(rng.standard_normal((5, 5, 1, 16), np.float32))
    b = jnp.asarray(rng.standard_normal(16, np.float32))
    numbers = ("NHWC", "HWIO", "NHWC")
    with_bias = runtime.jit(
        lambda x, W, b: lax.conv_general_dilated(x, W, (1, 1), "VALID", dimension_numbers=numbers) + b
    )
    without = runtime.jit(
        lambda x, W: lax.conv_general_dilated(x, W, (1, 1), "VALID", dimension_numbers=numbers)
    )
    return {
        "conv1 forward + bias": lambda: with_bias(x, W, b),
        "conv1 forward, no bias": lambda: without(x, W),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fast_step", description=__doc__)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help=f"only {' and '.join(QUICK)}; no pieces")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    out = {"benchmark": "fast_step", **setup(args), "batch_size": args.batch_size, "repeats": args.repeats}
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((args.batch_size, 28, 28, 1), np.float32))
    labels = jnp.asarray(rng.integers(0, 10, args.batch_size).astype(np.int32))
    names = QUICK if args.quick else tuple(VARIANTS)
    steps = {name: step_runner(VARIANTS[name](), x, labels) for name in names}
    try:
        import torch
    except ImportError as e:
        out["torch"] = f"not importable ({e})"
    else:
        torch.set_num_threads(len(os.sched_getaffinity(0)))
        out["torch"] = torch.__version__
        steps["torch eager"] = torch_runner(torch, x, labels)
    seconds = alternate(steps, args.repeats)
    out["step_ms"] = {name: 1e3 * s for name, s in seconds.items()}
    out["speed_vs_recipe"] = {name: seconds[BASELINE] / s for name, s in seconds.items()}
    if "torch eager" in seconds:
        out["speed_vs_torch"] = {name: seconds["torch eager"] / s for name, s in seconds.items()}
    if not args.quick:
        pieces = {**pool_relu_pieces(args.batch_size, rng), **bias_pieces(args.batch_size, rng)}
        out["pieces_ms"] = {name: 1e3 * s for name, s in alternate(pieces, 2 * args.repeats).items()}
    emit(out)
    return out


if __name__ == "__main__":
    main()
