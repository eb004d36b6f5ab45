"""experiments.dropout: drop rates with and without inverted scaling, the paper's test rule, the section."""

import copy

import jax
import numpy as np
import pytest

from experiments import dropout


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


def test_dropout(quick_experiment):
    out, r = quick_experiment("dropout")
    assert pngs(out) == ["rates.png"]
    inverted, unscaled = r["summary"]["inverted"], r["summary"]["unscaled"]
    assert set(inverted) == set(unscaled) == {"0.0", "0.5"}
    assert inverted["0.0"] == unscaled["0.0"]  # q = 0: the same network, trained once
    # one dropout layer in the quick MLP: test mode feeds the scores 1 / (1 - q) = 2 times more
    assert abs(inverted["0.5"]["activation_ratio_mean"] - 1) < 0.1
    assert abs(unscaled["0.5"]["activation_ratio_mean"] - 2) < 0.2
    (one,) = r["runs"]["unscaled"]["0.5"]
    assert one["gap"] == one["train_accuracy"] - one["val_accuracy"] and one["test_accuracy"] > 0.3
    # the paper's test rule is measured for the unscaled networks only, and it changes their scores
    assert "val_loss_scaled_for_test" not in r["runs"]["inverted"]["0.5"][0]
    assert one["val_loss_scaled_for_test"] != one["val_loss"]
    assert 0.3 < one["val_accuracy_scaled_for_test"] <= 1
    assert r["setup"]["dropout_layers"] == 1 and r["setup"]["recipe_drop_rate"] == 0.3


def test_unscaled_dropout_backward_equals_vjp_and_uses_fnn_dropouts_mask(x64):
    from experiments.dropout import unscaled_dropout
    from fnn import layers

    layer, key = unscaled_dropout(0.3), jax.random.key(3)
    x = jax.random.normal(jax.random.key(1), (6, 5))
    dy = jax.random.normal(jax.random.key(2), (6, 5))
    assert x.dtype == np.float64
    for train in (True, False):
        y, _, cache = layer.apply({}, {}, x, train=train, key=key)
        _, vjp = jax.vjp(lambda x, train=train: layer.apply({}, {}, x, train=train, key=key)[0], x)
        dx, dparams = layer.backward({}, cache, dy)
        np.testing.assert_allclose(dx, vjp(dy)[0], rtol=1e-12, atol=0)
        assert dparams == {}
    y, _, _ = layer.apply({}, {}, x, train=True, key=key)
    inverted, _, _ = layers.dropout(0.3).apply({}, {}, x, train=True, key=key)
    np.testing.assert_allclose(y, 0.7 * inverted, rtol=1e-12)  # same mask, no 1 / (1 - q)
    assert 0 < float((y == 0).mean()) < 1
    np.testing.assert_array_equal(layer.apply({}, {}, x, train=False)[0], x)
    with pytest.raises(ValueError, match="PRNG key"):
        layer.apply({}, {}, x, train=True)


def test_scaled_for_test_turns_an_unscaled_network_into_the_inverted_one(x64):
    """The section's claim: with W' = (1 - q) W after each dropout layer, an unscaled network computes
    what the inverted one computes, in both modes, and its weight gradient is (1 - q) times larger."""
    from fnn.losses import softmax_cross_entropy

    hidden, q = (12, 8), 0.4
    unscaled, inverted = dropout.mlp(hidden, q, "unscaled"), dropout.mlp(hidden, q, "inverted")
    _, params, state = unscaled.init(jax.random.key(0), (28, 28, 1))
    scaled = dropout.scaled_for_test(hidden, q, params)
    changed = [i for i, (a, b) in enumerate(zip(params, scaled)) if a is not b]
    assert changed == [4, 7]  # affine2 and scores: after a dropout
    x, labels = jax.random.normal(jax.random.key(1), (5, 28, 28, 1)), np.arange(5)
    key = jax.random.key(2)
    for train in (False, True):
        y_u = unscaled.apply(params if train else scaled, state, x, train=train, key=key)[0]
        y_i = inverted.apply(scaled, state, x, train=train, key=key)[0]
        np.testing.assert_allclose(y_u, y_i, rtol=1e-10)
    grads = {}
    for name, model, p in (("unscaled", unscaled, params), ("inverted", inverted, scaled)):
        scores, _, cache = model.apply(p, state, x, train=True, key=key)
        grads[name] = model.backward(p, cache, softmax_cross_entropy(scores, labels)[1])[1]
    for i in changed:
        np.testing.assert_allclose(grads["unscaled"][i]["W"], (1 - q) * grads["inverted"][i]["W"], rtol=1e-10)
        np.testing.assert_allclose(grads["unscaled"][i]["b"], grads["inverted"][i]["b"], rtol=1e-10)


def test_dropout_section_reads_its_numbers_and_follows_them(quick_experiment, check_section):
    out, r = quick_experiment("dropout")
    text = dropout.section(r)
    check_section(text, "dropout", out)
    (one,) = r["runs"]["inverted"]["0.5"]
    assert f"{100 * one['val_accuracy']:.2f} \\pm" in text  # numbers come from results.json
    same = copy.deepcopy(r)  # a gap that dropout does not change must not be called narrowed
    same["runs"]["inverted"]["0.5"][0]["gap"] = r["runs"]["inverted"]["0.0"][0]["gap"]
    assert "No drop rate narrows it" in dropout.section(same)
    narrowed = copy.deepcopy(r)
    narrowed["runs"]["inverted"]["0.5"][0]["gap"] = r["runs"]["inverted"]["0.0"][0]["gap"] - 0.02
    assert "Inverted dropout narrows it" in dropout.section(narrowed)
