"""The report's numbers and checks: every experiment's facts as LaTeX macros, every claim of the
prose evaluated, and the checks that keep results, report and README true to the code.

    python -m experiments.report            # write report/build/numbers.tex; exit 1 if a claim
                                            # is false or the prose cites an unknown number
    python -m experiments.report --check    # all of that, and results missing, quick or older
                                            # than their code, and the README's table; writes nothing
    python -m experiments.report --readme   # rewrite the README's recipe table from results

The prose is hand-written LaTeX (report/sections, report/supplement, report/rows). A number there
is `\\R{<experiment>.<key>}`: each leaf of `experiments.<name>.facts.facts(results)` (nested dicts
flatten to dotted keys) becomes `\\fnnset{<name>.<key>}{<LaTeX>}` in numbers.tex, converted from
plain text here and nowhere else (`tex`). Besides the experiments' facts, `setup.*` holds what the
setup section prints: the data split, the machine, the commits, the architectures and recipes
(`setup_facts`). A sentence whose truth depends on the data cites its claim,
`\\claim{<experiment>.<claim>}`, a predicate in that experiment's `CLAIMS`; a claim that no longer
holds fails the build, naming the file, the line and the sentence. Nothing here trains.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import importlib.util
import io
import json
import numbers
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from experiments import fmt

# In the report's order: the assignment's items (REPORT.pdf), then the supplement's.
EXPERIMENTS = (
    "init_loss",
    "gradients",
    "mlp",
    "cnn",
    "cnn_bn",
    "cnn_variants",
    "losses",
    "optimizers",
    "activations",
    "batch_norm",
    "im2col",
    "conv_speed",
    "dropout",
    "filters",
    "time_to_accuracy",
    "best",
)
# The experiments that only SUPPLEMENT.pdf discusses (gradients and optimizers appear in both:
# one line each in the report, their tables and the optimizers beyond momentum in the supplement).
SUPPLEMENT = frozenset({"conv_speed", "dropout", "filters", "time_to_accuracy", "best"})
PACKAGE = "experiments"  # experiments/<name>/{run,facts}.py; tests point it at a fake lab
SETUP = "setup"  # the prefix of the values this module derives itself (`setup_facts`)
# recipe -> (experiment, arm): where the README's recipe table reads each recipe's runs (an
# arm names runs under results["arms"]; None: the experiment's own per-seed lists)
RECIPE_RUNS = {
    "mlp": ("mlp", None),
    "cnn": ("cnn", None),
    "cnn-bn": ("cnn_bn", None),
    "fast": ("time_to_accuracy", "fast"),
    "best": ("best", "affine"),
}
README_BEGIN, README_END = (
    "<!-- recipe table: python -m experiments.report --readme -->",
    "<!-- end recipe table -->",
)
# The prose that may cite numbers and claims, relative to the report folder.
PROSE = ("REPORT.tex", "SUPPLEMENT.tex", "sections/*.tex", "supplement/*.tex", "rows/*.tex")
APPENDIX_LABEL = "appendix-start"
MAX_PAGES = 20  # REPORT.pdf's pages before the derivations appendix


# ---------------------------------------------------------------- plain text -> LaTeX, in one place

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
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_SYMBOLS = {
    "±": r"\pm",
    "×": r"\times",
    "−": "-",
    "→": r"\to",
    "≤": r"\le",
    "≥": r"\ge",
    "≈": r"\approx",
    "μ": r"\mu",
    "η": r"\eta",
    "σ": r"\sigma",
    "λ": r"\lambda",
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "ε": r"\varepsilon",
    "∞": r"\infty",
}
_NUMBER = re.compile(r"^([+\-−])?(inf|nan|\d[\d,]*(?:\.\d*)?|\.\d+)(?:e([+-]\d+))?(%)?$")


def tex_text(text: str) -> str:
    """Plain text as LaTeX: specials escaped, ± × − and Greek letters as math symbols."""
    out = []
    for c in text:
        if c in _SPECIAL:
            out.append(_SPECIAL[c])
        elif c in _SYMBOLS:
            out.append(f"\\ensuremath{{{_SYMBOLS[c]}}}")
        else:
            out.append(c)
    return "".join(out)


def tex_number(text: str) -> str | None:
    """A printed number as LaTeX (None if `text` is not one): a leading sign as a math sign,
    an exponent as a power of ten (1.2e-11 -> 1.2\\times 10^{-11}), inf as \\infty."""
    match = _NUMBER.match(text.strip().lower())
    if match is None:
        return None
    sign, mantissa, exponent, percent = match.groups()
    sign = {"+": "+", "-": "-", "−": "-"}.get(sign or "", "")
    if mantissa == "inf":
        out = f"\\ensuremath{{{sign}\\infty}}"
    else:
        out = (f"\\ensuremath{{{sign}}}" if sign else "") + ("NaN" if mantissa == "nan" else mantissa)
        if exponent is not None:
            out += f"\\ensuremath{{\\times 10^{{{int(exponent)}}}}}"
    return out + ("\\%" if percent else "")


def _cell(text: str) -> str:
    return tex_number(text) if tex_number(text) is not None else tex_text(text)


def tex_table(table: fmt.Table) -> str:
    """A booktabs tabular, top-aligned (side by side, tables line up at their first rule): the
    header, a rule, the rows; a column whose every cell is a number is right-aligned. The
    caption and the float are the prose's."""
    columns, rows = tuple(table.columns), [tuple(row) for row in table.rows]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a table row has {len(row)} cells for {len(columns)} columns: {row!r}")
    align = "".join(
        "r" if rows and all(tex_number(str(row[i])) is not None for row in rows) else "l"
        for i in range(len(columns))
    )
    lines = [f"\\begin{{tabular}}[t]{{{align}}}", "\\toprule", " & ".join(map(tex_text, columns)) + " \\\\"]
    lines += ["\\midrule", *(" & ".join(_cell(str(c)) for c in row) + " \\\\" for row in rows)]
    return "\n".join([*lines, "\\bottomrule", "\\end{tabular}"])


def tex(value: Any) -> str:
    """A facts leaf as LaTeX: a Num as it prints (str), an int with thousands separators, a
    string escaped, a Table as a tabular. Anything else is a mistake in the facts."""
    if isinstance(value, fmt.Num):
        return tex_number(str(value)) or tex_text(str(value))
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise TypeError(f"{value!r} is not a number or text: give the prose a str, an int or a Num")
    if isinstance(value, numbers.Integral) and not isinstance(value, np.bool_):
        return tex_number(f"{int(value):,}")
    if isinstance(value, float):
        raise TypeError(f"{value!r} is a plain float: format it with experiments.fmt (num, pct, signed, sci)")
    if isinstance(value, str):
        return tex_text(value)
    if isinstance(value, fmt.Table):
        return tex_table(value)
    raise TypeError(f"a {type(value).__name__} is not a facts leaf (Num, int, str or fmt.Table)")


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to {"a.b.c": leaf}."""
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


# ---------------------------------------------------------------- results, facts and claims


def load(results_dir: Path) -> dict[str, dict]:
    """{name: results} for every experiment that has a results.json (config.json under "config")."""
    found = {}
    for name in EXPERIMENTS:
        path = Path(results_dir) / name / "results.json"
        if path.exists():
            config = Path(results_dir) / name / "config.json"
            found[name] = {
                **json.loads(path.read_text()),
                "config": json.loads(config.read_text()) if config.exists() else {},
            }
    return found


def facts_module(name: str) -> tuple[Any, str | None]:
    """(experiments.<name>.facts, None), or (None, why it cannot be had)."""
    try:
        spec = importlib.util.find_spec(f"{PACKAGE}.{name}")
    except (ImportError, ValueError) as e:
        return None, f"{name}: cannot find its package: {e}"
    if spec is None:
        return None, f"{name}: no experiment package ({PACKAGE}/{name}/)"
    if spec.submodule_search_locations is None:
        return None, f"{name}: not an experiment package yet ({spec.origin} is a module)"
    try:
        module = importlib.import_module(f"{PACKAGE}.{name}.facts")
    except ModuleNotFoundError as e:
        if e.name == f"{PACKAGE}.{name}.facts":
            return None, f"{name}: its package has no facts.py"
        return None, f"{name}: importing its facts failed: {type(e).__name__}: {e}"
    except Exception as e:  # the report names every broken experiment rather than stopping at one
        return None, f"{name}: importing its facts failed: {type(e).__name__}: {e}"
    if not callable(getattr(module, "facts", None)) or not isinstance(getattr(module, "CLAIMS", None), dict):
        return None, f"{name}: its facts.py needs facts(results) and a CLAIMS dict"
    return module, None


class Facts(NamedTuple):
    """Everything the prose may cite: {"name.key": leaf}, {"name.claim": holds (True, False, or
    the exception it raised)}, the experiments with a facts module, those with results, problems."""

    values: dict[str, Any]
    claims: dict[str, bool | BaseException]
    packages: set[str]
    with_results: set[str]
    problems: list[str]


def gather(found: dict[str, dict]) -> Facts:
    """Every experiment's facts (from its results) and every claim's truth, and `setup_facts`."""
    values, claims, packages, problems = {}, {}, set(), []
    setup = setup_facts(found)
    values.update(flatten(setup, f"{SETUP}."))
    for claim, predicate in SETUP_CLAIMS.items():
        try:
            claims[f"{SETUP}.{claim}"] = bool(predicate(setup))
        except Exception as e:
            claims[f"{SETUP}.{claim}"] = e
    for name in EXPERIMENTS:
        module, why = facts_module(name)
        if module is None:
            problems.append(why)
            continue
        packages.add(name)
        if name not in found:
            for claim in module.CLAIMS:
                claims[f"{name}.{claim}"] = LookupError(f"no results for {name}")
            continue
        try:
            tree = module.facts(found[name])
            if not isinstance(tree, dict):
                raise TypeError(f"facts() returned a {type(tree).__name__}, not a dict")
        except Exception as e:
            problems.append(f"{name}: facts(results) raised {type(e).__name__}: {e}")
            continue
        values.update(flatten(tree, f"{name}."))
        for claim, predicate in module.CLAIMS.items():
            try:
                holds = predicate(tree)
                claims[f"{name}.{claim}"] = bool(holds)
            except Exception as e:
                claims[f"{name}.{claim}"] = e
    return Facts(values, claims, packages, set(found) & packages, problems)


# ---------------------------------------------------------------- what the setup section prints


def _layer_name(name: str, kind: str) -> str:
    """`name`, with its kind when the name does not say it: "scores (affine)", "conv1"."""
    base = re.sub(r"\d+[a-z]?$", "", name)  # conv1, conv1b -> conv
    return name if kind.startswith(base) or base.startswith(kind) else f"{name} ({kind})"


def _summary_table(model) -> tuple[fmt.Table, str]:
    from fnn import summary

    text = summary(model, (28, 28, 1), file=io.StringIO())
    header, *rows, total = text.splitlines()
    cells = [re.split(r"\s{2,}", row.strip()) for row in rows]
    table = fmt.Table(
        ("layer", "output", "params"),
        tuple(
            (
                _layer_name(name, kind),
                shape.strip("()").rstrip(",").replace(", ", "×"),
                params,
            )
            for name, kind, shape, params in cells
        ),
    )
    return table, total


REPORT_MODELS = ("mlp", "cnn", "cnn-bn")  # the assignment's; the supplement's recipes are the rest


def _models() -> dict:
    from fnn import models

    tables, params, recipes = {}, {}, {"report": [], "supplement": []}
    for name, recipe in models.RECIPES.items():
        model = models.MODELS[name](drop_rate=recipe.drop_rate)
        table, total = _summary_table(model)
        tables[name] = table
        params[name] = int(re.search(r"([\d,]+) parameters", total).group(1).replace(",", ""))
        recipes["report" if name in REPORT_MODELS else "supplement"].append(
            (
                name,
                str(recipe.epochs),
                str(recipe.batch_size),
                recipe.optimizer,
                f"{recipe.momentum:g}" if recipe.optimizer in ("momentum", "nesterov") else "--",
                f"{recipe.lr:g}",
                str(recipe.warmup_steps),
                recipe.schedule,
                f"{recipe.weight_decay:g}",
                f"{recipe.drop_rate:g}",
                recipe.augment,
            )
        )
    columns = (
        "model",
        "epochs",
        "batch",
        "optimizer",
        "μ",
        "peak lr",
        "warm-up",
        "decay",
        "w. decay",
        "dropout",
        "augment",
    )
    return {
        "architecture": tables,
        "params": params,
        "recipes": fmt.Table(columns[:-1], tuple(row[:-1] for row in recipes["report"])),
        "supplement_recipes": fmt.Table(columns, tuple(recipes["supplement"])),
    }


# Claims over `setup_facts`, cited by report/sections/setup.tex like an experiment's.
SETUP_CLAIMS: dict[str, Callable[[dict], bool]] = {
    "one_commit": lambda f: f["commit_count"] == 1,
}


def setup_facts(found: dict[str, dict]) -> dict:
    """The setup's values: models and recipes (from fnn.models), the data split (from the mlp's
    results), the machine, the commits and each result's code hash (from the results)."""
    setup: dict[str, Any] = _models()
    if "mlp" in found:
        mlp = found["mlp"]
        for key in ("train_size", "validation_size", "test_size"):
            if isinstance(mlp.get(key), int):
                setup[key] = mlp[key]
        if "train_size" in setup and "validation_size" in setup:
            setup["mnist_train"] = setup["train_size"] + setup["validation_size"]
    if not found:
        return setup
    config = next(iter(found.values()))["config"]
    host = config.get("host", {})
    setup["machine"] = {
        "cpu": str(host.get("cpu", "unknown")),
        "cores": int(host.get("cores", 0)),
        "python": str(host.get("python", "?")),
        "jax": str(config.get("jax", "?")),
        "device": str(config.get("device", "?")),
        "fnn": str(config.get("fnn", "?")),
    }
    provenance = {name: r.get("provenance", {}) for name, r in found.items()}
    commits = sorted({(p.get("commit") or "unknown")[:12] for p in provenance.values()})
    setup["commits"] = ", ".join(commits)
    setup["commit_count"] = len(commits)
    setup["hours"] = fmt.num(sum(float(r.get("seconds", 0)) for r in found.values()) / 3600, 1)
    setup["provenance"] = fmt.Table(
        ("experiment", "commit", "code hash", "uncommitted changes", "quick", "run time (s)"),
        tuple(
            (
                name,
                (p.get("commit") or "unknown")[:12],
                p.get("code_hash", "none")[:12],
                {True: "yes", False: "no"}.get(p.get("dirty"), "unknown"),
                "yes" if found[name].get("quick") else "no",
                f"{float(found[name].get('seconds', 0)):,.0f}",
            )
            for name, p in provenance.items()
        ),
    )
    return setup


def numbers_tex(values: dict[str, Any]) -> tuple[str, list[str]]:
    """numbers.tex (one \\fnnset per leaf) and the leaves that could not be written."""
    lines = ["% Written by python -m experiments.report from results/*/results.json: do not edit."]
    problems = []
    for key, value in values.items():
        try:
            lines.append(f"\\fnnset{{{key}}}{{{tex(value)}}}")
        except (TypeError, ValueError) as e:
            problems.append(f"{key}: {e}")
    return "\n".join(lines) + "\n", problems


# ---------------------------------------------------------------- the prose: \R and \claim


class Citation(NamedTuple):
    path: Path
    line: int
    kind: str  # "R" or "claim"
    key: str
    sentence: str


_CITE = re.compile(r"\\(R|claim)\s*\{([^{}]*)\}")
_COMMENT = re.compile(r"(?<!\\)%.*")
_BOUNDARY = re.compile(
    r"[.!?](?=\s)|\n\s*\n|(?<!\\)&|\\\\|\\item\b|\\(?:(?:sub)*section\*?|paragraph)\{[^{}]*\}|\\caption\{"
)


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence around text[start:end]: from the previous sentence end (or paragraph, table
    cell, item) to the next, whitespace collapsed."""
    before = [m.end() for m in _BOUNDARY.finditer(text, 0, start)]
    after = _BOUNDARY.search(text, end)
    stop = len(text) if after is None else after.start() + (1 if text[after.start()] in ".!?" else 0)
    sentence = " ".join(text[before[-1] if before else 0 : stop].split())
    return sentence if len(sentence) <= 400 else sentence[:397] + "..."


def prose_files(report_dir: Path) -> list[Path]:
    return [path for pattern in PROSE for path in sorted(Path(report_dir).glob(pattern))]


def citations(paths: Iterable[Path]) -> list[Citation]:
    """Every \\R{...} and \\claim{...} outside comments, with its line and sentence."""
    found = []
    for path in paths:
        text = "\n".join(_COMMENT.sub("", line) for line in path.read_text().splitlines())
        for m in _CITE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(Citation(path, line, m.group(1), m.group(2).strip(), sentence_at(text, *m.span())))
    return found


def _unknown_number(key: str, facts: Facts) -> str | None:
    name = key.partition(".")[0]
    if key in facts.values:
        return None
    if name != SETUP and name not in EXPERIMENTS:
        return f"no experiment named {name!r}"
    if name != SETUP and name not in facts.packages:
        return None  # its package is missing: reported once, not at every number
    if name != SETUP and name not in facts.with_results:
        return f"{name} has no results (run python -m experiments.{name})"
    if name != SETUP and not any(k.startswith(name + ".") for k in facts.values):
        return None  # its facts failed: reported once
    close = difflib.get_close_matches(key, [k for k in facts.values if k.startswith(name + ".")], 3)
    return "no such number in its facts" + (f" (did you mean {', '.join(close)}?)" if close else "")


def prose_problems(facts: Facts, report_dir: Path) -> list[str]:
    """Every false claim (with its sentence), unknown number or claim, and claim cited nowhere."""
    problems, cited = [], set()
    for c in citations(prose_files(report_dir)):
        where = f"{c.path}:{c.line}"
        if c.kind == "R":
            why = _unknown_number(c.key, facts)
            if why:
                problems.append(f"{where}: \\R{{{c.key}}}: {why}")
            continue
        cited.add(c.key)
        name, _, claim = c.key.partition(".")
        if name == SETUP:
            if c.key not in facts.claims:
                problems.append(
                    f"{where}: \\claim{{{c.key}}}: experiments.report.SETUP_CLAIMS has no {claim!r}"
                )
        elif name not in EXPERIMENTS:
            problems.append(f"{where}: \\claim{{{c.key}}}: no experiment named {name!r}")
        elif name not in facts.packages:
            continue  # reported once
        elif c.key not in facts.claims:
            if name in facts.with_results and not any(k.startswith(name + ".") for k in facts.values):
                continue  # its facts failed: reported once
            problems.append(f"{where}: \\claim{{{c.key}}}: {PACKAGE}.{name}.facts.CLAIMS has no {claim!r}")
        if c.key not in facts.claims:
            continue
        if isinstance(facts.claims[c.key], BaseException):
            e = facts.claims[c.key]
            problems.append(
                f'{where}: claim {c.key} cannot be evaluated: {type(e).__name__}: {e}: "{c.sentence}"'
            )
        elif not facts.claims[c.key]:
            problems.append(f'{where}: claim {c.key} does not hold: "{c.sentence}"')
    for key in facts.claims:
        if key not in cited:
            name = key.partition(".")[0]
            where = "experiments/report.py (SETUP_CLAIMS)" if name == SETUP else f"{PACKAGE}/{name}/facts.py"
            problems.append(
                f"{where}: claim {key} is cited nowhere in {report_dir}/ "
                f"(cite it as \\claim{{{key}}} in the sentence it supports, or delete it)"
            )
    for path in sorted(Path(report_dir).glob("rows/*.tex")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                problems.append(
                    f"{path}:{i}: a blank line in a rows file adds an empty row to the opening table"
                )
    return problems


# ---------------------------------------------------------------- results against their code, README


def provenance_problems(found: dict[str, dict]) -> list[str]:
    """Results missing, quick, without provenance or made by other code than today's."""
    from experiments import codehash

    problems = []
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
        run_file = codehash.ROOT.joinpath(*PACKAGE.split("."), name, "run.py")
        if not run_file.is_file():
            problems.append(
                f"{name}: no {run_file.relative_to(codehash.ROOT).as_posix()} to check its code hash"
            )
            continue
        changed = codehash.changed(r["provenance"], run_file)
        if changed:
            problems.append(f"{name}: its code changed since the result was made: {', '.join(changed)}")
    return problems


def recipe_runs(found: dict[str, dict], name: str) -> tuple[list[float], list[float]]:
    """A recipe's per-seed test accuracies and training seconds, where RECIPE_RUNS says."""
    experiment, arm = RECIPE_RUNS[name]
    r = found[experiment]
    if arm is None:
        return r["test_accuracy"], r["train_seconds"]
    runs = r["arms"][arm]  # probed runs: their clock stops during the probes
    return [x["test_accuracy"] for x in runs], [x["wall_seconds"] for x in runs]


def recipe_table(found: dict[str, dict]) -> str:
    """The README's recipe table (Markdown) from the recipe experiments' results."""
    from experiments import stats
    from fnn import models

    lines = [
        "| model | epochs | batch | optimizer | lr | weight decay | dropout | augmentation "
        "| test accuracy (mean ± sd) | training time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in RECIPE_RUNS:
        accuracy, seconds = recipe_runs(found, name)
        recipe = models.RECIPES[name]
        mean, sd = stats.mean_sd([100 * a for a in accuracy])
        lines.append(
            f"| `{name}` | {recipe.epochs} | {recipe.batch_size} | {recipe.optimizer} | {recipe.lr:g} | "
            f"{recipe.weight_decay:g} | {recipe.drop_rate:g} | {recipe.augment} | "
            f"{mean:.2f}% ± {sd:.2f} ({len(accuracy)} seeds) | {_duration(stats.mean_sd(seconds)[0])} |"
        )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def _readme_block(readme: str) -> tuple[int, int]:
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"README.md has no recipe table between {README_BEGIN!r} and {README_END!r}")
    return begin + len(README_BEGIN), end


def readme_problems(found: dict[str, dict], readme: Path) -> list[str]:
    if not all(e in found for e, _ in RECIPE_RUNS.values()):
        return []
    text = Path(readme).read_text()
    begin, end = _readme_block(text)
    if text[begin:end].strip() != recipe_table(found):
        return [
            "README.md: the recipe table disagrees with the results (python -m experiments.report --readme)"
        ]
    return []


def check(results_dir: Path, readme: Path, report_dir: Path = Path("report")) -> list[str]:
    """Every reason the results, the report's prose and the README cannot be trusted; [] if none."""
    found = load(results_dir)
    facts = gather(found)
    return [
        *provenance_problems(found),
        *facts.problems,
        *numbers_tex(facts.values)[1],
        *prose_problems(facts, report_dir),
        *readme_problems(found, readme),
    ]


def write(results_dir: Path, out: Path, report_dir: Path = Path("report")) -> list[str]:
    """Write numbers.tex to `out`; return the problems of the facts and the prose."""
    facts = gather(load(results_dir))
    text, unwritable = numbers_tex(facts.values)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return [*facts.problems, *unwritable, *prose_problems(facts, report_dir)]


# ---------------------------------------------------------------- the page limit


def _groups(text: str, start: int) -> list[str]:
    """The brace groups at text[start:], in order, until something else."""
    groups, i = [], start
    while i < len(text) and text[i] == "{":
        depth, j = 0, i
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        groups.append(text[i + 1 : j])
        i = j + 1
    return groups


def appendix_page(aux: str, label: str = APPENDIX_LABEL) -> int:
    """The page of \\label{label} in a LaTeX .aux file (\\newlabel{label}{{ref}{page}...})."""
    at = aux.find(f"\\newlabel{{{label}}}")
    if at < 0:
        raise ValueError(f"the .aux file has no \\newlabel{{{label}}}")
    (value, *_) = _groups(aux, at + len(f"\\newlabel{{{label}}}")) or [""]
    fields = _groups(value, 0)
    if len(fields) < 2 or not fields[1].strip().isdigit():
        raise ValueError(f"cannot read the page of \\label{{{label}}} from {value[:80]!r}")
    return int(fields[1])


def page_limit_problems(aux_path: Path, max_pages: int = MAX_PAGES) -> list[str]:
    page = appendix_page(Path(aux_path).read_text(errors="replace"))
    if page - 1 > max_pages:
        return [
            f"{aux_path}: the appendix starts on page {page}: {page - 1} pages before it, over {max_pages}"
        ]
    return []


# ---------------------------------------------------------------- command line


def _report(problems: list[str], what: str, out: Callable[[str], None]) -> int:
    for problem in problems:
        out(f"report{what}: {problem}")
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__)
    parser.add_argument("--results", default="results")
    parser.add_argument(
        "--report-dir", default="report", help="where the prose is (sections, supplement, rows)"
    )
    parser.add_argument("--out", default="report/build/numbers.tex")
    parser.add_argument("--readme-path", default="README.md")
    parser.add_argument(
        "--check", action="store_true", help="check results, code, claims and README; write nothing"
    )
    parser.add_argument("--readme", action="store_true", help="rewrite the README's recipe table")
    parser.add_argument(
        "--page-limit",
        metavar="AUX",
        help=f"fail if REPORT's appendix (\\label{{{APPENDIX_LABEL}}} in this .aux) has more than "
        f"{MAX_PAGES} pages before it",
    )
    args = parser.parse_args(argv)
    results, readme, report_dir = Path(args.results), Path(args.readme_path), Path(args.report_dir)

    def err(line: str) -> None:
        print(line, file=sys.stderr)

    if args.page_limit:
        try:
            problems = page_limit_problems(Path(args.page_limit))
        except (OSError, ValueError) as e:
            problems = [str(e)]
        return _report(problems, " --page-limit", err)
    if args.check:
        problems = check(results, readme, report_dir)
        status = _report(problems, " --check", err)
        print(f"report --check: {'FAILED' if problems else 'ok'} ({len(EXPERIMENTS)} experiments)")
        return status
    if args.readme:
        text = readme.read_text()
        begin, end = _readme_block(text)
        readme.write_text(text[:begin] + "\n" + recipe_table(load(results)) + "\n" + text[end:])
        print(f"wrote the recipe table into {readme}")
        return 0
    problems = write(results, Path(args.out), report_dir)
    print(f"wrote {args.out}" + (f"; {len(problems)} problems" if problems else ""))
    return _report(problems, "", err)


if __name__ == "__main__":
    sys.exit(main())
