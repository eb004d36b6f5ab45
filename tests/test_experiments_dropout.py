"""experiments.dropout: the quick run and --replot, the unscaled layer, the paper's test rule,
and the claims flipping with their data."""

import copy

import jax
import numpy as np
import pytest

from experiments import dropout
from experiments.dropout import facts, run


def test_dropout_quick_run_replot_and_facts(quick_experiment):
    out, r = quick_experiment("dropout")
    assert sorted(p.name for p in out.glob("*.png")) == ["rates.png"]
    (out / "rates.png").unlink()
    dropout.main(["--replot", "--out", str(out)])
    assert (out / "rates.png").exists()
    inverted, unscaled = r["summary"]["inverted"], r["summary"]["unscaled"]
    assert set(inverted) == set(unscaled) == {"0.0", "0.5"}
    assert inverted["0.0"] == unscaled["0.0"]  # q = 0: the same network, trained once
    # one dropout layer in the quick MLP: test mode feeds the scores 1 / (1 - q) = 2 times more
    assert abs(inverted["0.5"]["activation_ratio_mean"] - 1) < 0.1
    assert abs(unscaled["0.5"]["activation_ratio_mean"] - 2) < 0.2
    (one,) = r["runs"]["unscaled"]["0.5"]
    assert "val_loss_scaled_for_test" not in r["runs"]["inverted"]["0.5"][0]
    assert one["val_loss_scaled_for_test"] != one["val_loss"]
    f = facts.facts(r)
    assert {"setup", "none", "q05"} <= set(f)


def test_unscaled_dropout_backward_equals_vjp_and_uses_fnn_dropouts_mask(x64):
    from fnn import layers

    layer, key = run.unscaled_dropout(0.3), jax.random.key(3)
    x = jax.random.normal(jax.random.key(1), (6, 5))
    dy = jax.random.normal(jax.random.key(2), (6, 5))
    for train in (True, False):
        _, _, cache = layer.apply({}, {}, x, train=train, key=key)
        _, vjp = jax.vjp(lambda x, train=train: layer.apply({}, {}, x, train=train, key=key)[0], x)
        dx, dparams = layer.backward({}, cache, dy)
        np.testing.assert_allclose(dx, vjp(dy)[0], rtol=1e-12, atol=0)
        assert dparams == {}
    y, _, _ = layer.apply({}, {}, x, train=True, key=key)
    inverted, _, _ = layers.dropout(0.3).apply({}, {}, x, train=True, key=key)
    np.testing.assert_allclose(y, 0.7 * inverted, rtol=1e-12)  # same mask, no 1 / (1 - q)
    np.testing.assert_array_equal(layer.apply({}, {}, x, train=False)[0], x)
    with pytest.raises(ValueError, match="PRNG key"):
        layer.apply({}, {}, x, train=True)


def test_scaled_for_test_turns_an_unscaled_network_into_the_inverted_one(x64):
    """With W' = (1 - q) W after each dropout layer, an unscaled network computes what the
    inverted one computes, in both modes, and its weight gradient is (1 - q) times larger."""
    from fnn.losses import softmax_cross_entropy

    hidden, q = (12, 8), 0.4
    unscaled, inverted = run.mlp(hidden, q, "unscaled"), run.mlp(hidden, q, "inverted")
    _, params, state = unscaled.init(jax.random.key(0), (28, 28, 1))
    scaled = run.scaled_for_test(hidden, q, params)
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


def _run(test, val=0.95, gap=0.04, loss=0.15, ratio=1.0, rule=None):
    record = {
        "test_accuracy": test,
        "val_accuracy": val,
        "gap": gap,
        "val_loss": loss,
        "activation_ratio": ratio,
        "train_accuracy": val + gap,
    }
    if rule is not None:
        record["val_loss_scaled_for_test"] = rule
    return record


def _results(gain_q03=(0.0015, 0.0013, 0.0011), unscaled_q05=(-0.016, -0.017, -0.015)):
    base = [0.962, 0.964, 0.9625]
    runs = {"inverted": {}, "unscaled": {}}
    runs["inverted"]["0.0"] = runs["unscaled"]["0.0"] = [_run(b) for b in base]
    gains = {"0.1": (0.0015, -0.0005, 0.002), "0.3": gain_q03, "0.5": (-0.001, -0.0012, -0.0015)}
    for q, g in gains.items():
        runs["inverted"][q] = [_run(b + d, ratio=0.9) for b, d in zip(base, g)]
        runs["unscaled"][q] = [_run(b - 0.004, loss=0.25, ratio=1.9, rule=0.16) for b in base]
    runs["unscaled"]["0.5"] = [
        _run(b + d, loss=0.5, ratio=3.6, rule=0.19) for b, d in zip(base, unscaled_q05)
    ]
    setup = {
        "seeds": [0, 1, 2],
        "epochs": 10,
        "train_size": 10000,
        "hidden": [512, 256],
        "dropout_layers": 2,
        "recipe_drop_rate": 0.3,
    }
    return {"setup": setup, "runs": runs}


def _claims(results):
    f = facts.facts(results)
    return {name: claim(f) for name, claim in facts.CLAIMS.items()}


def test_dropout_claims_hold_on_constructed_results():
    c = _claims(_results())
    assert all(c.values()), c


def test_low_and_high_rate_claims_flip():
    r = _results()  # q = 0.1 gains reliably, q = 0.5 has no reliable effect
    r["runs"]["inverted"]["0.1"] = [
        _run(b + d, ratio=0.9) for b, d in zip([0.962, 0.964, 0.9625], (0.0015, 0.001, 0.002))
    ]
    r["runs"]["inverted"]["0.5"] = [
        _run(b + d, ratio=0.9) for b, d in zip([0.962, 0.964, 0.9625], (-0.001, 0.0002, -0.002))
    ]
    c = _claims(r)
    assert not c["q01_no_reliable_difference"] and not c["q05_worse"]


def test_gain_claims_flip():
    c = _claims(_results(gain_q03=(0.0015, -0.0002, 0.0011)))
    assert not c["gain_q03_every_seed"] and not c["gain_q03_reliable"]
    c = _claims(_results(gain_q03=(0.0015, 0.0001, 0.0030)))  # every seed up, interval reaches 0
    assert c["gain_q03_every_seed"] and not c["gain_q03_reliable"]
    assert not _claims(_results(gain_q03=(0.01, 0.011, 0.012)))["gain_small"]


def test_unscaled_claims_flip():
    r = _results(unscaled_q05=(-0.001, 0.002, -0.0005))
    assert not _claims(r)["unscaled_loses_at_q05"]
    r2 = copy.deepcopy(_results())
    for record in r2["runs"]["unscaled"]["0.5"]:
        record["activation_ratio"], record["val_loss_scaled_for_test"] = 2.0, 0.45
    for record in r2["runs"]["inverted"]["0.5"]:
        record["activation_ratio"] = 1.5
    c = _claims(r2)
    assert not (
        c["unscaled_ratio_near_all_layers"]
        or c["inverted_ratio_near_one"]
        or c["test_rule_recovers_most_loss"]
    )
