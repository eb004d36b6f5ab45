"""Train-step speed: fnn's default step (hand-written backward) vs fnn autodiff through the same
apply vs a plain-JAX baseline (`jax.value_and_grad` through `lax.conv_general_dilated` and
`lax.reduce_window` max pooling, written here independently of fnn), for the MLP, the CNN and
the CNN with batch norm. Prints one JSON object: images/second and the ratios.

The baseline runs twice: compiled as plain `jax.jit` compiles it (the required comparison),
and with fnn's compiler options (`fnn.runtime`), to show what of fnn's lead is the layers and
what is the options. The malloc setting applies to the whole process, every contender alike.

    python -m benchmarks.train_step [--batch-size 128] [--repeats 20] [--models mlp,cnn,cnn-bn]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from benchmarks.common import add_malloc_flag, alternate, emit, setup
from fnn import models, optim, runtime
from fnn.losses import softmax_cross_entropy
from fnn.step import init_train_state, make_train_step


def baseline_cnn(batch_norm: bool, jit=jax.jit):
    """The same CNN in plain JAX: params as a dict, autodiff for the gradient."""
    keys = jax.random.split(jax.random.key(0), 4)
    he = lambda k, shape, fan: jnp.sqrt(2.0 / fan) * jax.random.normal(k, shape)  # noqa: E731
    params = {
        "c1": he(keys[0], (3, 3, 1, 32), 9),
        "b1": jnp.zeros(32),
        "c2": he(keys[1], (3, 3, 32, 64), 288),
        "b2": jnp.zeros(64),
        "f1": he(keys[2], (3136, 128), 3136),
        "g1": jnp.zeros(128),
        "f2": he(keys[3], (128, 10), 128),
        "g2": jnp.zeros(10),
    }
    if batch_norm:
        for name, size in (("n1", 32), ("n2", 64), ("n3", 128)):
            params[name + "g"], params[name + "b"] = jnp.ones(size), jnp.zeros(size)

    def bn(x, p, name):
        if not batch_norm:
            return x
        axes = tuple(range(x.ndim - 1))
        mu, var = x.mean(axes), x.var(axes)
        return (x - mu) * lax.rsqrt(var + 1e-5) * p[name + "g"] + p[name + "b"]

    def forward(p, x):
        dn = ("NHWC", "HWIO", "NHWC")
        for c, b, n in (("c1", "b1", "n1"), ("c2", "b2", "n2")):
            x = lax.conv_general_dilated(x, p[c], (1, 1), [(1, 1), (1, 1)], dimension_numbers=dn) + p[b]
            x = jax.nn.relu(bn(x, p, n))
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        x = jax.nn.relu(bn(x.reshape(x.shape[0], -1) @ p["f1"] + p["g1"], p, "n3"))
        return x @ p["f2"] + p["g2"]

    def loss(p, x, y):
        logp = jax.nn.log_softmax(forward(p, x))
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()

    def step(p, v, x, y):
        value, g = jax.value_and_grad(loss)(p, x, y)
        v = jax.tree.map(lambda v, g: 0.9 * v - 0.01 * g, v, g)
        return jax.tree.map(jnp.add, p, v), v, value

    return params, jit(step)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_step", description=__doc__)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--models", default="mlp,cnn,cnn-bn")
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((args.batch_size, 28, 28, 1), np.float32))
    labels = jnp.asarray(rng.integers(0, 10, args.batch_size), jnp.int32)
    out = {"benchmark": "train_step", **settings, "batch_size": args.batch_size, "models": {}}
    for name in args.models.split(","):
        model = models.MODELS[name]()
        opt = optim.momentum(0.01)
        contenders, holders = {}, {}
        for gradients in ("manual", "autodiff"):
            step = make_train_step(model, softmax_cross_entropy, opt, gradients)
            holders[gradients] = [init_train_state(model, opt, (28, 28, 1))]

            def run(step=step, holder=holders[gradients]):
                holder[0], (value, _) = step(holder[0], x, labels)
                return value

            contenders[f"fnn_{gradients}"] = run
        if name != "mlp":
            for label, jit in (("", jax.jit), ("_fnn_options", runtime.jit)):
                params, base_step = baseline_cnn(name == "cnn-bn", jit)
                state = [params, jax.tree.map(jnp.zeros_like, params)]

                def run_base(state=state, base_step=base_step):
                    state[0], state[1], value = base_step(state[0], state[1], x, labels)
                    return value

                contenders[f"jax_lax_conv_reduce_window{label}"] = run_base
        seconds = alternate(contenders, args.repeats)
        entry = {f"{k}_ms": 1e3 * v for k, v in seconds.items()}
        entry.update({f"{k}_images_per_s": args.batch_size / v for k, v in seconds.items()})
        entry["manual_over_autodiff_time"] = seconds["fnn_manual"] / seconds["fnn_autodiff"]
        if "jax_lax_conv_reduce_window" in seconds:
            entry["speedup_vs_baseline"] = seconds["jax_lax_conv_reduce_window"] / seconds["fnn_manual"]
            entry["speedup_vs_baseline_fnn_options"] = (
                seconds["jax_lax_conv_reduce_window_fnn_options"] / seconds["fnn_manual"]
            )
        out["models"][name] = entry
    emit(out)
    return out


if __name__ == "__main__":
    main()
