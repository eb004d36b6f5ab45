"""fnn.gradcheck.compare: someone's own layer, loss or optimizer against fnn's, case by case, on
fnn's params; a wrong forward, a wrong init and a wrong state are findings of their own, a wrong
gradient is diagnosed by the doctor, a wrong update named by what it is."""

import json
from typing import NamedTuple

import jax
import jax.numpy as jnp
import pytest

from fnn import Layer, gradcheck, layers, losses, optim


def tanh_posing_as_sigmoid():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.tanh(x)
        return y, state, y

    def backward(params, y, dy):
        return dy * (1 - y * y), {}

    return Layer("my_sigmoid", init, apply, backward)


def test_a_tanh_posing_as_a_sigmoid_has_a_wrong_forward_and_a_consistent_backward():
    comparison = gradcheck.compare(tanh_posing_as_sigmoid, "sigmoid")
    assert not comparison.ok and comparison.like == "sigmoid"
    ((forward, dx),) = [c.findings for c in comparison.cases]
    assert (forward.array, forward.kind) == ("y", "forward")
    assert forward.detail.startswith("apply differs from fnn's sigmoid: max relative error")
    assert "it computes fnn's tanh(): a tanh posing as a sigmoid?" in forward.detail
    assert (dx.array, dx.kind) == ("dx", "ok")  # against autodiff of its own apply
    assert comparison.max_error() > 0.1


def test_fnns_own_layers_losses_and_optimizers_agree_with_themselves():
    for name in ("affine", "relu", "max_pool2d", "batch_norm", "softmax_cross_entropy", "momentum"):
        kind = gradcheck.reference_kind(name)
        make = {"layer": getattr(layers, name, None), "loss": losses.LOSSES.get(name)}.get(kind)
        comparison = gradcheck.compare(make or optim.OPTIMIZERS[name], name)
        assert comparison.ok, str(comparison)
        assert len(comparison.cases) == len(gradcheck.reference_cases(name))
        assert comparison.max_error() < 1e-9


def test_the_students_init_may_draw_otherwise_but_must_shape_alike():
    def zeros_init(*args, **kwargs):
        affine = layers.affine(*args, **kwargs)

        def init(key, in_shape):
            out_shape, params, state = affine.init(key, in_shape)
            return out_shape, jax.tree.map(jnp.zeros_like, params), state

        return affine._replace(init=init)

    assert gradcheck.compare(zeros_init, "affine").ok  # every case runs on fnn's params

    comparison = gradcheck.compare(lambda *args, **kwargs: layers.affine(4), "affine")
    finding = comparison.cases[0].findings[0]
    assert (finding.array, finding.kind) == ("init", "init")
    assert finding.detail == (
        "init returns params {'W': (4, 4), 'b': (4,)}; fnn's affine has {'W': (4, 5), 'b': (5,)} for in_shape (4,)"
    )
    assert comparison.max_error() is None


def test_a_wrong_running_statistic_is_a_wrong_forward():
    comparison = gradcheck.compare(lambda *args, **kwargs: layers.batch_norm(0.8), "batch_norm")
    verdicts = [(c.case.train, c.ok) for c in comparison.cases]
    assert verdicts == [(True, False), (False, True), (True, False), (False, True), (True, False)]
    forward = comparison.cases[0].findings[0]
    assert forward.kind == "forward" and "y agrees, but apply's new state 'mean' differs" in forward.detail


def test_a_wrong_gradient_is_diagnosed_against_fnns_forward():
    def averaged_twice(*args, **kwargs):
        affine = layers.affine(*args, **kwargs)

        def backward(params, cache, dy):
            dx, grads = affine.backward(params, cache, dy)
            return dx, {"W": grads["W"] / dy.shape[0], "b": grads["b"]}

        return affine._replace(backward=backward)

    comparison = gradcheck.compare(averaged_twice, "affine")
    kinds = [[(f.array, f.kind) for f in c.findings] for c in comparison.cases]
    assert kinds == [[("y", "ok"), ("dx", "ok"), ("W", "scale"), ("b", "ok")]] * 2
    assert "is the batch size N" in comparison.cases[0].findings[2].detail
    assert comparison.cases[0].diagnosis is not None


def test_a_loss_is_called_as_fnns_and_its_gradient_is_dscores():
    def summed(scores, labels):
        loss, dscores = losses.softmax_cross_entropy(scores, labels)
        return loss, dscores * scores.shape[0]

    (case,) = gradcheck.compare(summed, "softmax_cross_entropy").cases
    assert [(f.array, f.kind) for f in case.findings] == [("loss", "ok"), ("dscores", "scale")]
    assert case.findings[1].detail.startswith("dscores is 4 times the true gradient")

    def svm_with_margin(scores, labels, margin=1.0):
        return losses.multiclass_svm(scores, labels, margin)

    (case,) = gradcheck.compare(svm_with_margin, "softmax_cross_entropy").cases
    assert (
        case.findings[0].kind == "forward" and "it computes fnn's multiclass_svm()" in case.findings[0].detail
    )
    assert gradcheck.compare(svm_with_margin, "multiclass_svm").ok  # margin=0.5 reaches it


def negated(lr):
    sgd = optim.sgd(lr)

    def update(grads, state, params=None):
        updates, state = sgd.update(grads, state, params)
        return jax.tree.map(lambda u: -u, updates), state

    return sgd.init, update


def test_an_optimizers_updates_are_named_by_what_they_are():
    kinds = {f.kind for c in gradcheck.compare(negated, "sgd").cases for f in c.findings}
    assert kinds == {"sign"}
    halved = gradcheck.compare(lambda lr: optim.sgd(lr / 2), "sgd")
    assert {f.detail for f in halved.cases[0].findings} == {
        "the update of W is 0.5 times fnn's sgd(0.1)'s",
        "the update of b is 0.5 times fnn's sgd(0.1)'s",
    }
    forgetful = gradcheck.compare(lambda lr, mu=0.9: optim.sgd(lr), "momentum")
    finding = forgetful.cases[0].findings[0]
    assert finding.kind == "mismatch" and "from step 2 of 3 on" in finding.detail
    assert gradcheck.compare(lambda lr, mu=0.9: optim.momentum(lr, mu), "momentum").ok


def test_what_compare_refuses():
    with pytest.raises(ValueError, match="no registered cases for 'serial'; the names are affine, relu"):
        gradcheck.compare(layers.relu, "serial")
    with pytest.raises(TypeError, match=r"relu\(\) on \(3, 4, 2\) eval: got a int, not a Layer"):
        gradcheck.compare(lambda: 3, "relu")
    with pytest.raises(TypeError, match=r"sgd\(0.1\): got a str, not \(init, update\)"):
        gradcheck.compare(lambda lr: "sgd", "sgd")
    names = gradcheck.reference_names()
    assert set(names) == {c.constructor for c in gradcheck.CASES} | set(optim.OPTIMIZERS)


class ModeCache(NamedTuple):
    x: jax.Array
    mode: str  # no array: fine inside jit, where the cache stays


def test_a_nan_gradient_and_a_cache_holding_no_array_still_give_json():
    relu = layers.relu()

    def nan_relu():
        def apply(params, state, x, *, train=False, key=None):
            return jax.nn.relu(x), state, ModeCache(x, "eval")

        def backward(params, cache, dy):
            return dy * jnp.nan, {}

        return relu._replace(apply=apply, backward=backward)

    comparison = gradcheck.compare(nan_relu, "relu")
    assert [f.kind for f in comparison.cases[0].findings] == ["ok", "mismatch"]
    text = json.dumps(comparison.as_dict(), allow_nan=False)  # NaN is null, never NaN
    assert json.loads(text)["max_rel_error"] is None
