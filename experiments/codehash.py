"""Which code produced a result: the source files a module depends on, and their hashes.

An experiment's results.json records `record(module_file)`: the git commit, whether any of
the files below had uncommitted changes, the fnn version, and a sha256 per file of the code
the result depends on (the experiment module and every fnn or experiments module it
imports, transitively). `python -m experiments.report --check` recomputes the hashes and
names every file that changed since the result was made.

Files are hashed by their syntax tree (`ast.dump`), so comments and formatting do not count;
an experiment module's `section` function and the functions only it calls (the report's prose
about the numbers, which cannot change them) are left out, as are the modules that only write
the report (`PRESENTATION`).
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
from pathlib import Path

__all__ = ["dependencies", "file_hashes", "record", "changed", "PRESENTATION"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fnn", "experiments")
# Modules that write the report or record provenance: they cannot change a number.
PRESENTATION = {"experiments.latex", "experiments.report", "experiments.all", "experiments.codehash"}


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path) -> str:
    parts = path.resolve().relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _without_prose(tree: ast.Module) -> ast.Module:
    """`tree` less `section` and every module-level function that only `section` reaches."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    def reach(names: set[str]) -> set[str]:
        seen, todo = set(), list(names & functions.keys())
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += list(_names(functions[name]) & functions.keys())
        return seen

    prose = reach({"section"}) if "section" in functions else set()
    roots = set().union(*(_names(n) for n in tree.body if not isinstance(n, ast.FunctionDef)))
    keep = reach(roots | (functions.keys() - prose))
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name not in keep)]
    return tree


def _tree(path: Path) -> ast.Module:
    tree = ast.parse(path.read_text(), filename=str(path))
    return _without_prose(tree) if path.parent.name == "experiments" else tree


def _imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """Every fnn/experiments module `tree` imports, anywhere (inside functions too)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES and m not in PRESENTATION}


def dependencies(module_file: str | Path) -> list[Path]:
    """The module and every fnn/experiments module it imports, transitively, sorted."""
    todo, seen = [Path(module_file).resolve()], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        name = _module_name(path)
        for parent in name.split(".")[:-1]:  # importing a.b runs a/__init__.py
            init = _module_file(parent)
            if init is not None and init not in seen:
                todo.append(init)
        for module in _imports(_tree(path), name, path.name == "__init__.py"):
            found = _module_file(module)
            if found is not None and found not in seen:
                todo.append(found)
    return sorted(seen)


def file_hashes(module_file: str | Path) -> dict[str, str]:
    """{path relative to the repository: sha256 of its syntax tree} for `dependencies`."""
    return {
        path.relative_to(ROOT).as_posix(): hashlib.sha256(
            ast.dump(_tree(path), annotate_fields=False).encode()
        ).hexdigest()
        for path in dependencies(module_file)
    }


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def record(module_file: str | Path) -> dict:
    """The commit, whether any of the files differs from it (None outside a git checkout),
    the fnn version and the hashes."""
    import fnn

    code = file_hashes(module_file)
    status = _git("status", "--porcelain", "--untracked-files=no", "--", *code)
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "fnn_version": fnn.__version__,
        "code_hash": hashlib.sha256(
            "".join(f"{k}:{v}\n" for k, v in sorted(code.items())).encode()
        ).hexdigest(),
        "code": code,
    }


def changed(recorded: dict, module_file: str | Path) -> list[str]:
    """Files whose code differs from `recorded` (a `record`): changed, added or removed."""
    now = file_hashes(module_file)
    before = recorded.get("code", {})
    return sorted(k for k in now.keys() | before.keys() if now.get(k) != before.get(k))
