"""Derived statistics and claims of experiments.losses (no LaTeX, no sentences).

The two losses are scored on the one test set, so their accuracies are compared by McNemar's
exact test on the images only one of them gets right (`experiments.stats.mcnemar`), once per
seed (the two models of a seed share initial weights and batches). The verdict needs every seed
to agree: "no reliable difference" unless p < 0.05 in every seed with the same winner. The
accuracy difference over seeds (`paired`) is reported beside it: it measures how consistently
the seeds rank the two, not the test set's sampling noise.
"""

from __future__ import annotations

import numpy as np

from experiments import fmt, stats

SOFTMAX, SVM = "softmax_cross_entropy", "multiclass_svm"


def mcnemar_per_seed(results: dict) -> list[stats.McNemar]:
    """Softmax (a) against the SVM (b), one test per seed, from the misclassified indices."""
    n = results["setup"]["test_size"]
    out = []
    for wrong_a, wrong_b in zip(results["runs"][SOFTMAX]["test_wrong"], results["runs"][SVM]["test_wrong"]):
        correct_a, correct_b = np.ones(n, bool), np.ones(n, bool)
        correct_a[wrong_a], correct_b[wrong_b] = False, False
        out.append(stats.mcnemar(correct_a, correct_b))
    return out


def facts(results: dict) -> dict:
    setup, runs = results["setup"], results["runs"]
    soft, svm = runs[SOFTMAX], runs[SVM]
    tests = mcnemar_per_seed(results)
    steps = setup["epochs"] * setup["steps_per_epoch"] * len(setup["seeds"])
    out = {
        "setup": {
            "seeds": len(setup["seeds"]),
            "epochs": setup["epochs"],
            "lr": fmt.Num(setup["lr"], "g"),
            "momentum": fmt.Num(setup["momentum"], "g"),
            "batch_size": setup["batch_size"],
            "hidden": "-".join(map(str, setup["hidden"])),
            "train_size": fmt.count(setup["train_size"]),
            "test_size": fmt.count(setup["test_size"]),
            "margin": fmt.Num(setup["svm_margin"], "g"),
        },
        "softmax": {
            "accuracy": fmt.pm(soft["test_accuracy"], 2, 100),
            "errors": fmt.pm(soft["test_errors"], 0),
            "top2_gap": fmt.pm(soft["median_top2_gap"], 1),
        },
        "svm": {
            "accuracy": fmt.pm(svm["test_accuracy"], 2, 100),
            "errors": fmt.pm(svm["test_errors"], 0),
            "top2_gap": fmt.pm(svm["median_top2_gap"], 1),
            "zero_batches": int(np.sum(svm["zero_batches"])),
            "zero_percent": fmt.num(100 * np.sum(svm["zero_batches"]) / steps, 1),
        },
        # SVM minus softmax, test accuracy in points, paired by seed (from the exact values)
        "svm_minus_softmax": fmt.paired(stats.paired(soft["test_accuracy"], svm["test_accuracy"]), 2, 100),
        "fewer_errors": fmt.pm(np.subtract(soft["test_errors"], svm["test_errors"]), 0),
        "mcnemar": {
            "seed0": fmt.mcnemar(tests[0]),
            "p_min": fmt.Num(min(t.p for t in tests), ".2g"),
            "p_max": fmt.Num(max(t.p for t in tests), ".2g"),
            "discordant_min": min(t.only_a + t.only_b for t in tests),
            "discordant_max": max(t.only_a + t.only_b for t in tests),
            "reliable_seeds": sum(t.reliable for t in tests),
            "svm_ahead_seeds": sum(t.only_b > t.only_a for t in tests),
        },
    }
    return out


CLAIMS = {
    "svm_ahead_every_seed": lambda f: f["svm_minus_softmax"]["min"] > 0,
    "seed_interval_excludes_zero": lambda f: f["svm_minus_softmax"]["lo"] > 0,
    "mcnemar_no_reliable_difference": lambda f: f["mcnemar"]["reliable_seeds"] == 0,
    "svm_smaller_top2_gap": lambda f: f["svm"]["top2_gap"]["mean"] < f["softmax"]["top2_gap"]["mean"],
    "svm_some_zero_batches": lambda f: 0 < f["svm"]["zero_batches"] and f["svm"]["zero_percent"] < 5,
}
