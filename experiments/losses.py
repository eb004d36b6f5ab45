"""Losses: softmax cross-entropy vs multiclass SVM on the same model.

Question: how do the two loss layers compare, and is the difference in test accuracy larger
than the spread over seeds? Setup: the MLP 784-256-10 (He initialisation, no dropout), SGD +
momentum 0.9 at a constant lr, batch 128, `epochs` epochs on the training split (that of
`data_seed`; all 55,000 images unless `train_size`), once per seed in `seeds` for each loss.
The seed draws the initial weights and the batch order, so the two losses of one seed start
from the same weights and see the same batches. Test accuracy is of the parameters
`experiments.common.train` keeps (the best validation epoch's), on the 10,000 test images.

The SVM's loss of a batch is exactly 0 when every example's correct score beats every other
score by the margin (1); a log axis cannot show those batches, so they are counted and drawn
as a row of marks along the bottom of the loss panel.

Figures: curves.png: (left) training loss per batch, each loss's own divided by its value when all
scores are equal (ln 10 for softmax, 9 x margin for the SVM: about its value at initialisation), as
a moving average over `smooth` batches of the mean over seeds (band: sd over seeds of the smoothed
curves), log y, the SVM's zero-loss batches marked at the bottom; (middle) the fraction of batches with zero loss
per epoch; (right) validation accuracy per epoch (mean +- sd over seeds).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments import common, latex
from fnn import losses, models, optim, plots, step

NAMES = {"softmax_cross_entropy": "softmax cross-entropy", "multiclass_svm": "multiclass SVM"}
STYLE = {"softmax_cross_entropy": ("C0", "-", "o"), "multiclass_svm": ("C1", "--", "s")}
CLASSES = 10


def equal_scores_loss(name: str, margin: float) -> float:
    """The loss of an example whose scores are all equal (about the loss at initialisation):
    ln 10 for softmax cross-entropy, 9 x margin for the multiclass SVM. The loss panel divides
    each loss by it, so the two share one axis."""
    return float(np.log(CLASSES)) if name == "softmax_cross_entropy" else (CLASSES - 1) * margin


def _equal_scores_words(name: str, margin: float) -> str:
    """ "$\\ln 10$" or "$9$", the LaTeX of `equal_scores_loss`."""
    if name == "softmax_cross_entropy":
        return f"$\\ln {CLASSES}$"
    return f"${(CLASSES - 1) * margin:g}$"


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


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    runs = {}
    for name, loss in losses.LOSSES.items():
        model = models.mlp(config.hidden)
        optimizer = optim.momentum(config.lr)
        # one compiled epoch for every seed of this loss
        epoch = step.make_epoch(model, loss, optimizer, batch_size=config.batch_size)
        per_seed = {
            key: []
            for key in (
                "test_accuracy",
                "test_errors",
                "val_accuracy",
                "batch_losses",
                "zero_batches",
                "median_top2_gap",
            )
        }
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
            per_seed["test_accuracy"].append(float((scores.argmax(1) == mnist.test.labels).mean()))
            per_seed["test_errors"].append(int((scores.argmax(1) != mnist.test.labels).sum()))
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


def _smooth(y, window):
    """Moving average over `window` values ("valid": len(y) - window + 1 values)."""
    y = np.asarray(y, float)
    if window <= 1 or len(y) <= window:
        return y
    return np.convolve(y, np.ones(window) / window, mode="valid")


def plot(results: dict, out: Path) -> None:
    setup = results["setup"]
    per_epoch, window = setup["steps_per_epoch"], setup["smooth"]
    fig = Figure(figsize=(15, 4.3))
    ax_loss, ax_zero, ax_acc = fig.subplots(1, 3)
    for name, r in results["runs"].items():
        color, line, marker = STYLE[name]
        unit = equal_scores_loss(name, setup["svm_margin"])
        unit_label = "ln 10" if name == "softmax_cross_entropy" else f"{unit:g}"
        smoothed = np.array([_smooth(np.asarray(b) / unit, window) for b in r["batch_losses"]])
        x = (np.arange(smoothed.shape[1]) + len(r["batch_losses"][0]) - smoothed.shape[1] + 1) / per_epoch
        mean, sd = (
            smoothed.mean(axis=0),
            smoothed.std(axis=0, ddof=1) if len(smoothed) > 1 else 0 * smoothed[0],
        )
        shown = mean > 0
        ax_loss.plot(
            x[shown],
            mean[shown],
            color=color,
            ls=line,
            label=f"{NAMES[name]} / {unit_label}",
        )
        ax_loss.fill_between(x[shown], (mean - sd)[shown], (mean + sd)[shown], color=color, alpha=0.2)
        zeros = [i for b in r["batch_losses"] for i, v in enumerate(b) if v == 0]
        total = sum(len(b) for b in r["batch_losses"])
        if zeros:
            ax_loss.plot(
                (np.asarray(zeros) + 1) / per_epoch,
                np.full(len(zeros), 0.02),
                "|",
                color=color,
                ms=12,
                transform=ax_loss.get_xaxis_transform(),
                label=f"{NAMES[name]}: loss exactly 0 ({len(zeros)} of {total} batches)",
            )
        fraction = 100 * np.asarray(r["zero_batches"]) / per_epoch
        epochs = np.arange(1, fraction.shape[1] + 1)
        ax_zero.errorbar(
            epochs,
            fraction.mean(axis=0),
            yerr=fraction.std(axis=0, ddof=1) if len(fraction) > 1 else None,
            color=color,
            ls=line,
            marker=marker,
            capsize=4,
            label=NAMES[name],
        )
        acc = 100 * np.asarray(r["val_accuracy"])
        ax_acc.errorbar(
            epochs,
            acc.mean(axis=0),
            yerr=acc.std(axis=0, ddof=1) if len(acc) > 1 else None,
            color=color,
            ls=line,
            marker=marker,
            capsize=4,
            label=NAMES[name],
        )
    ax_loss.set(
        yscale="log",
        xlabel="epoch",
        ylabel="training loss per batch / its value at equal scores",
        title=f"training loss / equal-scores value ({window}-batch average)",
    )
    ax_zero.set(xlabel="epoch", ylabel="batches with loss exactly 0 (%)", title="zero-loss batches")
    ax_zero.set_ylim(bottom=0, top=max(1.0, ax_zero.get_ylim()[1]))
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    for ax in (ax_loss, ax_zero, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right" if ax is ax_loss else "best")
    fig.suptitle(
        f"softmax vs multiclass SVM, same MLP and batches (mean ± sd over {len(setup['seeds'])} seeds)"
    )
    fig.tight_layout()
    plots.save(fig, out / "curves.png")


def _pct(values, digits=2):
    return latex.pm(values, digits, 100) + r"\%"


def section(r: dict) -> str:
    """The LaTeX of the report's losses section, from results.json."""
    setup, runs = r["setup"], r["runs"]
    soft, svm = runs["softmax_cross_entropy"], runs["multiclass_svm"]
    seeds, n_test = setup["seeds"], setup["test_size"]
    paired = np.subtract(svm["test_accuracy"], soft["test_accuracy"])
    svm_wins = int(np.sum(paired > 0))
    zero = {name: int(np.sum(run["zero_batches"])) for name, run in runs.items()}
    total = len(seeds) * setup["epochs"] * setup["steps_per_epoch"]
    last_epoch_zero = [z[-1] / setup["steps_per_epoch"] for z in svm["zero_batches"]]
    gap = {name: float(np.mean(run["median_top2_gap"])) for name, run in runs.items()}
    first = {name: float(np.mean([b[0] for b in run["batch_losses"]])) for name, run in runs.items()}
    margin = setup["svm_margin"]
    table = latex.table(
        [
            "loss",
            "test acc.",
            "test errors",
            "val. acc.",
            "zero-loss",
            "top-2 gap",
        ],
        [
            [
                NAMES[name],
                _pct(run["test_accuracy"]),
                latex.pm(run["test_errors"], 0),
                _pct([v[-1] for v in run["val_accuracy"]]),
                f"{zero[name]} of {total}",
                latex.pm(run["median_top2_gap"], 2),
            ]
            for name, run in runs.items()
        ],
        f"Softmax cross-entropy against the multiclass SVM (mean $\\pm$ sd over {len(seeds)} seeds). Test accuracy "
        f"and errors on the {n_test:,} test images, of the best-validation epoch's parameters; zero-loss batches over "
        "all seeds and epochs (zero-loss); top-2 gap: the median over the test images of the largest score minus "
        "the second largest; validation accuracy after the last epoch.",
        "losses-summary",
    )
    mean_diff = float(np.mean(paired))
    better = "multiclass SVM" if mean_diff > 0 else "softmax cross-entropy"
    # the difference of the means as rounded in the table, so that text and table agree
    acc_round = {n: float(f"{100 * np.mean(run['test_accuracy']):.2f}") for n, run in runs.items()}
    err_round = {n: int(f"{np.mean(run['test_errors']):.0f}") for n, run in runs.items()}
    hi, lo = (
        ("multiclass_svm", "softmax_cross_entropy")
        if mean_diff > 0
        else ("softmax_cross_entropy", "multiclass_svm")
    )
    diff_words = (
        f"{acc_round[hi]:.2f} $-$ {acc_round[lo]:.2f} = {acc_round[hi] - acc_round[lo]:.2f} points, "
        f"{err_round[lo]} $-$ {err_round[hi]} = {err_round[lo] - err_round[hi]} test errors"
    )
    if latex.differ(svm["test_accuracy"], soft["test_accuracy"]):
        verdict = (
            f"The difference of the means ({diff_words}) in favour of the {better} is larger than the spread: "
            "by the report's criterion the two losses differ on this setup."
        )
    else:
        verdict = (
            f"The difference of the means ({diff_words}) in favour of the {better} is within the spread over "
            "seeds: by the report's criterion the two losses are not told apart."
        )
    val_words = latex.spread_words(
        [v[-1] for v in soft["val_accuracy"]], [v[-1] for v in svm["val_accuracy"]]
    )
    paired_sd = 100 * (paired.std(ddof=1) if len(paired) > 1 else 0.0)
    sign = (
        f": the sign is the same in every seed, though {len(seeds)} seeds are few to rest a ranking on."
        if svm_wins in (0, len(seeds))
        else ": the sign changes from seed to seed."
    )
    if zero["multiclass_svm"] or zero["softmax_cross_entropy"]:
        shown = (
            "A log axis has no place for 0, so those batches are drawn as marks along the bottom edge of the loss "
            "panel, and the middle panel gives their share per epoch. For such a batch the SVM's gradient is exactly "
            "0 and the step is only the momentum's velocity. "
        )
    else:
        shown = "(Had there been any, the loss panel would mark them along its bottom edge: a log axis has no place for 0.) "
    text = [
        "\\section{Softmax versus multiclass SVM}\\label{sec:exp-losses}",
        "\\paragraph{Question and setup.} How do the two loss layers compare when everything else is equal? The MLP "
        f"784-{'-'.join(map(str, setup['hidden']))}-10 (He initialisation, ReLU, no dropout) is trained with each loss: "
        f"SGD with momentum {setup['momentum']:g}, constant lr {setup['lr']:g}, batch {setup['batch_size']}, "
        f"{setup['epochs']} epochs on {setup['train_size']:,} training images (validation: {setup['validation_size']:,} "
        f"held-out images), no weight decay; the SVM's margin is {setup['svm_margin']:g}. Each loss runs once per seed "
        f"({', '.join(map(str, seeds))}); a seed fixes the initial weights and the batch order, so the two losses of one "
        "seed start from the same weights and see the same batches."
        + (" \\emph{These numbers come from a reduced quick run.}" if r.get("quick") else ""),
        f"\\paragraph{{Accuracy}} (Table~\\ref{{tab:losses-summary}}). "
        f"Softmax cross-entropy reaches {_pct(soft['test_accuracy'])} test accuracy "
        f"({latex.pm(soft['test_errors'], 0)} errors of {n_test:,}), the multiclass SVM {_pct(svm['test_accuracy'])} "
        f"({latex.pm(svm['test_errors'], 0)}). {verdict} Paired by seed (same initial weights and batches), the SVM "
        f"minus softmax difference is ${100 * mean_diff:+.2f} \\pm {paired_sd:.2f}$ points and the SVM is ahead in "
        f"{svm_wins} of {len(seeds)} seeds{sign} On the {setup['validation_size']:,} validation images after the "
        "last epoch (per epoch in the right panel of Figure~\\ref{fig:losses-curves}) the two reach "
        f"{_pct([v[-1] for v in soft['val_accuracy']])} and {_pct([v[-1] for v in svm['val_accuracy']])}, "
        f"{val_words}.",
        "\\paragraph{Training loss and zero-loss batches} (left and middle panels of Figure~\\ref{fig:losses-curves}). "
        f"The two losses are on different scales, so each is divided by its value when all {CLASSES} scores are "
        f"equal, {_equal_scores_words('softmax_cross_entropy', margin)} for softmax cross-entropy and "
        f"{_equal_scores_words('multiclass_svm', margin)} (${CLASSES - 1}\\times$ the margin) for the SVM (their first "
        f"batches, mean over seeds: {first['softmax_cross_entropy']:.2f} and {first['multiclass_svm']:.2f}), and the "
        f"two ratios share one log axis, per batch, as a moving average over {setup['smooth']} batches of the mean "
        "over seeds. The SVM's loss of a batch is exactly 0 "
        f"when every one of its {setup['batch_size']} images has its correct score ahead of every other score by the "
        f"margin: this happened in {zero['multiclass_svm']} of {total} batches (all seeds), "
        f"{_pct(last_epoch_zero, 1)} of the batches of the last epoch, against {zero['softmax_cross_entropy']} for "
        f"softmax cross-entropy. {shown}The SVM stops pushing on an example once it satisfies the margin. Softmax "
        "cross-entropy is never satisfied: $-\\log p_y > 0$ for every $p_y<1$"
        + (
            " (in float32 a batch of very confident predictions can round it to 0, which happened here)"
            if zero["softmax_cross_entropy"]
            else ""
        )
        + ", and its gradient $(p-\\mathrm{onehot})/N$ keeps widening the gap between the correct score and the "
        "others.",
        "\\paragraph{What the scores become.} The median gap between the two largest test scores is "
        f"{latex.pm(soft['median_top2_gap'], 2)} for softmax cross-entropy and {latex.pm(svm['median_top2_gap'], 2)} for "
        "the SVM"
        + (
            ": the softmax network spreads its scores further, as its loss keeps rewarding a larger gap, while the SVM "
            "asks only for the margin."
            if gap["softmax_cross_entropy"] > gap["multiclass_svm"]
            else ": the SVM's is the larger here, although its loss stops asking once the correct score leads by the "
            "margin."
        )
        + " The softmax scores are log-probabilities up to a constant; the SVM's have no probabilistic meaning.",
        "\\paragraph{Answer.} "
        + (
            f"On this setup the two losses reach test accuracies within the spread over {len(seeds)} seeds"
            if not latex.differ(svm["test_accuracy"], soft["test_accuracy"])
            else f"On this setup the {better} is more accurate on the test set by more than the spread over "
            f"{len(seeds)} seeds, by {acc_round[hi] - acc_round[lo]:.2f} points ({err_round[lo] - err_round[hi]} "
            "fewer test errors)"
            + (
                ""
                if latex.differ([v[-1] for v in soft["val_accuracy"]], [v[-1] for v in svm["val_accuracy"]])
                else ", a difference the validation set does not confirm"
            )
        )
        + ". Beyond accuracy, the two differ in what they ask of the scores: the SVM is satisfied by a margin and "
        "then ignores an example, softmax cross-entropy never is.",
    ]
    return (
        "\n\n".join(text)
        + "\n\n"
        + latex.figure(
            "losses",
            "curves.png",
            f"Softmax cross-entropy against the multiclass SVM (mean $\\pm$ sd over {len(seeds)} seeds). Left: training "
            "loss per batch divided by its value when all scores are equal "
            f"({_equal_scores_words('softmax_cross_entropy', margin)} and "
            f"{_equal_scores_words('multiclass_svm', margin)}), moving average over {setup['smooth']} batches, one log "
            "axis; marks along the bottom: batches "
            "whose loss is exactly 0. Middle: share of zero-loss batches per epoch. Right: validation accuracy.",
            width=1.0,
        )
        + table
    )


def main(argv=None) -> Path:
    return common.main("losses", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
