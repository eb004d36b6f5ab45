"""experiments.codehash: which source files a result depends on, hashed by syntax tree."""

import textwrap

import pytest

from experiments import codehash


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A fake repository: fnn/{__init__,a,b,c}.py and experiments/{__init__,e}.py."""
    files = {
        "fnn/__init__.py": "",
        "fnn/a.py": "from fnn import b\n",
        "fnn/b.py": "def f():\n    from . import c\n",
        "fnn/c.py": "import numpy\n",
        "fnn/unused.py": "",
        "experiments/__init__.py": "",
        "experiments/latex.py": "",
        "experiments/e.py": textwrap.dedent(
            """
            from experiments import latex
            from fnn.a import thing

            def _shared(x):
                return x

            def run():
                return _shared(1)  # a comment

            def _words(r):
                return "prose " + _shared("about the numbers")

            def section(r):
                return _words(r)
            """
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(codehash, "ROOT", tmp_path)
    return tmp_path


def test_dependencies_follow_imports_transitively_and_skip_presentation(tree):
    names = [p.relative_to(tree).as_posix() for p in codehash.dependencies(tree / "experiments/e.py")]
    assert names == [
        "experiments/__init__.py",
        "experiments/e.py",
        "fnn/__init__.py",
        "fnn/a.py",
        "fnn/b.py",
        "fnn/c.py",  # imported inside a function, relatively
    ]


def test_changes_that_cannot_change_a_number_do_not_count(tree):
    e = tree / "experiments/e.py"
    before = codehash.record(e)
    e.write_text(e.read_text().replace("# a comment", "").replace('"prose "', '"other prose "') + "\n\n")
    assert codehash.changed(before, e) == []  # _words is reached only from section: prose
    e.write_text(e.read_text().replace("return x", "return 2 * x"))
    assert codehash.changed(before, e) == ["experiments/e.py"]  # _shared is run's code too


def test_a_changed_dependency_is_named(tree):
    e = tree / "experiments/e.py"
    before = codehash.record(e)
    (tree / "fnn/c.py").write_text("import numpy\nX = 2\n")
    assert codehash.changed(before, e) == ["fnn/c.py"]
    (tree / "fnn/a.py").write_text("from fnn import b, unused\n")  # a new dependency
    assert codehash.changed(before, e) == ["fnn/a.py", "fnn/c.py", "fnn/unused.py"]


def test_record_outside_git_says_so(tree):
    r = codehash.record(tree / "experiments/e.py")
    assert r["commit"] is None and r["dirty"] is None and len(r["code_hash"]) == 64
