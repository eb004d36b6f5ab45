"""Which code produced a result: the source files an experiment's run depends on, and their hashes.

An experiment's results.json records `record(run_file)` (`experiments/<name>/run.py`, the
module `experiments.<name>.run`): the git commit, whether any of the files below had
uncommitted changes, the fnn version, and a sha256 per file of the code the result depends
on: run.py and every fnn or experiments module it imports, transitively (imports inside
functions included; importing `a.b.c` also runs `a/__init__.py` and `a/b/__init__.py`).
`python -m experiments.report --check` recomputes the hashes and names every file that changed
since the result was made.

Files are hashed by their syntax tree (`ast.dump`) without docstrings, so comments,
docstrings and formatting do not count. Modules that cannot change a number are never followed
(`is_presentation`): the report and its checks (`PRESENTATION`), and in every experiment
package its `__init__` and `__main__` (the question and the command line: the settings a run
used are recorded in its config.json), its `plot` (figures from results.json) and its `facts`
(statistics derived from results.json for the report). run.py never imports them; if it did,
they would still not count.
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
from pathlib import Path

__all__ = ["dependencies", "file_hashes", "record", "changed", "is_presentation", "PRESENTATION"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fnn", "experiments", "benchmarks")  # benchmarks: time_to_accuracy runs their race
# Modules that write the report, draw figures or record provenance: they cannot change a number.
PRESENTATION = {
    "experiments.report",
    "experiments.all",
    "experiments.codehash",
    "experiments.fmt",
    "experiments.stats",
    "experiments.figures",
}
# Each experiment package's modules that only present its numbers (experiments/__init__.py).
PRESENTATION_PARTS = {"plot", "facts", "__main__"}


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path) -> str:
    parts = path.resolve().relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_presentation(name: str) -> bool:
    """Whether module `name` cannot change a number: `PRESENTATION`, or an experiment package
    `experiments.<name>` itself (its `__init__`), its `__main__`, `plot` or `facts`."""
    if name in PRESENTATION:
        return True
    parts = name.split(".")
    if parts[0] != "experiments" or len(parts) < 2:
        return False
    if len(parts) == 2:  # experiments.<name>: a package's __init__, or a shared module (common)
        return (ROOT / "experiments" / parts[1] / "__init__.py").is_file()
    return len(parts) == 3 and parts[2] in PRESENTATION_PARTS


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]
    return tree


def _tree(path: Path) -> ast.Module:
    return _without_docstrings(ast.parse(path.read_text(), filename=str(path)))


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
    return {m for m in found if m.split(".")[0] in PACKAGES}


def dependencies(module_file: str | Path) -> list[Path]:
    """The module and every fnn/experiments module it imports, transitively, sorted; modules
    that cannot change a number (`is_presentation`) are neither listed nor followed."""
    todo, seen = [Path(module_file).resolve()], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        name = _module_name(path)
        parts = name.split(".")
        imported = {".".join(parts[:i]) for i in range(1, len(parts))}  # a.b runs a/__init__.py
        imported |= _imports(_tree(path), name, path.name == "__init__.py")
        for module in sorted(imported):
            if is_presentation(module):
                continue
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
