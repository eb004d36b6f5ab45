"""experiments.activations: five nonlinearities, their gradients per layer, saturation, dead units, section."""

import copy

import jax
import jax.numpy as jnp
import numpy as np

from experiments import activations


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


def test_activations(quick_experiment):
    out, r = quick_experiment("activations")
    assert pngs(out) == ["accuracy.png", "dead_units.png", "grad_norms.png", "saturation.png"]
    assert set(r["runs"]) == set(r["summary"]) == {"relu", "tanh"}
    (relu,) = r["runs"]["relu"]
    assert set(relu["grad_norm"]) == set(relu["grad_norm_end"]) == {"affine1", "affine2", "scores"}
    assert relu["steps"][0] == 0 and all(len(v) == len(relu["steps"]) for v in relu["grad_norm"].values())
    assert all(v > 0 for norms in relu["grad_norm"].values() for v in norms)
    assert set(relu["dead_fraction_end"]) == set(relu["saturated"]) == {"hidden1", "hidden2"}
    assert "dead_fraction" not in r["runs"]["tanh"][0]  # only for the ReLU-like activations
    assert r["summary"]["relu"]["test_accuracy_mean"] == relu["test_accuracy"] > 0.3
    assert len(relu["val_accuracy_per_epoch"]) == r["setup"]["epochs"] == 1
    # ReLU's slope is 1 or 0, so its mean slope and its saturated fraction (x <= 0) add up to 1
    for layer in ("hidden1", "hidden2"):
        np.testing.assert_allclose(
            np.add(relu["mean_slope"][layer], relu["saturated"][layer]), 1.0, atol=1e-6
        )
    (tanh,) = r["runs"]["tanh"]
    assert all(0 < s <= 1 for v in tanh["mean_slope"].values() for s in v)
    assert tanh["mean_slope"]["hidden1"][0] > 0.5  # He-initialised inputs sit in tanh's linear middle


def test_largest_slope_is_read_from_each_layers_backward():
    assert activations._largest_slope("sigmoid") == 0.25
    for name in ("relu", "leaky_relu", "tanh", "elu"):
        np.testing.assert_allclose(activations._largest_slope(name), 1.0, rtol=1e-6)


def test_activations_probe_sees_dead_units_and_their_zero_gradient():
    from fnn import models

    model = models.mlp((8, 4))
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x, labels = jax.random.normal(jax.random.key(1), (16, 28, 28, 1)), jnp.arange(16) % 10
    norms, dead, saturated, slope = activations._probe(model, "relu")(params, state, x, labels)
    assert float(norms.min()) > 0
    params = (params[0], {**params[1], "b": jnp.full(8, -1e3)}, *params[2:])  # every unit of hidden1 dies
    norms, dead, saturated, slope = activations._probe(model, "relu")(params, state, x, labels)
    assert float(dead[0]) == 1.0 and float(norms[0]) == 0.0
    assert float(saturated[0]) == 1.0 and float(slope[0]) == 0.0


def test_activations_probe_counts_sigmoid_saturation():
    from fnn import models

    model = models.mlp((8, 4), activation="sigmoid")
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x, labels = jax.random.normal(jax.random.key(1), (16, 28, 28, 1)), jnp.arange(16) % 10
    _, _, saturated, slope = activations._probe(model, "sigmoid")(params, state, x, labels)
    assert float(slope[0]) <= 0.25 and float(saturated[0]) < 0.5
    W1 = jnp.zeros_like(params[1]["W"])
    for x1, expected in ((3.0, 0.0), (4.0, 1.0)):  # sigmoid'(3) = 0.045 > 0.1 * 0.25 > sigmoid'(4) = 0.018
        fixed = (params[0], {"W": W1, "b": jnp.full(8, x1)}, *params[2:])  # every input of hidden1 is x1
        _, _, saturated, slope = activations._probe(model, "sigmoid")(fixed, state, x, labels)
        assert float(saturated[0]) == expected
        np.testing.assert_allclose(slope[0], jax.nn.sigmoid(x1) * (1 - jax.nn.sigmoid(x1)), rtol=1e-5)


def test_activations_section_reads_its_numbers_and_follows_them(quick_experiment, check_section):
    out, r = quick_experiment("activations")
    text = activations.section(r)
    check_section(text, "activations", out)
    relu_acc = r["runs"]["relu"][0]["test_accuracy"]
    assert f"{100 * relu_acc:.2f} \\pm" in text  # numbers come from results.json
    winner = max(r["runs"], key=lambda a: r["runs"][a][0]["test_accuracy"])
    assert f"{activations._name(winner, True)} reaches the highest" in text
    flipped = copy.deepcopy(r)  # the sentence follows the data, not a fixed ranking
    loser = next(a for a in r["runs"] if a != winner)
    flipped["runs"][loser][0]["test_accuracy"] = 0.999
    assert f"{activations._name(loser, True)} reaches the highest" in activations.section(flipped)
    with_sigmoid = copy.deepcopy(r)  # the sigmoid paragraphs, on a copy of tanh's numbers
    with_sigmoid["runs"]["sigmoid"] = copy.deepcopy(r["runs"]["tanh"])
    with_sigmoid["setup"]["largest_slope"]["sigmoid"] = 0.25
    text = activations.section(with_sigmoid)
    assert "\\paragraph{Gradients per layer.}" in text and "\\paragraph{Saturation.}" in text


def test_activations_dead_units_report_transients_from_the_data(quick_experiment):
    _, r = quick_experiment("activations")
    r = copy.deepcopy(r)
    relu = r["runs"]["relu"][0]
    relu["dead_fraction"]["hidden2"] = [0.0] * len(relu["steps"])
    relu["dead_fraction"]["hidden2"][1] = 0.5  # dead at one recorded step, alive again later
    relu["dead_fraction_end"]["hidden2"] = 0.0
    text = activations.section(r)
    assert "1 of the 1 runs had a dead unit at some recorded step, and 0 after training" in text
    assert "cannot recover through its own weights" in text and "as it did here" in text
    relu["dead_fraction"]["hidden2"] = [0.0] * len(relu["steps"])
    assert "No run had a dead unit at any recorded step" in activations.section(r)
    with_leaky = copy.deepcopy(r)  # leaky ReLU's units with x <= 0 everywhere are inactive, not dead
    with_leaky["runs"]["leaky_relu"] = copy.deepcopy(r["runs"]["relu"])
    text = activations.section(with_leaky)
    assert "inactive units for leaky ReLU" in text and "dead/inact." in text
