"""experiments.batch_norm --quick: its figures, the structure of results.json, the measured
mechanisms its text rests on (scale invariance, the 1/a^2 relative update, eps at tiny scales,
the constant batch-of-one prediction), and the LaTeX section built from the results."""

import re
from pathlib import Path

import numpy as np
import pytest

from experiments import batch_norm

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ["batch_size.png", "init_diagnostics.png", "init_scale.png", "modes.png"]


@pytest.fixture(scope="module")
def quick(quick_experiment):
    return quick_experiment("batch_norm")


def test_writes_its_figures(quick):
    out, _ = quick
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES


def test_every_configuration_has_one_value_per_seed(quick):
    _, r = quick
    seeds, s = len(r["setup"]["seeds"]), r["init_scale"]
    for arm in batch_norm.ARMS:
        for key in ("val_accuracy", "train_accuracy", "diverged", "weight_growth", "score_std"):
            assert np.shape(s[arm][key]) == (len(s["scales"]), seeds), key
    b = r["batch_size"]
    for lr_arm in ("fixed", "scaled"):
        for arm in batch_norm.ARMS:
            assert [len(runs) for runs in b["runs"][lr_arm][arm]] == [seeds] * len(b["batch_sizes"])
    i = b["batch_sizes"].index(b["reference_batch"])  # both arms share the reference batch's runs
    assert b["lr"]["fixed"][i] == b["lr"]["scaled"][i]
    assert b["runs"]["fixed"]["bn"][i] == b["runs"]["scaled"]["bn"][i]
    assert b["lr"]["scaled"][0] == pytest.approx(
        r["setup"]["lr"] * b["batch_sizes"][0] / b["reference_batch"]
    )
    assert np.shape(r["modes"]["curves"]["running"]) == (seeds, r["setup"]["mode_epochs"])


def test_batch_norm_makes_the_forward_pass_scale_invariant(quick):
    _, r = quick
    s = r["init_scale"]
    big = [i for i, a in enumerate(s["scales"]) if a >= 0.1]
    assert len(big) >= 2
    first = np.asarray(s["bn"]["score_std"][big[0]])
    for i in big[1:]:  # same seed, same direction of W: the same function at init
        np.testing.assert_allclose(s["bn"]["score_std"][i], first, rtol=1e-3)
    without = [np.mean(s["no_bn"]["score_std"][i]) for i in big]
    assert without[-1] > 10 * without[0]  # without batch norm the scores grow with a


def test_relative_update_goes_as_one_over_a_squared_until_eps(quick):
    _, r = quick
    s = r["init_scale"]
    assert s["slope"] == pytest.approx(-2.0, abs=0.05)
    smallest = np.mean(s["bn"]["pre_var"][0], axis=0)
    assert s["scales"][0] <= 1e-4 and smallest.min() < s["eps"]  # var(Wx) below eps at a = 1e-4
    x_hat_std = np.mean(s["bn"]["x_hat_std"][0], axis=0)
    assert x_hat_std[-1] < 0.5  # so normalisation no longer gives unit variance
    assert np.mean(s["bn"]["x_hat_std"][-1]) == pytest.approx(1.0, abs=1e-3)
    growth = [np.mean(g) for g in s["bn"]["weight_growth"]]
    assert growth[0] > 10 * growth[-1]  # huge relative steps lengthen small weights


def test_a_batch_of_one_predicts_one_class_for_every_image(quick):
    _, r = quick
    m = r["modes"]
    assert m["single_distinct_predictions"] == [1] * len(r["setup"]["seeds"])
    final_single = [c[-1] for c in m["curves"]["single"]]
    np.testing.assert_allclose(final_single, m["single_predicted_class_share"], atol=1e-6)
    assert min(c[-1] for c in m["curves"]["running"]) > 0.5 > max(final_single)
    by_size = np.asarray(m["by_batch_size"])  # (seeds, sizes): batch of 1 is the worst
    assert (by_size[:, 0] < by_size[:, -1]).all()


def test_section_is_latex_built_from_the_results(quick):
    _, r = quick
    text = batch_norm.section(r)
    assert text.startswith("\\section{Batch normalisation}\\label{sec:exp-batch_norm}")
    labels = set(re.findall(r"\\label\{([^}]*)\}", text))
    for name in FIGURES:
        assert f"fig:batch_norm-{name[:-4].replace('_', '-')}" in labels
    assert {"sec:exp-batch_norm-init", "sec:exp-batch_norm-batch", "sec:exp-batch_norm-modes"} <= labels
    # its own labels, and the appendix's derivation of batch norm's backward pass
    norm = re.search(r"\\label\{([^}]*)\}", (ROOT / "derivations" / "norm.tex").read_text()).group(1)
    assert set(re.findall(r"\\ref\{([^}]*)\}", text)) <= labels | {norm}
    assert "$$" not in text and "nan" not in text and "None" not in text
    assert text.count("{") == text.count("}")
    assert f"{r['init_scale']['slope']:.3f}" in text  # numbers come from the results
    changed = {**r, "init_scale": {**r["init_scale"], "slope": -1.234}}
    assert "-1.234" in batch_norm.section(changed)
