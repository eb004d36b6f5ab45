"""experiments.im2col: the column matrix and the overlap counts of fnn's im2col/col2im (--quick)."""

import re

import numpy as np

from experiments import im2col


def test_assignment_figure_2_setting(quick_experiment):
    out, r = quick_experiment("im2col")
    assert sorted(p.name for p in out.glob("*.png")) == ["im2col.png"]
    (e,) = r["examples"]
    assert (e["kernel"], e["stride"], e["padding"], e["H_out"], e["W_out"]) == (2, 1, 0, 4, 4)
    matrix = np.asarray(e["assignment_matrix"])
    assert matrix.shape == (4, 16) and np.array_equal(matrix, np.asarray(e["fnn_matrix"]).T)
    assert matrix[:, 0].tolist() == [1, 2, 6, 7] and matrix[:, -1].tolist() == [19, 20, 24, 25]
    counts = np.asarray(e["counts"])
    assert counts[0, 0] == counts[-1, -1] == 1 and counts[0, 2] == 2 and (counts[1:-1, 1:-1] == 4).all()
    assert e["roundtrip_minus_counts_times_x"] == 0 and e["adjoint_relative_difference"] < 1e-6


def test_counts_are_the_copies_im2col_makes():
    r = im2col.run(im2col.Config())
    assert len(r["examples"]) == 2
    for e in r["examples"]:
        matrix, counts = np.asarray(e["assignment_matrix"]), np.asarray(e["counts"])
        assert matrix.shape == (e["kernel"] ** 2, e["H_out"] * e["W_out"])
        for pixel, count in enumerate(counts.ravel(), start=1):  # pixel numbers 1..25
            assert np.sum(matrix == pixel) == count
    strided = r["examples"][1]
    assert (strided["kernel"], strided["stride"], strided["padding"]) == (3, 2, 1)
    assert sorted(set(np.asarray(strided["counts"]).ravel())) == [1, 2, 4]


def test_section_labels(quick_experiment):
    _, r = quick_experiment("im2col")
    text = im2col.section(r)
    assert text.startswith("\\section{") and "\\label{sec:exp-im2col}" in text
    labels = set(re.findall(r"\\label\{([^}]*)\}", text))
    refs = set(re.findall(r"\\ref\{([^}]*)\}", text))
    assert refs == {"fig:im2col-im2col"} and refs <= labels
    prose = re.sub(r"\$[^$]*\$|\\(label|ref|includegraphics)(\[[^]]*\])?\{[^}]*\}", "", text)
    assert not re.search(r"(?<!\\)[_%#]", prose)  # escaped outside math
    assert "$k^2 c = 4$ rows" in text and text.count("$") % 2 == 0
