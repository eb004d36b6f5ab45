"""The report's framework (experiments.report, experiments.all): facts as LaTeX macros
(numbers.tex), the claims the prose cites and `report --check`, results against their code, the
README's recipe table and the page limit. Each experiment has its own
tests/test_experiments_<name>.py (the recipe experiments: test_experiments_classifiers.py)."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from experiments import all as run_all
from experiments import codehash, fmt, report

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- plain text -> LaTeX


@pytest.mark.parametrize(
    "value, tex",
    [
        (fmt.num(0.5), "0.50"),
        (fmt.pct(0.9929), "99.29"),
        (fmt.signed(-0.004, 3), r"\ensuremath{-}0.004"),
        (fmt.signed(0.012, 3), r"\ensuremath{+}0.012"),
        (fmt.sci(1.23e-11), r"1.2\ensuremath{\times 10^{-11}}"),
        (fmt.Num(1234.0, ".0e"), r"1\ensuremath{\times 10^{3}}"),
        (fmt.Num(0.031, ".2g"), "0.031"),
        (fmt.Num(float("inf")), r"\ensuremath{\infty}"),
        (fmt.Num(float("-inf")), r"\ensuremath{-\infty}"),
        (fmt.Num(0.123, ".1%"), r"12.3\%"),
        (fmt.count(55000), "55,000"),
        (55000, "55,000"),
        (-3, r"\ensuremath{-}3"),
        ("98.5 ± 0.1", r"98.5 \ensuremath{\pm} 0.1"),
        ("3×3, a − b", r"3\ensuremath{\times}3, a \ensuremath{-} b"),
        (
            "conv_1 & 50% #1 {x} ~^ $\\",
            r"conv\_1 \& 50\% \#1 \{x\} \textasciitilde{}\textasciicircum{} \$\textbackslash{}",
        ),
        ("η = 0.1, μ", r"\ensuremath{\eta} = 0.1, \ensuremath{\mu}"),
        ("1e5af03", "1e5af03"),  # a code hash is text, not 1 x 10^5...
    ],
)
def test_a_facts_leaf_becomes_latex_in_one_place(value, tex):
    assert report.tex(value) == tex


def test_a_table_becomes_a_booktabs_tabular_with_numeric_columns_right_aligned():
    table = fmt.Table(
        ("case", "max error", "n"), (("conv_2d", "1.2e-11", "40"), ("affine", "-3.0e-12", "1,000"))
    )
    assert report.tex(table) == "\n".join(
        [
            r"\begin{tabular}[t]{lrr}",
            r"\toprule",
            r"case & max error & n \\",
            r"\midrule",
            r"conv\_2d & 1.2\ensuremath{\times 10^{-11}} & 40 \\",
            r"affine & \ensuremath{-}3.0\ensuremath{\times 10^{-12}} & 1,000 \\",
            r"\bottomrule",
            r"\end{tabular}",
        ]
    )
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        report.tex(fmt.Table(("a", "b", "c"), (("1", "2"),)))


@pytest.mark.parametrize("value", [0.5, True, None, [1, 2], {"a"}])
def test_anything_but_num_int_str_or_table_is_refused(value):
    with pytest.raises(TypeError):
        report.tex(value)


def test_nested_facts_flatten_to_dotted_keys():
    assert report.flatten({"a": {"b": 1, "c": {"d": "x"}}, "e": 2}, "t.") == {
        "t.a.b": 1,
        "t.a.c.d": "x",
        "t.e": 2,
    }


def test_the_sentence_around_a_citation_runs_from_the_previous_sentence_end_to_the_next():
    text = "First one. The gap is 0.5 wide\\claim{t.c}, at \\R{t.x}. Then more.\n\nNext."
    start = text.index("\\claim")
    assert (
        report.sentence_at(text, start, start + len("\\claim{t.c}"))
        == "The gap is 0.5 wide\\claim{t.c}, at \\R{t.x}."
    )
    row = "SGD vs momentum & Momentum is worse\\claim{t.c}. By a bit & \\pageref{exp:t} \\\\"
    start = row.index("\\claim")
    assert report.sentence_at(row, start, start + len("\\claim{t.c}")) == "Momentum is worse\\claim{t.c}."


# ---------------------------------------------------------------- a fake lab: claims and --check

FACTS = """
from experiments import fmt

def facts(results):
    return {"gap": {"mean": fmt.signed(results["gap"], 3)}, "n": 3, "note": "a_b"}

CLAIMS = {"gap_positive": lambda f: f["gap"]["mean"] > 0}
"""
SECTION = r"""\section{Toy}\label{exp:toy}
The setup is fine. The gap is positive\claim{toy.gap_positive}, at
\R{toy.gap.mean} over \R{toy.n} seeds. % \R{toy.in_a_comment} is not cited
Nothing else.
"""
SENTENCE = r"The gap is positive\claim{toy.gap_positive}, at \R{toy.gap.mean} over \R{toy.n} seeds."


class Lab:
    """tmp_path/fakelab/toy (run.py, facts.py), tmp_path/results/toy, tmp_path/report."""

    def __init__(self, root: Path):
        self.root, self.package = root, root / "fakelab"
        self.results, self.report_dir, self.readme = root / "results", root / "report", root / "README.md"
        self.section = self.report_dir / "sections" / "toy.tex"

    def write_results(self, gap: float, **extra) -> None:
        out = self.results / "toy"
        out.mkdir(parents=True, exist_ok=True)
        provenance = codehash.record(self.package / "toy" / "run.py")
        record = {"gap": gap, "quick": False, "seconds": 2.0, "provenance": provenance, **extra}
        (out / "results.json").write_text(json.dumps(record))
        (out / "config.json").write_text(json.dumps({"experiment": "toy"}))

    def write_facts(self, text: str) -> None:
        (self.package / "toy" / "facts.py").write_text(textwrap.dedent(text))
        for name in [m for m in sys.modules if m == "fakelab" or m.startswith("fakelab.")]:
            del sys.modules[name]

    def check(self) -> list[str]:
        return report.check(self.results, self.readme, self.report_dir)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """One fake experiment, toy, whose claim gap_positive holds while results["gap"] > 0, cited
    by report/sections/toy.tex; the report's registry points at it."""
    lab = Lab(tmp_path)
    (lab.package / "toy").mkdir(parents=True)
    (lab.package / "__init__.py").write_text("")
    (lab.package / "toy" / "__init__.py").write_text(
        "import json, pathlib\n\ndef main(argv):\n"
        "    pathlib.Path(argv[-1]).mkdir(parents=True, exist_ok=True)\n"
        "    (pathlib.Path(argv[-1]) / 'argv.json').write_text(json.dumps(argv))\n"
    )
    (lab.package / "toy" / "run.py").write_text("def run(config):\n    return {'gap': 0.5}\n")
    lab.section.parent.mkdir(parents=True)
    lab.section.write_text(SECTION)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(report, "PACKAGE", "fakelab")
    monkeypatch.setattr(report, "EXPERIMENTS", ("toy",))
    monkeypatch.setattr(report, "SETUP_CLAIMS", {})
    monkeypatch.setattr(report, "_models", lambda: {})  # fnn's models: not this test's subject
    monkeypatch.setattr(codehash, "ROOT", tmp_path)
    lab.write_facts(FACTS)
    lab.write_results(gap=0.5)
    yield lab
    for name in [m for m in sys.modules if m == "fakelab" or m.startswith("fakelab.")]:
        del sys.modules[name]


def test_check_passes_when_every_claim_holds_and_every_number_exists(lab, capsys):
    assert lab.check() == []
    args = [
        "--results",
        str(lab.results),
        "--report-dir",
        str(lab.report_dir),
        "--readme-path",
        str(lab.readme),
    ]
    assert report.main(["--check", *args]) == 0
    assert "report --check: ok" in capsys.readouterr().out


def test_a_flipped_claim_fails_naming_its_file_line_and_sentence(lab, capsys):
    lab.write_results(gap=-0.5)
    expected = f'{lab.section}:2: claim toy.gap_positive does not hold: "{SENTENCE}"'
    assert lab.check() == [expected]
    args = [
        "--results",
        str(lab.results),
        "--report-dir",
        str(lab.report_dir),
        "--readme-path",
        str(lab.readme),
    ]
    assert report.main(["--check", *args]) == 1
    assert expected in capsys.readouterr().err
    out = lab.root / "build" / "numbers.tex"  # writing the numbers fails the same way
    assert (
        report.main(["--results", str(lab.results), "--report-dir", str(lab.report_dir), "--out", str(out)])
        == 1
    )
    assert out.is_file() and expected in capsys.readouterr().err


def test_an_unknown_number_fails_and_suggests_the_near_ones(lab):
    lab.section.write_text(SECTION + "It is \\R{toy.gap.meen} and \\R{nolab.x}.\n")
    assert lab.check() == [
        f"{lab.section}:5: \\R{{toy.gap.meen}}: no such number in its facts (did you mean toy.gap.mean?)",
        f"{lab.section}:5: \\R{{nolab.x}}: no experiment named 'nolab'",
    ]


def test_an_unknown_claim_fails(lab):
    lab.section.write_text(SECTION + "It holds\\claim{toy.nope}; so does this\\claim{nolab.x}.\n")
    assert lab.check() == [
        f"{lab.section}:5: \\claim{{toy.nope}}: fakelab.toy.facts.CLAIMS has no 'nope'",
        f"{lab.section}:5: \\claim{{nolab.x}}: no experiment named 'nolab'",
    ]


def test_a_claim_cited_nowhere_fails(lab):
    lab.section.write_text(SECTION.replace("\\claim{toy.gap_positive}", ""))
    (problem,) = lab.check()
    assert problem.startswith("fakelab/toy/facts.py: claim toy.gap_positive is cited nowhere")


def test_a_claim_that_raises_is_reported_with_its_exception(lab):
    lab.write_facts(FACTS.replace("}\n'''", "") + 'CLAIMS["broken"] = lambda f: f["missing"] > 0\n')
    lab.section.write_text(SECTION + "And this\\claim{toy.broken}.\n")
    (problem,) = lab.check()
    assert problem == (
        f"{lab.section}:5: claim toy.broken cannot be evaluated: KeyError: 'missing': \"And this\\claim{{toy.broken}}.\""
    )


def test_a_missing_package_and_a_failing_facts_are_problems_not_crashes(lab, monkeypatch):
    monkeypatch.setattr(report, "EXPERIMENTS", ("toy", "absent"))
    problems = lab.check()
    assert "absent: no results (run python -m experiments.absent)" in problems
    assert "absent: no experiment package (fakelab/absent/)" in problems
    lab.write_facts("def facts(results):\n    return 1 / 0\n\nCLAIMS = {'gap_positive': lambda f: True}\n")
    problems = lab.check()
    assert "toy: facts(results) raised ZeroDivisionError: division by zero" in problems
    assert not any("toy.gap" in p for p in problems)  # said once, not at every citation


def test_quick_and_stale_results_fail_the_check(lab):
    lab.write_results(gap=0.5, quick=True)
    assert lab.check() == ["toy: a --quick run, not the full experiment"]
    lab.write_results(gap=0.5)
    (lab.package / "toy" / "run.py").write_text("def run(config):\n    return {'gap': 0.6}\n")
    assert lab.check() == ["toy: its code changed since the result was made: fakelab/toy/run.py"]


def test_a_blank_line_in_a_rows_file_is_a_problem(lab):
    rows = lab.report_dir / "rows" / "toy.tex"
    rows.parent.mkdir()
    rows.write_text("Gap & Positive\\claim{toy.gap_positive}. & \\pageref{exp:toy} \\\\\n\nx & y & z \\\\\n")
    assert lab.check() == [f"{rows}:2: a blank line in a rows file adds an empty row to the opening table"]


def test_numbers_tex_has_every_leaf_as_a_macro(lab):
    out = lab.root / "build" / "numbers.tex"
    assert (
        report.main(["--results", str(lab.results), "--report-dir", str(lab.report_dir), "--out", str(out)])
        == 0
    )
    lines = out.read_text().splitlines()
    assert "\\fnnset{toy.gap.mean}{\\ensuremath{+}0.500}" in lines
    assert "\\fnnset{toy.n}{3}" in lines and "\\fnnset{toy.note}{a\\_b}" in lines
    assert "\\fnnset{setup.commit_count}{1}" in lines  # the setup's own values


def test_all_replots_every_experiment_then_writes_the_numbers(lab, capsys):
    out = lab.root / "build" / "numbers.tex"
    assert run_all.main(["--replot", "--results", str(lab.results), "--numbers", str(out)]) == 0
    assert json.loads((lab.results / "toy" / "argv.json").read_text()) == [
        "--replot",
        "--out",
        str(lab.results / "toy"),
    ]
    assert "\\fnnset{toy.n}{3}" in out.read_text()
    with pytest.raises(SystemExit):
        run_all.main(["--only", "nope"])


# ---------------------------------------------------------------- README, page limit


def test_the_readme_recipe_table_is_checked_and_rewritten_from_the_results(tmp_path):
    results = tmp_path / "results"
    for i, (name, arm) in enumerate(report.RECIPE_RUNS.values()):
        accuracy, seconds = [0.98 + i / 1000, 0.981 + i / 1000], [10.0, 12.0 + 300 * (arm == "affine")]
        record = {"test_accuracy": accuracy, "train_seconds": seconds}
        if arm is not None:
            runs = [{"test_accuracy": a, "wall_seconds": t} for a, t in zip(accuracy, seconds)]
            record = {"arms": {arm: runs}}
        (results / name).mkdir(parents=True)
        (results / name / "results.json").write_text(json.dumps(record))
    found = report.load(results)
    table = report.recipe_table(found)
    rows = table.splitlines()
    assert (
        "| `mlp` | 20 | 128 | momentum | 0.1 | 0.0005 | 0.3 | none | 98.05% ± 0.07 (2 seeds) | 11 s |" in rows
    )
    assert (
        "| `best` | 30 | 128 | momentum | 0.1 | 0.0005 | 0.3 | affine | 98.45% ± 0.07 (2 seeds) | 2.7 min |"
        in rows
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_BEGIN}\n{table}\n{report.README_END}\nend\n")
    assert report.readme_problems(found, readme) == []
    readme.write_text(readme.read_text().replace("% ±", "1% ±", 1))  # the README says another accuracy
    assert report.readme_problems(found, readme) == [
        "README.md: the recipe table disagrees with the results (python -m experiments.report --readme)"
    ]
    assert report.main(["--results", str(results), "--readme-path", str(readme), "--readme"]) == 0
    assert report.readme_problems(found, readme) == []
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("end\n")


def test_the_readme_has_the_recipe_table_markers():
    report._readme_block((ROOT / "README.md").read_text())  # raises if they are missing


AUX = r"""\relax
\newlabel{exp:setup}{{2}{3}{Setup}{section.2}{}}
\newlabel{appendix-start}{{{\relax B}.2}{PAGE}{Appendix: derivations}{section*.30}{}}
"""


@pytest.mark.parametrize("page, ok", [(7, True), (21, True), (22, False)])
def test_the_page_limit_reads_the_appendix_page_from_the_aux_file(tmp_path, page, ok):
    aux = tmp_path / "REPORT.aux"
    aux.write_text(AUX.replace("PAGE", str(page)))
    assert report.appendix_page(aux.read_text()) == page
    assert report.main(["--page-limit", str(aux)]) == (0 if ok else 1)
    aux.write_text(AUX.replace("appendix-start", "elsewhere"))
    assert report.main(["--page-limit", str(aux)]) == 1


# ---------------------------------------------------------------- the real report


def test_the_reports_prose_parses_and_cites_only_dotted_keys():
    found = report.citations(report.prose_files(ROOT / "report"))
    assert all("." in c.key and c.kind in ("R", "claim") for c in found)
    assert any(c.key == "setup.train_size" for c in found)


def test_results_record_their_provenance(quick_experiment):
    _, r = quick_experiment("mlp")
    p = r["provenance"]
    assert len(p["commit"]) == 40 and isinstance(p["dirty"], bool) and p["fnn_version"]
    assert {"experiments/mlp/run.py", "experiments/common.py", "fnn/layers/affine.py"} <= set(p["code"])
    # presentation cannot change a number: not in the hash
    for name in ("experiments/mlp/plot.py", "experiments/mlp/facts.py", "experiments/mlp/__init__.py"):
        assert name not in p["code"]
    assert not {"experiments/report.py", "experiments/figures.py", "experiments/fmt.py"} & set(p["code"])


@pytest.mark.slow  # every experiment's --quick run (minutes), then LaTeX; needs every package converted
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk not installed")
def test_the_report_builds_from_every_quick_experiment(quick_experiment, tmp_path):
    """REPORT.tex and SUPPLEMENT.tex compile from quick results: every \\R key exists (quick
    data may make a claim false: not checked here), no undefined reference."""
    results = tmp_path / "results"
    for name in report.EXPERIMENTS:
        quick_experiment(name)
        shutil.copytree(quick_experiment.root / name, results / name)
    for folder in ("derivations", "report"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("build", "*.pdf"))
    problems = report.write(results, tmp_path / "report" / "build" / "numbers.tex", tmp_path / "report")
    # Quick runs train fewer arms (activations' two of five, time_to_accuracy's fast only): their
    # numbers may be missing and their claims false or not evaluable, nothing else (no facts()
    # raises, no unknown experiment). The full results are checked by report --check.
    quick_only = ("does not hold", "no such number", "cannot be evaluated")
    assert [p for p in problems if not any(kind in p for kind in quick_only)] == [], problems
    for document in ("REPORT", "SUPPLEMENT"):
        done = subprocess.run(
            [
                "latexmk",
                "-pdf",
                "-halt-on-error",
                "-interaction=nonstopmode",
                "-outdir=report/build",
                f"report/{document}.tex",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        log = (tmp_path / "report" / "build" / f"{document}.log").read_text(errors="replace")
        assert done.returncode == 0, log[-3000:]
        bad = [line for line in log.splitlines() if "Reference" in line and "undefined" in line]
        assert not bad, bad
