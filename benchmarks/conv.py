"""Which conv impl is fastest for which shape: the measurement behind `impl="auto"`.

For each shape class (batch N, spatial size, C_in, C_out, kernel k; padding k // 2, stride 1)
the impls direct, im2col and xla are timed side by side (`fnn.timing.alternate`, all nine
contenders of a class alternating), each jitted with fnn's compiler options:
- forward: `apply`;
- forward_backward: `apply` then `backward` (dx, dW, db) for a fixed random dy;
- forward_dparams: the same returning only dW, db, as for a network's first layer, whose dx
  nobody uses (XLA then never computes it).
The classes sweep the patch size P = k_h k_w C_in from 9 to 600 at spatial sizes 28 and 7
(batch 64), plus the MNIST CNN's two convolutions at batch 64 and 128. The JSON gives the
median ms, the fastest impl per class and measure, what auto picks under its current rule
(`fnn.layers.conv.auto_impl`) and the im2col-vs-xla patch threshold that these data favour:
the one whose choices lose the least forward_backward time against the faster of the two,
summed over the classes as ratios (each class counts alike). Last, the MNIST CNN's whole train
step (manual gradients, SGD) with conv1 by each impl and conv2 by xla: the first layer's case,
where dx is never computed and the conv fuses with its neighbours.

    python -m benchmarks.conv [--repeats 7] [--quick | --mnist-only] [--glibc-malloc]
"""

from __future__ import annotations

import argparse
import sys

import jax

from benchmarks.common import add_malloc_flag, alternate, emit, setup
from fnn import layers, runtime
from fnn.layer import serial
from fnn.layers.conv import AUTO_IM2COL_MAX_PATCH, auto_impl
from fnn.losses import softmax_cross_entropy

IMPLS = ("direct", "im2col", "xla")
MEASURES = ("forward", "forward_backward", "forward_dparams")
# (k, C_in) of the sweep: patch sizes 9, 16, 18, 25, 27, 36, 50, 54, 63, 72, 144, 288, 576, 600
CLASS_KERNELS = (
    (3, 1), (1, 16), (3, 2), (5, 1), (3, 3), (3, 4), (5, 2), (3, 6), (3, 7), (3, 8), (3, 16), (3, 32), (3, 64), (5, 24)
)  # fmt: skip


def _classes(quick: bool, mnist_only: bool = False) -> list[dict]:
    if quick:
        return [{"name": "quick", "N": 4, "size": 8, "C_in": 2, "C_out": 4, "k": 3}]
    mnist = [
        {"name": f"mnist-conv{i + 1}-b{N}", "N": N, "size": size, "C_in": c_in, "C_out": c_out, "k": 3}
        for N in (64, 128)
        for i, (size, c_in, c_out) in enumerate(((28, 1, 32), (14, 32, 64)))
    ]
    sweep = [
        {"name": f"k{k}-c{c_in}-s{size}", "N": 64, "size": size, "C_in": c_in, "C_out": 32, "k": k}
        for size in (28, 7)
        for k, c_in in CLASS_KERNELS
    ]
    return mnist if mnist_only else mnist + sweep


def _contenders(impl: str, c: dict) -> dict:
    layer = layers.conv2d(c["C_out"], c["k"], padding=c["k"] // 2, impl=impl)
    in_shape = (c["size"], c["size"], c["C_in"])
    out_shape, params, state = layer.init(jax.random.key(0), in_shape)
    x = jax.random.normal(jax.random.key(1), (c["N"], *in_shape))
    dy = jax.random.normal(jax.random.key(2), (c["N"], *out_shape))

    @runtime.jit
    def forward(params, x):
        return layer.apply(params, state, x)[0]

    @runtime.jit
    def forward_backward(params, x, dy):
        _, _, cache = layer.apply(params, state, x)
        return layer.backward(params, cache, dy)

    @runtime.jit
    def forward_dparams(params, x, dy):
        _, _, cache = layer.apply(params, state, x)
        return layer.backward(params, cache, dy)[1]

    return {
        "forward": lambda: forward(params, x),
        "forward_backward": lambda: forward_backward(params, x, dy),
        "forward_dparams": lambda: forward_dparams(params, x, dy),
    }


def _cnn_step(conv1_impl: str, batch: int):
    """One SGD step of the MNIST CNN (manual gradients) with conv1 by `conv1_impl`, conv2 by xla."""
    model = serial(
        layers.conv2d(32, 3, padding=1, impl=conv1_impl),
        layers.relu(),
        layers.max_pool2d(2),
        layers.conv2d(64, 3, padding=1, impl="xla"),
        layers.relu(),
        layers.max_pool2d(2),
        layers.flatten(),
        layers.affine(128),
        layers.relu(),
        layers.affine(10),
    )
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x = jax.random.uniform(jax.random.key(1), (batch, 28, 28, 1))
    labels = jax.random.randint(jax.random.key(2), (batch,), 0, 10)

    @runtime.jit
    def step(params):
        scores, _, cache = model.apply(params, state, x, train=True)
        loss, dscores = softmax_cross_entropy(scores, labels)
        _, grads = model.backward(params, cache, dscores)
        return jax.tree.map(lambda p, g: p - 0.01 * g, params, grads), loss

    holder = [params]

    def run():
        holder[0], loss = step(holder[0])
        return loss

    return run


def first_layer_in_step(repeats: int, batches: tuple[int, ...]) -> dict:
    """ms per CNN train step by conv1's impl: there conv1's dx is never computed."""
    out = {}
    for batch in batches:
        medians = alternate({impl: _cnn_step(impl, batch) for impl in IMPLS}, repeats)
        out[f"batch_{batch}"] = {f"{impl}_ms": 1e3 * t for impl, t in medians.items()}
        print(f"  CNN step, batch {batch}, conv1 by: {medians}", file=sys.stderr, flush=True)
    return out


def _best_threshold(rows: list[dict]) -> dict:
    """The patch threshold T (im2col when P <= T, else xla) with the least summed loss."""
    candidates = sorted({0} | {r["patch"] for r in rows})
    losses = {}
    for T in candidates:
        loss = 0.0
        for r in rows:
            times = r["ms"]["forward_backward"]
            chosen = times["im2col"] if r["patch"] <= T else times["xla"]
            loss += chosen / min(times["im2col"], times["xla"]) - 1.0
        losses[T] = loss
    best = min(candidates, key=lambda T: (round(losses[T], 3), T))
    return {"im2col_max_patch": best, "summed_loss_by_threshold": losses}


def run(repeats: int, quick: bool, mnist_only: bool = False) -> dict:
    rows = []
    for c in _classes(quick, mnist_only):
        fns = {}
        for impl in IMPLS:
            for measure, fn in _contenders(impl, c).items():
                fns[(impl, measure)] = fn
        medians = alternate({f"{i}/{m}": f for (i, m), f in fns.items()}, repeats)
        patch = c["k"] * c["k"] * c["C_in"]
        ms = {m: {i: 1e3 * medians[f"{i}/{m}"] for i in IMPLS} for m in MEASURES}
        row = {
            **c,
            "patch": patch,
            "ms": ms,
            "fastest": {m: min(IMPLS, key=ms[m].get) for m in MEASURES},
            "fastest_of_im2col_xla": {m: min(("im2col", "xla"), key=ms[m].get) for m in MEASURES},
            "im2col_over_xla": {m: ms[m]["im2col"] / ms[m]["xla"] for m in MEASURES},
            "auto": auto_impl((c["k"], c["k"], c["C_in"], c["C_out"])),
        }
        rows.append(row)
        print(
            f"  {c['name']:>16} P={patch:<4} fwd+bwd "
            + ", ".join(f"{i} {ms['forward_backward'][i]:.2f}" for i in IMPLS)
            + f" ms; im2col/xla {row['im2col_over_xla']['forward_backward']:.2f}; auto -> {row['auto']}",
            file=sys.stderr,
            flush=True,
        )
    auto_right = [r["auto"] == r["fastest_of_im2col_xla"]["forward_backward"] for r in rows]
    return {
        "classes": rows,
        "auto_rule": {"im2col_max_patch": AUTO_IM2COL_MAX_PATCH},
        "auto_picks_faster_of_im2col_xla": f"{sum(auto_right)}/{len(rows)}",
        "suggested": _best_threshold(rows),
        "cnn_step_by_conv1_impl": first_layer_in_step(3 * repeats, (4,) if quick else (64, 128)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one tiny class (a smoke test)")
    parser.add_argument(
        "--mnist-only",
        action="store_true",
        help="only the MNIST CNN's convs and step (compiling all takes minutes on a GPU)",
    )
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    out = {
        "benchmark": "conv",
        **settings,
        "repeats": args.repeats,
        **run(args.repeats, args.quick, args.mnist_only),
    }
    emit(out)
    return out


if __name__ == "__main__":
    main()
