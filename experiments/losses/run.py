"""The numbers of experiments.losses (its code hash covers this file and its imports).

The MLP 784-256-10 (He initialisation, no dropout), SGD + momentum 0.9 at a constant lr, batch
128, `epochs` epochs on the training split (that of `data_seed`; all 55,000 images unless
`train_size`), once per seed in `seeds` for each loss. The seed draws the initial weights and
the batch order, so the two losses of one seed start from the same weights and see the same
batches. Test numbers are of the parameters `experiments.common.train` keeps (the best
validation epoch's), on the 10,000 test images; `test_wrong` lists, per seed, the sorted indices
of the test images that model gets wrong (for McNemar's test between the losses).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from experiments import common
from fnn import losses, models, optim, step


@dataclasses.dataclass(frozen=True)
class Config:
    epochs: int = 5
    lr: float = 0.05
    batch_size: int = 128
    hidden: tuple = (256,)
    seeds: tuple = (0, 1, 2)
    data_seed: int = 0
    smooth: int = 50
    data: str | None = None
    train_size: int | None = None


QUICK = {"epochs": 2, "hidden": (32,), "train_size": 3000, "seeds": (0, 1), "smooth": 5}

KEYS = (
    "test_accuracy",
    "test_errors",
    "test_wrong",
    "val_accuracy",
    "batch_losses",
    "zero_batches",
    "median_top2_gap",
)


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    runs = {}
    for name, loss in losses.LOSSES.items():
        model = models.mlp(config.hidden)
        optimizer = optim.momentum(config.lr)
        # one compiled epoch for every seed of this loss
        epoch = step.make_epoch(model, loss, optimizer, batch_size=config.batch_size)
        per_seed = {key: [] for key in KEYS}
        for seed in config.seeds:
            result = common.train(
                model,
                mnist,
                optimizer,
                epochs=config.epochs,
                batch_size=config.batch_size,
                seed=seed,
                loss=loss,
                epoch=epoch,
                label=f"{name} seed {seed}",
            )
            scores = result.test_scores
            top2 = np.sort(scores, axis=1)[:, -2:]
            wrong = np.flatnonzero(scores.argmax(1) != mnist.test.labels)
            per_seed["test_accuracy"].append(float((scores.argmax(1) == mnist.test.labels).mean()))
            per_seed["test_errors"].append(int(wrong.size))
            per_seed["test_wrong"].append(wrong.tolist())
            per_seed["val_accuracy"].append([h["val_accuracy"] for h in result.history])
            per_seed["batch_losses"].append([v for h in result.history for v in h["batch_losses"]])
            per_seed["zero_batches"].append(
                [int(np.sum(np.asarray(h["batch_losses"]) == 0)) for h in result.history]
            )
            per_seed["median_top2_gap"].append(float(np.median(top2[:, 1] - top2[:, 0])))
        runs[name] = per_seed
    return {
        "setup": {
            **dataclasses.asdict(config),
            "train_size": len(mnist.train.x),
            "validation_size": len(mnist.validation.x),
            "test_size": len(mnist.test.x),
            "steps_per_epoch": len(mnist.train.x) // config.batch_size,
            "momentum": 0.9,
            "svm_margin": 1.0,
        },
        "runs": runs,
    }
