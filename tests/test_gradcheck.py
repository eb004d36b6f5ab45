"""The registry: every constructor and loss has a case, and every case passes."""

import math

import jax
import jax.numpy as jnp
import pytest

import fnn
from fnn import gradcheck, layers, losses
from fnn.gradcheck import CASES, TOLERANCE, Case, run_case, table
from fnn.gradcheck.check import UNDEFINED
from fnn.layers.activations import ActivationCache
from fnn.layers.conv import auto_impl


def test_every_layer_and_loss_is_registered():
    registered = {case.constructor for case in CASES}
    assert set(layers.__all__) | set(losses.LOSSES) <= registered
    conv_impls = {case.kwargs.get("impl") for case in CASES if case.constructor == "conv2d"}
    assert conv_impls == {"auto", "direct", "im2col", "xla", "winograd"}


def test_auto_cases_cover_both_sides_of_its_rule():
    chosen = set()
    for case in CASES:
        if case.kwargs.get("impl") == "auto":
            (C_out, k), C_in = case.args, case.in_shape[2]
            chosen.add(auto_impl((k, k, C_in, C_out)))
    assert chosen == {"im2col", "xla"}


XLA_LABELS = ("eq:conv-dx-transposed", "eq:conv-dW-conv", "eq:conv-db")
IM2COL_LABELS = ("eq:conv-im2col-dW", "eq:conv-im2col-dx", "eq:conv-db")


def test_labels_come_from_the_backward_that_ran():
    """xla with a small patch runs (and cites) xla; auto cites the impl it chose."""
    small_xla = Case("conv2d", (3, (2, 3)), {"stride": 2, "padding": (1, 0), "impl": "xla"}, (7, 8, 2))
    assert small_xla in CASES
    assert run_case(small_xla, finite_differences=False).equations == XLA_LABELS
    auto = [case for case in CASES if case.kwargs.get("impl") == "auto"]
    by_impl = {auto_impl((c.args[1], c.args[1], c.in_shape[2], c.args[0])): c for c in auto}
    assert run_case(by_impl["im2col"], finite_differences=False).equations == IM2COL_LABELS
    assert run_case(by_impl["xla"], finite_differences=False).equations == XLA_LABELS
    bn_eval = Case("batch_norm", (), {}, (5,), batch=4, train=False)
    assert run_case(bn_eval, finite_differences=False).equations[-1] == "eq:bn-dx-eval"


def test_labels_are_the_layers_data_for_its_cache_not_its_docstrings():
    conv = layers.conv2d(2, 3, impl="auto")
    small = layers.conv2d(2, 3, impl="im2col").init(jax.random.key(0), (4, 4, 1))[1]
    x = jnp.zeros((1, 4, 4, 1))
    cache = jax.eval_shape(lambda p, x: conv.apply(p, {}, x)[2], small, x)
    assert gradcheck.equation_labels(conv, cache) == IM2COL_LABELS
    relu = layers.relu()
    relabelled = relu._replace(equations=((ActivationCache, ("eq:mine",)),))
    assert gradcheck.check_layer(relabelled, (3,), finite_differences=False).equations == ("eq:mine",)

    def backward(params, cache, dy):
        """Implements eq:relu-dx."""
        return relu.backward(params, cache, dy)

    hand_made = fnn.Layer("my_relu", relu.init, relu.apply, backward)  # declares no equations
    assert gradcheck.check_layer(hand_made, (3,), finite_differences=False).equations == ()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.constructor}{c.config()}")
def test_registered_case_passes_against_autodiff_and_finite_differences(case):
    report = run_case(case)
    assert report.equations, f"{case.constructor}: backward cites no equation label"
    assert all(e.finite_diff is not None for e in report.errors)
    assert report.max_error() < TOLERANCE, report


def test_a_wrong_backward_is_caught_by_both_witnesses():
    relu = layers.relu()
    wrong = relu._replace(backward=lambda params, cache, dy: (dy * (cache.x > 0) * 1.001, {}))
    report = gradcheck.check_layer(wrong, (3, 4))
    (error,) = report.errors
    assert error.autodiff > 1e-4 and error.finite_diff > 1e-4
    assert not report.ok()


def test_a_wrong_parameter_gradient_is_caught():
    affine = layers.affine(3)

    def backward(params, cache, dy):
        dx, dparams = affine.backward(params, cache, dy)
        return dx, {"W": dparams["W"], "b": 0.5 * dparams["b"]}

    report = gradcheck.check_layer(affine._replace(backward=backward), (4,))
    errors = {e.name: e for e in report.errors}
    assert errors["W"].autodiff < TOLERANCE and errors["b"].autodiff > 0.1


def test_init_out_shape_is_checked():
    relu = layers.relu()
    lying = relu._replace(init=lambda key, in_shape: ((99,), {}, {}))
    with pytest.raises(AssertionError, match="out_shape"):
        gradcheck.check_layer(lying, (3,))


def sqrt_affine(backward):
    """y = sqrt(x) W + b: NaN wherever x < 0, as half of gradcheck's inputs are."""

    def init(key, in_shape):
        return (3,), {"W": jax.random.normal(key, (in_shape[0], 3)), "b": jnp.zeros(3)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return jnp.sqrt(x) @ params["W"] + params["b"], state, x

    return fnn.Layer("sqrt_affine", init, apply, backward)


def test_a_forward_undefined_on_the_inputs_fails_whatever_the_backward():
    def constants(params, cache, dy):
        return jnp.ones_like(cache), {"W": jnp.ones_like(params["W"]), "b": dy.sum(axis=0)}  # db right

    report = gradcheck.check_layer(sqrt_affine(constants), (4,))
    assert not report.ok() and report.failure == UNDEFINED
    assert report.as_dict()["failure"] == UNDEFINED and not report.as_dict()["ok"]
    assert table.row(report, TOLERANCE).endswith(f"FAIL: {UNDEFINED}")


def test_a_nan_in_any_array_fails_the_check():
    """dx and dW right, and the true dc NaN (sqrt of a negative c): a NaN anywhere fails."""

    def init(key, in_shape):
        return (2,), {"W": jnp.ones((in_shape[0], 2)), "c": -jnp.ones(2)}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x @ params["W"] + jnp.sqrt(params["c"]), state, x

    def backward(params, cache, dy):
        return dy @ params["W"].T, {"W": cache.T @ dy, "c": jnp.zeros(2)}

    report = gradcheck.check_layer(fnn.Layer("sqrt_bias", init, apply, backward), (3,))
    errors = {e.name: e.autodiff for e in report.errors}
    assert errors["dx"] < TOLERANCE and errors["W"] < TOLERANCE and math.isnan(errors["c"])
    assert math.isnan(report.max_error()) and not report.ok()
    assert report.failure == UNDEFINED


def test_a_loss_undefined_on_the_scores_fails():
    def log_loss(scores, labels):  # log of negative scores: NaN
        return jnp.log(scores).sum(), 1 / scores

    report = gradcheck.check_loss(log_loss)
    assert report.failure == UNDEFINED and not report.ok() and report.equations == ()
    softmax = gradcheck.check_loss(losses.softmax_cross_entropy)
    assert (
        softmax.ok()
        and softmax.failure == ""
        and softmax.equations == losses.EQUATIONS[losses.softmax_cross_entropy]
    )
