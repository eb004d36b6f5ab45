"""experiments.conv_speed: naive loop vs im2col vs xla and fnn's other impls (--quick)."""

import copy
import re

import jax
import numpy as np
import pytest

from experiments import conv_speed
from fnn import layers


def test_every_impl_and_kind_is_timed_with_its_spread(quick_experiment):
    out, r = quick_experiment("conv_speed")
    assert sorted(p.name for p in out.glob("*.png")) == ["speed.png"]
    assert r["impls"][0] == "naive" and {"direct", "im2col", "xla"} <= set(r["impls"])
    (row,) = r["rows"]
    for impl in r["impls"]:
        for kind in conv_speed.KINDS:
            low, high = row[f"{impl}_{kind}_iqr_ms"]
            assert 0 < low <= row[f"{impl}_{kind}_ms"] <= high
            assert len(row["times_ms"][f"{impl}_{kind}"]) == conv_speed.QUICK["repeats"]
    assert row["naive_vs_xla_difference"] < 1e-5


def test_column_matrix_is_nine_times_the_input(quick_experiment):
    _, r = quick_experiment("conv_speed")
    (row,) = r["rows"]
    assert row["im2col_bytes"] == 9 * row["input_bytes"] and row["im2col_ratio"] == 9
    assert row["input_bytes"] == 4 * row["batch"] * row["size"] ** 2 * r["c_in"]


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_naive_loop_is_the_convolution(stride, padding):
    layer = layers.conv2d(4, (3, 2), stride=stride, padding=padding, impl="xla")
    _, params, _ = layer.init(jax.random.key(0), (7, 6, 3))
    params["b"] = params["b"] + 0.5
    x = jax.random.normal(jax.random.key(1), (2, 7, 6, 3))
    y, _, cache = layer.apply(params, {}, x)
    dy = jax.random.normal(jax.random.key(2), y.shape)
    dx, dparams = layer.backward(params, cache, dy)
    s, p = (stride, stride), (padding, padding)
    np.testing.assert_allclose(conv_speed.naive_forward(params, x, s=s, p=p), y, rtol=1e-5, atol=1e-5)
    ndx, ndparams = conv_speed.naive_backward(params, x, dy, s=s, p=p)
    np.testing.assert_allclose(ndx, dx, rtol=1e-5, atol=1e-5)
    for key in ("W", "b"):
        np.testing.assert_allclose(ndparams[key], dparams[key], rtol=1e-5, atol=1e-5)


def test_section_labels_and_data_driven_sentences(quick_experiment):
    _, r = quick_experiment("conv_speed")
    text = conv_speed.section(r)
    assert text.startswith("\\section{") and "\\label{sec:exp-conv_speed}" in text
    labels = set(re.findall(r"\\label\{([^}]*)\}", text))
    refs = set(re.findall(r"\\ref\{([^}]*)\}", text)) - {"sec:exp-im2col"}
    wanted = {"fig:conv_speed-speed", "tab:conv-speed-forward", "tab:conv-speed-forward-backward"}
    assert wanted | {"tab:conv-speed-memory"} <= labels and wanted <= refs <= labels
    prose = re.sub(r"\$[^$]*\$|\\(label|ref|includegraphics)(\[[^]]*\])?\{[^}]*\}", "", text)
    assert not re.search(r"(?<!\\)[_%#]", prose)  # escaped outside math
    assert text.count("$") % 2 == 0
    slow, fast = copy.deepcopy(r), copy.deepcopy(r)
    for kind in conv_speed.KINDS:
        slow["rows"][0][f"naive_{kind}_ms"] = 10 * r["rows"][0][f"im2col_{kind}_ms"]
        fast["rows"][0][f"naive_{kind}_ms"] = 0.5 * r["rows"][0][f"im2col_{kind}_ms"]
    assert "takes 10 times as long as im2col" in conv_speed.section(slow)
    assert "not slower everywhere" in conv_speed.section(fast)


def test_im2col_against_direct_explains_only_a_slowdown_beyond_the_spread(quick_experiment):
    _, r = quick_experiment("conv_speed")
    r = copy.deepcopy(r)
    row = r["rows"][0]
    for kind in conv_speed.KINDS:  # im2col twice as fast as direct, the ranges apart
        row[f"direct_{kind}_ms"] = 2 * row[f"im2col_{kind}_ms"]
        row[f"direct_{kind}_iqr_ms"] = [2 * v for v in row[f"im2col_{kind}_iqr_ms"]]
    text = conv_speed.section(r)
    assert "forward is faster in the one configuration, beyond the spread" in text
    assert "column matrix is the likely cost" not in text and "in every one" not in text
    for kind in conv_speed.KINDS:  # im2col twice as slow
        row[f"direct_{kind}_ms"] = row[f"im2col_{kind}_ms"] / 2
        row[f"direct_{kind}_iqr_ms"] = [v / 4 for v in row[f"im2col_{kind}_iqr_ms"]]
    text = conv_speed.section(r)
    assert "forward is slower in the one configuration, beyond the spread" in text
    assert "column matrix is the likely cost" in text
