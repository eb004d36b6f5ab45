"""The loss at initialisation: a sanity check before training, and why it is not exact.

Question: before any update, what loss should a 10-class network report? With scores near 0
every class gets probability 1/10, so softmax cross-entropy is ln 10 = 2.30; the multiclass
SVM sums max(0, s_j - s_y + 1) over the 9 wrong classes, 9 * margin = 9 for scores near 0.
A first-batch loss far from these values points at a bug (a wrong loss, labels, or scale).
How close are the assignment's MLP and CNN to them?

Setup: the MLP (784-512-256-10) and the CNN of `fnn.models`, each with He initialisation
(fnn's default, std sqrt(2 / fan-in)) and with every weight drawn with std `small_scale`
(scores all near 0, the textbook case), for each seed in `seeds` (the parameters that
`fnn.run.train` starts from with that seed). The loss is the mean over the first `batches`
batches of `batch_size` training images (the shuffled training split of `data_seed`),
test-mode forward, no update. Reported: the mean and sd over the seeds, and the spread of
the scores: sigma, the standard deviation of an example's 10 scores (root mean square over
the examples), with the loss that independent N(0, sigma^2) scores would give.

Why He initialisation deviates: He scaling keeps the variance of the activations about
constant from layer to layer, so the scores are not 0 but spread by sigma (about 0.5 here).
The softmax loss log sum_j exp(s_j - s_y) then rises above ln 10, by about
sigma^2 / 2 * (K - 1) / K for small sigma: the largest wrong score counts more than the average
one. The SVM's hinges are linear unless s_j - s_y < -1, so its loss stays near 9 until sigma
approaches 1 and the hinges start to clip (then it rises). With std `small_scale` the
scores are about 1e-6 and both losses equal the textbook values.

Figure: init_loss.png, one panel per loss: the measured mean (dots, sd error bars) per model and
initialisation, the textbook value (dashed) and the Gaussian reference for the measured sigma (x).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import numpy as np
from matplotlib.figure import Figure

from fnn import experiment, losses, models, optim, plots, step
from fnn.train import predict

EXPECTED = {"softmax_cross_entropy": math.log(10), "multiclass_svm": 9.0}


@dataclasses.dataclass(frozen=True)
class Config:
    models: tuple = ("mlp", "cnn")
    seeds: tuple = (0, 1, 2, 3, 4)
    batches: int = 10
    batch_size: int = 128
    small_scale: float = 1e-3  # std of every weight in the "small" initialisation
    data_seed: int = 0
    data: str | None = None


QUICK = {"seeds": (0, 1), "batches": 2, "batch_size": 64}


def _model(name: str, init: str, small_scale: float):
    scale = None if init == "he" else small_scale
    return models.mlp(weight_scale=scale) if name == "mlp" else models.cnn(weight_scale=scale)


def _initial_scores(model, x, seed):
    """Test-mode scores (N, K) of x under the parameters training with `seed` starts from."""
    ts = step.init_train_state(model, optim.sgd(0.1), x.shape[1:], seed)
    return predict(model, ts.params, ts.state, x)


def _gaussian_reference(loss, sigma: float, samples: int = 20000) -> float:
    """The loss of independent N(0, sigma^2) scores (the label does not matter by symmetry)."""
    scores = sigma * jax.random.normal(jax.random.key(0), (samples, 10))
    return float(loss(scores, np.zeros(samples, np.int32))[0])


def _measure(model, x, labels, config):
    """Per seed: each loss's mean over the batches, and the spread sigma of the scores."""
    per_seed = {name: [] for name in losses.LOSSES}
    sigmas = []
    for seed in config.seeds:
        scores = _initial_scores(model, x, seed)
        sigmas.append(float(np.sqrt(scores.var(axis=1, ddof=1).mean())))
        for name, loss in losses.LOSSES.items():
            batch_losses = [
                float(loss(s, y)[0])
                for s, y in zip(np.split(scores, config.batches), np.split(labels, config.batches))
            ]
            per_seed[name].append(float(np.mean(batch_losses)))
    sigma = float(np.mean(sigmas))
    return {
        name: {
            "per_seed": values,
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "expected": EXPECTED[name],
            "score_spread": sigma,
            "gaussian_reference": _gaussian_reference(losses.LOSSES[name], sigma),
        }
        for name, values in per_seed.items()
    }


def run(config: Config) -> dict:
    n = config.batches * config.batch_size
    mnist = experiment.load_data(config.data, train_size=n, seed=config.data_seed)
    x, labels = mnist.train.x, mnist.train.labels
    measured = {
        name: {
            init: _measure(_model(name, init, config.small_scale), x, labels, config)
            for init in ("he", "small")
        }
        for name in config.models
    }
    return {
        "setup": {
            "images": n,
            "batches": config.batches,
            "seeds": list(config.seeds),
            "inits": {"he": "std sqrt(2 / fan-in)", "small": f"std {config.small_scale:g}"},
            "score_spread": "std of an example's 10 scores, root mean square over the images",
        },
        "expected": EXPECTED,
        "measured": measured,
    }


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, len(EXPECTED))
    for ax, (loss, expected) in zip(axes, results["expected"].items()):
        labels, rows = [], []
        for model, by_init in results["measured"].items():
            for init, by_loss in by_init.items():
                labels.append(f"{model}\n{'He' if init == 'he' else results['setup']['inits'][init]}")
                rows.append(by_loss[loss])
        where = np.arange(len(rows))
        means, sds = [r["mean"] for r in rows], [r["sd"] for r in rows]
        ax.errorbar(where, means, yerr=sds, fmt="o", capsize=5, label="measured")
        ax.plot(where, [r["gaussian_reference"] for r in rows], "kx", label="N(0, sigma^2) scores")
        ax.axhline(expected, color="r", ls="--", label=f"scores = 0: {expected:.2f}")
        ax.set_xticks(where, labels, fontsize=8)
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set(ylabel="loss before any update", title=loss)
        ax.legend(fontsize=8)
    fig.suptitle("loss at initialisation (mean ± sd over seeds)")
    fig.tight_layout()
    plots.save(fig, out / "init_loss.png")


def main(argv=None) -> Path:
    return experiment.main("init_loss", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
