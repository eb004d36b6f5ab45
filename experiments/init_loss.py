"""The loss at initialisation: a sanity check before training, and why it is not exact.

Question: before any update, what loss should a 10-class network report? With scores near 0
every class gets probability 1/10, so softmax cross-entropy is ln 10 = 2.30; the multiclass
SVM sums max(0, s_j - s_y + 1) over the 9 wrong classes, 9 * margin = 9 for scores near 0.
A first-batch loss far from these values points at a bug (a wrong loss, labels, or scale).
How close are the assignment's MLP and CNN to them?

Setup: the MLP (784-512-256-10) and the CNN of `fnn.models`, each with He initialisation
(fnn's default, std sqrt(2 / fan-in)) and with every weight drawn with std `small_scale`
(scores all near 0, the textbook case), for each seed in `seeds` (the parameters that
`fnn.train.fit` starts from with that seed). The loss is the mean over the first `batches`
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

The recipe's first batch: the loss that `fnn train` (and the `mlp` and `cnn` experiments) logs
for its first batch is the train-mode loss of the recipe's model (He initialisation, dropout
after the hidden layers) on one batch of the recipe's size, drawn as `fnn.train.fit` draws its
first batch for that seed, before the first update. It is measured here per seed, with the
test-mode loss of the same batch and parameters beside it: the difference is what dropout adds
(inverted dropout keeps the mean of each unit but widens the scores, raising the softmax loss
as a larger sigma does), and the spread over seeds is that of one batch of 64 or 128 images.

Figure: init_loss.png, one panel per loss: the measured mean (dots, sd error bars) per model and
initialisation, the textbook value (dashed) and the Gaussian reference for the measured sigma (x);
on the softmax panel also the recipe's first batch in train mode (triangles) and in test mode
(squares), mean with sd error bars over the seeds. `section(results)` writes the report's
section from results.json.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from experiments import common, latex
from fnn import losses, models, optim, plots, runtime, step
from fnn.losses import softmax_cross_entropy

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


def _initial_state(model, optimizer, in_shape):
    """A jitted `seed -> fnn.step.init_train_state(...)`: what training with that seed starts from
    (one compilation instead of one per array of the initialisation)."""
    return runtime.jit(lambda seed: step.init_train_state(model, optimizer, in_shape, seed))


def _test_mode(model):
    """A jitted `(params, state, x) -> scores` in test mode, compiled once per model and shape."""
    return runtime.jit(lambda params, state, x: model.apply(params, state, x, train=False)[0])


def _gaussian_reference(loss, sigma: float, samples: int = 20000) -> float:
    """The loss of independent N(0, sigma^2) scores (the label does not matter by symmetry)."""
    scores = sigma * jax.random.normal(jax.random.key(0), (samples, 10))
    return float(loss(scores, np.zeros(samples, np.int32))[0])


def _measure(model, x, labels, config):
    """Per seed: each loss's mean over the batches, and the spread sigma of the scores."""
    per_seed = {name: [] for name in losses.LOSSES}
    sigmas = []
    forward, initial = _test_mode(model), _initial_state(model, optim.sgd(0.1), x.shape[1:])
    for seed in config.seeds:
        ts = initial(seed)
        scores = np.asarray(forward(ts.params, ts.state, jnp.asarray(x)))
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


def recipe_first_batch(name: str, mnist, seeds) -> list[dict]:
    """Per seed: the loss `fnn.train.fit` logs for the first batch of `name`'s recipe (train
    mode, dropout on, before the update), and the test-mode loss of the same batch and parameters."""
    recipe = models.RECIPES[name]
    model = models.MODELS[name](drop_rate=recipe.drop_rate)
    optimizer = recipe.make_optimizer(len(mnist.train.x) // recipe.batch_size)

    @runtime.jit
    def train_mode_loss(ts, x, labels):  # the loss fnn.step.train_step_fn returns, without its update
        _, dropout_key = jax.random.split(ts.key)  # as train_step_fn splits the state's key
        scores, _, _ = model.apply(ts.params, ts.state, x, train=True, key=dropout_key)
        return softmax_cross_entropy(scores, labels)[0]

    forward, initial = _test_mode(model), _initial_state(model, optimizer, mnist.train.x.shape[1:])
    out = []
    for seed in seeds:
        ts = initial(seed)
        data_key = jax.random.fold_in(jax.random.key(seed), 1)  # fnn.train.fit's key for the epochs' orders
        order = step.shuffled_batches(jax.random.fold_in(data_key, 0), len(mnist.train.x), recipe.batch_size)
        rows = np.asarray(order[0])
        x, labels = jnp.asarray(mnist.train.x[rows]), jnp.asarray(mnist.train.labels[rows])
        train_loss = train_mode_loss(ts, x, labels)
        test_loss, _ = softmax_cross_entropy(forward(ts.params, ts.state, x), labels)
        out.append({"train_mode": float(train_loss), "test_mode": float(test_loss)})
    return out


def _first_batches(name, mnist, config):
    per_seed = recipe_first_batch(name, mnist, config.seeds)
    recipe = models.RECIPES[name]
    out = {"batch_size": recipe.batch_size, "drop_rate": recipe.drop_rate}
    for mode in ("train_mode", "test_mode"):
        values = [r[mode] for r in per_seed]
        out[mode] = {
            "per_seed": values,
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        }
    return out


def run(config: Config) -> dict:
    n = config.batches * config.batch_size
    mnist = common.load_data(config.data, seed=config.data_seed)
    x, labels = mnist.train.x[:n], mnist.train.labels[:n]
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
            "batch_size": config.batch_size,
            "seeds": list(config.seeds),
            "small_scale": config.small_scale,
            "inits": {"he": "std sqrt(2 / fan-in)", "small": f"std {config.small_scale:g}"},
            "score_spread": "std of an example's 10 scores, root mean square over the images",
            "train_size": len(mnist.train.x),
        },
        "expected": EXPECTED,
        "measured": measured,
        "first_batch": {name: _first_batches(name, mnist, config) for name in config.models},
    }


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(12, 4.5))
    axes = fig.subplots(1, len(EXPECTED), width_ratios=[3, 2])
    setup = results["setup"]
    for ax, (loss, expected) in zip(axes, results["expected"].items()):
        labels, rows = [], []
        for model, by_init in results["measured"].items():
            for init, by_loss in by_init.items():
                labels.append(f"{model}\n{'He' if init == 'he' else setup['inits'][init]}")
                rows.append(by_loss[loss])
        where = np.arange(len(rows))
        means, sds = [r["mean"] for r in rows], [r["sd"] for r in rows]
        ax.errorbar(
            where,
            means,
            yerr=sds,
            fmt="o",
            color="C0",
            capsize=5,
            label=f"{setup['images']} images, test mode",
        )
        ax.plot(where, [r["gaussian_reference"] for r in rows], "kx", ms=8, label="N(0, sigma^2) scores")
        if loss == "softmax_cross_entropy":  # the loss the recipes train with and log
            for i, (model, first) in enumerate(results["first_batch"].items()):
                at = len(rows) + i
                labels.append(f"{model} recipe\nfirst batch ({first['batch_size']})")
                for mode, marker, color, shift in (
                    ("train_mode", "^", "C1", -0.1),
                    ("test_mode", "s", "C2", 0.1),
                ):
                    ax.errorbar(
                        at + shift,
                        first[mode]["mean"],
                        yerr=first[mode]["sd"],
                        fmt=marker,
                        color=color,
                        capsize=5,
                        label=f"first batch, {mode.replace('_', ' ')}" if i == 0 else None,
                    )
        ax.axhline(expected, color="r", ls="--", label=f"scores = 0: {expected:.2f}")
        ax.set_xticks(np.arange(len(labels)), labels, fontsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set(ylabel="loss before any update", title=loss)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"loss at initialisation (mean ± sd over {len(setup['seeds'])} seeds)")
    fig.tight_layout()
    plots.save(fig, out / "init_loss.png")


def main(argv=None) -> Path:
    return common.main("init_loss", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()


def _tex_number(x: float) -> str:
    """x with 2 significant digits, as $1.6 \\times 10^{-6}$ when it is small."""
    if abs(x) >= 0.01:
        return f"${x:.2f}$"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"${mantissa} \\times 10^{{{int(exponent)}}}$"


NAMES = {"mlp": "MLP", "cnn": "CNN"}


def _name(model: str) -> str:
    return NAMES.get(model, latex.esc(model))


def _paired(first: dict) -> list[float]:
    """Per seed: the first batch's train-mode loss minus its test-mode loss (same batch, same weights)."""
    return list(np.subtract(first["train_mode"]["per_seed"], first["test_mode"]["per_seed"]))


def _close(measured: dict, value: float) -> bool:
    """Whether `value` lies within the measurement's spread (sd over the seeds, or 1e-3)."""
    return abs(measured["mean"] - value) <= max(measured["sd"], 1e-3)


def section(r: dict) -> str:
    """This experiment's section of REPORT.pdf (LaTeX), every number read from `r`."""
    setup, expected, measured = r["setup"], r["expected"], r["measured"]
    soft_k, svm_k = "softmax_cross_entropy", "multiclass_svm"
    ln10, nine = expected[soft_k], expected[svm_k]
    seeds, names = len(setup["seeds"]), list(measured)

    def pm(d, digits=3):
        return latex.pm(d["per_seed"], digits)

    rows = []
    for model, by_init in measured.items():
        for init, by_loss in by_init.items():
            soft, svm = by_loss[soft_k], by_loss[svm_k]
            init_name = "He" if init == "he" else f"std ${setup['small_scale']:g}$"
            rows.append(
                [
                    _name(model),
                    init_name,
                    _tex_number(soft["score_spread"]),
                    pm(soft),
                    f"${soft['gaussian_reference']:.3f}$",
                    pm(svm),
                    f"${svm['gaussian_reference']:.3f}$",
                ]
            )
    table = latex.table(
        [
            "model",
            "init.",
            r"$\sigma$",
            "softmax",
            r"$\mathcal{N}(0,\sigma^2)$",
            "SVM",
            r"$\mathcal{N}(0,\sigma^2)$",
        ],
        rows,
        f"Loss before any update, mean $\\pm$ sd over {seeds} seeds ({setup['images']} training images, "
        "test mode). $\\sigma$: standard deviation of an example's 10 scores (root mean square over the "
        "images, mean over the seeds); $\\mathcal{N}(0,\\sigma^2)$: the loss of independent Gaussian "
        f"scores of that spread. Scores $= 0$ give ${ln10:.3f}$ (softmax) and ${nine:g}$ (SVM).",
        "init-loss",
    )
    first = r["first_batch"]
    first_rows = [
        [
            _name(model),
            f"${f['batch_size']}$",
            f"${f['drop_rate']:g}$",
            pm(f["train_mode"]),
            pm(f["test_mode"]),
            latex.pm(_paired(f), 3),
        ]
        for model, f in first.items()
    ]
    first_table = latex.table(
        ["recipe", "batch", "drop rate", "train mode", "test mode", "train $-$ test"],
        first_rows,
        f"Softmax loss of each recipe's first batch before the first update, mean $\\pm$ sd over {seeds} "
        "seeds: train mode (dropout on: the value the training log shows) and test mode (dropout off), "
        "same batch and parameters.",
        "init-loss-first-batch",
    )

    small_ok = all(
        _close(measured[m]["small"][soft_k], ln10) and _close(measured[m]["small"][svm_k], nine)
        for m in names
    )
    small_text = (
        "With every weight drawn with standard deviation "
        f"${setup['small_scale']:g}$ the scores are nearly 0 ($\\sigma$ in Table~\\ref{{tab:init-loss}}) and "
        + (
            "both losses equal the textbook values for every model and seed (Table~\\ref{tab:init-loss}, "
            "Figure~\\ref{fig:init_loss-init-loss}): the losses are normalised correctly (their constants "
            "and the mean over the batch). With scores near 0 the losses are $\\ln K$ and $K - 1$ whatever "
            "the labels and the images, so this check says nothing about those."
            if small_ok
            else "the measured losses do NOT all equal the textbook values (Table~\\ref{tab:init-loss}): "
            "with scores near 0 they must, whatever the labels and the images, so a loss is wrong (its "
            "constants or its mean over the batch)."
        )
    )
    he = {m: measured[m]["he"] for m in names}
    above = [m for m in names if he[m][soft_k]["mean"] > ln10 and not _close(he[m][soft_k], ln10)]
    he_sentences = []
    for m in names:
        s, v = he[m][soft_k], he[m][svm_k]
        sigma = s["score_spread"]
        predicted = sigma**2 / 2 * 9 / 10
        he_sentences.append(
            f"the {_name(m)}'s scores spread by $\\sigma = {sigma:.2f}$ and its softmax loss is "
            f"{pm(s)}, ${s['mean'] - ln10:+.3f}$ from $\\ln 10$ (the small-$\\sigma$ estimate "
            f"$\\tfrac{{\\sigma^2}}{{2}}\\tfrac{{K-1}}{{K}}$ gives ${predicted:+.3f}$, Gaussian scores "
            f"${s['gaussian_reference'] - ln10:+.3f}$); its SVM loss is {pm(v)}, which "
            + ("is within the spread of" if _close(v, nine) else "differs from")
            + f" ${nine:g}$"
        )
    ratios = {m: he[m][svm_k]["sd"] / max(he[m][soft_k]["sd"], 1e-12) for m in names}
    # an sd over n seeds is uncertain by about 1 / sqrt(2 (n - 1)) of itself (Gaussian values);
    # a ratio of two such sds by up to about (1 + u)^2 either way
    u = 1 / math.sqrt(2 * (seeds - 1)) if seeds > 1 else math.inf
    factor = (1 + u) ** 2
    consistent = all(1 / factor <= v / 10 <= factor for v in ratios.values())
    svm_spread = (
        "Near $s = 0$ both losses share one first-order term: softmax $\\approx \\ln K + \\tfrac1K "
        "\\sum_{j \\ne y}(s_j - s_y)$, and the SVM is $(K - 1) + \\sum_{j \\ne y}(s_j - s_y)$ while every "
        "hinge is active. Averaged over the images this term is not 0 for one network (images of one "
        "class share features, so the mean score of class $j$ on the images of class $c$ is a fixed "
        "number of order $\\sigma$ for given weights) and it changes with the seed, $K$ times more for "
        "the SVM than for softmax. The ratio of the spreads over seeds, SVM sd over softmax sd, is "
        + " and ".join(f"${ratios[m]:.1f}$ for the {_name(m)}" for m in names)
        + (
            f". With {seeds} seeds an sd is itself uncertain by about $\\pm{100 * u:.0f}\\,\\%$ "
            "($1/\\sqrt{2(n-1)}$ for Gaussian values), so such a ratio is known only to within a factor of "
            f"about ${factor:.1f}$; "
            + (
                "within that, the ratios are consistent with $K = 10$, as they should be if this term is what "
                "spreads the initial losses over the seeds (consistent with it, not a proof of it). "
                if consistent
                else "even so, they are not all consistent with $K = 10$, so terms beyond this one (second "
                "order, clipped hinges) seem to spread the losses as much as it does. "
            )
            if seeds > 1
            else ". "
        )
    )
    near = [
        m
        for m in names
        if abs(he[m][soft_k]["mean"] - he[m][soft_k]["gaussian_reference"]) <= he[m][soft_k]["sd"]
    ]
    far = [m for m in names if m not in near]
    not_near = (
        "it is not"
        if near
        else "the Gaussian reference with the measured $\\sigma$ is not within the spread of the softmax measurement"
    )
    gaussian_text = (
        (
            f"For the {' and the '.join(_name(m) for m in near)} the Gaussian reference with the measured "
            "$\\sigma$ is within the spread of the softmax measurement. "
            if near
            else ""
        )
        + "".join(
            f"For the {_name(m)} {not_near}: the measured softmax loss is "
            f"${abs(he[m][soft_k]['mean'] - he[m][soft_k]['gaussian_reference']):.3f}$ "
            f"{'below' if he[m][soft_k]['mean'] < he[m][soft_k]['gaussian_reference'] else 'above'} the reference, "
            f"more than its sd over the seeds (${he[m][soft_k]['sd']:.3f}$). "
            for m in far
        )
        + (
            "The reference takes each image's scores as independent Gaussians of one spread $\\sigma$. To second "
            "order in the scores the rise is $\\tfrac{\\sigma^2}{2}\\tfrac{K-1}{K}$ whatever their distribution, "
            "so a gap has to come from elsewhere: from higher-order terms (a spread that varies from image to "
            "image, or scores that are not Gaussian) or from the first-order term above, which averages to 0 "
            f"only over many seeds, not over {seeds}. Which of these it is was not measured here."
            if far
            else ""
        )
    )
    he_text = (
        "With He initialisation (fnn's default, std $\\sqrt{2/\\text{fan-in}}$) "
        + "; ".join(he_sentences)
        + ". "
        + (
            f"The softmax loss is above $\\ln 10$ for the {' and the '.join(_name(m) for m in above)}, by more than "
            "the spread over seeds. "
            if above
            else "No model's softmax loss is above $\\ln 10$ by more than the spread over seeds. "
        )
        + "The reason is the purpose of He initialisation: it keeps the variance of the activations "
        "about constant from layer to layer, so the scores come out with a spread of order 1, not 0. "
        "The softmax loss $\\log\\sum_j e^{s_j} - s_y$ is convex in the scores, so by Jensen's inequality "
        "a spread of scores with mean 0 can only raise it above its value at $s = 0$: the largest wrong "
        "score counts more than the average one. For small $\\sigma$ the rise is about "
        "$\\tfrac{\\sigma^2}{2}\\tfrac{K-1}{K}$. The SVM is linear in the scores as long as every hinge "
        "$s_j - s_y + 1$ is positive, so its expectation stays at $9$ until $\\sigma$ is large enough "
        "for hinges to clip at 0, which can only raise it (convexity again).\n\n" + svm_spread + gaussian_text
    )
    seed0 = setup["seeds"].index(0) if 0 in setup["seeds"] else None
    raised = {m: _paired(f) for m, f in first.items()}
    always = [
        m for m, d in raised.items() if min(d) > 0 and np.mean(d) > np.std(d, ddof=1 if len(d) > 1 else 0)
    ]
    first_text = (
        "What the training log shows at step 1 is neither of these: it is the train-mode loss of one "
        "batch of the recipe's size, with the recipe's dropout on (Table~\\ref{tab:init-loss-first-batch}). "
        + " ".join(
            f"For the {_name(m)} recipe it is {pm(f['train_mode'])} in train mode and {pm(f['test_mode'])} "
            "in test mode"
            + (f" (seed 0: ${f['train_mode']['per_seed'][seed0]:.3f}$)." if seed0 is not None else ".")
            for m, f in first.items()
        )
        + " "
        + (
            "Compared on the same batch and weights (paired over the seeds, last column), dropout raises "
            f"the first loss in every seed for the {' and the '.join(_name(m) for m in always)}, by "
            + " and ".join(latex.pm(raised[m], 3) for m in always)
            + ": inverted dropout keeps each unit's mean but adds noise to the scores, which widens their "
            "spread and, by the same convexity, raises the softmax loss."
            + "".join(
                f" For the {_name(m)} the paired difference, {latex.pm(raised[m], 3)}, "
                + (
                    "is within its spread."
                    if min(raised[m]) > 0
                    else "does not have one sign over the seeds."
                )
                for m in first
                if m not in always
            )
            if always
            else "Paired over the seeds on the same batch and weights, the difference between train and test "
            "mode does not have one sign, so dropout's effect on the first loss is within the noise."
        )
        + " A first-batch loss near these values is what a correct network reports; one far from "
        f"${ln10:.2f}$ (several units above, or near 0) points at a bug in the loss, the labels or the "
        "initialisation scale."
    )
    return (
        "\\section{Loss at initialisation}\\label{sec:exp-init_loss}\n"
        "\\paragraph{Question.} Before any update, what loss should a 10-class network report, and why "
        "does the training log of fnn's recipes not show exactly that? With all scores $s_j = 0$ every "
        f"class has probability $1/K$, so softmax cross-entropy is $\\ln K = \\ln 10 = {ln10:.3f}$; the "
        "multiclass SVM sums $\\max(0, s_j - s_y + \\Delta)$ over the $K - 1 = 9$ wrong classes, "
        f"$9\\Delta = {nine:g}$ for the margin $\\Delta = 1$ (Section~\\ref{{sec:losses}}).\n\n"
        "\\paragraph{Setup.} The MLP and the CNN of the assignment (\\texttt{fnn.models}), each with He "
        f"initialisation and with every weight drawn with standard deviation ${setup['small_scale']:g}$, "
        f"{seeds} seeds (the parameters \\texttt{{fnn.train.fit}} starts from with that seed), no dropout; "
        f"the loss is the mean over the first {setup['batches']} batches of {setup['batch_size']} training "
        "images, test-mode forward, no update. The recipes' first batch: the MLP and CNN recipes "
        "(dropout after the hidden layers, Table~\\ref{tab:init-loss-first-batch}), the batch that "
        "\\texttt{fnn.train.fit} draws first for each seed, from the "
        f"{setup['train_size']:,} training images.\n\n"
        f"{table}\n{first_table}\n"
        + latex.figure(
            "init_loss",
            "init_loss.png",
            f"Loss before any update, mean $\\pm$ sd over {seeds} seeds (error bars), per model and "
            "initialisation; dashed: the value for scores $= 0$; crosses: independent Gaussian scores with "
            "the measured $\\sigma$; on the softmax panel also the recipes' first batch in train mode "
            "(triangles) and test mode (squares).",
            width=0.95,
        )
        + f"\n\\paragraph{{Answer.}} {small_text}\n\n{he_text}\n\n{first_text}\n"
    )
