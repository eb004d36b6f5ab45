"""The report: REPORT.pdf's sections from every results/<name>/results.json, and the checks
that keep it, the results and the README true to the code.

    python -m experiments.report            # write report/body.tex (then `make report`)
    python -m experiments.report --check    # fail if a result is missing, quick, or older
                                            # than its code, or the README's table disagrees
    python -m experiments.report --readme   # rewrite the README's recipe table from results

Each experiment module's `section(results)` writes its section (experiments/latex.py); this
module adds the setup (data, architectures, recipes, machine, provenance) and the recipe
table the README shows. Nothing here trains; numbers are read from results.json only.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import sys
from pathlib import Path

from experiments import latex

# In the report's order.
EXPERIMENTS = (
    "mlp",
    "cnn",
    "cnn_bn",
    "init_loss",
    "optimizers",
    "losses",
    "activations",
    "dropout",
    "batch_norm",
    "filters",
    "gradients",
    "im2col",
    "conv_speed",
)
RECIPE_RUNS = {"mlp": "mlp", "cnn": "cnn", "cnn-bn": "cnn_bn"}  # recipe -> experiment
README_BEGIN, README_END = (
    "<!-- recipe table: python -m experiments.report --readme -->",
    "<!-- end recipe table -->",
)


def load(results_dir: Path) -> dict[str, dict]:
    """{name: results} for every experiment that has a results.json (config.json under "config")."""
    found = {}
    for name in EXPERIMENTS:
        path = results_dir / name / "results.json"
        if path.exists():
            found[name] = {
                **json.loads(path.read_text()),
                "config": json.loads((results_dir / name / "config.json").read_text()),
            }
    return found


def _architectures() -> str:
    from fnn import models, summary

    blocks = []
    for name, recipe in models.RECIPES.items():
        model = models.MODELS[name](drop_rate=recipe.drop_rate)
        *rows, total = summary(model, (28, 28, 1), file=io.StringIO()).splitlines()
        rows = "\n".join(rows)
        blocks.append(
            f"\\code{{{latex.esc(name)}}}: {latex.esc(total.partition(': ')[2])}.\n"
            f"\\begin{{verbatim}}\n{rows}\n\\end{{verbatim}}\n"
        )
    return "\n".join(blocks)


def _recipes_table() -> str:
    from fnn import models

    rows = [
        [
            f"\\code{{{latex.esc(name)}}}",
            str(r.epochs),
            str(r.batch_size),
            latex.esc(r.optimizer),
            f"{r.momentum:g}",
            f"{r.lr:g}",
            str(r.warmup_steps),
            latex.esc(r.schedule),
            f"{r.weight_decay:g}",
            f"{r.drop_rate:g}",
        ]
        for name, r in models.RECIPES.items()
    ]
    return latex.table(
        [
            "model",
            "epochs",
            "batch",
            "optimizer",
            "$\\mu$",
            "peak lr",
            "warm-up",
            "decay",
            "w.\\ decay",
            "dropout",
        ],
        rows,
        "The recipes (\\code{fnn.models.RECIPES}, what \\code{fnn train --model M} uses). The learning rate rises "
        "linearly from 0 over the warm-up steps to the peak, then follows a cosine to 0 at the last step; weight "
        "decay (L2, added to the gradient) applies to weights, not to biases or batch-norm parameters; dropout "
        "is inverted dropout after the ReLU of every hidden fully connected layer (Table~\\ref{tab:architectures}).",
        "recipes",
        size="\\small",
    )


def _setup(found: dict[str, dict]) -> str:
    any_run = next(iter(found.values()))
    config, host = any_run["config"], any_run["config"].get("host", {})
    commits = sorted({r["provenance"]["commit"] or "unknown" for r in found.values() if "provenance" in r})
    dirty = any(r.get("provenance", {}).get("dirty") for r in found.values())
    sizes = found.get("mlp", {})
    split = (
        f"{sizes['train_size']:,} training, {sizes['validation_size']:,} validation and {sizes['test_size']:,} test "
        "images"
        if sizes
        else "55,000 training, 5,000 validation and 10,000 test images"
    )
    where = (
        f"commit \\code{{{commits[0][:12]}}}"
        if len(commits) == 1
        else f"{len(commits)} commits ({', '.join(c[:12] for c in commits)})"
    ) + (" with uncommitted changes" if dirty else "")
    return (
        "\\section{Setup}\\label{sec:setup}\n"
        "\\paragraph{Data.} MNIST as the assignment gives it (\\code{mnist\\_all.mat}: 60,000 training and 10,000 "
        "test images, $28\\times 28$ grey levels 0--255), shipped inside the package and checked by sha256. "
        "Pixels are divided by 255; 5,000 shuffled training images are held out for validation (the shuffle "
        f"depends on the seed); the per-pixel mean of the training split is subtracted from every split: {split}. "
        "Accuracy on the test set is always that of the parameters of the epoch with the best validation "
        "accuracy.\n\n"
        "\\paragraph{Models.} The three networks, as \\code{fnn.summary} prints them (output shape per example, "
        "parameter count); Table~\\ref{tab:architectures} names them. The MLP of the assignment is "
        "784--512--256--10 with ReLU; the CNN has two $3\\times 3$ convolutions (padding 1) each followed by ReLU "
        "and $2\\times 2$ max pooling, then a 128-unit hidden layer.\n"
        "\\begin{table}[htbp]\\centering\\caption{Architectures.}\\label{tab:architectures}\n"
        "\\begin{minipage}{0.95\\linewidth}\\small\n"
        f"{_architectures()}\\end{{minipage}}\\end{{table}}\n"
        f"{_recipes_table()}\n"
        "\\paragraph{Seeds and error bars.} Every comparison a conclusion rests on is run with at least three "
        "seeds; numbers are given as mean $\\pm$ sample standard deviation over seeds, and a difference is "
        "called real only when the means differ by more than the sum of the two standard deviations (otherwise "
        "the text says it is within the spread).\n\n"
        f"\\paragraph{{Machine and code.}} Every result was produced on {latex.esc(host.get('cpu', 'an unknown CPU'))} "
        f"({host.get('cores', '?')} cores) by JAX {latex.esc(config['jax'])} on {latex.esc(config['device'])}, "
        f"Python {latex.esc(host.get('python', '?'))}, fnn {latex.esc(config['fnn'])}, at {where}. Each "
        "\\code{results.json} records the commit and a hash of every source file it depends on; "
        "\\code{python -m experiments.report --check} fails when any of them has changed since. Each section "
        "ends with the command that regenerates it and its run time.\n"
    )


def _footer(name: str, r: dict) -> str:
    quick = " (\\textbf{quick run}, reduced configuration)" if r.get("quick") else ""
    return (
        f"\n\\noindent{{\\footnotesize Regenerate: \\code{{python -m experiments.{latex.esc(name)}}}{quick}; "
        f"{r['seconds']:.0f} s on this machine.}}\n"
    )


def build(results_dir: Path, out: Path) -> tuple[str, list[str]]:
    """Write the report's body (LaTeX) to `out`; return it and the experiments not run yet."""
    found = load(results_dir)
    missing = [name for name in EXPERIMENTS if name not in found]
    parts = [_setup(found)] if found else []
    for name, results in found.items():
        module = importlib.import_module(f"experiments.{name}")
        parts.append("\\clearpage\n" + module.section(results) + _footer(name, results))
    if missing:
        parts.append(
            "\\section{Not run yet}\n\\begin{itemize}\n"
            + "".join(f"\\item \\code{{python -m experiments.{latex.esc(n)}}}\n" for n in missing)
            + "\\end{itemize}\n"
        )
    text = "\n".join(parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text, missing


def recipe_table(found: dict[str, dict]) -> str:
    """The README's recipe table (Markdown) from the recipe experiments' results."""
    from fnn import models

    lines = [
        "| model | epochs | batch | lr | weight decay | dropout | test accuracy (mean ± sd) | training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, experiment in RECIPE_RUNS.items():
        r, recipe = found[experiment], models.RECIPES[name]
        mean, sd = latex.mean_sd([100 * a for a in r["test_accuracy"]])
        seconds = latex.mean_sd(r["train_seconds"])[0]
        lines.append(
            f"| `{name}` | {recipe.epochs} | {recipe.batch_size} | {recipe.lr:g} | {recipe.weight_decay:g} | "
            f"{recipe.drop_rate:g} | {mean:.2f}% ± {sd:.2f} ({len(r['test_accuracy'])} seeds) | {seconds:.0f} s |"
        )
    return "\n".join(lines)


def _readme_block(readme: str) -> tuple[int, int]:
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"README.md has no recipe table between {README_BEGIN!r} and {README_END!r}")
    return begin + len(README_BEGIN), end


def check(results_dir: Path, readme: Path) -> list[str]:
    """Every reason the committed results, report and README cannot be trusted; [] if none."""
    from experiments import codehash

    root = Path(__file__).resolve().parent
    found, problems = load(results_dir), []
    for name in EXPERIMENTS:
        if name not in found:
            problems.append(f"{name}: no results (run python -m experiments.{name})")
            continue
        r = found[name]
        if r.get("quick"):
            problems.append(f"{name}: a --quick run, not the full experiment")
        if "provenance" not in r:
            problems.append(f"{name}: results.json records no provenance (made before it was recorded)")
            continue
        changed = codehash.changed(r["provenance"], root / f"{name}.py")
        if changed:
            problems.append(f"{name}: its code changed since the result was made: {', '.join(changed)}")
    if all(e in found for e in RECIPE_RUNS.values()):
        text = readme.read_text()
        begin, end = _readme_block(text)
        if text[begin:end].strip() != recipe_table(found):
            problems.append(
                "README.md: the recipe table disagrees with the results (python -m experiments.report --readme)"
            )
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__)
    parser.add_argument("--results", default="results")
    parser.add_argument("--out", default="report/body.tex")
    parser.add_argument("--readme-path", default="README.md")
    parser.add_argument("--check", action="store_true", help="check results, code and README; write nothing")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's recipe table")
    args = parser.parse_args(argv)
    results, readme = Path(args.results), Path(args.readme_path)
    if args.check:
        problems = check(results, readme)
        for problem in problems:
            print(f"report --check: {problem}", file=sys.stderr)
        print(f"report --check: {'FAILED' if problems else 'ok'} ({len(EXPERIMENTS)} experiments)")
        return 1 if problems else 0
    if args.readme:
        text = readme.read_text()
        begin, end = _readme_block(text)
        readme.write_text(text[:begin] + "\n" + recipe_table(load(results)) + "\n" + text[end:])
        print(f"wrote the recipe table into {readme}")
        return 0
    _, missing = build(results, Path(args.out))
    print(f"wrote {args.out}" + (f"; not run yet: {', '.join(missing)}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
