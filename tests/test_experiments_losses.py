"""experiments.losses --quick: its figure, per-seed results for both losses, the zero-loss
batch counts, and the LaTeX section (its verdict chosen from the numbers)."""

import re

import numpy as np
import pytest

from experiments import latex, losses


@pytest.fixture(scope="module")
def quick(quick_experiment):
    return quick_experiment("losses")


def test_writes_its_figure_and_one_value_per_seed(quick):
    out, r = quick
    assert sorted(p.name for p in out.glob("*.png")) == ["curves.png"]
    seeds, setup = len(r["setup"]["seeds"]), r["setup"]
    assert set(r["runs"]) == {"softmax_cross_entropy", "multiclass_svm"}
    for run in r["runs"].values():
        assert len(run["test_accuracy"]) == seeds and min(run["test_accuracy"]) > 0.8
        assert np.shape(run["batch_losses"]) == (seeds, setup["epochs"] * setup["steps_per_epoch"])
        errors = np.rint((1 - np.asarray(run["test_accuracy"])) * setup["test_size"])
        np.testing.assert_array_equal(run["test_errors"], errors)
        zeros = [sum(v == 0 for v in b) for b in run["batch_losses"]]
        assert np.sum(run["zero_batches"], axis=1).tolist() == zeros


def test_same_seed_same_start_different_losses(quick):
    _, r = quick
    soft, svm = r["runs"]["softmax_cross_entropy"], r["runs"]["multiclass_svm"]
    assert soft["batch_losses"][0][0] != svm["batch_losses"][0][0]  # each its own loss
    assert soft["batch_losses"][0] != soft["batch_losses"][1]  # the seed changes the run


def _with_accuracies(r, soft, svm):
    runs = {
        "softmax_cross_entropy": {**r["runs"]["softmax_cross_entropy"], "test_accuracy": soft},
        "multiclass_svm": {**r["runs"]["multiclass_svm"], "test_accuracy": svm},
    }
    return {**r, "runs": runs}


def test_section_is_latex_and_its_verdict_follows_the_numbers(quick):
    _, r = quick
    text = losses.section(r)
    assert text.startswith("\\section{Softmax versus multiclass SVM}\\label{sec:exp-losses}")
    labels = set(re.findall(r"\\label\{([^}]*)\}", text))
    assert {"fig:losses-curves", "tab:losses-summary"} <= labels
    assert set(re.findall(r"\\ref\{([^}]*)\}", text)) <= labels
    assert "$$" not in text and "nan" not in text and text.count("{") == text.count("}")
    n = len(r["setup"]["seeds"])
    noise = 0.002 * np.arange(n) / max(n - 1, 1)
    within = losses.section(_with_accuracies(r, list(0.970 + noise), list(0.971 + noise[::-1])))
    if n > 1:  # sd 0.0014 each, difference 0.001
        assert "within the spread" in within and "by more than the spread over" not in within
    apart = losses.section(_with_accuracies(r, list(0.970 + noise), list(0.980 + noise)))
    assert "the multiclass SVM is more accurate on the test set by more than the spread" in apart
    assert latex.pm(0.980 + noise, 2, 100) + "\\%" in apart  # numbers come from the results
