"""experiments.activations: the quick run and --replot, the probe (dead units, saturation,
slopes from each layer's own backward), the rate sweep of sigmoid and tanh chosen on
validation, facts on the quick run, and each claim flipping with its data."""

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import activations, fmt
from experiments.activations import facts, run

FIGURES = ["accuracy.png", "grad_norms.png", "saturation.png"]


@pytest.fixture(scope="module")
def quick(quick_experiment):
    """The quick run (about 15 s on an idle machine: ten short trainings): its tests are slow."""
    return quick_experiment("activations")


@pytest.mark.slow
def test_writes_and_redraws_its_figures(quick):
    out, _ = quick
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES
    for p in out.glob("*.png"):
        p.unlink()
    activations.main(["--replot", "--out", str(out)])
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES


@pytest.mark.slow
def test_results_hold_every_arm_and_measurement(quick):
    _, r = quick
    assert set(r["runs"]) == set(r["summary"]) == {"relu", "tanh"}
    assert r["setup"]["init"] == {"relu": "he", "tanh": "xavier"}
    relu = r["runs"]["relu"][0]
    assert set(relu["grad_norm"]) == {"affine1", "affine2", "scores"} and relu["steps"][0] == 0
    assert set(relu["dead_fraction_end"]) == set(relu["saturated"]) == {"hidden1", "hidden2"}
    assert "dead_fraction" not in r["runs"]["tanh"][0]  # only for the ReLU-like activations
    for layer in ("hidden1", "hidden2"):  # ReLU's slope is 1 or 0: slope + saturated = 1
        np.testing.assert_allclose(
            np.add(relu["mean_slope"][layer], relu["saturated"][layer]), 1.0, atol=1e-6
        )
    sweep = r["sweep"]["tanh"]
    assert [(a["init"], a["lr"]) for a in sweep["arms"]] == [("he", 0.1), ("xavier", 0.03), ("xavier", 0.3)]
    seeds = r["setup"]["seeds"]
    assert all([x["seed"] for x in a["runs"]] == seeds for a in sweep["arms"])  # paired arms
    xavier = [a for a in sweep["arms"] if a["init"] == "xavier"]
    best = max(xavier, key=lambda a: np.mean([x["val_accuracy"] for x in a["runs"]]))
    assert sweep["selected_lr"] == best["lr"] and r["runs"]["tanh"] == best["runs"]


@pytest.mark.slow
def test_facts_evaluate_on_the_quick_run(quick):
    _, r = quick
    f = facts.facts(r)
    assert {"setup", "relu", "tanh"} <= set(f)
    assert {"tuned_minus_he", "selected_lr", "he_test"} <= set(f["tanh"]["sweep"])
    assert "minus_relu" in f["tanh"] and "dead_any_step_max" in f["relu"]["hidden1"]


def test_selection_never_picks_a_diverged_rate():
    ok = [{"diverged": False, "val_accuracy": 0.9}]
    assert run._mean_val(ok) == 0.9
    assert run._mean_val(ok + [{"diverged": True}]) == float("-inf")


def test_largest_slope_is_read_from_each_layers_backward():
    assert run._largest_slope("sigmoid") == 0.25
    for name in ("relu", "leaky_relu", "tanh", "elu"):
        np.testing.assert_allclose(run._largest_slope(name), 1.0, rtol=1e-6)


def test_probe_sees_dead_units_and_their_zero_gradient():
    from fnn import models

    model = models.mlp((8, 4))
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x, labels = jax.random.normal(jax.random.key(1), (16, 28, 28, 1)), jnp.arange(16) % 10
    norms, dead, saturated, slope = run._probe(model, "relu")(params, state, x, labels)
    assert float(norms.min()) > 0
    params = (params[0], {**params[1], "b": jnp.full(8, -1e3)}, *params[2:])  # every unit of hidden1 dies
    norms, dead, saturated, slope = run._probe(model, "relu")(params, state, x, labels)
    assert float(dead[0]) == 1.0 and float(norms[0]) == 0.0
    assert float(saturated[0]) == 1.0 and float(slope[0]) == 0.0


def test_probe_counts_sigmoid_saturation():
    from fnn import models

    model = models.mlp((8, 4), activation="sigmoid", init="xavier")
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x, labels = jax.random.normal(jax.random.key(1), (16, 28, 28, 1)), jnp.arange(16) % 10
    W1 = jnp.zeros_like(params[1]["W"])
    for x1, expected in ((3.0, 0.0), (4.0, 1.0)):  # sigmoid'(3) = 0.045 > 0.1 * 0.25 > sigmoid'(4) = 0.018
        fixed = (params[0], {"W": W1, "b": jnp.full(8, x1)}, *params[2:])  # every input of hidden1 is x1
        _, _, saturated, slope = run._probe(model, "sigmoid")(fixed, state, x, labels)
        assert float(saturated[0]) == expected
        np.testing.assert_allclose(slope[0], jax.nn.sigmoid(x1) * (1 - jax.nn.sigmoid(x1)), rtol=1e-5)


def _paired(lo, hi):
    return {
        "mean": fmt.signed((lo + hi) / 2),
        "lo": fmt.signed(lo),
        "hi": fmt.signed(hi),
        "sd": fmt.num(1),
        "n": 3,
    }


def _pm(mean):
    return {"mean": fmt.num(mean, 2), "sd": fmt.num(0.1, 2), "n": 3}


def _layer(sat_init, sat_end, change=(-1, 1), slope=0.5, dead=None):
    out = {
        "saturated_init": _pm(sat_init),
        "saturated_end": _pm(sat_end),
        "saturated_change": _paired(*change),
        "saturated_peak": fmt.pct(max(sat_init, sat_end) / 100 + 0.2, 1),
        "slope_init": _pm(slope),
        "slope_end": _pm(slope),
    }
    if dead is not None:
        out["dead_end_max"] = fmt.pct(dead, 1)
        out["dead_any_step_max"] = fmt.pct(dead + 0.004, 2)  # one unit dead for a while
    return out


def _facts():
    """Facts for which every claim holds (accuracy differences in points, fractions in percent)."""

    def act(ratio, minus_relu=None, sat=(0.0, 1.0), slope=0.5, dead=None, sweep=None, sat_end2=None):
        out = {
            "test": _pm(97),
            "grad_ratio_init": _pm(ratio),
            "hidden1": _layer(sat[0], sat[1], slope=slope, dead=dead),
            "hidden2": _layer(
                sat[0], sat[1] if sat_end2 is None else sat_end2, (2, 10), slope=slope, dead=dead
            ),
            "saturated_end_max": fmt.pct(max(sat[1], sat_end2 or 0) / 100, 1),
        }
        if minus_relu is not None:
            out["minus_relu"] = _paired(*minus_relu)
        if sweep is not None:
            out["sweep"] = sweep
        return out

    def sweep(tuned, alone, top=0):
        return {
            "tuned_minus_he": _paired(*tuned),
            "xavier_minus_he_same_lr": _paired(*alone),
            "selected_is_top": top,
            "selected_is_edge": top,
            "he_saturated_end_max": fmt.pct(0.001, 1),
        }

    return {
        "setup": {"seeds": 3},
        "smooth": {"saturated_init_max": fmt.pct(0.01, 1)},
        "relu": act(1.0, sat=(50, 50), dead=0.0),
        "leaky_relu": act(1.0, (-0.1, 0.1), sat=(50, 50), dead=0.0),
        "elu": act(0.9, (-0.8, -0.2), dead=0.0),
        "sigmoid": act(
            0.1, (-3, -2), sat=(0.0, 0.1), sat_end2=12, slope=0.2, sweep=sweep((2, 4), (-0.5, 0.5), top=1)
        ),
        "tanh": act(0.8, (-1, -0.5), sat=(0.5, 1.0), sat_end2=28, sweep=sweep((0.5, 1), (-0.8, -0.2))),
    }


def _set(f, path, value):
    *head, last = path.split(".")
    for key in head:
        f = f[key]
    f[last] = value


FLIPS = {  # claim -> the change to its data that makes it false
    "relu_like_tied": ("leaky_relu.minus_relu", _paired(0.1, 0.3)),
    "elu_below_relu": ("elu.minus_relu", _paired(-0.8, 0.2)),
    "sigmoid_below_relu": ("sigmoid.minus_relu", _paired(-3, 0.1)),
    "tanh_below_relu": ("tanh.minus_relu", _paired(-1, 0.5)),
    "none_beats_relu": ("elu.minus_relu", _paired(0.1, 0.5)),
    "sigmoid_tuned_better": ("sigmoid.sweep.tuned_minus_he", _paired(-1, 4)),
    "tanh_tuned_better": ("tanh.sweep.tuned_minus_he", _paired(-0.1, 1)),
    "sigmoid_wants_top_rate": ("sigmoid.sweep.selected_is_top", 0),
    "sigmoid_xavier_alone_no_gain": ("sigmoid.sweep.xavier_minus_he_same_lr", _paired(0.1, 0.5)),
    "tanh_xavier_alone_worse": ("tanh.sweep.xavier_minus_he_same_lr", _paired(-0.5, 0.1)),
    "relu_half_inputs_at_zero_slope": ("relu.hidden2.saturated_end", _pm(20)),
    "sigmoid_saturates_in_last_hidden_only": ("sigmoid.hidden1.saturated_end", _pm(3)),
    "sigmoid_he_recipe_barely_saturates": ("sigmoid.sweep.he_saturated_end_max", fmt.pct(0.05, 1)),
    "tanh_saturates_most": ("sigmoid.saturated_end_max", fmt.pct(0.3, 1)),
    "tanh_saturates_most_in_last_hidden": ("tanh.hidden2.saturated_change", _paired(-1, 3)),
    "saturation_starts_near_zero": ("smooth.saturated_init_max", fmt.pct(0.2, 1)),
    "tanh_best_rate_inside": ("tanh.sweep.selected_is_edge", 1),
    "sigmoid_saturation_peaks_then_falls": ("sigmoid.hidden2.saturated_peak", fmt.pct(0.15, 1)),
    "relu_unit_died_and_recovered": ("relu.hidden2.dead_end_max", fmt.pct(0.004, 1)),
    "no_relu_dead_after_training": ("relu.hidden2.dead_end_max", fmt.pct(0.004, 1)),
    "relu_dead_units_rare": ("relu.hidden1.dead_any_step_max", fmt.pct(0.02, 2)),
    "sigmoid_first_layer_gradient_smallest": ("sigmoid.grad_ratio_init", _pm(2.0)),
    "sigmoid_slope_at_most_quarter": ("sigmoid.hidden1.slope_init", _pm(0.3)),
}


def test_every_claim_has_a_flip():
    assert set(FLIPS) == set(facts.CLAIMS)


@pytest.mark.parametrize("claim", sorted(FLIPS))
def test_each_claim_flips_with_its_data(claim):
    f = _facts()
    assert facts.CLAIMS[claim](f) is True
    _set(f, *FLIPS[claim])
    assert facts.CLAIMS[claim](copy.deepcopy(f)) is False
