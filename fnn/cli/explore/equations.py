"""The derivations' equations as the explorer page shows them: label -> LaTeX source.

The wheel ships fnn/ alone, not the derivations' .tex files, so the page reads
`static/equations.json`, which this module writes from them:

    python -m fnn.cli.explore.equations derivations/*.tex

Each equation label (`\\label{eq:...}`) gives one entry: the body of its `equation`
environment, or its row of an `align` (with the rows just above it that carry `\\notag`: one
equation over several lines), without the label, the `(eq:...)` tag written beside it, `\\notag`
and the row's trailing `\\\\`. An align row keeps its `&` inside `\\begin{aligned}`. The macros
of derivations/macros.tex that equations use are in `MACROS`, for the renderer (KaTeX).
`tests/test_cli_explore.py` fails when the shipped file differs from what the .tex files give.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MACROS", "extract", "render_json", "main"]

MACROS = {"\\dd": "\\mathrm{d}#1", "\\R": "\\mathbb{R}", "\\code": "\\texttt{#1}"}

_ENVIRONMENT = re.compile(r"\\begin\{(equation|align)\*?\}(.*?)\\end\{\1\*?\}", re.S)
_LABEL = re.compile(r"\\label\{(eq:[^}]+)\}")
_TAG = re.compile(r"(&&)?\s*(\\q?quad)?\s*\\text\{\s*\(eq:[^}]*\)\s*\}")
_ROW_END = re.compile(r"\\\\(?:\[[^]]*\])?")


def _clean(text: str) -> str:
    """Without labels, (eq:...) tags, \\notag, comments and surplus spaces."""
    text = re.sub(r"(?<!\\)%.*", "", text)
    text = _LABEL.sub("", text)
    text = re.sub(r"\\label\{[^}]*\}", "", text)
    text = _TAG.sub("", text)
    text = re.sub(r"\\(notag|nonumber)\b", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _split_rows(body: str) -> list[str]:
    """The rows of an align body, split at `\\\\` outside braces and environments (a
    \\substack or a cases keeps its own)."""
    rows, depth, start, i = [], 0, 0, 0
    while i < len(body):
        char = body[i]
        if char == "\\" and body.startswith("\\\\", i) and depth == 0:
            rows.append(body[start:i])
            end = _ROW_END.match(body, i)
            i = start = end.end()
            continue
        if body.startswith("\\begin{", i) or body.startswith("\\end{", i):  # cases, aligned, ...
            depth += 1 if body.startswith("\\begin{", i) else -1
            i = body.index("}", i) + 1
            continue
        if char == "\\":  # an escaped character, e.g. \{ or \\ inside braces
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        i += 1
    rows.append(body[start:])
    return [row for row in rows if row.strip()]


def extract(texts: Iterable[str]) -> dict[str, str]:
    """{label: LaTeX} for every `eq:` label in `texts` (the .tex files' contents), sorted by label.

    Raises:
        ValueError: a label defined twice.
    """
    found: dict[str, str] = {}

    def add(label: str, latex: str) -> None:
        if label in found:
            raise ValueError(f"equation label {label} is defined twice")
        found[label] = latex

    for text in texts:
        text = re.sub(r"(?<!\\)%.*", "", text)
        for match in _ENVIRONMENT.finditer(text):
            kind, body = match.group(1), match.group(2)
            if kind == "equation":
                for label in _LABEL.findall(body):
                    add(label, _clean(body))
                continue
            rows, above = _split_rows(body), []
            for row in rows:
                labels = _LABEL.findall(row)
                if not labels:
                    above = [*above, row] if re.search(r"\\(notag|nonumber)\b", row) else []
                    continue
                lines = [_clean(r) for r in [*above, row]]
                add(labels[0], "\\begin{aligned}" + " \\\\ ".join(lines) + "\\end{aligned}")
                above = []
    return dict(sorted(found.items()))


def render_json(tex_files: Iterable[str | Path]) -> str:
    """The text of equations.json for `tex_files`: {"macros": MACROS, "equations": {label: LaTeX}}."""
    texts = [Path(p).read_text(encoding="utf-8") for p in sorted(map(str, tex_files))]
    document = {
        "source": "derivations/*.tex (python -m fnn.cli.explore.equations derivations/*.tex)",
        "macros": MACROS,
        "equations": extract(texts),
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write static/equations.json from the .tex files named in `argv`."""
    files = sys.argv[1:] if argv is None else argv
    if not files:
        print("usage: python -m fnn.cli.explore.equations derivations/*.tex", file=sys.stderr)
        return 2
    target = Path(__file__).with_name("static") / "equations.json"
    target.write_text(render_json(files), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
