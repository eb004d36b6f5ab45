"""The recipe experiments (mlp, cnn, cnn_bn), filters, and the report that collects every
experiment: sections built from results.json, the --check that ties results to their code,
the README's recipe table. Each other experiment has its own tests/test_experiments_<name>.py."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from experiments import latex, report

ROOT = Path(__file__).resolve().parent.parent


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


# The CNNs' quick runs take ~20 s each: under -m slow (the mlp runs the same pipeline by default).
@pytest.mark.parametrize(
    "name", ["mlp", *(pytest.param(n, marks=pytest.mark.slow) for n in ("cnn", "cnn_bn"))]
)
def test_recipe_experiment_runs_every_seed_and_keeps_the_first_seeds_detail(quick_experiment, name):
    out, r = quick_experiment(name)
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]
    assert r["seeds"] == [0, 1] and [x["seed"] for x in r["runs"]] == [0, 1]
    assert len(r["test_accuracy"]) == 2 and min(r["test_accuracy"]) > 0.8
    assert r["test_accuracy"][0] != r["test_accuracy"][1]  # the seeds are different runs
    detail = r["runs"][0]["detail"]
    assert "detail" not in r["runs"][1]
    assert sum(map(sum, detail["confusion"])) == r["test_size"] == 10000
    assert len(detail["misclassified"]["index"]) == min(
        32, round(r["test_size"] * (1 - detail["test_accuracy"]))
    )
    assert r["train_size"] == (4000 if name == "mlp" else 1500)
    history = detail["history"]
    assert 1 <= r["runs"][0]["best_epoch"] <= len(history)
    text = latex.classifier_section(r, name, name, "A model.")
    for label in (f"sec:exp-{name}", f"tab:{name}-epochs", f"fig:{name}-curves", f"fig:{name}-confusion"):
        assert label in text
    assert latex.pm(r["test_accuracy"], 2, 100) in text
    assert f"{100 * history[0]['train_accuracy']:.2f}" in text  # the epoch table, from the history


def test_cnn_bn_runs_cnns_pipeline_with_its_recipe_and_batch_norm():
    """(The quick run itself is the slow case of the test above.)"""
    from experiments import cnn, cnn_bn, codehash
    from fnn import models

    config = cnn_bn.Config()
    recipe = models.RECIPES["cnn-bn"]
    assert config.recipe == "cnn-bn" and config.batch_norm is True
    assert (config.lr, config.weight_decay, config.epochs) == (recipe.lr, recipe.weight_decay, recipe.epochs)
    assert isinstance(config, cnn.Config)
    assert "experiments/cnn.py" in codehash.file_hashes(cnn_bn.__file__)  # its results depend on cnn's code


@pytest.mark.slow  # a short CNN training: 9 s cold
def test_filters(quick_experiment):
    out, r = quick_experiment("filters")
    assert pngs(out) == ["digit.png", "features_conv1.png", "features_conv2.png", "filters.png"]
    assert len(r["filters"]) == 32 and len(r["feature_maps"]["conv2"]) == 64
    assert 0 <= r["contrast_filters"] <= 32 and r["run"]["epochs"] == 1
    from experiments import filters

    text = filters.section(r)
    assert "fig:filters-filters" in text and f"{r['contrast_filters']} of 32" in text


def test_results_record_their_provenance(quick_experiment):
    _, r = quick_experiment("mlp")
    p = r["provenance"]
    assert len(p["commit"]) == 40 and isinstance(p["dirty"], bool) and p["fnn_version"]
    assert {"experiments/mlp.py", "experiments/common.py", "fnn/layers/affine.py"} <= set(p["code"])
    assert "experiments/latex.py" not in p["code"]  # prose only: it cannot change a number


def _copy(quick_experiment, tmp_path, names):
    results = tmp_path / "results"
    for name in names:
        quick_experiment(name)
        shutil.copytree(quick_experiment.root / name, results / name)
    return results


def test_report_builds_each_section_and_lists_what_is_missing(quick_experiment, tmp_path):
    results = _copy(quick_experiment, tmp_path, ["mlp", "im2col"])  # two quick ones
    text, missing = report.build(results, tmp_path / "body.tex")
    assert missing == [n for n in report.EXPERIMENTS if n not in ("mlp", "im2col")]
    assert "\\section{Setup}" in text and "sec:exp-mlp" in text and "sec:exp-im2col" in text
    assert "quick run" in text and "python -m experiments.optimizers" in text
    assert (tmp_path / "body.tex").read_text() == text


def test_check_names_missing_quick_and_stale_results_and_a_wrong_readme(quick_experiment, tmp_path):
    results = _copy(quick_experiment, tmp_path, ["mlp"])
    from experiments import codehash

    for name in ("cnn", "cnn_bn"):  # stand-ins: the mlp's numbers, each recorded as made by its own code
        shutil.copytree(results / "mlp", results / name)
        r = json.loads((results / name / "results.json").read_text())
        r["provenance"] = codehash.record(ROOT / "experiments" / f"{name}.py")
        (results / name / "results.json").write_text(json.dumps(r))
    readme = tmp_path / "README.md"
    found = report.load(results)
    readme.write_text(
        f"intro\n{report.README_BEGIN}\n{report.recipe_table(found)}\n{report.README_END}\nend\n"
    )
    problems = report.check(results, readme)
    assert "mlp: a --quick run, not the full experiment" in problems
    assert "optimizers: no results (run python -m experiments.optimizers)" in problems
    assert not any(p.startswith("README") or "code changed" in p for p in problems)
    # A result made by other code: its recorded hash of fnn/optim.py differs.
    path = results / "cnn" / "results.json"
    r = json.loads(path.read_text())
    r["provenance"]["code"]["fnn/optim.py"] = "0" * 64
    path.write_text(json.dumps(r))
    assert "cnn: its code changed since the result was made: fnn/optim.py" in report.check(results, readme)
    # The README says another accuracy.
    readme.write_text(readme.read_text().replace("% ±", "1% ±", 1))
    assert any(p.startswith("README.md: the recipe table disagrees") for p in report.check(results, readme))
    # --readme rewrites it from the results; then it agrees again.
    assert report.main(["--results", str(results), "--readme-path", str(readme), "--readme"]) == 0
    assert not any(p.startswith("README") for p in report.check(results, readme))
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("end\n")


def test_the_readme_has_the_recipe_table_markers():
    text = (ROOT / "README.md").read_text()
    report._readme_block(text)  # raises if they are missing


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk not installed")
def test_the_report_builds_from_every_quick_experiment(quick_experiment, tmp_path):
    """Every section's LaTeX compiles in REPORT.tex, with no undefined reference."""
    results = _copy(quick_experiment, tmp_path, report.EXPERIMENTS)
    for folder in ("derivations", "report"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("build", "*.pdf"))
    _, missing = report.build(results, tmp_path / "report" / "body.tex")
    assert missing == []
    done = subprocess.run(
        [
            "latexmk",
            "-pdf",
            "-halt-on-error",
            "-interaction=nonstopmode",
            "-outdir=report/build",
            "report/REPORT.tex",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    log = (tmp_path / "report" / "build" / "REPORT.log").read_text(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert "undefined" not in log.lower(), [line for line in log.splitlines() if "undefined" in line.lower()]
