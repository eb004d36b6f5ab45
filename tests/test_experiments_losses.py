"""experiments.losses --quick: its figure and --replot, per-seed results with the misclassified
test images, facts, and McNemar's claims flipping with their data."""

import copy

import numpy as np
import pytest

from experiments import losses
from experiments.losses import facts


@pytest.fixture(scope="module")
def quick(quick_experiment):
    return quick_experiment("losses")


def test_writes_and_redraws_its_figure_and_one_value_per_seed(quick):
    out, r = quick
    assert sorted(p.name for p in out.glob("*.png")) == ["curves.png"]
    (out / "curves.png").unlink()
    losses.main(["--replot", "--out", str(out)])
    assert (out / "curves.png").exists()
    seeds, setup = len(r["setup"]["seeds"]), r["setup"]
    for run in r["runs"].values():
        assert len(run["test_accuracy"]) == seeds
        for wrong, errors, accuracy in zip(run["test_wrong"], run["test_errors"], run["test_accuracy"]):
            assert wrong == sorted(wrong) and len(wrong) == errors
            assert accuracy == pytest.approx(1 - errors / setup["test_size"])


def test_facts_evaluate_on_the_quick_run(quick):
    _, r = quick
    f = facts.facts(r)
    assert {"setup", "softmax", "svm", "svm_minus_softmax", "mcnemar"} <= set(f)
    for claim in facts.CLAIMS.values():
        assert claim(f) in (True, False)


def _results(wrong_softmax, wrong_svm, n=1000):
    def arm(wrong):
        return {
            "test_accuracy": [1 - len(w) / n for w in wrong],
            "test_errors": [len(w) for w in wrong],
            "test_wrong": wrong,
            "median_top2_gap": [5.0] * len(wrong),
            "zero_batches": [[0, 1]] * len(wrong),
        }

    setup = {
        "seeds": [0, 1],
        "epochs": 2,
        "steps_per_epoch": 100,
        "lr": 0.05,
        "momentum": 0.9,
        "batch_size": 128,
        "hidden": [256],
        "train_size": 5000,
        "test_size": n,
        "svm_margin": 1.0,
    }
    return {
        "setup": setup,
        "runs": {"softmax_cross_entropy": arm(wrong_softmax), "multiclass_svm": arm(wrong_svm)},
    }


def test_mcnemar_claim_flips_when_the_discordant_images_are_lopsided():
    shared = list(range(20))
    near = _results([shared + list(range(100, 110))] * 2, [shared + list(range(200, 206))] * 2)
    f = facts.facts(near)
    assert f["mcnemar"]["seed0"]["only_a"] == 6 and f["mcnemar"]["seed0"]["only_b"] == 10
    assert facts.CLAIMS["mcnemar_no_reliable_difference"](f)
    far = _results([shared + list(range(100, 140))] * 2, [shared + list(range(200, 202))] * 2)
    assert not facts.CLAIMS["mcnemar_no_reliable_difference"](facts.facts(far))


def test_seed_claims_flip():
    ahead = _results([list(range(30)), list(range(31))], [list(range(25)), list(range(26))])
    f = facts.facts(ahead)
    assert facts.CLAIMS["svm_ahead_every_seed"](f) and facts.CLAIMS["seed_interval_excludes_zero"](f)
    mixed = _results([list(range(30)), list(range(22))], [list(range(25)), list(range(26))])
    f = facts.facts(mixed)
    assert not facts.CLAIMS["svm_ahead_every_seed"](f) and not facts.CLAIMS["seed_interval_excludes_zero"](f)


def test_top2_and_zero_batch_claims_flip():
    r = _results([list(range(30))] * 2, [list(range(25))] * 2)
    r["runs"]["multiclass_svm"]["median_top2_gap"] = [4.0, 4.2]
    f = facts.facts(r)
    assert facts.CLAIMS["svm_smaller_top2_gap"](f) and facts.CLAIMS["svm_some_zero_batches"](f)
    r2 = copy.deepcopy(r)
    r2["runs"]["multiclass_svm"]["median_top2_gap"] = [9.0, 9.0]
    r2["runs"]["multiclass_svm"]["zero_batches"] = [[0, 0], [0, 0]]
    f = facts.facts(r2)
    assert not facts.CLAIMS["svm_smaller_top2_gap"](f) and not facts.CLAIMS["svm_some_zero_batches"](f)
    assert np.isfinite(f["mcnemar"]["seed0"]["p"])
