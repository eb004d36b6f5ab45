"""fnn.checks: each check returns the normal form of a good value and refuses a bad one with a
ValueError (TypeError for params) naming the owner, the argument and the value; never a bool."""

import math
import re

import pytest

from fnn import checks


def refused(check, *args, owner="conv1", what="stride", value, **kwargs):
    """Assert that check(owner, what, value, ...) raises ValueError naming owner, what and value."""
    with pytest.raises(ValueError, match=rf"^{owner}: {re.escape(what)} .*got {re.escape(repr(value))}$"):
        check(owner, what, value, *args, **kwargs)


def test_positive_int():
    assert checks.positive_int("conv1", "out_channels", 3) == 3
    assert checks.positive_int("conv1", "padding", 0, minimum=0) == 0
    for bad in (0, -2, 2.0, "3", None, True):
        refused(checks.positive_int, what="out_channels", value=bad)
    refused(checks.positive_int, what="padding", value=-1, minimum=0)


def test_int_pair():
    assert checks.int_pair("conv1", "kernel_size", 3) == (3, 3)
    assert checks.int_pair("conv1", "kernel_size", [2, 3]) == (2, 3)
    assert checks.int_pair("conv1", "padding", (0, 1), minimum=0) == (0, 1)
    for bad in (0, -1, 1.5, (1, 2, 3), (2, 0), (2, True), True, "3", None):
        refused(checks.int_pair, what="kernel_size", value=bad)
    refused(checks.int_pair, what="padding", value=(0, -1), minimum=0)


def test_number_and_its_bounds():
    assert checks.number("elu", "alpha", 2) == 2.0 and isinstance(checks.number("elu", "alpha", 2), float)
    assert checks.number("bn", "momentum", 0.0, low=0.0, high=1.0) == 0.0
    assert checks.number("bn", "momentum", 1.0, low=0.0, high=1.0) == 1.0
    for bad in (True, False, math.nan, math.inf, "1", None):
        refused(checks.number, owner="elu", what="alpha", value=bad)
    refused(checks.number, owner="bn", what="eps", value=0.0, low=0.0, low_open=True)
    refused(checks.number, owner="bn", what="momentum", value=1.5, low=0.0, high=1.0)
    refused(checks.number, owner="sgd", what="lr", value=1.0, high=1.0, high_open=True)
    refused(checks.number, owner="elu", what="alpha", value=-0.5, low=0.0)


def test_probability_is_in_zero_one_half_open():
    assert checks.probability("dropout", "drop_rate", 0) == 0.0
    assert checks.probability("dropout", "drop_rate", 0.5) == 0.5
    for bad in (1.0, -0.1, True, math.nan, "0.5"):
        refused(checks.probability, owner="dropout", what="drop_rate", value=bad)


def test_optional_positive():
    assert checks.optional_positive("affine", "weight_scale", None) is None
    assert checks.optional_positive("affine", "weight_scale", 1e-3) == 1e-3
    for bad in (0, -1.0, True, math.inf, "1"):
        refused(checks.optional_positive, owner="affine", what="weight_scale", value=bad)


def test_one_of():
    assert checks.one_of("conv1", "impl", "xla", ("auto", "xla")) == "xla"
    with pytest.raises(ValueError, match=r"conv1: impl must be one of \('auto', 'xla'\), got 'fft'"):
        checks.one_of("conv1", "impl", "fft", ("auto", "xla"))


def test_flag_is_a_bool_and_nothing_else():
    assert checks.flag("batch_norm", "unbiased_running_var", False) is False
    for value in (0, 1, "False", None):
        refused(checks.flag, owner="batch_norm", what="unbiased_running_var", value=value)


def test_params_keys_raises_type_error_naming_the_owner():
    checks.params_keys("affine", {"W": 1, "b": 2}, ("W", "b"))
    checks.params_keys("relu", {}, ())
    with pytest.raises(TypeError, match=r"affine: params must be a dict with keys \['W', 'b'\], got \['W'\]"):
        checks.params_keys("affine", {"W": 1}, ("W", "b"))
    with pytest.raises(TypeError, match="affine: .* got tuple"):
        checks.params_keys("affine", (1, 2), ("W", "b"))


def test_shape_names_the_owner_the_array_and_both_shapes():
    assert checks.shape("conv1", "dy", (2, 6, 6, 4), [2, 6, 6, 4]) == (2, 6, 6, 4)
    message = "conv1: params['W'] has shape (5, 5, 1, 32), expected (3, 3, 1, 32) (kernel 3x3)"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checks.shape("conv1", "params['W']", (5, 5, 1, 32), (3, 3, 1, 32), "kernel 3x3")
    with pytest.raises(ValueError, match=r"^fc1: dy has shape \(2, 4\), expected \(2, 3\)$"):
        checks.shape("fc1", "dy", (2, 4), (2, 3))
    with pytest.raises(ValueError, match=r"expected \(3,\)"):  # a rank difference is a mismatch
        checks.shape("bn1", "params['gamma']", (1, 3), (3,))


def test_floating_returns_the_compute_dtype_and_refuses_the_rest():
    import jax.numpy as jnp
    import numpy as np

    for dtype in (jnp.float16, jnp.bfloat16, jnp.float32):
        assert checks.floating("relu", "x", jnp.zeros(2, dtype)) == dtype
    assert checks.floating("relu", "x", np.zeros(2)) == jnp.float32  # float64 without x64
    for bad in (jnp.zeros(2, jnp.int32), np.zeros(2, bool), [1.0, 2.0]):
        with pytest.raises(ValueError, match=r"^relu: x must have a floating dtype .*got (int32|bool|list)"):
            checks.floating("relu", "x", bad)


def test_layer_inputs_checks_params_against_the_spec_and_casts_to_x_dtype():
    import jax.numpy as jnp
    import numpy as np

    spec = {"W": ((4, 3), "4 input features in x, 3 outputs"), "b": ((3,), "one per output")}
    good = {"W": np.ones((4, 3)), "b": jnp.zeros(3)}
    params, x = checks.layer_inputs("fc1", good, spec, jnp.ones((2, 4), jnp.float16))
    assert params["W"].dtype == params["b"].dtype == x.dtype == jnp.float16
    params, x = checks.layer_inputs("bn1", good, spec, jnp.ones((2, 4), jnp.float16), at_least=jnp.float32)
    assert params["W"].dtype == x.dtype == jnp.float32
    message = "fc1: params['W'] has shape (4, 2), expected (4, 3) (4 input features in x, 3 outputs)"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checks.layer_inputs("fc1", {**good, "W": np.ones((4, 2))}, spec, jnp.ones((2, 4)))
    with pytest.raises(TypeError, match=r"^fc1: params must be a dict with keys \['W', 'b'\], got \['W'\]$"):
        checks.layer_inputs("fc1", {"W": good["W"]}, spec, jnp.ones((2, 4)))
    with pytest.raises(ValueError, match=r"^fc1: x must have a floating dtype .*got int32"):
        checks.layer_inputs("fc1", good, spec, jnp.ones((2, 4), jnp.int32))
    assert checks.layer_inputs("relu", {}, {}, np.ones(2))[0] == {}


def test_tree_names_what_it_checks():
    import jax.numpy as jnp

    spec = {"mean": ((3,), "one per feature"), "var": ((3,), "one per feature")}
    checks.tree("bn1", "state", {"mean": jnp.zeros(3), "var": jnp.ones(3)}, spec)
    with pytest.raises(
        TypeError, match=r"^bn1: state must be a dict with keys \['mean', 'var'\], got \['mean'\]$"
    ):
        checks.tree("bn1", "state", {"mean": jnp.zeros(3)}, spec)
    with pytest.raises(ValueError, match=r"^bn1: state\['var'\] has shape \(4,\), expected \(3,\) \(one per"):
        checks.tree("bn1", "state", {"mean": jnp.zeros(3), "var": jnp.ones(4)}, spec)


def test_cotangent_checks_the_shape_of_dy_and_casts_it():
    import jax.numpy as jnp
    import numpy as np

    assert checks.cotangent("fc1", np.ones((2, 3)), (2, 3), jnp.float16).dtype == jnp.float16
    with pytest.raises(ValueError, match=r"^fc1: dy has shape \(2, 4\), expected \(2, 3\) \(the output\)$"):
        checks.cotangent("fc1", np.ones((2, 4)), (2, 3), jnp.float32, "the output")
