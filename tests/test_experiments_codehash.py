"""experiments.codehash: which source files a result depends on, hashed by syntax tree."""

import textwrap

import pytest

from experiments import codehash


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A fake repository: fnn/{__init__,a,b,c}.py, experiments/{__init__,common,report,fmt}.py
    and two experiment packages, e (run, plot, facts, __init__, __main__) and f (whose run
    imports e's run)."""
    files = {
        "fnn/__init__.py": "",
        "fnn/a.py": "from fnn import b\n",
        "fnn/b.py": "def f():\n    from . import c\n",
        "fnn/c.py": "import numpy\n",
        "fnn/unused.py": "",
        "experiments/__init__.py": '"""The lab."""\n',
        "experiments/common.py": "from fnn import a\n",
        "experiments/report.py": "from experiments import fmt\n",
        "experiments/fmt.py": "",
        "experiments/e/__init__.py": '"""The question."""\nfrom experiments.e import plot, run\n',
        "experiments/e/__main__.py": "from experiments.e import main\n",
        "experiments/e/plot.py": "from experiments import figures\n",
        "experiments/e/facts.py": "from experiments import fmt, stats\n",
        "experiments/e/run.py": textwrap.dedent(
            '''
            """The numbers."""
            from experiments import common, fmt
            from fnn.a import thing

            def _shared(x):
                """Doubles nothing."""
                return x

            def run():
                return _shared(1)  # a comment
            '''
        ),
        "experiments/f/__init__.py": "from experiments.f import run\n",
        "experiments/f/run.py": "from experiments.e.run import run\nfrom experiments.e import facts\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(codehash, "ROOT", tmp_path)
    return tmp_path


def names(tree, run_file):
    return [p.relative_to(tree).as_posix() for p in codehash.dependencies(tree / run_file)]


def test_dependencies_follow_imports_transitively_and_skip_presentation(tree):
    assert names(tree, "experiments/e/run.py") == [
        "experiments/__init__.py",
        "experiments/common.py",
        "experiments/e/run.py",  # not e/__init__ (the question, main), nor fmt (formats)
        "fnn/__init__.py",
        "fnn/a.py",
        "fnn/b.py",
        "fnn/c.py",  # imported inside a function, relatively
    ]


def test_a_run_that_imports_another_experiments_run_depends_on_that_run_only(tree):
    found = names(tree, "experiments/f/run.py")
    assert "experiments/e/run.py" in found and "experiments/f/run.py" in found
    assert not any(
        n.endswith(("__init__.py", "facts.py", "plot.py")) for n in found if "/e/" in n or "/f/" in n
    )


@pytest.mark.parametrize(
    "name, presentation",
    [
        ("experiments.report", True),
        ("experiments.stats", True),
        ("experiments.figures", True),
        ("experiments.e", True),
        ("experiments.e.plot", True),
        ("experiments.e.facts", True),
        ("experiments.e.__main__", True),
        ("experiments.e.run", False),
        ("experiments.common", False),
        ("experiments", False),
        ("fnn.a", False),
    ],
)
def test_which_modules_cannot_change_a_number(tree, name, presentation):
    assert codehash.is_presentation(name) is presentation


def test_changes_that_cannot_change_a_number_do_not_count(tree):
    run = tree / "experiments/e/run.py"
    before = codehash.record(run)
    run.write_text(
        run.read_text().replace("# a comment", "").replace("Doubles nothing.", "Returns x.") + "\n\n"
    )
    for presentation in ("e/plot.py", "e/facts.py", "e/__init__.py", "report.py", "fmt.py"):
        (tree / "experiments" / presentation).write_text("X = 1\n")
    assert codehash.changed(before, run) == []
    run.write_text(run.read_text().replace("return x", "return 2 * x"))
    assert codehash.changed(before, run) == ["experiments/e/run.py"]


def test_a_changed_dependency_is_named(tree):
    run = tree / "experiments/e/run.py"
    before = codehash.record(run)
    (tree / "fnn/c.py").write_text("import numpy\nX = 2\n")
    assert codehash.changed(before, run) == ["fnn/c.py"]
    (tree / "fnn/a.py").write_text("from fnn import b, unused\n")  # a new dependency
    assert codehash.changed(before, run) == ["fnn/a.py", "fnn/c.py", "fnn/unused.py"]


def test_record_outside_git_says_so(tree):
    r = codehash.record(tree / "experiments/e/run.py")
    assert r["commit"] is None and r["dirty"] is None and len(r["code_hash"]) == 64
