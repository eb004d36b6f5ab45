"""The numbers of the batch-norm experiment (the only code its results' hash covers).

Shared by the three parts: the MLP `hidden`, each hidden layer affine - batch norm - ReLU
(without batch norm: affine - ReLU), softmax cross-entropy, SGD + momentum 0.9 at a constant
learning rate, no weight decay, no dropout. Training images are the first `*_train_size` of
the shuffled training split (that of `data_seed`); every validation accuracy is in test mode
on the 5,000 held-out validation images. Each configuration is trained once per seed in
`seeds` (the seed draws the initial weights and the batch order; arms share seeds, so they
compare paired).

(a) Every hidden weight is drawn from N(0, a^2) for a in `scales`; the scores layer keeps He
initialisation in every run, so that with batch norm the network computes the same function at
initialisation for every a (BN(a W x) = BN(W x) while var(W x) >> eps). Measured at
initialisation on a probe batch (the first `probe_size` training images, train mode):
||dW|| / ||W|| of each layer (the relative size of the first update is lr times it),
var(W x) of each hidden layer against batch norm's eps, and the std of the scores; after
training, ||W|| / ||W_init|| of the hidden layers (the kept, best-epoch parameters).
(b) He initialisation; batch sizes `batch_sizes`, with and without batch norm, in two arms: the
same lr for every batch size ("fixed") and lr * B / `reference_batch` ("scaled"). The same
number of epochs for every batch size, so small batches take more steps.
(c) One batch-norm network per seed; after every epoch the same `eval_size` validation images
are classified three ways: test mode (running statistics), train mode in batches of
`eval_batch` (batch statistics), train mode one image at a time. After the last epoch, train
mode at each of `eval_batch_sizes`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from fnn import layers, models, optim, runtime, step
from fnn.data import Split
from fnn.layer import serial
from fnn.layers.affine import AffineCache
from fnn.layers.norm import BatchNormTrainCache
from fnn.losses import softmax_cross_entropy
from fnn.train import DivergedError

EPS = 1e-5  # fnn.layers.batch_norm's default eps, used by every batch-norm layer here
ARMS = ("bn", "no_bn")


@dataclasses.dataclass(frozen=True)
class Config:
    hidden: tuple = (256, 256, 256, 256)
    lr: float = 0.02
    seeds: tuple = (0, 1, 2, 3, 4)  # 5: several paired intervals at 3 seeds were close to 0
    data_seed: int = 0
    data: str | None = None
    scales: tuple = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)
    scale_epochs: int = 2
    scale_batch_size: int = 64
    scale_train_size: int = 10000
    probe_size: int = 256
    batch_sizes: tuple = (4, 16, 64, 256)
    reference_batch: int = 64
    batch_epochs: int = 2
    batch_train_size: int = 5000
    mode_epochs: int = 4
    mode_batch_size: int = 64
    mode_train_size: int = 10000
    eval_size: int = 2048
    eval_batch: int = 256
    eval_batch_sizes: tuple = (1, 2, 4, 16, 64, 256)


QUICK = {
    "hidden": (32, 32),
    "seeds": (0, 1),
    "scales": (1e-4, 0.1, 3.0),
    "scale_epochs": 1,
    "scale_train_size": 1000,
    "probe_size": 128,
    "batch_sizes": (16, 64),
    "batch_epochs": 1,
    "batch_train_size": 1000,
    "mode_epochs": 2,
    "mode_train_size": 1000,
    "eval_size": 512,
    "eval_batch_sizes": (1, 4, 256),
}


def mlp(hidden, *, batch_norm: bool, hidden_scale: float | None = None):
    """`fnn.models.mlp`'s network with every HIDDEN weight drawn with std `hidden_scale` (He's
    sqrt(2 / fan_in) when None); the scores layer is always He-initialised."""
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack.append(layers.affine(width, weight_scale=hidden_scale, name=f"affine{i + 1}"))
        if batch_norm:
            stack.append(layers.batch_norm(eps=EPS, name=f"batch_norm{i + 1}"))
        stack.append(layers.relu())
    stack.append(layers.affine(10, name="scores"))
    return serial(*stack, name="mlp")


def _subset(mnist, size):
    return mnist._replace(train=Split(mnist.train.x[:size], mnist.train.labels[:size]))


def _init_probe(model):
    """Jitted `(params, state, x, labels) -> dict` of train-mode measurements at one point."""

    def measure(params, state, x, labels):
        scores, _, caches = model.apply(params, state, x, train=True)
        _, dscores = softmax_cross_entropy(scores, labels)
        _, grads = model.backward(params, caches, dscores)
        affine = [i for i, c in enumerate(caches) if isinstance(c, AffineCache)]
        pre = [caches[i].x.reshape(x.shape[0], -1) @ params[i]["W"] + params[i]["b"] for i in affine]
        x_hat = [c.x_hat for c in caches if isinstance(c, BatchNormTrainCache)]
        return {
            "rel_grad": jnp.stack(
                [jnp.linalg.norm(grads[i]["W"]) / jnp.linalg.norm(params[i]["W"]) for i in affine]
            ),
            "pre_var": jnp.stack([z.var(axis=0).mean() for z in pre]),
            "pre_square": jnp.stack([(z * z).mean() for z in pre]),
            "x_hat_std": jnp.stack([h.std(axis=0).mean() for h in x_hat]) if x_hat else jnp.zeros(0),
            "score_std": scores.std(),
        }

    return runtime.jit(measure)


def _hidden_norms(params, count):
    """||W|| of the first `count` affine layers' weights, in order."""
    return [float(jnp.linalg.norm(p["W"])) for p in params if isinstance(p, dict) and "W" in p][:count]


def _scale_sweep(config, mnist):
    """Part (a): final accuracy and the measurements at initialisation, per arm, scale, seed."""
    data = _subset(mnist, config.scale_train_size)
    probe_x = jnp.asarray(data.train.x[: config.probe_size])
    probe_labels = jnp.asarray(data.train.labels[: config.probe_size])
    in_shape = data.train.x.shape[1:]
    out = {}
    for arm in ARMS:
        reference = mlp(config.hidden, batch_norm=arm == "bn")
        optimizer = optim.momentum(config.lr)
        # the scale changes only init: one compiled epoch and probe serve every scale and seed
        epoch = step.make_epoch(
            reference, softmax_cross_entropy, optimizer, batch_size=config.scale_batch_size
        )
        probe = _init_probe(reference)
        keys = (
            "val_accuracy",
            "train_accuracy",
            "diverged",
            "rel_grad",
            "pre_var",
            "pre_square",
            "x_hat_std",
        )
        rows = {key: [] for key in (*keys, "score_std", "weight_growth")}
        for scale in config.scales:
            model = mlp(config.hidden, batch_norm=arm == "bn", hidden_scale=scale)
            per_seed = {key: [] for key in rows}
            for seed in config.seeds:
                ts = step.init_train_state(model, optimizer, in_shape, seed)  # what fit starts from
                at_init = jax.device_get(probe(ts.params, ts.state, probe_x, probe_labels))
                for key in ("rel_grad", "pre_var", "pre_square", "x_hat_std"):
                    per_seed[key].append(np.asarray(at_init[key]).tolist())
                per_seed["score_std"].append(float(at_init["score_std"]))
                init_norms = _hidden_norms(ts.params, len(config.hidden))
                try:
                    result = common.train(
                        model,
                        data,
                        optimizer,
                        epochs=config.scale_epochs,
                        batch_size=config.scale_batch_size,
                        seed=seed,
                        epoch=epoch,
                        label=f"{arm} a={scale:g} seed {seed}",
                    )
                    last = result.history[-1]
                    growth = np.mean(np.divide(_hidden_norms(result.params, len(config.hidden)), init_norms))
                    per_seed["weight_growth"].append(float(growth))
                    per_seed["diverged"].append(False)
                    per_seed["val_accuracy"].append(last["val_accuracy"])
                    per_seed["train_accuracy"].append(last["train_accuracy"])
                except DivergedError:  # counted at chance accuracy, and marked
                    per_seed["weight_growth"].append(None)
                    per_seed["diverged"].append(True)
                    per_seed["val_accuracy"].append(0.1)
                    per_seed["train_accuracy"].append(0.1)
            for key in rows:
                rows[key].append(per_seed[key])
        out[arm] = rows
    return {
        "scales": list(config.scales),
        "he_scales": [math.sqrt(2 / 784), math.sqrt(2 / config.hidden[0])],
        "eps": EPS,
        "layers": [f"affine{i + 1}" for i in range(len(config.hidden))] + ["scores"],
        **out,
        **_slope(config, out["bn"]),
    }


def _slope(config, bn):
    """Least-squares slope of log ||dW||/||W|| (mean over the hidden layers and seeds) against
    log a, over the scales where every hidden layer's var(W x) exceeds 100 eps."""
    hidden = len(config.hidden)
    rel = np.array([np.mean([s[:hidden] for s in seeds]) for seeds in bn["rel_grad"]])
    var = np.array([np.min(np.mean(seeds, axis=0)) for seeds in bn["pre_var"]])
    used = var > 100 * EPS
    if used.sum() < 2:
        return {"slope": None, "slope_scales": []}
    scales = np.asarray(config.scales)[used]
    slope = np.polyfit(np.log(scales), np.log(rel[used]), 1)[0]
    return {"slope": float(slope), "slope_scales": scales.tolist()}


def _batch_sweep(config, mnist):
    """Part (b): final validation accuracy per arm (fixed / scaled lr), batch norm or not,
    batch size, seed. The reference batch size has one lr for both arms: trained once."""
    data = _subset(mnist, config.batch_train_size)
    lrs = {
        "fixed": [config.lr for _ in config.batch_sizes],
        "scaled": [config.lr * b / config.reference_batch for b in config.batch_sizes],
    }
    done = {}
    runs = {lr_arm: {arm: [] for arm in ARMS} for lr_arm in lrs}
    for arm in ARMS:
        for i, batch in enumerate(config.batch_sizes):
            for lr_arm in lrs:
                lr = lrs[lr_arm][i]
                if (arm, batch, lr) not in done:
                    model = models.mlp(config.hidden, batch_norm=arm == "bn")
                    optimizer = optim.momentum(lr)
                    epoch = step.make_epoch(model, softmax_cross_entropy, optimizer, batch_size=batch)
                    done[arm, batch, lr] = [
                        _final(
                            model,
                            data,
                            optimizer,
                            config.batch_epochs,
                            batch,
                            seed,
                            epoch,
                            f"{arm} B={batch} lr={lr:g}",
                        )
                        for seed in config.seeds
                    ]
                runs[lr_arm][arm].append(done[arm, batch, lr])
    return {
        "batch_sizes": list(config.batch_sizes),
        "reference_batch": config.reference_batch,
        "lr": lrs,
        "steps": [config.batch_epochs * (config.batch_train_size // b) for b in config.batch_sizes],
        "runs": runs,
    }


def _final(model, data, optimizer, epochs, batch, seed, epoch, label):
    """{"val_accuracy", "train_accuracy", "diverged"} of the last epoch (chance if diverged)."""
    try:
        result = common.train(
            model, data, optimizer, epochs=epochs, batch_size=batch, seed=seed, epoch=epoch, label=label
        )
    except DivergedError:
        return {"val_accuracy": 0.1, "train_accuracy": 0.1, "diverged": True}
    last = result.history[-1]
    return {"val_accuracy": last["val_accuracy"], "train_accuracy": last["train_accuracy"], "diverged": False}


def _mode_evaluator(model, x, labels, eval_batch, batch_sizes):
    """Jitted `(params, state) -> dict` of accuracies on (x, labels) in the three modes; also
    train mode at each of `batch_sizes` (each must divide len(x))."""

    def accuracy(scores):
        return (scores.argmax(axis=-1) == labels.reshape(scores.shape[:-1])).mean()

    def batched(params, state, size):
        xb = x.reshape(len(x) // size, size, *x.shape[1:])
        return jax.vmap(lambda b: model.apply(params, state, b, train=True)[0])(xb)

    def evaluate(params, state):
        single = batched(params, state, 1)
        return {
            "running": accuracy(model.apply(params, state, x, train=False)[0]),
            "batch": accuracy(batched(params, state, eval_batch)),
            "single": accuracy(single),
            "single_predictions": single.argmax(axis=-1).ravel(),
            "by_batch_size": jnp.stack([accuracy(batched(params, state, b)) for b in batch_sizes]),
        }

    return runtime.jit(evaluate)


def _modes(config, mnist):
    """Part (c): per seed, the three evaluations after every epoch, and the train-mode accuracy
    at each evaluation batch size after the last."""
    data = _subset(mnist, config.mode_train_size)
    x = jnp.asarray(mnist.validation.x[: config.eval_size])
    labels = jnp.asarray(mnist.validation.labels[: config.eval_size])
    model = models.mlp(config.hidden, batch_norm=True)
    optimizer = optim.momentum(config.lr)
    evaluate = _mode_evaluator(model, x, labels, config.eval_batch, config.eval_batch_sizes)
    curves = {key: [] for key in ("running", "batch", "single")}
    by_batch, distinct, share = [], [], []
    for seed in config.seeds:
        records = []
        common.train(
            model,
            data,
            optimizer,
            epochs=config.mode_epochs,
            batch_size=config.mode_batch_size,
            seed=seed,
            label=f"modes seed {seed}",
            on_epoch=lambda record, ts, records=records: records.append(
                jax.device_get(evaluate(ts.params, ts.state))
            ),
        )
        for key in curves:
            curves[key].append([float(r[key]) for r in records])
        by_batch.append(np.asarray(records[-1]["by_batch_size"]).tolist())
        predicted = np.asarray(records[-1]["single_predictions"])
        distinct.append(len(np.unique(predicted)))
        share.append(float((np.asarray(labels) == np.bincount(predicted).argmax()).mean()))
    return {
        "eval_size": config.eval_size,
        "eval_batch": config.eval_batch,
        "eval_batch_sizes": list(config.eval_batch_sizes),
        "curves": curves,
        "by_batch_size": by_batch,
        "single_distinct_predictions": distinct,
        "single_predicted_class_share": share,
    }


def run(config: Config) -> dict:
    sizes = (config.scale_train_size, config.batch_train_size, config.mode_train_size)
    mnist = common.load_data(config.data, train_size=max(sizes), seed=config.data_seed)
    if config.eval_size % config.eval_batch or any(config.eval_size % b for b in config.eval_batch_sizes):
        raise ValueError(f"eval_size {config.eval_size} must be a multiple of every evaluation batch size")
    return {
        "setup": {
            **dataclasses.asdict(config),
            "validation_size": len(mnist.validation.x),
            "momentum": 0.9,
            "bn_momentum": 0.9,
            "eps": EPS,
        },
        "init_scale": _scale_sweep(config, mnist),
        "batch_size": _batch_sweep(config, mnist),
        "modes": _modes(config, mnist),
    }
