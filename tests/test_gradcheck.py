"""The registry: every constructor and loss has a case, and every case passes."""

import jax
import jax.numpy as jnp
import pytest

from fnn import gradcheck, layers, losses
from fnn.gradcheck import CASES, TOLERANCE, Case, run_case
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


def test_backward_that_ran_follows_by_cache():
    conv = layers.conv2d(2, 3, impl="auto")
    small = layers.conv2d(2, 3, impl="im2col").init(jax.random.key(0), (4, 4, 1))[1]
    x = jnp.zeros((1, 4, 4, 1))
    cache = jax.eval_shape(lambda p, x: conv.apply(p, {}, x)[2], small, x)
    assert gradcheck.backward_that_ran(conv.backward, cache).__name__ == "im2col_backward"
    relu = layers.relu()
    assert gradcheck.backward_that_ran(relu.backward, None) is relu.backward


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
