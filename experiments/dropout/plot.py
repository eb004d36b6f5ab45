"""Figure of experiments.dropout, from results.json alone, drawn at its printed size (6.3 in)
with every text at 8 pt or more.

rates.png, against the drop rate q, both dropout layers: (left) inverted dropout's test accuracy
minus that of the same seed without dropout (one dot per seed, the mean as a line); (middle) validation loss, mean
and sd over seeds, with the unscaled networks also under the paper's test rule (weights after a
dropout times 1 - q); (right) the scores layer's mean input in test mode over train mode, with
the references 1 / (1 - q)^k, k = 1 .. the number of dropout layers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from experiments import figures

VARIANTS = ("inverted", "unscaled")
STYLES = {  # colour, line style, marker
    "inverted": ("C0", "-", "o"),
    "unscaled": ("C1", "--", "s"),
    "unscaled, W (1 - q) at test": ("C2", ":", "^"),
}
FONT = 8


def _per_seed(results: dict, variant: str, key: str) -> tuple[list[float], np.ndarray]:
    """Drop rates and per-seed values (rates x seeds); at q = 0 the plain network's value."""
    by_rate = results["runs"][variant]
    rates = [float(q) for q in by_rate]
    values = [
        [run.get(key, run.get(key.removesuffix("_scaled_for_test"))) for run in runs]
        for runs in by_rate.values()
    ]
    return rates, np.asarray(values, float)


def plot(results: dict, out: Path) -> None:
    fig = Figure(figsize=(6.3, 2.5), layout="constrained")
    ax_gain, ax_loss, ax_ratio = fig.subplots(1, 3)
    for variant in VARIANTS:
        color, line, marker = STYLES[variant]
        if variant == "inverted":  # the unscaled networks' loss of accuracy is in the text
            rates, acc = _per_seed(results, variant, "test_accuracy")
            gain = 100 * (acc - acc[0])  # each seed against itself without dropout
            for i, q in enumerate(rates):
                ax_gain.plot([q] * gain.shape[1], gain[i], marker, color=color, ms=4, alpha=0.6, mew=0)
            ax_gain.plot(rates, gain.mean(axis=1), color=color, ls=line, label="mean")
            ax_gain.plot([], [], marker, color=color, ms=4, alpha=0.6, label="one seed")
        curves = {variant: "val_loss", "unscaled, W (1 - q) at test": "val_loss_scaled_for_test"}
        for label, key in curves.items():
            if label != variant and variant != "unscaled":
                continue
            c, ls, mk = STYLES[label]
            rates, loss = _per_seed(results, variant, key)
            sd = loss.std(axis=1, ddof=1) if loss.shape[1] > 1 else None
            ax_loss.errorbar(
                rates, loss.mean(axis=1), yerr=sd, color=c, ls=ls, marker=mk, ms=3, capsize=2, label=label
            )
        rates, ratio = _per_seed(results, variant, "activation_ratio")
        ax_ratio.plot(rates, ratio.mean(axis=1), color=color, ls=line, marker=marker, ms=3, label=variant)
    q = np.linspace(0, max(rates), 50)
    for power in range(1, results["setup"]["dropout_layers"] + 1):
        ax_ratio.plot(q, (1 - q) ** -power, color="k", ls=":", lw=0.8)
        ax_ratio.annotate(
            f"$(1-q)^{{-{power}}}$", (0.42, 0.58**-power), fontsize=FONT, ha="right", va="bottom"
        )
    ax_gain.axhline(0, color="grey", lw=0.8)
    ax_gain.set(ylabel="inverted: test accuracy\nminus q = 0 (points)")
    ax_loss.set(ylabel="validation loss")
    ax_ratio.set(ylabel="scores' input, test / train")
    for ax in (ax_gain, ax_loss, ax_ratio):
        ax.set(xlabel="drop rate q", xticks=rates)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=FONT)
        ax.xaxis.label.set_size(FONT + 1)
        ax.yaxis.label.set_size(FONT + 1)
        ax.legend(fontsize=FONT, loc="lower left" if ax is ax_gain else "upper left")
    figures.save(fig, out / "rates.png")
