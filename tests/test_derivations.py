"""The LaTeX derivations and the code cite each other: every label the code cites exists,
every backward cites one, every layer family has its section, and the PDF builds."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import fnn
from fnn import gradcheck, layers, losses

ROOT = Path(__file__).resolve().parent.parent
DERIVATIONS = ROOT / "derivations"


def tex_labels():
    return set(re.findall(r"\\label\{([^}]+)\}", "".join(p.read_text() for p in DERIVATIONS.glob("*.tex"))))


def code_citations():
    cited = {}
    for path in (ROOT / "fnn").rglob("*.py"):
        for label in re.findall(r"\beq:[A-Za-z0-9-]+", path.read_text()):
            cited.setdefault(label, set()).add(path.relative_to(ROOT).as_posix())
    return cited


def test_every_label_cited_in_code_exists_in_the_derivations():
    labels = tex_labels()
    missing = {label: files for label, files in code_citations().items() if label.rstrip("-") not in labels}
    # "eq:affine-*" style wildcards in module docstrings name a family, not one equation
    missing = {k: v for k, v in missing.items() if not k.endswith("-")}
    assert not missing, f"cited but not defined in derivations/*.tex: {missing}"


def declared_labels(case):
    """The labels the code declares for a registered case: its layer's (for every cache type), or
    its loss's. These are what `fnn gradcheck` cites."""
    if case.constructor in layers.__all__:
        layer = getattr(layers, case.constructor)(*case.args, **case.kwargs)
        return [label for _, labels in layer.equations for label in labels]
    return list(losses.EQUATIONS[losses.LOSSES[case.constructor]])


def test_every_backward_cites_an_existing_equation():
    labels = {lab.removeprefix("eq:") for lab in tex_labels()}
    seen = set()
    for case in gradcheck.CASES:
        cited = declared_labels(case)
        assert cited, f"{case.constructor}{case.config()}: declares no equation label"
        assert {c.removeprefix("eq:") for c in cited} <= labels, f"{case.constructor}: {cited}"
        seen.add(case.constructor)
    assert seen == set(layers.__all__) | set(losses.LOSSES)
    serial = fnn.serial(layers.relu(), layers.relu())
    assert [c.removeprefix("eq:") for _, cs in serial.equations for c in cs] == ["serial-chain"]
    assert "serial-chain" in labels


def test_every_backward_function_in_the_source_has_a_citing_docstring():
    """For readers (gradcheck reads the labels from the data, not from docstrings)."""
    for path in (ROOT / "fnn").rglob("*.py"):
        source = path.read_text()
        for match in re.finditer(r"def (\w*backward)\(.*\n((?:\s*#.*\n)*)\s*(\"\"\"[^\"]*)?", source):
            name, docstring = match.group(1), match.group(3) or ""
            assert "eq:" in docstring, f"{path.name}: {name} cites no equation"


def test_every_layer_family_has_its_section():
    labels = tex_labels()
    families = [p.stem for p in (ROOT / "fnn" / "layers").glob("*.py") if p.stem != "__init__"]
    for name in [*families, "losses", "optim", "layer"]:
        assert (DERIVATIONS / f"{name}.tex").exists(), f"derivations/{name}.tex missing"
        assert f"sec:{name}" in labels, f"sec:{name} missing"
        assert f"\\input{{{name}}}" in (DERIVATIONS / "sections.tex").read_text()


def test_pdf_builds_without_errors_or_undefined_references(tmp_path):
    if shutil.which("latexmk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("latexmk is missing in CI: .ci/run should have installed it")
        pytest.skip(
            "latexmk not installed (apt-get install texlive-latex-base texlive-latex-recommended latexmk)"
        )
    build = tmp_path / "derivations"
    shutil.copytree(
        DERIVATIONS, build, ignore=shutil.ignore_patterns("*.pdf", "*.aux", "*.log", "*.fdb_latexmk", "*.fls")
    )
    result = subprocess.run(["make", "-C", str(build)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = (build / "backprop.log").read_text(errors="replace")
    assert "undefined" not in log.lower() and "Overfull" not in log
    assert (build / "backprop.pdf").stat().st_size > 50_000
