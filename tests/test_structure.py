"""The layout's rules (../shared/DESIGN.md): three rooms, one role each. `fnn/` is the library
(it imports neither the command nor the lab, knows nothing of this repository's layout and
words no flag), `fnn/cli/` the command, `experiments/` the lab; imports point one way, with no
cycle (lazy imports inside functions included)."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fnn"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports anywhere in its body (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from fnn import train` imports the module fnn.train; `from fnn.x import f`, fnn.x
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name for name in submodules if name in known] or [node.module]
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def import_graph(folder: Path) -> dict[str, set[str]]:
    files = {module_name(p): p for p in folder.rglob("*.py")}
    graph = {name: imported_modules(path, set(files)) - {name} for name, path in files.items()}
    for name in graph:  # importing a package runs its __init__, which is not an edge of interest
        graph[name] -= {folder.name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
            if nxt not in state:
                cycle = visit(nxt, [*trail, nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_fnn_has_no_import_cycle():
    assert find_cycle(import_graph(PACKAGE)) is None, " -> ".join(find_cycle(import_graph(PACKAGE)))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# The command: fnn/cli/, and `python -m fnn`, its other entry point.
LIBRARY = {
    name for name in import_graph(PACKAGE) if not name.startswith("fnn.cli") and name != "fnn.__main__"
}


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("fnn.layer", {"fnn.train", "fnn.step", "fnn.optim"}),
        ("fnn.parallel", {"fnn.train"}),
        ("fnn.step", {"fnn.train", "fnn.parallel"}),
        ("fnn.train", {"fnn.parallel"}),
        ("fnn.download", {"fnn.data"}),
    ],
)
def test_arrows_point_down_the_layout(module, forbidden):
    graph = import_graph(PACKAGE)
    assert not graph[module] & forbidden


def test_the_library_never_imports_the_command():
    graph = import_graph(PACKAGE)
    offenders = {
        name: sorted(graph[name] & {"fnn.cli", *(m for m in graph if m.startswith("fnn.cli."))})
        for name in LIBRARY
    }
    assert not {name: found for name, found in offenders.items() if found}


def imported_roots(path: Path) -> set[str]:
    """The top-level package names that `path` imports anywhere in its body."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "folder, forbidden", [("fnn", {"experiments", "benchmarks"}), ("benchmarks", {"experiments"})]
)
def test_the_library_imports_neither_the_lab_nor_the_benchmarks(folder, forbidden):
    offenders = {
        str(p.relative_to(ROOT)): imported_roots(p) & forbidden for p in (ROOT / folder).rglob("*.py")
    }
    assert not {path: found for path, found in offenders.items() if found}


def code_strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of `path` but its docstrings (f-string pieces included)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
LAYOUT = re.compile(r"\b(experiments|benchmarks|results|report)\b")


def test_the_library_words_no_flag_and_knows_no_repository_layout():
    """Messages of the library name values; only fnn/cli words them as flags. No library
    module names this repository's other folders (the wheel ships fnn/ alone)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts
        for line, text in code_strings(path)
        if FLAG.search(text) or LAYOUT.search(text)
    ]
    assert not found


def test_the_rules_find_what_they_forbid(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Says --flag in a docstring."""\nimport experiments.common\nMESSAGE = f"pass --epochs {3}"\n'
    )
    assert imported_roots(bad) == {"experiments"}
    assert [text for _, text in code_strings(bad) if FLAG.search(text)] == ["pass --epochs "]


def test_no_module_is_so_long_that_it_may_hold_two_roles():
    """A guard, not a target: a module over 500 lines is flagged for review (split by role,
    never squeezed to fit a count)."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert not long


def test_every_module_is_reachable_from_import_fnn():
    """`import fnn` then `fnn.<module>` works for every module and subpackage of fnn/."""
    import fnn

    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert modules <= set(dir(fnn))
    for name in sorted(modules):
        assert getattr(fnn, name).__name__ == f"fnn.{name}"
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        fnn.nonesuch  # noqa: B018


def test_importing_fnn_never_changes_matplotlibs_backend():
    """Figures are Figure objects; only the user (or a notebook) chooses a backend."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, matplotlib\n"
        "matplotlib.use('svg'); import fnn\n"
        "for m in pkgutil.walk_packages(fnn.__path__, 'fnn.'):\n"
        "    if m.name != 'fnn.__main__': importlib.import_module(m.name)\n"
        "print(matplotlib.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "svg"


def test_pyproject_and_the_package_agree_on_the_version():
    import tomllib

    import fnn

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == fnn.__version__  # checkpoints record fnn.__version__
