"""notebooks/walkthrough.ipynb: stored without outputs, cites only labels and PDF sections that
exist, and (marker `slow`, about 1.5 minutes on 2 cores) runs top to bottom with its gradient
checks passing and both models trained to a sane test accuracy.

The slow test needs `nbclient nbformat ipykernel` (the dev extra); it starts the kernel named
"python3", whose command jupyter_client points at this Python.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
DERIVATIONS = ROOT / "derivations"
PASSED = "gradient check passed:"  # printed by section 1.8 after it asserts every case


def cells():
    return json.loads(NOTEBOOK.read_text())["cells"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def pdf_sections():
    """{number: title} of derivations/backprop.pdf, in the order backprop.tex includes them
    (following its \\input{...}s, nested ones too)."""

    def read(name):
        found = []
        for match in re.finditer(
            r"\\section\{(.*)\}\\label|\\input\{([^}]+)\}", (DERIVATIONS / f"{name}.tex").read_text()
        ):
            found += [match.group(1)] if match.group(1) else read(match.group(2))
        return found

    titles = read("backprop")
    return {i + 1: re.sub(r"\\code\{([^}]*)\}", r"`\1`", t) for i, t in enumerate(titles)}


def test_notebook_is_stored_without_outputs():
    """Outputs would go stale as fnn changes and bloat the repository: Jupyter's "Clear All Outputs"."""
    code = [c for c in cells() if c["cell_type"] == "code"]
    assert code
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"code cells {dirty} of {NOTEBOOK.name} hold outputs; clear them before committing"


def test_notebook_cites_existing_labels_and_pdf_sections():
    text = "\n".join(source(c) for c in cells())
    labels = set(re.findall(r"\\label\{([^}]+)\}", "".join(p.read_text() for p in DERIVATIONS.glob("*.tex"))))
    cited = set(re.findall(r"\b(?:eq|sec):[A-Za-z0-9-]*[A-Za-z0-9]", text))
    assert {"eq:bn-dx", "eq:bn-dx-eval", "eq:conv-col2im"} <= cited
    assert not cited - labels, f"cited in the notebook, not defined in derivations/*.tex: {cited - labels}"
    sections = pdf_sections()
    references = re.findall(r"§(\d+) \*([^*]+)\*", text)
    assert len(references) >= 8
    wrong = [(n, t) for n, t in references if sections.get(int(n)) != t]
    assert not wrong, f"PDF sections cited as (number, title) that backprop.tex numbers otherwise: {wrong}"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom():
    """Executed in notebooks/ (where Jupyter starts its kernel); any cell error fails the test."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    printed = "\n".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )
    assert PASSED in printed, "the gradient-check summary did not print its verdict"
    assert "FAIL" not in printed
    accuracy = dict(re.findall(r"(MLP|CNN) test accuracy: ([\d.]+)%", printed))
    assert float(accuracy["MLP"]) > 93.0 and float(accuracy["CNN"]) > 96.0, accuracy
    images = sum(
        "image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert images >= 9, f"expected every figure inline, got {images} images"
