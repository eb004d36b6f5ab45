"""Collect every results/<name>/ into REPORT.md: figures, tables of the numbers (read from each
results.json, never typed by hand) and the answers to the assignment's questions. Runs nothing
heavy; lists the experiments that have not been run.

    python -m experiments.report [--results results] [--out REPORT.md]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

EXPERIMENTS = ("mlp", "cnn", "optimizers", "losses", "batch_norm", "gradients", "conv_speed", "filters")


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _figure(rel: Path, name: str, caption: str) -> str:
    return f"![{caption}]({(rel / name).as_posix()})\n\n*{caption}*\n"


def _classifier(r: dict, rel: Path, title: str) -> str:
    h = r["history"]
    rows = "\n".join(
        f"| {e['epoch']} | {e['train_loss']:.4f} | {_pct(e['train_accuracy'])} | {_pct(e['val_accuracy'])} "
        f"| {e['lr']:.4g} | {e['seconds']:.1f} |"
        for e in h
    )
    return (
        f"## {title}\n\nTest accuracy (best-validation parameters, {r['test_size']} test images): "
        f"**{_pct(r['test_accuracy'])}**.\n\n| epoch | train loss | train acc. (train mode) | val. acc. | lr | s |\n"
        f"|---|---|---|---|---|---|\n{rows}\n\n"
        + _figure(rel, "curves.png", "loss per iteration and per epoch; accuracy per epoch")
        + _figure(rel, "confusion.png", "confusion matrix on the test set")
        + _figure(rel, "misclassified.png", "misclassified test digits, true -> predicted")
    )


def _optimizers(r: dict, rel: Path) -> str:
    runs = r["runs"]
    rows = "\n".join(
        f"| {n} | {x['lr']:g} | {x['final_loss']:.4f} | {_pct(x['val_accuracy'])} |" for n, x in runs.items()
    )
    sweep = "\n".join(
        f"| {n} | " + " | ".join(f"{e['lr']:g}: {e['final_loss']:.3f}" for e in entries) + " |"
        for n, entries in r["sweep"].items()
    )
    sgd, mom = runs["sgd"]["final_loss"], runs["momentum"]["final_loss"]
    best = {n: min(entries, key=lambda e: e["final_loss"])["lr"] for n, entries in r["sweep"].items()}
    return (
        "## Optimizers\n\nSame MLP, same epochs, same seed and data order, constant learning rate. Final loss is the "
        "mean training loss over the last tenth of the iterations.\n\n| optimizer | lr | final loss | val. acc. |\n"
        f"|---|---|---|---|\n{rows}\n\nLearning-rate sweep (final training loss):\n\n| optimizer | lr: loss ... |\n"
        f"|---|---|\n{sweep}\n\n"
        + _figure(rel, "loss.png", "training loss per iteration")
        + _figure(rel, "lr_sweep.png", "final training loss against learning rate")
        + f"\n**Why momentum helps.** At the same learning rate momentum reached a final loss of {mom:.4f} against "
        f"SGD's {sgd:.4f}. The velocity v = mu v - lr dx sums past gradients with weights mu^k: along directions "
        "where successive gradients agree, the step grows toward lr / (1 - mu), ten times SGD's for mu = 0.9; along "
        "directions where they alternate (across a narrow valley), they cancel. So momentum moves fast along the "
        "shallow floor of a valley without the oscillation that a tenfold SGD learning rate would cause across it. "
        f"In the sweep, momentum's best learning rate was {best['momentum']:g} and SGD's {best['sgd']:g}: with "
        "lr / (1 - mu) as its effective step, momentum needs a smaller lr for the same stability "
        "(derivations, section Optimizers).\n"
    )


def _losses(r: dict, rel: Path) -> str:
    rows = "\n".join(
        f"| {n} | {_pct(x['test_accuracy'])} | {_pct(x['val_accuracy'][-1])} | {x['median_top2_gap']:.2f} |"
        for n, x in r.items()
        if isinstance(x, dict)
    )
    soft, svm = r["softmax_cross_entropy"]["test_accuracy"], r["multiclass_svm"]["test_accuracy"]
    return (
        "## Softmax vs multiclass SVM\n\n| loss | test acc. | final val. acc. | median gap top-1 - top-2 score |\n"
        f"|---|---|---|---|\n{rows}\n\n"
        + _figure(rel, "curves.png", "training loss and validation accuracy")
        + f"\nBoth reach similar accuracy here ({_pct(soft)} softmax, {_pct(svm)} SVM). The difference is in what "
        "they ask of the scores. Softmax cross-entropy turns scores into probabilities and is never satisfied: "
        "its gradient (p - onehot)/N is non-zero for every example, so it keeps pushing the right class up "
        "and every wrong class down, in proportion to their probabilities. The SVM loss only asks that the right "
        "score beat every wrong one by the margin; once it does, the example contributes zero loss and zero "
        "gradient, and training concentrates on the examples that violate a margin. Its subgradient counts "
        "violations rather than weighing them by probability, and its scores have no probabilistic meaning "
        "(the median gap column shows the scale each loss settles on).\n"
    )


def _batch_norm(r: dict, rel: Path) -> str:
    rows = "\n".join(
        f"| {x['scale']:g} | {'yes' if x['batch_norm'] else 'no'} | {_pct(x['train_accuracy'])} | "
        f"{_pct(x['val_accuracy'])} |"
        for x in r["init_scale"]
    )
    modes = r["modes"]
    final = {k: v[-1] for k, v in modes.items()}
    mode_rows = "\n".join(f"| {k} | {_pct(v)} |" for k, v in final.items())
    return (
        "## Batch normalisation\n\n(a) Initialisation scale (std of every initial weight), final accuracy:\n\n"
        f"| weight scale | batch norm | train acc. | val. acc. |\n|---|---|---|---|\n{rows}\n\n"
        f"Spread of validation accuracy across scales: {_pct(r['val_accuracy_spread_without_bn'])} without batch norm, "
        f"{_pct(r['val_accuracy_spread_with_bn'])} with.\n\n"
        + _figure(rel, "init_scale.png", "final accuracy against initial weight scale")
        + _figure(
            rel, "batch_size.png", "validation accuracy per epoch for several batch sizes (with batch norm)"
        )
        + f"(c) Evaluation mode after the last epoch:\n\n| evaluation | val. acc. |\n|---|---|\n{mode_rows}\n\n"
        + _figure(rel, "modes.png", "validation accuracy with running vs batch statistics over training")
        + "\n**What batch norm changes.** Without it, the scale of the initial weights decides whether signals "
        "vanish (small scales: every layer shrinks the activations and their gradients) or explode (large "
        "scales) through the depth of the network, and only a narrow band of scales trains. Batch norm "
        "re-standardises every feature to zero mean and unit variance on each batch, so a layer's output no "
        "longer depends on the scale of its weights (BN(aWx) = BN(Wx) for a > 0) and the gradients that reach "
        "earlier layers keep a usable size; the learned gamma and beta give back any scale and shift the "
        "network needs.\n\n**Why test mode needs running statistics.** In training mode each example is "
        "normalised with the statistics of the batch it happens to be in, so its prediction depends on the "
        "other examples; with one example per batch, x - mu is exactly 0 and every input gives the same "
        "output (the 'batches of 1' line sits at chance). At test time predictions must be a function of the "
        "input alone and batches may be tiny, so the layer uses running averages of the training batches' "
        "mean and variance, an estimate of the statistics over the whole training distribution "
        "(running = 0.9 running + 0.1 batch).\n"
    )


def _gradients(r: dict, rel: Path) -> str:
    rows = "\n".join(
        f"| {x['constructor']} | `{x['config']}` | {', '.join(e.removeprefix('eq:') for e in x['equations'])} | "
        f"{x['max_error']:.1e} |"
        for x in r["table"]
    )
    return (
        f"## Gradient checks\n\nEvery registered case, float64; max relative error of all gradient arrays, hand-written "
        f"vs `jax.vjp` and vs finite differences (tolerance {r['tolerance']:g}); largest: **{r['max_error']:.1e}**.\n\n"
        f"| layer | configuration | equations | max rel. error |\n|---|---|---|---|\n{rows}\n\n"
        + _figure(rel, "fd_step.png", "finite-difference error against step size")
        + f"\nThe central difference's error falls like h^2 until round-off, about eps/h, takes over: the best step "
        f"was {r['best_step_float32']:g} in float32 and {r['best_step_float64']:g} in float64. A float32 check "
        f"cannot resolve errors below about {min(r['fd_error_float32']):.0e}, which is why fnn's checks run in float64.\n"
    )


def _conv_speed(r: dict, rel: Path) -> str:
    rows = "\n".join(
        f"| {x['size']} | {x['batch']} | {x['direct_forward_backward_ms']:.2f} | {x['im2col_forward_backward_ms']:.2f} | "
        f"{x['xla_forward_backward_ms']:.2f} | {x['xla_forward_ms']:.2f} | {x['im2col_bytes'] / 2**20:.1f} |"
        for x in r["rows"]
    )
    return (
        f"## Convolution speed ({r['backend']})\n\nconv 3x3, {r['c_in']} -> {r['c_out']} channels, padding 1; "
        "median ms, jitted, contenders alternating.\n\n| size | batch | direct fwd+bwd | im2col fwd+bwd | xla fwd+bwd "
        f"| xla fwd | im2col matrix (MiB) |\n|---|---|---|---|---|---|---|\n{rows}\n\n"
        + _figure(rel, "speed.png", "forward+backward time and im2col memory")
    )


def _filters(r: dict, rel: Path) -> str:
    return (
        f"## Learned filters\n\nCNN after training (validation accuracy {_pct(r['val_accuracy'])}).\n\n"
        + _figure(rel, "filters.png", "first-layer 3x3 filters")
        + _figure(rel, "digit.png", "the input digit")
        + _figure(rel, "features_conv1.png", "feature maps after conv1 + ReLU")
        + _figure(rel, "features_conv2.png", "feature maps after conv2 + ReLU")
        + "\nMany first-layer filters are oriented edge and stroke detectors (a positive and a negative band); "
        "the second layer's maps respond to combinations of strokes at lower resolution.\n"
    )


SECTIONS = {
    "mlp": lambda r, rel: _classifier(r, rel, "MLP"),
    "cnn": lambda r, rel: _classifier(r, rel, "CNN"),
    "optimizers": _optimizers,
    "losses": _losses,
    "batch_norm": _batch_norm,
    "gradients": _gradients,
    "conv_speed": _conv_speed,
    "filters": _filters,
}


def build(results_dir: Path, out: Path) -> tuple[str, list[str]]:
    shown = Path(os.path.relpath(results_dir, out.parent)).as_posix()
    intro = (
        "# fnn: experiments report\n\nGenerated by `python -m experiments.report` from "
        f"`{shown}/*/results.json`; rerun `python -m experiments.all` to regenerate.\n"
    )
    parts, missing = [intro], []
    for name in EXPERIMENTS:
        path = results_dir / name / "results.json"
        if not path.exists():
            missing.append(name)
            continue
        results = json.loads(path.read_text())
        config = json.loads((results_dir / name / "config.json").read_text())
        rel = Path(os.path.relpath(results_dir / name, out.parent))
        note = " (**quick run**, reduced configuration)" if results.get("quick") else ""
        parts.append(
            SECTIONS[name](results, rel)
            + f"\n<sub>`python -m experiments.{name}`{note}: {results['seconds']:.0f} s on {config['device']}, "
            f"jax {config['jax']}.</sub>\n"
        )
    if missing:
        parts.append(
            "## Not run yet\n\n" + "\n".join(f"- `python -m experiments.{n}`" for n in missing) + "\n"
        )
    text = "\n".join(parts)
    out.write_text(text)
    return text, missing


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__)
    parser.add_argument("--results", default="results")
    parser.add_argument("--out", default="REPORT.md")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    _, missing = build(Path(args.results).resolve(), out)
    print(f"wrote {out}" + (f"; not run yet: {', '.join(missing)}" if missing else ""))
    return out


if __name__ == "__main__":
    main()
