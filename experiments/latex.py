"""LaTeX pieces for the report's sections: figures, tables, mean +- sd, escaping.

Each experiment module has `section(results) -> str`, the LaTeX of its section of REPORT.pdf,
built from its results.json with these helpers, so every number in the report is read from a
result and typed nowhere. Figures are referenced from the repository root
(`results/<name>/<file>`) and labelled `fig:<name>-<stem>`; tables `tab:<label>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np

__all__ = ["esc", "figure", "table", "mean_sd", "pm", "differ", "spread_words", "classifier_section"]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def esc(text: object) -> str:
    """`text` with LaTeX's special characters escaped (for names, paths, configurations)."""
    return "".join(_SPECIAL.get(c, c) for c in str(text))


def figure(name: str, file: str, caption: str, *, width: float = 0.85) -> str:
    """A floating figure of results/<name>/<file>, labelled fig:<name>-<stem>. `caption` is LaTeX."""
    stem = PurePosixPath(file).stem.replace("_", "-")
    return (
        "\\begin{figure}[htbp]\n\\centering\n"
        f"\\includegraphics[width={width}\\linewidth]{{results/{name}/{file}}}\n"
        f"\\caption{{{caption}}}\\label{{fig:{name}-{stem}}}\n\\end{{figure}}\n"
    )


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    caption: str,
    label: str,
    align: str | None = None,
    size: str = "",
) -> str:
    """A booktabs table labelled tab:<label>; cells and caption are LaTeX, the caption above;
    `size` a font size command for the body (\\small, \\footnotesize) for wide tables."""
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"table {label}: every row needs {len(columns)} cells")
    align = align or "l" + "r" * (len(columns) - 1)
    body = "\n".join(" & ".join(row) + r" \\" for row in rows)
    return (
        f"\\begin{{table}}[htbp]\n\\centering{size}\n"
        f"\\caption{{{caption}}}\\label{{tab:{label}}}\n"
        # a table wider than the text is scaled down to its width, never set into the margin
        "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{"
        f"\\begin{{tabular}}{{{align}}}\n\\toprule\n{' & '.join(columns)} \\\\\n\\midrule\n"
        f"{body}\n\\bottomrule\n\\end{{tabular}}}}\n\\end{{table}}\n"
    )


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single value)."""
    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def pm(values: Sequence[float], digits: int = 2, scale: float = 1.0) -> str:
    """ "$m \\pm s$" of `values` times `scale` (100 for percentages), in math mode."""
    mean, sd = mean_sd(np.asarray(values, float) * scale)
    return f"${mean:.{digits}f} \\pm {sd:.{digits}f}$"


def differ(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two sets of runs differ by more than their spread: |mean_a - mean_b| greater
    than sd_a + sd_b (the report's stated criterion for calling a difference real)."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    return abs(ma - mb) > sa + sb


def spread_words(a: Sequence[float], b: Sequence[float]) -> str:
    """ "larger than the spread" or "within the spread", by `differ`."""
    return "larger than the spread" if differ(a, b) else "within the spread"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def classifier_section(r: dict, name: str, title: str, model: str) -> str:
    """The section of a recipe experiment (mlp, cnn, cnn_bn): accuracy over seeds, the first
    seed's epochs, curves, confusion matrix and mistakes. `model` describes the network."""
    runs, first = r["runs"], r["runs"][0]
    detail, seed = first["detail"], first["seed"]
    history = detail["history"]
    per_seed = ", ".join(f"{_pct(x['test_accuracy'])}\\% (seed {x['seed']})" for x in runs)
    rows = [
        [
            str(h["epoch"]),
            f"{h['train_loss']:.4f}",
            _pct(h["train_accuracy"]),
            f"{h['val_loss']:.4f}" if h.get("val_loss") is not None else "--",
            _pct(h["val_accuracy"]) if h.get("val_accuracy") is not None else "--",
            f"{h['lr']:.3g}",
            f"{h['train_seconds']:.1f}",
        ]
        for h in history
    ]
    confusion = np.asarray(detail["confusion"])
    off = confusion - np.diag(np.diag(confusion))
    most = [(int(i), int(j)) for i, j in zip(*np.nonzero(off == off.max()))]
    pairs = " and ".join(
        f"a true {i} read as {j} ({off[i, j]} of {confusion[i].sum()} test images of {i})" for i, j in most
    )
    confused = f"Seed {seed}'s most frequent confusion{'s' if len(most) > 1 else ''} on the test set" + (
        f" (Figure~\\ref{{fig:{name}-confusion}}) {'are' if len(most) > 1 else 'is'} {pairs}"
    )
    best_epochs = [x["best_epoch"] for x in runs]
    last = sum(b == len(history) for b in best_epochs)
    trend = (
        f"the best validation epoch was {', '.join(map(str, best_epochs))} of {len(history)} for the "
        f"{len(runs)} seeds ({last} at the last epoch); the test accuracy is that of the parameters saved there"
    )
    end = history[-1]
    gap = end["train_accuracy"] - end["val_accuracy"] if end.get("val_accuracy") is not None else None
    gap_text = (
        ""
        if gap is None
        else f" After the last epoch of seed {seed} the training accuracy (measured in train mode, dropout on, "
        f"while the weights moved) was {abs(100 * gap):.2f} points {'above' if gap > 0 else 'below'} the "
        "validation accuracy."
    )
    return (
        f"\\section{{{title}}}\\label{{sec:exp-{name}}}\n"
        f"{model} Trained with the recipe of Table~\\ref{{tab:recipes}} on {r['train_size']:,} images "
        f"({r['validation_size']:,} held out for validation), evaluated on the {r['test_size']:,} test images "
        f"with the parameters of the best validation epoch, once per seed ({len(runs)} seeds: each draws the "
        "validation split, the initial weights, the batch order and the dropout masks).\n\n"
        f"\\textbf{{Test accuracy: {pm(r['test_accuracy'], 2, 100)}\\%}} (mean $\\pm$ sd over {len(runs)} seeds; "
        f"{per_seed}); training took {pm(r['train_seconds'], 0)} s per run. "
        f"Table~\\ref{{tab:{name}-epochs}} and Figure~\\ref{{fig:{name}-curves}} follow seed {seed}; {trend}."
        f"{gap_text} {confused}; Figure~\\ref{{fig:{name}-misclassified}} shows the first "
        "misclassified digits.\n\n"
        + table(
            ["epoch", "train loss", "train acc. (\\%)", "val. loss", "val. acc. (\\%)", "lr", "s"],
            rows,
            f"{esc(title)}, seed {seed}, per epoch. Train loss and accuracy: means over the epoch's batches in "
            "train mode (dropout on) as the weights moved; validation: the held-out images in test mode after "
            "the epoch; lr: the mean learning rate over the epoch's steps (warm-up, then cosine decay); s: "
            "wall-clock seconds of the epoch's training steps.",
            f"{name}-epochs",
        )
        + figure(
            name,
            "curves.png",
            f"{esc(title)}, seed {seed}: training loss per batch (faint), its moving average (window in the "
            "legend) and per-epoch means; validation loss; train and validation accuracy per epoch.",
        )
        + figure(
            name, "confusion.png", f"{esc(title)}, seed {seed}: confusion matrix on the test set.", width=0.6
        )
        + figure(
            name,
            "misclassified.png",
            f"{esc(title)}, seed {seed}: misclassified test digits, test-set index and true $\\to$ predicted.",
        )
    )
