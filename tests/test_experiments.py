"""Every experiment runs end to end with --quick and writes its figures and numbers."""

import json

import pytest

from experiments import report


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return root


def run_quick(name, root):
    import importlib

    out = importlib.import_module(f"experiments.{name}").main(["--quick", "--out", str(root / name)])
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["quick"] and "jax" in config and "device" in config
    assert results["quick"] is True
    return out, results


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


def test_mlp(quick_results):
    out, r = run_quick("mlp", quick_results)
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]
    assert r["test_accuracy"] > 0.8
    assert sum(map(sum, r["confusion"])) == r["test_size"]
    assert len(r["misclassified"]["index"]) == min(32, round(r["test_size"] * (1 - r["test_accuracy"])))


def test_cnn(quick_results):
    out, r = run_quick("cnn", quick_results)
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]
    assert r["test_accuracy"] > 0.8


def test_optimizers_momentum_beats_sgd_at_equal_budget(quick_results):
    out, r = run_quick("optimizers", quick_results)
    assert pngs(out) == ["loss.png", "lr_sweep.png"]
    assert set(r["runs"]) == {"sgd", "momentum", "nesterov", "rmsprop", "adam"}
    assert r["runs"]["momentum"]["final_loss"] < r["runs"]["sgd"]["final_loss"]


def test_losses(quick_results):
    out, r = run_quick("losses", quick_results)
    assert pngs(out) == ["curves.png"]
    assert r["softmax_cross_entropy"]["test_accuracy"] > 0.8 and r["multiclass_svm"]["test_accuracy"] > 0.8


def test_batch_norm_is_less_sensitive_to_init_scale(quick_results):
    out, r = run_quick("batch_norm", quick_results)
    assert pngs(out) == ["batch_size.png", "init_scale.png", "modes.png"]
    assert r["val_accuracy_spread_with_bn"] < r["val_accuracy_spread_without_bn"]
    modes = {k: v[-1] for k, v in r["modes"].items()}
    assert modes["train mode, batches of 1"] < 0.3 < modes["test mode (running statistics)"]


def test_gradients_below_tolerance(quick_results):
    out, r = run_quick("gradients", quick_results)
    assert pngs(out) == ["fd_step.png"]
    assert r["max_error"] < r["tolerance"]
    assert min(r["fd_error_float64"]) < min(r["fd_error_float32"])


def test_conv_speed(quick_results):
    out, r = run_quick("conv_speed", quick_results)
    assert pngs(out) == ["speed.png"]
    (row,) = r["rows"]
    assert row["xla_vs_xla_forward_backward"] == 1.0 and row["direct_forward_backward_ms"] > 0


def test_filters(quick_results):
    out, r = run_quick("filters", quick_results)
    assert pngs(out) == ["digit.png", "features_conv1.png", "features_conv2.png", "filters.png"]
    assert len(r["filters"]) == 32 and len(r["feature_maps"]["conv2"]) == 64


def test_report_collects_everything_and_lists_what_is_missing(quick_results, tmp_path):
    text, missing = report.build(quick_results, tmp_path / "REPORT.md")
    assert missing == []
    assert "Why momentum helps" in text and "running statistics" in text and "quick run" in text
    mlp = json.loads((quick_results / "mlp" / "results.json").read_text())
    assert f"{100 * mlp['test_accuracy']:.2f}%" in text  # numbers come from results.json
    empty = tmp_path / "empty"
    empty.mkdir()
    _, missing = report.build(empty, tmp_path / "R2.md")
    assert missing == list(report.EXPERIMENTS)


def test_activations(quick_results):
    out, r = run_quick("activations", quick_results)
    assert pngs(out) == ["accuracy.png", "dead_units.png", "grad_norms.png"]
    assert set(r["runs"]) == set(r["summary"]) == {"relu", "tanh"}
    (relu,) = r["runs"]["relu"]
    assert set(relu["grad_norm"]) == {"affine1", "affine2", "scores"}
    assert relu["steps"][0] == 0 and all(len(v) == len(relu["steps"]) for v in relu["grad_norm"].values())
    assert all(v > 0 for norms in relu["grad_norm"].values() for v in norms)
    assert set(relu["dead_fraction_end"]) == {"hidden1", "hidden2"}
    assert "dead_fraction" not in r["runs"]["tanh"][0]  # only for the ReLU-like activations
    assert r["summary"]["relu"]["test_accuracy_mean"] == relu["test_accuracy"] > 0.3


def test_activations_probe_sees_dead_units_and_their_zero_gradient():
    import jax
    import jax.numpy as jnp

    from experiments.activations import _probe
    from fnn import models

    model = models.mlp((8, 4))
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x, labels = jax.random.normal(jax.random.key(1), (16, 28, 28, 1)), jnp.arange(16) % 10
    norms, dead = _probe(model)(params, state, x, labels)
    assert float(norms.min()) > 0
    params = (params[0], {**params[1], "b": jnp.full(8, -1e3)}, *params[2:])  # every unit of hidden1 dies
    norms, dead = _probe(model)(params, state, x, labels)
    assert float(dead[0]) == 1.0 and float(norms[0]) == 0.0


def test_dropout(quick_results):
    out, r = run_quick("dropout", quick_results)
    assert pngs(out) == ["rates.png"]
    inverted, unscaled = r["summary"]["inverted"], r["summary"]["unscaled"]
    assert set(inverted) == set(unscaled) == {"0.0", "0.5"}
    assert inverted["0.0"] == unscaled["0.0"]  # q = 0: the same network, trained once
    # one dropout layer in the quick MLP: test mode feeds the scores 1 / (1 - q) = 2 times more
    assert abs(inverted["0.5"]["activation_ratio_mean"] - 1) < 0.1
    assert abs(unscaled["0.5"]["activation_ratio_mean"] - 2) < 0.2
    (one,) = r["runs"]["unscaled"]["0.5"]
    assert one["gap"] == one["train_accuracy"] - one["val_accuracy"] and one["test_accuracy"] > 0.3


def test_unscaled_dropout_backward_equals_vjp_and_uses_fnn_dropouts_mask(x64):
    import jax
    import numpy as np

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


def test_init_loss(quick_results):
    import math

    out, r = run_quick("init_loss", quick_results)
    assert pngs(out) == ["init_loss.png"]
    for model in ("mlp", "cnn"):
        small, he = r["measured"][model]["small"], r["measured"][model]["he"]
        assert abs(small["softmax_cross_entropy"]["mean"] - math.log(10)) < 1e-3  # scores ~ 0
        assert abs(small["multiclass_svm"]["mean"] - 9.0) < 1e-3
        assert len(he["softmax_cross_entropy"]["per_seed"]) == 2
        # He initialisation spreads the scores, which raises the softmax loss above ln 10
        assert he["softmax_cross_entropy"]["score_spread"] > 0.1
        assert math.log(10) < he["softmax_cross_entropy"]["mean"] < math.log(10) + 0.5
