"""The layout's rules (../shared/DESIGN.md): imports point one way, with no cycle (lazy imports
inside functions included), benchmarks and fnn never import experiments, modules stay small."""

import ast
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
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
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


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("fnn.layer", {"fnn.train", "fnn.step", "fnn.optim", "fnn.run"}),
        ("fnn.parallel", {"fnn.train", "fnn.run"}),
        ("fnn.step", {"fnn.train", "fnn.parallel", "fnn.run"}),
        ("fnn.train", {"fnn.parallel", "fnn.run", "fnn.cli"}),
        ("fnn.run", {"fnn.cli", "fnn.experiment"}),
        ("fnn.settings", {"fnn.run", "fnn.cli", "fnn.train"}),
        ("fnn.provenance", {"fnn.run", "fnn.cli", "fnn.train"}),
        ("fnn.lock", {"fnn.run", "fnn.cli", "fnn.train", "fnn.data", "fnn.checkpoint"}),
        ("fnn.download", {"fnn.data", "fnn.run", "fnn.cli"}),
        ("fnn.runfolder", {"fnn.run", "fnn.cli", "fnn.train"}),
        ("fnn.describe", set(import_graph(PACKAGE)) - {"fnn.describe"}),
        ("fnn.codehash", set(import_graph(PACKAGE)) - {"fnn.codehash"}),
    ],
)
def test_arrows_point_down_the_layout(module, forbidden):
    graph = import_graph(PACKAGE)
    assert not graph[module] & forbidden


def test_only_experiments_import_experiments():
    for folder in ("fnn", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not any(n.split(".")[0] == "experiments" for n in names), path


def test_no_module_over_300_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert not long


def test_every_module_is_reachable_from_import_fnn():
    """`import fnn` then `fnn.<module>` works for every module (fnn/__init__.py's lazy list)."""
    import fnn

    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    listed = set(fnn._LAZY) | {"layer", "layers", "losses"}  # the lazy list, and what __init__ imports
    assert modules <= listed, modules - listed


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
