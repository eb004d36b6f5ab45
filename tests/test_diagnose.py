"""The gradient doctor: every correct registered case is "ok", and each kind of broken backward
is named for what it is.

Each broken layer is one of fnn's own with its real backward wrapped: the wrapper calls it
and corrupts the result the way a learner's bug would (a factor N, a sign, swapped axes, one
example's contribution, overlapping windows written over, a padding band, a few elements,
noise, a missing key). The doctor sees only the Layer, not these names or comments.
"""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from matplotlib.figure import Figure

from fnn import layers
from fnn.gradcheck import CASES, KINDS, diagnose, diagnose_case, error_figure, loss_as_layer
from fnn.im2col import col2im, offset_slices
from fnn.layer import Layer


def broken(layer, corrupt):
    """`layer` whose backward returns corrupt(dx, dparams, params, cache, dy) of the real one."""

    def backward(params, cache, dy):
        dx, dparams = layer.backward(params, cache, dy)
        return corrupt(dx, dparams, params, cache, dy)

    return Layer("mystery", layer.init, layer.apply, backward)  # no name to go by


def col2im_overwriting(cols, in_shape, k, s, p):
    """fnn.im2col.col2im with `=` for `+=`: where windows overlap, the last one written wins."""
    N, H_in, W_in, C = in_shape
    H_out, W_out = cols.shape[1:3]
    cols = cols.reshape(N, H_out, W_out, k[0] * k[1], C)
    xp = jnp.zeros((N, H_in + 2 * p[0], W_in + 2 * p[1], C), cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            rows, columns = offset_slices(i, j, s, (H_out, W_out))
            xp = xp.at[:, rows, columns, :].set(cols[:, :, :, i * k[1] + j, :])
    return xp[:, p[0] : p[0] + H_in, p[1] : p[1] + W_in, :]


def max_pool_overwriting(k, s, p):
    pool = layers.max_pool2d(k, stride=s, padding=p)

    def backward(params, cache, dy):
        routed = jnp.where(
            jnp.arange(k * k)[:, None] == cache.argmax[:, :, :, None, :], dy[:, :, :, None, :], 0
        )
        return col2im_overwriting(routed, cache.x.shape, (k, k), (s, s), (p, p)), {}

    return Layer("mystery", pool.init, pool.apply, backward)


def conv_overwriting(C_out, k, s, p):
    conv = layers.conv2d(C_out, k, stride=s, padding=p, impl="im2col")

    def corrupt(dx, dparams, params, cache, dy):
        dcols = dy @ params["W"].reshape(-1, C_out).T
        return col2im_overwriting(dcols, cache.x.shape, (k, k), (s, s), (p, p)), dparams

    return broken(conv, corrupt)


def avg_pool_averaging_overlaps():
    """avg_pool2d(3, stride=2) whose backward divides each element's sum by its window count."""
    pool = layers.avg_pool2d(3, stride=2)

    def backward(params, cache, dy):
        spread = jnp.broadcast_to(dy[:, :, :, None, :] / 9, (*dy.shape[:3], 9, dy.shape[3]))
        count = col2im(jnp.ones_like(spread), cache.x.shape, (3, 3), (2, 2), (0, 0))
        return col2im(spread, cache.x.shape, (3, 3), (2, 2), (0, 0)) / count, {}

    return Layer("mystery", pool.init, pool.apply, backward)


def band(dx, width, factor):
    """dx with every element within `width` of the spatial border multiplied by `factor`."""
    H, W = dx.shape[1:3]
    rows, columns = jnp.arange(H)[:, None], jnp.arange(W)[None, :]
    edge = (rows < width) | (rows >= H - width) | (columns < width) | (columns >= W - width)
    return jnp.where(edge[None, :, :, None], factor * dx, dx)


def bn_without_statistics_paths(dx, dparams, params, cache, dy):
    return params["gamma"] * cache.inv_std * dy, dparams  # as if mu and var were constants


NOISE = 1e-3 * np.random.default_rng(0).standard_normal(10_000)


def noisy(a):
    return a + NOISE[: a.size].reshape(a.shape)


def one_example_dw(dx, dparams, params, cache, dy):
    return dx, {**dparams, "W": cache.x[:1].reshape(1, -1).T @ dy[:1]}


LOCAL = [(0, 1, 2, 0), (1, 3, 3, 1), (3, 4, 0, 1)]


def at_three(dx):
    for index in LOCAL:
        dx = dx.at[index].add(1.0)
    return dx


def undefined_forward(f):
    """y = f(x) W + b with f undefined on part of the random inputs (x < 0), whose backward
    returns constants: no comparison can pass it."""
    affine = layers.affine(3)

    def apply(params, state, x, *, train=False, key=None):
        return affine.apply(params, state, f(x), train=train)

    def backward(params, cache, dy):
        return jnp.ones(cache.x.shape), {"W": jnp.ones_like(params["W"]), "b": jnp.zeros(3)}

    return Layer("mystery", affine.init, apply, backward)


# (id, layer, in_shape, batch, train, {array: expected kind}, words the detail must hold)
BROKEN = [
    ("zero dx relu", broken(layers.relu(), lambda dx, g, *_: (jnp.zeros_like(dx), g)), (3, 4), 4, False, {"dx": "zero"}, ""),
    ("zero db affine", broken(layers.affine(3), lambda dx, g, *_: (dx, {**g, "b": 0 * g["b"]})), (4,), 4, False, {"b": "zero"}, ""),
    ("shape: no db", broken(layers.affine(3), lambda dx, g, *_: (dx, {"W": g["W"]})), (4,), 4, False, {"W": "ok", "b": "shape"}, "no key 'b'"),
    ("shape: dW.T", broken(layers.affine(3), lambda dx, g, *_: (dx, {**g, "W": g["W"].T})), (4,), 4, False, {"W": "shape"}, "(3, 4), expected (4, 3)"),
    ("shape: flat dx", broken(layers.conv2d(2, 3), lambda dx, g, *_: (dx.reshape(len(dx), -1), g)), (5, 5, 2), 2, False, {"dx": "shape"}, "reshape"),
    ("sign dx tanh", broken(layers.tanh(), lambda dx, g, *_: (-dx, g)), (3, 4), 4, False, {"dx": "sign"}, ""),
    ("sign dW conv", broken(layers.conv2d(2, 3), lambda dx, g, *_: (dx, {**g, "W": -g["W"]})), (5, 5, 2), 2, False, {"W": "sign", "dx": "ok"}, ""),
    ("scale dW times N", broken(layers.affine(3), lambda dx, g, *_: (dx, {**g, "W": 5 * g["W"]})), (4,), 5, False, {"W": "scale"}, "batch size N"),
    ("scale db over N", broken(layers.conv2d(2, 3), lambda dx, g, *_: (dx, {**g, "b": g["b"] / 3})), (5, 5, 2), 3, False, {"b": "scale"}, "1/3, and 3 is the batch size N"),
    ("scale avg pool k*k", broken(layers.avg_pool2d(3, stride=1), lambda dx, g, *_: (dx / 9, g)), (6, 5, 2), 2, False, {"dx": "scale"}, "window area"),
    ("transpose kernel H W", broken(layers.conv2d(3, 3), lambda dx, g, *_: (dx, {**g, "W": jnp.swapaxes(g["W"], 0, 1)})), (5, 5, 3), 2, False, {"W": "transpose"}, "0 (H) and 1 (W)"),
    ("transpose kernel channels", broken(layers.conv2d(3, 2), lambda dx, g, *_: (dx, {**g, "W": jnp.swapaxes(g["W"], 2, 3)})), (5, 5, 3), 2, False, {"W": "transpose"}, "in channels"),
    ("transpose affine dW", broken(layers.affine(4), lambda dx, g, *_: (dx, {**g, "W": g["W"].T})), (4,), 3, False, {"W": "transpose"}, "in features"),
    ("transpose flipped kernel", broken(layers.conv2d(2, 3), lambda dx, g, *_: (dx, {**g, "W": g["W"][::-1, ::-1]})), (5, 5, 2), 2, False, {"W": "transpose"}, "180 degrees"),
    ("batch-sum one example", broken(layers.affine(3), one_example_dw), (4,), 4, False, {"W": "batch-sum"}, "example 0"),
    ("batch-sum last example", broken(layers.conv2d(2, 3), lambda dx, g, p, c, dy: (dx, {**g, "b": dy[-1].sum((0, 1))})), (5, 5, 2), 3, False, {"b": "batch-sum"}, "example 2"),
    ("batch-sum wrong axis", broken(layers.affine(4), lambda dx, g, p, c, dy: (dx, {**g, "b": dy.sum(axis=1)})), (3,), 4, False, {"b": "batch-sum"}, "axis 0"),
    ("border conv zeroed", broken(layers.conv2d(3, 3, padding=1), lambda dx, g, *_: (band(dx, 1, 0.0), g)), (6, 6, 2), 2, False, {"dx": "border"}, "within 1 element"),
    ("border conv p=2", broken(layers.conv2d(2, 5, padding=2), lambda dx, g, *_: (band(dx, 2, 1.5), g)), (9, 8, 2), 2, False, {"dx": "border"}, "within 2 elements"),
    ("border avg pool divisor", layers.avg_pool2d(3, stride=1, padding=1, count_include_pad=False)._replace(backward=layers.avg_pool2d(3, stride=1, padding=1).backward), (7, 7, 2), 2, False, {"dx": "border"}, "fewer windows"),
    ("overlap max pool", max_pool_overwriting(3, 2, 0), (7, 7, 2), 3, False, {"dx": "overlap"}, "several windows"),
    ("overlap max pool padded", max_pool_overwriting(3, 2, 1), (7, 6, 2), 3, False, {"dx": "overlap"}, "+="),
    ("overlap conv", conv_overwriting(2, 3, 1, 0), (6, 6, 2), 2, False, {"dx": "overlap", "W": "ok"}, "one window"),
    ("overlap avg pool averaged", avg_pool_averaging_overlaps(), (7, 7, 2), 2, False, {"dx": "overlap"}, "added in full"),
    ("local conv dx", broken(layers.conv2d(2, 3, padding=1), lambda dx, g, *_: (at_three(dx), g)), (6, 6, 2), 4, False, {"dx": "local"}, "3 elements"),
    ("local affine dW", broken(layers.affine(3), lambda dx, g, *_: (dx, {**g, "W": g["W"].at[1, 2].multiply(2.0)})), (4,), 4, False, {"W": "local"}, "(1, 2)"),
    ("mismatch noise tanh", broken(layers.tanh(), lambda dx, g, *_: (noisy(dx), g)), (3, 4), 4, False, {"dx": "mismatch"}, ""),
    ("mismatch noise conv dW", broken(layers.conv2d(2, 3), lambda dx, g, *_: (dx, {**g, "W": noisy(g["W"])})), (5, 5, 2), 2, False, {"W": "mismatch"}, ""),
    ("undefined sqrt", undefined_forward(jnp.sqrt), (4,), 4, False, {"dx": "undefined", "W": "undefined"}, "the forward is undefined there"),
    ("undefined log", undefined_forward(jnp.log), (4,), 4, False, {"dx": "undefined", "W": "undefined"}, "autodiff of apply is NaN or inf"),
    ("mismatch bn train", broken(layers.batch_norm(), bn_without_statistics_paths), (5,), 4, True, {"dx": "mismatch", "gamma": "ok"}, ""),
]  # fmt: skip
LAYER = {b[0]: b[1] for b in BROKEN}


@pytest.mark.parametrize("case", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_backward_is_named_for_what_is_wrong(case):
    _, layer, in_shape, batch, train, expected, words = case
    diagnosis = diagnose(layer, in_shape, batch=batch, train=train)
    kinds = {f.array: f.kind for f in diagnosis.findings}
    assert {a: kinds[a] for a in expected} == expected, str(diagnosis)
    assert not diagnosis.ok and all(f.kind in KINDS for f in diagnosis.findings)
    wrong = [f for f in diagnosis.findings if f.kind not in ("ok", "shape")]
    assert all(f.array in diagnosis.errors for f in wrong)
    detail = next(
        f.detail for f in diagnosis.findings if f.kind == next(k for k in expected.values() if k != "ok")
    )
    assert words in detail, detail


def test_every_kind_but_ok_has_two_broken_layers():
    counts = {kind: 0 for kind in KINDS if kind != "ok"}
    for *_, expected, _ in BROKEN:
        for kind in set(expected.values()) - {"ok"}:
            counts[kind] += 1
    assert min(counts.values()) >= 2, counts


def test_local_lists_the_wrong_indices_worst_first():
    layer = broken(layers.conv2d(2, 3, padding=1), lambda dx, g, *_: (at_three(dx).at[LOCAL[2]].add(4.0), g))
    (finding,) = [f for f in diagnose(layer, (6, 6, 2)).findings if f.array == "dx"]
    assert finding.kind == "local" and finding.where[0] == LOCAL[2] and set(finding.where) == set(LOCAL)


_FIRST_OF_EACH = {
    id(next(c for c in CASES if c.constructor == name)) for name in {c.constructor for c in CASES}
}
# The default suite diagnoses the first case of each constructor; `-m slow` all of them (15 s cold).
_NO_ALARM = [pytest.param(c, marks=() if id(c) in _FIRST_OF_EACH else pytest.mark.slow) for c in CASES]


@pytest.mark.parametrize("case", _NO_ALARM, ids=lambda c: f"{c.constructor}{c.config()}")
def test_every_registered_case_is_ok_over_three_seeds(case):
    """No false alarms: one layer per case, so the 3 seeds share its compilation."""
    if case.constructor in layers.__all__:
        layer = getattr(layers, case.constructor)(*case.args, **case.kwargs)
        for seed in range(3):
            diagnosis = diagnose(layer, case.in_shape, batch=case.batch, train=case.train, seed=seed)
            assert diagnosis.ok, str(diagnosis)
    else:
        assert all(diagnose_case(case, seed=seed).ok for seed in range(3))


def test_a_loss_diagnosed_as_a_layer():
    from fnn.losses import softmax_cross_entropy

    labels = np.array([0, 2, 1])
    loss = loss_as_layer(softmax_cross_entropy, labels, name="ce")
    halved = loss._replace(backward=lambda p, c, dy: (0.5 * loss.backward(p, c, dy)[0], {}))
    (finding,) = diagnose(halved, (4,), batch=3).findings
    assert finding.kind == "scale" and "0.5 times" in finding.detail


def test_the_diagnosis_prints_as_a_table_and_as_json():
    diagnosis = diagnose(LAYER["scale dW times N"], (4,), batch=5)
    text = str(diagnosis).splitlines()
    assert "1 of 3 gradient arrays wrong" in text[0] and text[1].split() == ["array", "kind", "detail"]
    assert [line.split()[:2] for line in text[2:]] == [["dx", "ok"], ["W", "scale"], ["b", "ok"]]
    assert json.loads(json.dumps(diagnosis.as_dict()))["findings"][1]["kind"] == "scale"


def test_a_backward_that_returns_no_pair_is_refused():
    relu = layers.relu()
    with pytest.raises(TypeError, match="must return"):
        diagnose(relu._replace(backward=lambda params, cache, dy: dy), (3,))


def test_the_error_figure_has_a_panel_per_channel_of_each_wrong_array():
    diagnosis = diagnose(LAYER["border conv zeroed"], (6, 6, 2), batch=2)  # 2 channels
    fig = error_figure(diagnosis)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
        "dx (border) channel 0",
        "dx (border) channel 1",
    ]
    assert isinstance(error_figure(diagnose(layers.relu(), (3,))), Figure)  # all ok: a note
