"""experiments.conv_speed: the compiled naive loop, the pure-Python loop, im2col, xla and fnn's
other impls (--quick); the facts, and each claim flipping on constructed results. No test
asserts on a measured timing: they are noisy on a shared machine."""

import copy

import jax
import numpy as np
import pytest

from experiments.conv_speed import facts, run
from fnn import layers


def test_every_impl_and_kind_is_timed_with_its_spread(quick_experiment):
    out, r = quick_experiment("conv_speed")
    assert sorted(p.name for p in out.glob("*.png")) == ["speed.png"]
    assert r["impls"][0] == "naive" and {"direct", "im2col", "xla"} <= set(r["impls"])
    (row,) = r["rows"]
    for impl in r["impls"]:
        for kind in run.KINDS:
            low, high = row[f"{impl}_{kind}_iqr_ms"]
            assert 0 < low <= row[f"{impl}_{kind}_ms"] <= high
            assert len(row["times_ms"][f"{impl}_{kind}"]) == run.QUICK["repeats"]
    assert row["naive_vs_xla_difference"] < 1e-5
    loop = r["python_loop"]
    assert set(loop["forward"]) == {"python_loop", *r["impls"]}
    assert all(len(e["times_ms"]) == run.QUICK["loop_repeats"] for e in loop["forward"].values())
    assert loop["python_vs_xla_difference"] < 1e-5


def test_replot_and_facts_on_the_quick_run(quick_experiment):
    from experiments import conv_speed

    out, r = quick_experiment("conv_speed")
    (out / "speed.png").unlink()
    conv_speed.main(["--replot", "--out", str(out)])
    assert (out / "speed.png").is_file()
    f = facts.facts(r)
    assert len(f["table_forward"].rows) == len(r["rows"]) and len(f["table_forward"].columns) == 2 + len(
        r["impls"]
    )
    assert f["python_loop"]["size"] == run.Config().loop_size
    assert all(claim(f) in (True, False) for claim in facts.CLAIMS.values())


def test_column_matrix_is_nine_times_the_input(quick_experiment):
    _, r = quick_experiment("conv_speed")
    (row,) = r["rows"]
    assert row["im2col_bytes"] == 9 * row["input_bytes"] and row["im2col_ratio"] == 9
    assert row["input_bytes"] == 4 * row["batch"] * row["size"] ** 2 * r["c_in"]


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_naive_loops_are_the_convolution(stride, padding):
    layer = layers.conv2d(4, (3, 2), stride=stride, padding=padding, impl="xla")
    _, params, _ = layer.init(jax.random.key(0), (7, 6, 3))
    params["b"] = params["b"] + 0.5
    x = jax.random.normal(jax.random.key(1), (2, 7, 6, 3))
    y, _, cache = layer.apply(params, {}, x)
    dy = jax.random.normal(jax.random.key(2), y.shape)
    dx, dparams = layer.backward(params, cache, dy)
    s, p = (stride, stride), (padding, padding)
    np.testing.assert_allclose(run.naive_forward(params, x, s=s, p=p), y, rtol=1e-5, atol=1e-5)
    ndx, ndparams = run.naive_backward(params, x, dy, s=s, p=p)
    np.testing.assert_allclose(ndx, dx, rtol=1e-5, atol=1e-5)
    for key in ("W", "b"):
        np.testing.assert_allclose(ndparams[key], dparams[key], rtol=1e-5, atol=1e-5)
    W, b = np.asarray(params["W"]), np.asarray(params["b"])
    y_loop = run.python_loop_forward(W, b, np.asarray(x), s=stride, p=padding)
    np.testing.assert_allclose(y_loop, y, rtol=1e-5, atol=1e-5)


IMPLS = ["naive", "direct", "im2col", "xla", "winograd"]
TIMES = {"naive": 50.0, "direct": 6.0, "im2col": 5.0, "xla": 2.0, "winograd": 4.5}  # ms, constructed


def _row(size, batch, scale=1.0):
    row = {
        "size": size,
        "batch": batch,
        "input_bytes": 4 * batch * size * size * 32,
        "naive_vs_xla_difference": 1e-7,
    }
    row["im2col_bytes"] = 9 * row["input_bytes"]
    row["im2col_ratio"] = 9.0
    for impl in IMPLS:
        for kind in run.KINDS:
            t = scale * TIMES[impl] * (2 if kind == "forward_backward" else 1)
            row[f"{impl}_{kind}_ms"] = t
            row[f"{impl}_{kind}_iqr_ms"] = [0.9 * t, 1.1 * t]
            row[f"{impl}_{kind}_temp_bytes"] = (3 if impl == "im2col" else 1) * row["input_bytes"]
    return row


@pytest.fixture
def results():
    """Constructed results on which every claim holds (the shape of run.run's output)."""
    loop = {name: 0.01 * TIMES[name] for name in IMPLS} | {"python_loop": 5.0}
    small = _row(7, 32)
    for kind in run.KINDS:  # Winograd slower than im2col on the small layer, faster on the large one
        small[f"winograd_{kind}_ms"] = 1.2 * small[f"im2col_{kind}_ms"]
    return {
        "rows": [small, _row(28, 128, scale=16.0)],
        "impls": IMPLS,
        "backend": "cpu",
        "device": {"backend": "cpu", "cpu": "a CPU", "cores": 2},
        "c_in": 32,
        "c_out": 64,
        "kernel": 3,
        "repeats": 7,
        "warmup": 2,
        "python_loop": {
            "size": 8,
            "batch": 2,
            "c_in": 3,
            "c_out": 4,
            "repeats": 7,
            "python_vs_xla_difference": 1e-7,
            "forward": {
                n: {"median_ms": t, "iqr_ms": [0.9 * t, 1.1 * t], "times_ms": [t]} for n, t in loop.items()
            },
        },
    }


def test_facts_and_claims_hold_on_their_data(results):
    f = facts.facts(results)
    assert f["naive_over_im2col"]["forward"]["min"] == 10 and f["largest"]["xla_lead"]["forward"] == 2.25
    assert f["python_loop"]["over"]["naive"] == 10 and f["python_loop"]["over_min"] == 10
    assert {name: claim(f) for name, claim in facts.CLAIMS.items()} == dict.fromkeys(facts.CLAIMS, True)


def _set_time(impl, factor, kinds=run.KINDS, row=-1):
    def edit(r):
        for kind in kinds:
            r["rows"][row][f"{impl}_{kind}_ms"] *= factor

    return edit


@pytest.mark.parametrize(
    "claim, edit",
    [
        ("naive_slowest_by_far", _set_time("naive", 0.2, ("forward",), row=0)),  # 10 ms against direct's 6 ms
        ("naive_agrees_with_xla", lambda r: r["rows"][0].update(naive_vs_xla_difference=1e-2)),
        ("xla_fastest_at_largest", _set_time("xla", 2.1, ("forward_backward",))),  # winograd ahead
        ("xla_fastest_at_largest", _set_time("xla", 1.9, ("forward",))),  # ahead by under 1.25 only
        ("im2col_within_3x_of_xla", _set_time("im2col", 1.5, ("forward_backward",))),
        ("winograd_within_2_5x_of_im2col", _set_time("winograd", 0.3, row=0)),
        ("columns_nine_times_input", lambda r: r["rows"][0].update(im2col_ratio=4.0)),
        (
            "im2col_needs_more_temporaries",
            lambda r: r["rows"][1].update(im2col_forward_backward_temp_bytes=r["rows"][1]["input_bytes"]),
        ),
        (
            "python_loop_slowest",
            lambda r: r["python_loop"]["forward"]["python_loop"].update(median_ms=0.06),
        ),
        ("python_loop_agrees", lambda r: r["python_loop"].update(python_vs_xla_difference=0.1)),
    ],
)
def test_each_claim_flips_with_its_data(results, claim, edit):
    broken = copy.deepcopy(results)
    edit(broken)
    assert facts.CLAIMS[claim](facts.facts(broken)) is False
