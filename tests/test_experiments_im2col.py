"""experiments.im2col: the column matrix and the overlap counts of fnn's im2col/col2im (--quick),
the figure, the facts and each claim flipping with its data."""

import copy

import numpy as np
import pytest

from experiments import im2col
from experiments.im2col import facts, run


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
    (out / "im2col.png").unlink()
    im2col.main(["--replot", "--out", str(out)])
    assert (out / "im2col.png").is_file()


def test_counts_are_the_copies_im2col_makes():
    r = run.run(run.Config())
    assert len(r["examples"]) == 2
    for e in r["examples"]:
        matrix, counts = np.asarray(e["assignment_matrix"]), np.asarray(e["counts"])
        assert matrix.shape == (e["kernel"] ** 2, e["H_out"] * e["W_out"])
        for pixel, count in enumerate(counts.ravel(), start=1):  # pixel numbers 1..25
            assert np.sum(matrix == pixel) == count
    strided = r["examples"][1]
    assert (strided["kernel"], strided["stride"], strided["padding"]) == (3, 2, 1)
    assert sorted(set(np.asarray(strided["counts"]).ravel())) == [1, 2, 4]
    f = facts.facts(r)
    assert (f["k3s2p1"]["rows"], f["k3s2p1"]["columns"], f["k3s2p1"]["padding_entries"]) == (9, 9, 32)
    assert all(claim(f) for claim in facts.CLAIMS.values())


@pytest.fixture
def results(quick_experiment):
    _, r = quick_experiment("im2col")
    return copy.deepcopy(r)


def test_facts_on_the_quick_run(results):
    f = facts.facts(results)
    assert f["k2s1p0"]["rows"] == 4 and f["k2s1p0"]["columns"] == 16 and f["k2s1p0"]["max_count"] == 4
    assert all(claim(f) for claim in facts.CLAIMS.values())


@pytest.mark.parametrize(
    "claim, field, value",
    [
        ("roundtrip_is_counts_times_x", "roundtrip_minus_counts_times_x", 1.0),
        ("adjoint_identity_holds", "adjoint_relative_difference", 1e-2),
    ],
)
def test_identity_claims_flip(results, claim, field, value):
    results["examples"][0][field] = value
    assert facts.CLAIMS[claim](facts.facts(results)) is False


def test_counts_claim_flips_when_col2im_miscounts(results):
    results["examples"][0]["counts"][2][2] += 1  # one pixel counted once too often
    assert facts.CLAIMS["counts_are_copies"](facts.facts(results)) is False
