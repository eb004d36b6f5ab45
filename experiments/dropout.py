"""Dropout: how much does it close the train-validation gap, and why is it *inverted*?

Question: the assignment's MLP can use dropout; what does the drop rate q do to the final
train accuracy, the validation accuracy and the gap between them, and what goes wrong if
train mode only zeroes units, without dividing the kept ones by 1 - q?

Setup: the MLP 784-512-256-10 with dropout after each hidden ReLU, the `mlp` recipe's
optimizer and schedule (SGD + momentum 0.9, lr 0.1, warm-up then cosine, weight decay 5e-4,
batch 128), trained for `epochs` epochs on the first `train_size` images of the shuffled
training split (that of `data_seed`; a small set, so that the network can overfit it), once
per seed in `seeds`, for each drop rate in `drop_rates` and each of two dropout layers:
- "inverted": fnn's `dropout`, y = x * keep / (1 - q) in train mode, y = x in test mode;
- "unscaled": `unscaled_dropout` below, y = x * keep in train mode (the same mask for the
  same key), y = x in test mode.
q = 0 is the same network for both (no dropout layer): it is trained once per seed and shown in both.
Every number is of the parameters `experiments.common.train` keeps (the best validation epoch's); train
accuracy is measured in test mode on the whole training subset, so that gap = train - validation
compares like with like.

Without inverted scaling, a unit is kept with probability 1 - q, so in training the layer after
a dropout receives on average (1 - q) x, and its weights adapt to inputs of that size. In test
mode dropout is the identity: the full x arrives, 1 / (1 - q) times larger than anything seen in
training (twice as large for q = 0.5), and the next layer sees a shifted scale. Each dropout layer
compounds it: the scores layer, after two, sees about 1 / (1 - q)^2 (`activation_ratio`, the mean
input of the scores layer in test mode over train mode on 1,000 validation images). For ReLU
layers with small biases, scaling the input scales the scores by about the same factor, which
keeps most argmaxes (accuracy) but makes the scores overconfident, which the validation loss
shows. Inverted dropout puts the 1 / (1 - q) in training, so E[y] = x and test mode needs nothing;
the original dropout paper instead multiplies by 1 - q at test time. (Inverted scaling matches
the mean, not the spread: after a second dropout layer its ratio falls below 1, because the
train-mode noise widens the pre-activations of the next ReLU, whose mean grows with their spread.)

The paper's test rule is measured too: each unscaled network is evaluated on the validation set
once more with every weight matrix that reads a dropout output multiplied by 1 - q
(`scaled_for_test`). That network computes exactly what an inverted-dropout network with weights
W (1 - q) computes, so the two variants differ only in training: writing the unscaled weights as
W = W' / (1 - q), its gradient step on W is a step (1 - q)^2 times smaller on W' (weight decay,
which multiplies the weights, is unchanged). Unscaled dropout trains the layers after a dropout
layer with the learning rate times (1 - q)^2.

Figures: rates.png, against the drop rate, both variants, mean with sd error bars over the
seeds: validation accuracy, the train - validation gap, the validation loss (with the unscaled
networks also under the paper's test rule), and the activation ratio with the references
1 / (1 - q)^k, k = 1 .. the number of dropout layers. `section(results)` writes the report's
section from results.json.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from experiments import common, latex
from fnn import checks, layers, models, plots
from fnn.layer import Layer, serial
from fnn.train import best_epoch, make_evaluate, predict

RECIPE = models.RECIPES["mlp"]
VARIANTS = ("inverted", "unscaled")
PROBE = 1000  # validation images on which the activation ratio is measured


class UnscaledDropoutCache(NamedTuple):
    keep: jax.Array  # like x: 1 where the unit was kept, 0 where it was zeroed (ones in test mode)


def unscaled_dropout(drop_rate: float, *, name: str = "unscaled_dropout") -> Layer:
    """Dropout WITHOUT inverted scaling: y = x * keep in train mode, y = x in test mode.

    keep ~ Bernoulli(1 - drop_rate), drawn as fnn's `dropout` draws it (the same mask for the
    same key); the kept units are not divided by 1 - drop_rate. Backward: dx = dy * keep.

    Args:
        drop_rate: probability of zeroing, in [0, 1).
    """
    drop_rate = checks.probability(name, "drop_rate (the probability of zeroing)", drop_rate)

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        checks.params_keys(name, params, ())
        x = jnp.asarray(x, checks.floating(name, "x", x))
        if not train:
            return x, state, UnscaledDropoutCache(jnp.ones_like(x))
        if key is None:
            raise ValueError(
                f"{name}: train=True needs a PRNG key for the dropout mask: "
                "apply(params, state, x, train=True, key=jax.random.key(0))"
            )
        keep = jax.random.bernoulli(key, 1.0 - drop_rate, x.shape).astype(x.dtype)  # (1)
        return x * keep, state, UnscaledDropoutCache(keep)  # (2), no / (1 - drop_rate)

    def backward(params, cache, dy):
        """dx = dy * keep: y is x times a constant mask."""
        checks.params_keys(name, params, ())
        checks.shape(name, "dy", jnp.shape(dy), cache.keep.shape, "like x and y")
        return jnp.asarray(dy, cache.keep.dtype) * cache.keep, {}

    return Layer(name=name, init=init, apply=apply, backward=backward)


def _stack(hidden, drop_rate: float, variant: str) -> list[Layer]:
    drop = (
        layers.dropout
        if checks.one_of("dropout", "variant", variant, VARIANTS) == "inverted"
        else unscaled_dropout
    )
    stack = [layers.flatten()]
    for i, width in enumerate(hidden):
        stack += [layers.affine(width, name=f"affine{i + 1}"), layers.relu()]
        if drop_rate:
            stack.append(drop(drop_rate, name="dropout"))
    stack.append(layers.affine(10, name="scores"))
    return stack


def mlp(hidden, drop_rate: float, variant: str) -> Layer:
    """`fnn.models.mlp` with the dropout layer of `variant` ("inverted" or "unscaled")."""
    return serial(*_stack(hidden, drop_rate, variant), name="mlp")


def scaled_for_test(hidden, drop_rate: float, params: tuple) -> tuple:
    """The original paper's test rule for a network trained with unscaled dropout: every weight
    matrix that reads a dropout layer's output is multiplied by 1 - drop_rate (biases unchanged),
    so the test-mode network (dropout = identity) feeds each layer what it saw on average in
    training."""
    stack = _stack(hidden, drop_rate, "unscaled")
    after = {i + 1 for i, layer in enumerate(stack) if layer.name == "dropout"}
    return tuple({**p, "W": (1.0 - drop_rate) * p["W"]} if i in after else p for i, p in enumerate(params))


@dataclasses.dataclass(frozen=True)
class Config:
    drop_rates: tuple = (0.0, 0.1, 0.3, 0.5)
    seeds: tuple = (0, 1, 2)
    epochs: int = 10
    hidden: tuple = (512, 256)
    lr: float = RECIPE.lr
    batch_size: int = RECIPE.batch_size
    train_size: int = 10000
    data_seed: int = 0
    data: str | None = None


QUICK = {"drop_rates": (0.0, 0.5), "seeds": (0,), "epochs": 2, "hidden": (32,), "train_size": 2000}


def _activation_ratio(model, params, state, x, seed):
    """Mean input of the scores layer in test mode over its mean in train mode (one mask)."""
    _, _, test_caches = model.apply(params, state, x, train=False)
    _, _, train_caches = model.apply(params, state, x, train=True, key=jax.random.key(seed))
    return float(test_caches[-1].x.mean() / train_caches[-1].x.mean())


def _one_run(config, mnist, drop_rate, variant, seed):
    model = mlp(config.hidden, drop_rate, variant)
    recipe = RECIPE._replace(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size)
    label = f"{variant} q={drop_rate} seed {seed}"
    result = common.train_recipe(model, mnist, recipe, seed=seed, label=label)
    best = result.history[best_epoch(result.history) - 1]
    scores = predict(model, result.params, result.state, mnist.train.x)
    train_accuracy = float((scores.argmax(1) == mnist.train.labels).mean())
    probe = jnp.asarray(mnist.validation.x[:PROBE])
    record = {
        "seed": seed,
        "train_accuracy": train_accuracy,
        "val_accuracy": best["val_accuracy"],
        "gap": train_accuracy - best["val_accuracy"],
        "val_loss": best["val_loss"],
        "test_accuracy": result.metrics["test_accuracy"],
        "test_loss": result.metrics["test_loss"],
        "activation_ratio": _activation_ratio(model, result.params, result.state, probe, seed),
    }
    if variant == "unscaled" and drop_rate:
        params = scaled_for_test(config.hidden, drop_rate, result.params)
        loss, accuracy = make_evaluate(model)(
            params, result.state, mnist.validation.x, mnist.validation.labels
        )
        record["val_loss_scaled_for_test"], record["val_accuracy_scaled_for_test"] = (
            float(loss),
            float(accuracy),
        )
    return record


def _summary(runs):
    out = {}
    keys = ("train_accuracy", "val_accuracy", "gap", "val_loss", "test_accuracy", "activation_ratio")
    keys += tuple(k for k in ("val_loss_scaled_for_test", "val_accuracy_scaled_for_test") if k in runs[0])
    for key in keys:
        values = np.array([r[key] for r in runs])
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    runs = {variant: {} for variant in VARIANTS}
    for q in config.drop_rates:
        for variant in VARIANTS:
            if q == 0 and variant != VARIANTS[0]:  # no dropout layer: the same network
                runs[variant][str(q)] = runs[VARIANTS[0]][str(q)]
                continue
            runs[variant][str(q)] = [_one_run(config, mnist, q, variant, seed) for seed in config.seeds]
    return {
        "setup": {
            "model": f"mlp 784-{'-'.join(map(str, config.hidden))}-10, dropout after each hidden relu",
            "hidden": list(config.hidden),
            "train_size": len(mnist.train.x),
            "validation_size": len(mnist.validation.x),
            "epochs": config.epochs,
            "lr": config.lr,
            "momentum": RECIPE.momentum,
            "weight_decay": RECIPE.weight_decay,
            "batch_size": config.batch_size,
            "seeds": list(config.seeds),
            "drop_rates": list(config.drop_rates),
            "recipe_drop_rate": RECIPE.drop_rate,
            "dropout_layers": len(config.hidden),
            "numbers": "best validation epoch; train accuracy in test mode on the training subset",
            "activation_ratio": "mean input of the scores layer, test mode / train mode, on validation images",
            "probe_size": min(PROBE, len(mnist.validation.x)),
        },
        "runs": runs,
        "summary": {v: {q: _summary(r) for q, r in by_rate.items()} for v, by_rate in runs.items()},
    }


STYLES = {  # colour, line style, marker
    "inverted": ("C0", "-", "o"),
    "unscaled": ("C1", "--", "s"),
    "unscaled, W x (1 - q) at test": ("C2", ":", "^"),
}


def plot(results: dict, out: Path) -> None:
    panels = (
        ("val_accuracy", 100, "validation accuracy (%)"),
        ("gap", 100, "train - validation accuracy (points)"),
        ("val_loss", 1, "validation loss"),
        ("activation_ratio", 1, "scores-layer input, test / train mode"),
    )
    fig = Figure(figsize=(11, 8))
    axes = fig.subplots(2, 2).ravel()
    rates = [float(q) for q in results["summary"]["inverted"]]
    for ax, (key, scale, ylabel) in zip(axes, panels):
        curves = {v: (results["summary"][v], key) for v in VARIANTS}
        if key in ("val_accuracy", "val_loss"):  # the unscaled networks under the paper's test rule
            curves[list(STYLES)[2]] = (results["summary"]["unscaled"], f"{key}_scaled_for_test")
        for label, (by_rate, field) in curves.items():
            # q = 0 has no dropout layer, so no test rule to change: the plain network's value
            rows = [(s, field if f"{field}_mean" in s else key) for s in by_rate.values()]
            color, line, marker = STYLES[label]
            ax.errorbar(
                [float(q) for q in by_rate],
                [scale * s[f"{k}_mean"] for s, k in rows],
                yerr=[scale * s[f"{k}_sd"] for s, k in rows],
                color=color,
                ls=line,
                marker=marker,
                capsize=4,
                label=label,
            )
        ax.set(xlabel="drop rate q", ylabel=ylabel, xticks=rates)
        ax.grid(alpha=0.3)
    q = np.linspace(0, max(rates), 50)
    for power, line in zip(
        range(1, results["setup"]["dropout_layers"] + 1), ("-.", (0, (1, 3)), (0, (3, 3)))
    ):
        axes[3].plot(q, (1 - q) ** -power, color="k", ls=line, lw=1, label=f"$1/(1-q)^{power}$")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.suptitle("dropout with and without inverted scaling (mean ± sd over seeds, error bars)")
    fig.tight_layout()
    plots.save(fig, out / "rates.png")


def _values(r: dict, variant: str, q: str, key: str) -> list[float]:
    """Per-seed values of `key` for (variant, q); the paper's test rule at q = 0 is the plain network."""
    runs = r["runs"][variant][q]
    if key not in runs[0] and key.endswith("_scaled_for_test"):
        key = key.removesuffix("_scaled_for_test")
    return [run[key] for run in runs]


def _table(r: dict) -> str:
    rates = list(r["runs"]["inverted"])
    rows = []
    for q in rates:
        for variant in VARIANTS if float(q) else ("none",):
            key_variant = variant if float(q) else "inverted"

            def cell(key, digits, scale=1.0, variant=key_variant, q=q):
                return latex.pm(_values(r, variant, q, key), digits, scale)

            rows.append(
                [
                    f"${float(q):g}$",
                    variant,
                    cell("train_accuracy", 2, 100),
                    cell("val_accuracy", 2, 100),
                    cell("gap", 2, 100),
                    cell("val_loss", 3),
                    cell("activation_ratio", 3),
                ]
            )
    return latex.table(
        ["$q$", "dropout", "train acc. (\\%)", "val. acc. (\\%)", "gap (points)", "val. loss", "test/train"],
        rows,
        f"Dropout rate $q$, inverted and unscaled, mean $\\pm$ sd over {len(r['setup']['seeds'])} seeds. "
        "Train accuracy in test mode on the training subset; validation numbers at the best validation "
        "epoch; gap = train $-$ validation accuracy; test/train: mean input of the scores layer in test "
        f"mode over train mode ({r['setup']['probe_size']:,} validation images).",
        "dropout-rates",
    )


def _rule_table(r: dict) -> str:
    rates = [q for q in r["runs"]["unscaled"] if float(q)]
    rows = [
        [
            f"${float(q):g}$",
            latex.pm(_values(r, "unscaled", q, "val_accuracy"), 2, 100),
            latex.pm(_values(r, "unscaled", q, "val_accuracy_scaled_for_test"), 2, 100),
            latex.pm(_values(r, "inverted", q, "val_accuracy"), 2, 100),
            latex.pm(_values(r, "unscaled", q, "val_loss"), 3),
            latex.pm(_values(r, "unscaled", q, "val_loss_scaled_for_test"), 3),
            latex.pm(_values(r, "inverted", q, "val_loss"), 3),
        ]
        for q in rates
    ]
    return latex.table(
        ["$q$", "unscaled", "$W(1-q)$", "inverted", "unscaled", "$W(1-q)$", "inverted"],
        rows,
        "Validation accuracy (\\%, first three columns) and loss (last three) of the unscaled networks "
        "evaluated as trained (dropout the identity at test) and under the original paper's test rule "
        "(every weight matrix after a dropout layer times $1 - q$), beside the inverted networks. Mean "
        "$\\pm$ sd over the seeds.",
        "dropout-test-rule",
    )


def _gap_text(r: dict) -> str:
    rates = list(r["runs"]["inverted"])
    zero, rest = rates[0], rates[1:]
    gap = {q: _values(r, "inverted", q, "gap") for q in rates}
    val = {q: _values(r, "inverted", q, "val_accuracy") for q in rates}
    train = {q: _values(r, "inverted", q, "train_accuracy") for q in rates}
    small = min(rest, key=lambda q: np.mean(gap[q]))
    best = max(rates, key=lambda q: np.mean(val[q]))
    text = (
        f"Without dropout the network fits its {r['setup']['train_size']:,} training images"
        + (" almost perfectly" if np.mean(train[zero]) > 0.99 else "")
        + f" (train accuracy {latex.pm(train[zero], 2, 100)}\\%) and the gap to validation is "
        f"{latex.pm(gap[zero], 2, 100)} points (Table~\\ref{{tab:dropout-rates}}, "
        "Figure~\\ref{fig:dropout-rates}). "
    )
    if latex.differ(gap[zero], gap[small]):
        d_train = np.mean(train[small]) - np.mean(train[zero])
        d_val = np.mean(val[small]) - np.mean(val[zero])
        text += (
            f"Inverted dropout narrows it, most at $q = {float(small):g}$, to {latex.pm(gap[small], 2, 100)} "
            "points, by more than the spread; "
            + (
                f"it does so mostly by lowering the training accuracy (${100 * d_train:+.2f}$ points) rather "
                f"than by raising the validation accuracy (${100 * d_val:+.2f}$ points). "
                if -d_train > abs(d_val)
                else f"it does so mostly by raising the validation accuracy (${100 * d_val:+.2f}$ points; "
                f"training accuracy ${100 * d_train:+.2f}$). "
            )
        )
    else:
        text += f"No drop rate narrows it by more than the spread (smallest at $q = {float(small):g}$). "
    recipe = r["setup"].get("recipe_drop_rate")
    key = next((q for q in rates if float(q) == recipe), None)
    if best == zero:
        text += "The best validation accuracy is without dropout. "
    else:
        text += (
            f"The best mean validation accuracy is at $q = {float(best):g}$"
            + (" (the recipes' rate)" if key == best else "")
            + f", {latex.pm(val[best], 2, 100)}\\% "
            f"against {latex.pm(val[zero], 2, 100)}\\% without dropout: a difference "
            f"{latex.spread_words(val[best], val[zero])}"
            + (
                ", so on this data and budget dropout does not measurably improve generalisation. "
                if not latex.differ(val[best], val[zero])
                else ". "
            )
        )
    if key is not None and key != best:
        text += (
            f"The recipes' rate $q = {recipe:g}$ gives {latex.pm(val[key], 2, 100)}\\%, "
            f"{latex.spread_words(val[key], val[best])} of the best. "
        )
    top = rest[-1]
    text += (
        "Dropout trains an ensemble of thinned networks that share weights, so that no unit can rely "
        "on one particular other unit"
    )
    if latex.differ(train[top], train[zero]) and np.mean(train[top]) < np.mean(train[zero]):
        text += (
            f"; the price is a lower training accuracy, {latex.pm(train[top], 2, 100)}\\% at "
            f"$q = {float(top):g}$."
        )
    else:
        text += "."
    return text


def _scaling_text(r: dict) -> str:
    rates = [q for q in r["runs"]["inverted"] if float(q)]
    top = rates[-1]
    q = float(top)
    layers_ = r["setup"]["dropout_layers"]
    ratio_u = _values(r, "unscaled", top, "activation_ratio")
    ratio_i = _values(r, "inverted", top, "activation_ratio")
    powers = {k: (1 - q) ** -k for k in range(1, layers_ + 1)}
    k_near = min(powers, key=lambda k: abs(powers[k] - np.mean(ratio_u)))
    text = (
        "When the kept units are not divided by $1 - q$, the layer after dropout receives $(1 - q)\\,x$ "
        "on average in training and the full $x$ at test time, $1/(1 - q)$ times more; a second dropout "
        "layer compounds it. At "
        f"$q = {q:g}$ the scores layer's input is {latex.pm(ratio_u, 2)} times larger in test mode than "
        f"in train mode, nearest to $1/(1 - q)^{{{k_near}}} = {powers[k_near]:.2f}$"
        + (f" ({layers_} dropout layers)" if k_near == layers_ else "")
        + f"; with inverted dropout it is {latex.pm(ratio_i, 3)} (Figure~\\ref{{fig:dropout-rates}}, "
        "lower right)"
    )
    if np.mean(ratio_i) < 1 and latex.differ(ratio_i, [1.0, 1.0]):
        text += (
            ". Inverted scaling matches the mean of each unit, not its spread: the train-mode noise widens "
            "the pre-activations of the next ReLU, and the mean of a ReLU grows with the spread of its "
            "input, so in train mode the scores layer receives a little more than in test mode. "
        )
    else:
        text += ". "
    loss_u, loss_i = _values(r, "unscaled", top, "val_loss"), _values(r, "inverted", top, "val_loss")
    loss_rule = _values(r, "unscaled", top, "val_loss_scaled_for_test")
    acc_u, acc_i = _values(r, "unscaled", top, "val_accuracy"), _values(r, "inverted", top, "val_accuracy")
    acc_rule = _values(r, "unscaled", top, "val_accuracy_scaled_for_test")
    train_u, train_i = (
        _values(r, "unscaled", top, "train_accuracy"),
        _values(r, "inverted", top, "train_accuracy"),
    )
    text += (
        "Scaling the input of a ReLU network with small biases scales its scores by about the same "
        "factor: the argmax mostly survives, but the probabilities become overconfident. The validation "
        f"loss shows it: at $q = {q:g}$ it is {latex.pm(loss_u, 3)} for the unscaled networks against "
        f"{latex.pm(loss_i, 3)} for the inverted ones (a difference {latex.spread_words(loss_u, loss_i)}; "
        "Table~\\ref{tab:dropout-test-rule}). "
    )
    if np.mean(np.abs(np.subtract(loss_rule, loss_i))) < np.mean(np.abs(np.subtract(loss_u, loss_i))):
        text += (
            "The original paper's test rule, every weight after a dropout layer times $1 - q$, brings it "
            f"back to {latex.pm(loss_rule, 3)}, "
            + (
                "within the spread of the inverted networks: the rise was the mismatch of scales at test time. "
                if not latex.differ(loss_rule, loss_i)
                else "most of the way to the inverted networks: most of the rise was the mismatch of scales at "
                "test time; the rest comes from the difference in training, below. "
                if abs(np.mean(loss_rule) - np.mean(loss_i)) < abs(np.mean(loss_u) - np.mean(loss_rule))
                else "part of the way to the inverted networks; the rest comes from the difference in training, below. "
            )
        )
    else:
        text += (
            f"The original paper's test rule (weights after dropout times $1 - q$) gives {latex.pm(loss_rule, 3)}, "
            "no closer to the inverted networks. "
        )
    text += (
        "Under that rule an unscaled network computes exactly what an inverted one with weights "
        "$W' = (1 - q)W$ computes, in training and at test time; the two differ only in how they train. "
        "A gradient step on $W$ is a step $(1 - q)^2$ times smaller on $W'$ (weight decay, which "
        "multiplies the weights, is unchanged), so unscaled dropout trains every layer after a dropout "
        f"layer with the learning rate times $(1 - q)^2 = {(1 - q) ** 2:g}$ at $q = {q:g}$. "
    )
    if latex.differ(acc_u, acc_i) and np.mean(acc_u) < np.mean(acc_i) and not latex.differ(acc_u, acc_rule):
        text += (
            f"This, not the test-time scale, is where the unscaled networks lose accuracy: their validation "
            f"accuracy is {latex.pm(acc_u, 2, 100)}\\% as trained and {latex.pm(acc_rule, 2, 100)}\\% under "
            f"the test rule ({latex.spread_words(acc_u, acc_rule)}), against {latex.pm(acc_i, 2, 100)}\\% for "
            f"inverted dropout, and their training accuracy is {latex.pm(train_u, 2, 100)}\\% against "
            f"{latex.pm(train_i, 2, 100)}\\%"
            + (
                ": they underfit."
                if latex.differ(train_u, train_i) and np.mean(train_u) < np.mean(train_i)
                else "."
            )
        )
    else:
        text += (
            f"Their validation accuracy, {latex.pm(acc_u, 2, 100)}\\% against {latex.pm(acc_i, 2, 100)}\\% for "
            f"inverted dropout, differs {latex.spread_words(acc_u, acc_i).replace('larger than', 'by more than')}."
        )
    return text + (
        " Inverted dropout puts the $1/(1 - q)$ into training, so $\\mathbb{E}[y] = x$ and test mode "
        "is the identity: nothing to remember at test time, and a learning rate that means the same "
        "for every $q$."
    )


def section(r: dict) -> str:
    """This experiment's section of REPORT.pdf (LaTeX), every number read from `r`."""
    setup = r["setup"]
    rates = ", ".join(f"{q:g}" for q in setup["drop_rates"])
    return (
        "\\section{Dropout}\\label{sec:exp-dropout}\n"
        "\\paragraph{Question.} What does the drop rate $q$ do to the training accuracy, the validation "
        "accuracy and the gap between them, and what goes wrong if train mode only zeroes units, "
        "without dividing the kept ones by $1 - q$ (the \\emph{inverted} scaling of fnn's dropout, "
        "Section~\\ref{sec:dropout})?\n\n"
        "\\paragraph{Setup.} The MLP "
        + latex.esc("-".join(["784", *map(str, setup["hidden"]), "10"]))
        + f" with dropout after each of its {setup['dropout_layers']} hidden ReLU layers, trained on "
        f"{setup['train_size']:,} training images (few enough to overfit) for {setup['epochs']} epochs "
        f"with the MLP recipe's optimizer: SGD with momentum {setup['momentum']:g}, lr {setup['lr']:g} with "
        f"warm-up and cosine decay, weight decay {setup['weight_decay']:g}, batch {setup['batch_size']}; "
        f"$q \\in \\{{{rates}\\}}$, {len(setup['seeds'])} seeds each. Two dropout layers with the same "
        "masks: inverted ($y = x \\odot m / (1 - q)$ in training) and unscaled ($y = x \\odot m$); both "
        "are the identity in test mode, and $q = 0$ (no dropout) is one network, trained once per seed, whose "
        "runs both arms share. Every number is of the "
        f"best validation epoch's parameters; validation on {setup['validation_size']:,} images; the "
        "training accuracy is measured in test mode on the whole training subset, so that the gap compares "
        "like with like.\n\n"
        + _table(r)
        + _rule_table(r)
        + latex.figure(
            "dropout",
            "rates.png",
            "Against the drop rate $q$, mean $\\pm$ sd over the seeds (error bars): validation accuracy, "
            "train $-$ validation gap, validation loss (green: the unscaled networks under the paper's test "
            "rule, weights after dropout times $1 - q$), and the scores layer's input in test mode over "
            "train mode with the references $1/(1 - q)^k$.",
            width=0.95,
        )
        + "\\paragraph{With and without dropout.} "
        + _gap_text(r)
        + "\n\n\\paragraph{Without inverted scaling.} "
        + _scaling_text(r)
        + "\n"
    )


def main(argv=None) -> Path:
    return common.main("dropout", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
