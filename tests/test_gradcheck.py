"""The registry: every constructor and loss has a case, and every case passes."""

import pytest

from fnn import gradcheck, layers, losses
from fnn.gradcheck import CASES, TOLERANCE, run_case


def test_every_layer_and_loss_is_registered():
    registered = {case.constructor for case in CASES}
    assert set(layers.__all__) | set(losses.LOSSES) <= registered
    conv_impls = {case.kwargs.get("impl") for case in CASES if case.constructor == "conv2d"}
    assert conv_impls == {"direct", "im2col", "xla"}


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
