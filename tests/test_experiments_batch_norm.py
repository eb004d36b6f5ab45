"""experiments.batch_norm: the quick run and --replot, the measured mechanisms its text rests
on (scale invariance, the 1/a^2 relative update, eps at tiny scales, the constant batch-of-one
prediction), facts on the quick run, and each claim flipping with its data."""

import copy

import numpy as np
import pytest

from experiments import batch_norm, fmt
from experiments.batch_norm import facts, plot

FIGURES = ["batch_size.png", "init_scale.png", "modes.png"]


@pytest.fixture(scope="module")
def quick(quick_experiment):
    """The quick run (about 20 s on an idle machine: three short sweeps): its tests are slow."""
    return quick_experiment("batch_norm")


@pytest.mark.slow
def test_writes_and_redraws_its_figures(quick):
    out, _ = quick
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES
    for p in out.glob("*.png"):
        p.unlink()
    batch_norm.main(["--replot", "--out", str(out)])
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES


@pytest.mark.slow
def test_facts_and_claims_evaluate_on_the_quick_run(quick):
    _, r = quick
    f = facts.facts(r)
    assert {"setup", "init", "batch", "modes"} <= set(f)
    assert isinstance(f["batch"]["table"], fmt.Table)
    for claim in facts.CLAIMS.values():
        assert claim(f) in (True, False)


@pytest.mark.slow
def test_every_configuration_has_one_value_per_seed(quick):
    _, r = quick
    seeds, s = len(r["setup"]["seeds"]), r["init_scale"]
    for arm in plot.ARMS:
        for key in ("val_accuracy", "train_accuracy", "diverged", "weight_growth", "score_std"):
            assert np.shape(s[arm][key]) == (len(s["scales"]), seeds), key
    b = r["batch_size"]
    for lr_arm in ("fixed", "scaled"):
        for arm in plot.ARMS:
            assert [len(runs) for runs in b["runs"][lr_arm][arm]] == [seeds] * len(b["batch_sizes"])
    i = b["batch_sizes"].index(b["reference_batch"])  # both arms share the reference batch's runs
    assert b["runs"]["fixed"]["bn"][i] == b["runs"]["scaled"]["bn"][i]
    assert np.shape(r["modes"]["curves"]["running"]) == (seeds, r["setup"]["mode_epochs"])


@pytest.mark.slow
def test_batch_norm_makes_the_forward_pass_scale_invariant(quick):
    _, r = quick
    s = r["init_scale"]
    big = [i for i, a in enumerate(s["scales"]) if a >= 0.1]
    first = np.asarray(s["bn"]["score_std"][big[0]])
    for i in big[1:]:  # same seed, same direction of W: the same function at init
        np.testing.assert_allclose(s["bn"]["score_std"][i], first, rtol=1e-3)
    without = [np.mean(s["no_bn"]["score_std"][i]) for i in big]
    assert without[-1] > 10 * without[0]  # without batch norm the scores grow with a


@pytest.mark.slow
def test_relative_update_goes_as_one_over_a_squared_until_eps(quick):
    _, r = quick
    s = r["init_scale"]
    assert s["slope"] == pytest.approx(-2.0, abs=0.05)
    assert np.mean(s["bn"]["pre_var"][0], axis=0).min() < s["eps"]  # var(Wx) below eps at a = 1e-4
    growth = [np.mean(g) for g in s["bn"]["weight_growth"]]
    assert growth[0] > 10 * growth[-1]  # huge relative steps lengthen small weights


@pytest.mark.slow
def test_a_batch_of_one_predicts_one_class_for_every_image(quick):
    _, r = quick
    m = r["modes"]
    assert m["single_distinct_predictions"] == [1] * len(r["setup"]["seeds"])
    final_single = [c[-1] for c in m["curves"]["single"]]
    np.testing.assert_allclose(final_single, m["single_predicted_class_share"], atol=1e-6)


def _paired(lo, hi):
    return {
        "mean": fmt.signed((lo + hi) / 2),
        "lo": fmt.signed(lo),
        "hi": fmt.signed(hi),
        "sd": fmt.num(1),
        "n": 5,
    }


def _pm(mean):
    return {"mean": fmt.num(mean, 1), "sd": fmt.num(0.3, 1), "n": 5}


def _facts():
    """Facts for which every claim holds (percent points, as facts prints them)."""
    return {
        "init": {
            "scales": 8,
            "he_low": fmt.num(0.051, 3),
            "he_high": fmt.num(0.088, 3),
            "no_bn": {
                "trains": 2,
                "trains_low": fmt.Num(0.03, "g"),
                "trains_high": fmt.Num(0.1, "g"),
                "diverged_scales": 2,
            },
            "bn": {
                "trains": 8,
                "largest_minus_best": _paired(-14, -12),
                "smallest_minus_best": _paired(-7, -4),
            },
            "where_both_train": 2,
            "both1": {"bn_minus_no_bn": _paired(0.9, 5.7)},
            "both2": {"bn_minus_no_bn": _paired(0.1, 1.4)},
            "slope": fmt.num(-2.0),
            "var_over_eps_at_smallest": fmt.sci(3e-5),
            "growth_at_smallest": fmt.Num(3000, ".0f"),
            "growth_at_second": fmt.Num(120, ".0f"),
            "growth_at_largest": fmt.num(1.0),
        },
        "batch": {
            "fixed_smallest": _paired(18, 39),
            "no_bn_smallest_fixed": _pm(58),
            "no_bn_smallest_scaled": _pm(92),
            "fixed_reference": _paired(0.8, 2.5),
            "scaled_second": _paired(-0.7, 1.5),
            "fixed_largest": _paired(2.6, 6.2),
            "scaled_smallest": _paired(-7, -2.7),
            "bn_smallest_scaled_minus_fixed": _paired(-2.7, 3.3),
            "bn_val_minus_train_smallest": _paired(18, 23),
        },
        "modes": {
            "running_minus_batch": _paired(-0.6, 0.7),
            "single_distinct_max": 1,
            "single": _pm(9.6),
            "eval_batch_1": _pm(9.6),
            "eval_batch_4": _pm(70),
            "eval_batch_256": _pm(94.7),
        },
    }


def _set(f, path, value):
    *head, last = path.split(".")
    for key in head:
        f = f[key]
    f[last] = value


FLIPS = {  # claim -> the change to its data that makes it false
    "bn_trains_at_every_scale": [("init.bn.trains", 7)],
    "no_bn_trains_only_near_he": [("init.no_bn.trains_high", fmt.Num(1.0, "g"))],
    "no_bn_diverges_at_large_scales": [("init.no_bn.diverged_scales", 0)],
    "bn_better_at_lower_trained_scale": [("init.both1.bn_minus_no_bn", _paired(-0.5, 3))],
    "bn_better_at_every_trained_scale": [("init.both2.bn_minus_no_bn", _paired(-0.2, 2))],
    "bn_worse_at_largest_scale": [("init.bn.largest_minus_best", _paired(-1, 0.5))],
    "bn_worse_at_smallest_scale": [("init.bn.smallest_minus_best", _paired(-1, 0.5))],
    "update_goes_as_inverse_square": [("init.slope", fmt.num(-1.5))],
    "eps_dominates_at_smallest_scale": [("init.var_over_eps_at_smallest", fmt.sci(3.0))],
    "small_weights_grow": [("init.growth_at_second", fmt.Num(2, ".0f"))],
    "large_weights_barely_move": [("init.growth_at_largest", fmt.num(1.5))],
    "no_bn_fails_at_smallest_batch_fixed_lr": [("batch.no_bn_smallest_fixed", _pm(90))],
    "bn_better_at_reference_batch": [("batch.fixed_reference", _paired(-0.5, 3.5))],
    "no_reliable_difference_at_second_batch_scaled_lr": [("batch.scaled_second", _paired(0.2, 1.5))],
    "bn_better_at_largest_batch_fixed_lr": [("batch.fixed_largest", _paired(-1, 6))],
    "bn_worse_at_smallest_batch_scaled_lr": [("batch.scaled_smallest", _paired(-7, 1))],
    "bn_smallest_batch_indifferent_to_lr": [("batch.bn_smallest_scaled_minus_fixed", _paired(1, 3))],
    "bn_train_mode_low_at_smallest_batch": [("batch.bn_val_minus_train_smallest", _paired(-1, 3))],
    "running_matches_batch_statistics": [("modes.running_minus_batch", _paired(0.1, 0.7))],
    "single_image_predicts_one_class": [("modes.single_distinct_max", 3)],
    "single_image_near_chance": [("modes.single", _pm(40))],
    "train_mode_accuracy_rises_with_eval_batch": [("modes.eval_batch_4", _pm(5))],
}


def test_every_claim_has_a_flip():
    assert set(FLIPS) == set(facts.CLAIMS)


@pytest.mark.parametrize("claim", sorted(FLIPS))
def test_each_claim_flips_with_its_data(claim):
    f = _facts()
    assert facts.CLAIMS[claim](f) is True
    for path, value in FLIPS[claim]:
        _set(f, path, value)
    assert facts.CLAIMS[claim](copy.deepcopy(f)) is False
