"""Which conv impl is fastest for which shape: the measurement behind `impl="auto"`.

For each shape class (batch N, spatial size, C_in, C_out, kernel k; padding k // 2, stride 1)
the impls direct, im2col, xla and (3x3 kernels only) winograd are timed side by side
(`benchmarks.timing.alternate`, all contenders of a class alternating), each jitted with fnn's
compiler options:
- forward: `apply`;
- forward_backward: `apply` then `backward` (dx, dW, db) for a fixed random dy;
- forward_dparams: the same returning only dW, db, as for a network's first layer, whose dx
  nobody uses (XLA then never computes it).
The classes sweep the patch size P = k_h k_w C_in from 9 to 600 at spatial sizes 28 and 7
(batch 64), plus the MNIST CNN's two convolutions at batch 64 and 128. The JSON gives the
median ms, the fastest impl per class and measure, what auto picks (`auto_impl`) and the
im2col-vs-xla patch threshold that these data favour: the one whose choices lose the least
forward_backward time against the faster of the two, summed over the classes as ratios. Then
the MNIST CNN's train step (manual gradients, SGD) with conv1 by each impl and conv2 by xla: the
first layer's case, where dx is never computed and the conv fuses with its neighbours.

"winograd" (always; alone with --winograd), on the CNN's convs (N 64, padding 1): each impl's
float32 error against the float64 direct sum, and each Winograd stage jitted alone beside the
whole convs. The whole CNN by winograd vs auto: `python -m benchmarks.epoch --compare-impls`.

    python -m benchmarks.conv [--repeats 7] [--quick | --mnist-only | --winograd] [--glibc-malloc]
"""

from __future__ import annotations

import argparse
import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.common import add_malloc_flag, alternate, emit, setup
from fnn import layers, models, runtime
from fnn import winograd as wg
from fnn.layer import serial
from fnn.layers.conv import AUTO_IM2COL_MAX_PATCH, auto_impl
from fnn.losses import softmax_cross_entropy

IMPLS = ("direct", "im2col", "xla", "winograd")
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
    """measure: a call of the jitted forward, forward_backward or forward_dparams by `impl`."""
    layer = layers.conv2d(c["C_out"], c["k"], padding=c["k"] // 2, impl=impl)
    in_shape = (c["size"], c["size"], c["C_in"])
    out_shape, params, state = layer.init(jax.random.key(0), in_shape)
    x = jax.random.normal(jax.random.key(1), (c["N"], *in_shape))
    dy = jax.random.normal(jax.random.key(2), (c["N"], *out_shape))

    def forward(params, x, dy):  # dy unused
        return layer.apply(params, state, x)[0]

    def forward_backward(params, x, dy):
        return layer.backward(params, layer.apply(params, state, x)[2], dy)

    def forward_dparams(params, x, dy):
        return forward_backward(params, x, dy)[1]

    return {
        f.__name__: functools.partial(runtime.jit(f), params, x, dy)
        for f in (forward, forward_backward, forward_dparams)
    }


def _impls(c: dict) -> tuple[str, ...]:
    """The impls that run class c: winograd only for 3x3 kernels (every class has stride 1)."""
    return tuple(i for i in IMPLS if i != "winograd" or c["k"] == 3)


def _cnn_step(conv1_impl: str, batch: int):
    """One SGD step of the MNIST CNN (manual gradients) with conv1 by `conv1_impl`, conv2 by xla."""
    stack = models.cnn_layers(conv_impl="xla")
    model = serial(layers.conv2d(32, 3, padding=1, impl=conv1_impl), *stack[1:])
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
        times = [r["ms"]["forward_backward"] for r in rows]
        chosen = [t["im2col"] if r["patch"] <= T else t["xla"] for r, t in zip(rows, times)]
        losses[T] = sum(c / min(t["im2col"], t["xla"]) - 1.0 for c, t in zip(chosen, times))
    best = min(candidates, key=lambda T: (round(losses[T], 3), T))
    return {"im2col_max_patch": best, "summed_loss_by_threshold": losses}


# Winograd: float32 accuracy and where its time goes.


def _cnn_convs(quick: bool) -> list[tuple[str, int, int, int, int]]:
    """(name, N, size, C_in, C_out) of the CNN's convs (3x3, padding 1)."""
    return [("quick", 4, 8, 2, 4)] if quick else [("conv1", 64, 28, 1, 32), ("conv2", 64, 14, 32, 64)]


def _conv_arrays(N: int, size: int, C_in: int, C_out: int, dtype=np.float32) -> tuple:
    """x, params (He-scaled W), dy: standard normal NumPy draws, the same for every dtype."""
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((N, size, size, C_in)), rng.standard_normal((N, size, size, C_out))
    params = {
        "W": rng.standard_normal((3, 3, C_in, C_out)) * np.sqrt(2 / (9 * C_in)),
        "b": rng.standard_normal(C_out),
    }
    return jax.tree.map(lambda a: jnp.asarray(a, dtype), (x, params, dy))


def _outputs(impl: str, dtype, N: int, size: int, C_in: int, C_out: int) -> dict:
    """y, dx, dW, db of one jitted forward and backward by `impl` in `dtype` on `_conv_arrays`."""
    layer = layers.conv2d(C_out, 3, padding=1, impl=impl)

    @jax.jit
    def run(x, params, dy):
        y, _, cache = layer.apply(params, {}, x)
        dx, dparams = layer.backward(params, cache, dy)
        return {"y": y, "dx": dx, "dW": dparams["W"], "db": dparams["b"]}

    return run(*_conv_arrays(N, size, C_in, C_out, dtype))


def float32_accuracy(quick: bool) -> dict:
    """max |got - reference| / max |reference| of y, dx, dW, db per impl in float32, the reference
    being the direct sum in float64 on the same inputs."""
    out = {}
    with jax.enable_x64(True):
        for name, *shape in _cnn_convs(quick):
            ref = _outputs("direct", np.float64, *shape)
            out[name] = {}
            for impl in IMPLS:
                got = _outputs(impl, np.float32, *shape)
                out[name][impl] = {
                    k: float(jnp.abs(got[k] - ref[k]).max() / jnp.abs(ref[k]).max()) for k in ref
                }
    return out


def _stages(N: int, size: int, C_in: int, C_out: int) -> dict:
    """name: (function, arguments, multiply-adds) for each Winograd stage and the dense product."""
    x, params, dy = _conv_arrays(N, size, C_in, C_out)
    W, p, hw = params["W"], (1, 1), (size, size)
    V, U, dM = wg.input_transform(x, p, hw), wg.filter_transform(W), wg.output_transform_adjoint(dy)
    cols, macs = jnp.ones((N * size * size, 9 * C_in)), V.size * C_out  # im2col's matrix; 16 products
    return {
        "input_transform": (lambda x: wg.input_transform(x, p, hw), (x,), 0),
        "filter_transform": (wg.filter_transform, (W,), 0),
        "products": (lambda V, U: jnp.einsum("tpc,tcd->tpd", V, U), (V, U), macs),
        "output_transform": (lambda M: wg.output_transform(M, N, hw), (dM,), 0),
        "output_transform_adjoint": (wg.output_transform_adjoint, (dy,), 0),
        "products_dU": (lambda V, dM: jnp.einsum("tpc,tpd->tcd", V, dM), (V, dM), macs),
        "products_dV": (lambda dM, U: jnp.einsum("tpd,tcd->tpc", dM, U), (dM, U), macs),
        "filter_transform_adjoint": (wg.filter_transform_adjoint, (U,), 0),
        "input_transform_adjoint": (lambda dV: wg.input_transform_adjoint(dV, x.shape, p, hw), (V,), 0),
        "dense_im2col_product": (jnp.matmul, (cols, W.reshape(-1, C_out)), cols.size * C_out),
    }


def winograd_stages(repeats: int, quick: bool) -> dict:
    """ms of each Winograd stage jitted alone, beside the whole winograd and xla convs and the
    dense (im2col) matrix product of the same conv; MB each stage reads and writes; GFLOP/s."""
    out = {}
    for name, N, size, C_in, C_out in _cnn_convs(quick):
        stages = _stages(N, size, C_in, C_out)
        fns = {k: functools.partial(runtime.jit(f), *a) for k, (f, a, _) in stages.items()}
        for impl in ("winograd", "xla"):
            whole = _contenders(impl, {"N": N, "size": size, "C_in": C_in, "C_out": C_out, "k": 3})
            fns |= {f"{impl}_{m}": whole[m] for m in ("forward", "forward_backward")}
        ms = {k: 1e3 * t for k, t in alternate(fns, repeats).items()}
        moved = {
            k: sum(v.size * v.dtype.itemsize for v in (*a, *jax.tree.leaves(jax.eval_shape(f, *a))))
            for k, (f, a, _) in stages.items()
        }
        out[name] = {
            "ms": ms,
            "mb_moved": {k: m / 2**20 for k, m in moved.items()},
            "gflop_per_s": {k: 2 * macs / (ms[k] * 1e6) for k, (_, _, macs) in stages.items() if macs},
        }
        print(f"  winograd stages, {name}: {ms}", file=sys.stderr, flush=True)
    return out


def run(repeats: int, quick: bool, mnist_only: bool = False) -> dict:
    rows = []
    for c in _classes(quick, mnist_only):
        impls = _impls(c)
        fns = {f"{i}/{m}": fn for i in impls for m, fn in _contenders(i, c).items()}
        medians = alternate(fns, repeats)
        patch = c["k"] * c["k"] * c["C_in"]
        ms = {m: {i: 1e3 * medians[f"{i}/{m}"] for i in impls} for m in MEASURES}
        others = [i for i in impls if i != "winograd"]
        row = {
            **c,
            "patch": patch,
            "ms": ms,
            "fastest": {m: min(impls, key=ms[m].get) for m in MEASURES},
            "winograd_over_fastest_other": {
                m: ms[m]["winograd"] / min(ms[m][i] for i in others) for m in MEASURES if "winograd" in ms[m]
            },
            "fastest_of_im2col_xla": {m: min(("im2col", "xla"), key=ms[m].get) for m in MEASURES},
            "im2col_over_xla": {m: ms[m]["im2col"] / ms[m]["xla"] for m in MEASURES},
            "auto": auto_impl((c["k"], c["k"], c["C_in"], c["C_out"])),
        }
        rows.append(row)
        times = ", ".join(f"{i} {ms['forward_backward'][i]:.2f}" for i in impls)
        print(
            f"  {c['name']:>16} P={patch:<4} fwd+bwd {times} ms; auto -> {row['auto']}",
            file=sys.stderr,
            flush=True,
        )
    auto_right = [r["auto"] == r["fastest_of_im2col_xla"]["forward_backward"] for r in rows]
    return {
        "classes": rows,
        "auto_rule": {"im2col_max_patch": AUTO_IM2COL_MAX_PATCH},
        "auto_picks_faster_of_im2col_xla": f"{sum(auto_right)}/{len(rows)}",
        "winograd_fastest_forward_backward": [
            r["name"] for r in rows if r["fastest"]["forward_backward"] == "winograd"
        ],
        "suggested": _best_threshold(rows),
        "cnn_step_by_conv1_impl": first_layer_in_step(3 * repeats, (4,) if quick else (64, 128)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one tiny class (a smoke test)")
    mnist_help = "only the MNIST CNN's convs and step (compiling all takes minutes on a GPU)"
    parser.add_argument("--mnist-only", action="store_true", help=mnist_help)
    parser.add_argument("--winograd", action="store_true", help="only the Winograd measurements")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    out = {
        "benchmark": "conv",
        **settings,
        "repeats": args.repeats,
        **({} if args.winograd else run(args.repeats, args.quick, args.mnist_only)),
        "winograd": {  # see the module docstring
            "float32_accuracy": float32_accuracy(args.quick),
            "stages": winograd_stages(3 * args.repeats, args.quick),
        },
    }
    emit(out)
    return out


if __name__ == "__main__":
    main()
