"""The gradient doctor: every correct registered case is "ok", and each kind of broken backward
is named for what it is.

Most broken layers are fnn's own with the real backward wrapped: the wrapper calls it and
corrupts the result the way a learner's bug would (a factor N, a sign, swapped axes, one
example's contribution, overlapping windows written over, a padding band, a few elements,
noise, a missing key). The second round's kinds (branch, routing, factor, coupling, precision)
are tried on small layers written here from scratch, as a learner writes them, with the bug in
their backward (`elementwise`, `normalise`, `pool`, ...). The doctor sees only the Layer, not
these names or comments.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from matplotlib.figure import Figure

from fnn import layers
from fnn.gradcheck import CASES, KINDS, diagnose, diagnose_case, error_figure, loss_as_layer
from fnn.gradcheck.expressions import Sample, name, name_by_sign
from fnn.gradcheck.pointwise import threshold
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


def elementwise(f, df):
    """y = f(x), and a backward dx = dy * df(x, y) written by hand."""

    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = f(x)
        return y, state, (x, y)

    def backward(params, cache, dy):
        return dy * df(*cache), {}

    return Layer("mystery", init, apply, backward)


def sigmoid(x):
    return 1 / (1 + jnp.exp(-x))


def feature_scale():
    """y = x * w per feature; the backward forgets w in dx."""

    def init(key, in_shape):
        return tuple(in_shape), {"w": 1 + 0.5 * jax.random.normal(key, in_shape[-1:])}, {}

    def apply(params, state, x, *, train=False, key=None):
        return x * params["w"], state, x

    def backward(params, x, dy):
        return dy, {"w": (dy * x).sum(axis=0)}

    return Layer("mystery", init, apply, backward)


def normalise(axes, paths):
    """A batch norm (axes over the batch) or layer norm (over the features) whose backward
    keeps only the given paths of ("mean", "var")."""

    def init(key, in_shape):
        D = in_shape[-1]
        return (
            tuple(in_shape),
            {"gamma": 1 + 0.3 * jax.random.normal(key, (D,)), "beta": jnp.zeros(D) + 0.1},
            {},
        )

    def apply(params, state, x, *, train=False, key=None):
        mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        x_hat = (x - mu) / jnp.sqrt(var + 1e-5)
        return params["gamma"] * x_hat + params["beta"], state, (x_hat, 1 / jnp.sqrt(var + 1e-5))

    def backward(params, cache, dy):
        x_hat, inv_std = cache
        g = dy * params["gamma"]
        dx = g - (g.mean(axis=axes, keepdims=True) if "mean" in paths else 0)
        dx = dx - (x_hat * (g * x_hat).mean(axis=axes, keepdims=True) if "var" in paths else 0)
        batch = tuple(range(dy.ndim - 1))
        return inv_std * dx, {"gamma": (dy * x_hat).sum(axis=batch), "beta": dy.sum(axis=batch)}

    return Layer("mystery", init, apply, backward)


def softmax_without_the_sum():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        e = jnp.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        return y, state, y

    def backward(params, y, dy):
        return y * dy, {}  # the path through the normalising sum is missing

    return Layer("mystery", init, apply, backward)


def windows_of(x, k, s):
    """(N, H_out, W_out, k*k, C): the k x k windows of x with stride s, row-major offsets."""
    H, W = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
    rows = [
        x[:, i : i + s * (H - 1) + 1 : s, j : j + s * (W - 1) + 1 : s, :] for i in range(k) for j in range(k)
    ]
    return jnp.stack(rows, axis=3)


def pool(k, s, reduce, pick):
    """A pooling layer (reduce: "max" or "mean") whose backward gives each window's dy to the
    offsets `pick(windows) -> (N, H_out, W_out, k*k, C) weights` picks."""

    def init(key, in_shape):
        return ((in_shape[0] - k) // s + 1, (in_shape[1] - k) // s + 1, in_shape[2]), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        w = windows_of(x, k, s)
        return (w.max(axis=3) if reduce == "max" else w.mean(axis=3)), state, x

    def backward(params, x, dy):
        weights = pick(windows_of(x, k, s))
        H, W = dy.shape[1:3]
        dx = jnp.zeros_like(x)
        for i in range(k):
            for j in range(k):
                share = weights[:, :, :, i * k + j, :] * dy
                dx = dx.at[:, i : i + s * (H - 1) + 1 : s, j : j + s * (W - 1) + 1 : s, :].add(share)
        return dx, {}

    return Layer("mystery", init, apply, backward)


def one_hot_at(index):
    return lambda w: jax.nn.one_hot(index(w), w.shape[3], axis=3, dtype=w.dtype)


def dw_in_float32(dx, dparams, params, cache, dy):
    x = cache.x.reshape(len(cache.x), -1)
    return dx, {**dparams, "W": (x.astype(jnp.float32).T @ dy.astype(jnp.float32)).astype(dy.dtype)}


def sigmoid_caching_float32():
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = sigmoid(x)
        return y, state, y.astype(jnp.float32)  # "the cache is smaller in float32"

    def backward(params, y, dy):
        return (dy * y * (1 - y)).astype(dy.dtype), {}

    return Layer("mystery", init, apply, backward)


def conv_dx_not_flipped(dx, dparams, params, cache, dy):
    """dx of a correlation computed with the kernel as it is, not rotated by 180 degrees."""
    return CONV.backward({**params, "W": params["W"][::-1, ::-1]}, cache, dy)[0], dparams


CONV = layers.conv2d(2, 3, padding=1)


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
    # The first round called this "mismatch"; it is the coupling bug: both paths through the batch
    # statistics missing, the error a constant plus a multiple of x-hat per feature.
    ("coupling bn train", broken(layers.batch_norm(), bn_without_statistics_paths), (5,), 4, True, {"dx": "coupling", "gamma": "ok"}, "the mean and the variance of x over the batch"),
    ("mismatch relu mask from dy", elementwise(jax.nn.relu, lambda x, y: 0 * x)._replace(backward=lambda p, c, dy: (jnp.where(dy > 0, dy, 0.0), {})), (6,), 4, False, {"dx": "mismatch"}, ""),
    ("branch relu6 above 6", elementwise(lambda x: jnp.clip(x, 0, 6), lambda x, y: (x > 0) * 1.0), (6,), 4, False, {"dx": "branch"}, "where x > 6, right elsewhere: there your dx/dy is 1; the truth is 0"),
    ("branch hardtanh", elementwise(lambda x: jnp.clip(x, -0.5, 0.5), lambda x, y: 1.0 + 0 * x), (3, 4), 4, False, {"dx": "branch"}, "|x| > 0.5"),
    ("branch leaky relu slope", elementwise(lambda x: jnp.where(x > 0, x, 0.1 * x), lambda x, y: (x > 0) * 1.0), (5,), 4, False, {"dx": "branch"}, "x < 0, right elsewhere: there your dx/dy is 0; the truth is 0.1"),
    ("factor sigmoid x(1-x)", elementwise(sigmoid, lambda x, y: x * (1 - x)), (6,), 4, False, {"dx": "factor"}, "your dx/dy is x(1 - x); the truth is y(1 - y): you used the input x where the output y belongs"),
    ("factor softplus exp", elementwise(jax.nn.softplus, lambda x, y: jnp.exp(x)), (7,), 4, False, {"dx": "factor"}, "your dx/dy is exp(x); the truth is sigmoid(x)"),
    ("factor feature scale", feature_scale(), (5,), 4, False, {"dx": "factor", "w": "ok"}, "your dx/dy is 1; the truth is w: a factor w is missing"),
    ("factor swish unnamed", elementwise(jax.nn.silu, lambda x, y: sigmoid(x)), (6,), 4, False, {"dx": "factor"}, "smooth function of x alone"),
    ("coupling layer norm", normalise(-1, ()), (8,), 4, False, {"dx": "coupling", "gamma": "ok", "beta": "ok"}, "over the features"),
    ("coupling bn mean path", normalise(0, ("var",)), (6,), 4, True, {"dx": "coupling"}, "path through the mean of x over the batch"),
    ("coupling softmax sum", softmax_without_the_sum(), (6,), 4, False, {"dx": "coupling"}, "normalising sum"),
    ("routing max pool to all", pool(3, 2, "max", lambda w: jnp.ones_like(w)), (7, 7, 2), 3, False, {"dx": "routing"}, "to all 9 of its elements; only the maximum should get it"),
    ("routing max pool first", pool(2, 2, "max", one_hot_at(lambda w: jnp.zeros(w.shape[:3] + w.shape[4:], int))), (6, 6, 2), 3, False, {"dx": "routing"}, "its first (top-left) element instead of the maximum"),
    ("routing avg pool one", pool(2, 2, "mean", lambda w: jax.nn.one_hot(jnp.zeros(w.shape[:3] + w.shape[4:], int), 4, axis=3) / 4), (6, 6, 2), 3, False, {"dx": "routing"}, "sends dy/4 to one element"),
    ("transpose conv dx not flipped", broken(CONV, conv_dx_not_flipped), (5, 5, 2), 2, False, {"dx": "transpose", "W": "ok"}, "computed with W's axes 0 (H) and 1 (W) reversed"),
    ("transpose affine dy @ W", broken(layers.affine(4), lambda dx, g, p, c, dy: (dy @ p["W"], g)), (4,), 3, False, {"dx": "transpose"}, "W's axes 0 (in features) and 1 (out features) swapped"),
]  # fmt: skip
# Right to float32 precision only: "precision", which passes with a warning.
PRECISION = [
    ("precision dW in float32", broken(layers.affine(5), dw_in_float32), (12,), 4, False, {"W": "precision", "dx": "ok"}, "float32"),
    ("precision sigmoid cache", sigmoid_caching_float32(), (6,), 4, False, {"dx": "precision"}, "right to float32 precision only"),
]  # fmt: skip
LAYER = {b[0]: b[1] for b in BROKEN}


def _first_kind(expected: dict) -> str:
    return next(k for k in expected.values() if k != "ok")


# The default suite diagnoses the first broken layer of each kind; `-m slow` every one (about
# 30 s cold: each is a new layer to compile).
_FIRST_OF_KIND = {
    id(next(b for b in BROKEN if _first_kind(b[5]) == kind)) for kind in {_first_kind(b[5]) for b in BROKEN}
}
_BROKEN = [
    pytest.param(b, marks=() if id(b) in _FIRST_OF_KIND else pytest.mark.slow, id=b[0]) for b in BROKEN
]


@pytest.mark.parametrize("case", _BROKEN)
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


@pytest.mark.parametrize("case", PRECISION, ids=[b[0] for b in PRECISION])
def test_a_float32_backward_passes_with_a_precision_warning(case):
    _, layer, in_shape, batch, train, expected, words = case
    diagnosis = diagnose(layer, in_shape, batch=batch, train=train)
    kinds = {f.array: f.kind for f in diagnosis.findings}
    assert {a: kinds[a] for a in expected} == expected and diagnosis.ok, str(diagnosis)
    head = str(diagnosis).splitlines()[0]
    assert "0 of" in head and "1 right only to float32 precision: passes, with a warning" in head
    (finding,) = [f for f in diagnosis.findings if f.kind == "precision"]
    assert words in finding.detail and "max relative error" in finding.detail
    assert json.loads(json.dumps(diagnosis.as_dict()))["ok"] is True


def test_every_kind_but_ok_has_two_broken_layers():
    counts = {kind: 0 for kind in KINDS if kind != "ok"}
    for *_, expected, _ in BROKEN + PRECISION:
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


def titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_the_error_figure_shows_one_example_learner_beside_true_per_channel():
    diagnosis = diagnose(LAYER["border conv zeroed"], (6, 6, 2), batch=2)  # 2 channels
    fig = error_figure(diagnosis)
    assert isinstance(fig, Figure) and fig.get_layout_engine() is not None  # titles never collide
    shown = titles(fig)
    for c in (0, 1):
        for what in ("learner's", "true (autodiff)", "|learner - true|"):
            assert any(
                t.startswith(f"dx (border) {what}") and f"example 0, channel {c}" in t for t in shown
            ), shown
    images = [ax for ax in fig.axes if ax.get_images()]
    assert {(ax.get_xlabel(), ax.get_ylabel()) for ax in images} == {("W", "H")}
    assert "the learner's gradient against the true one" in fig._suptitle.get_text()
    assert isinstance(error_figure(diagnose(layers.relu(), (3,))), Figure)  # all ok: a note


def test_the_error_figure_draws_the_windows_and_names_a_matrix_s_axes():
    pooled = error_figure(diagnose(LAYER["overlap max pool"], (7, 7, 2), batch=3))
    assert any(ax.patches for ax in pooled.axes) and any("dashed: some windows" in t for t in titles(pooled))
    matrix = error_figure(diagnose(LAYER["scale dW times N"], (4,), batch=5))
    labels = {(ax.get_xlabel(), ax.get_ylabel()) for ax in matrix.axes if ax.get_images()}
    assert labels == {("out feature", "in feature")}


def test_the_figure_of_a_factor_draws_both_local_derivatives_against_x():
    fig = error_figure(diagnose(LAYER["factor sigmoid x(1-x)"], (6,)))
    main = fig.axes[0]
    assert main.get_xlabel().startswith("x") and "dx/dy" in main.get_ylabel()
    legend = [t.get_text() for t in main.get_legend().get_texts()]
    assert legend == ["true dx/dy (autodiff): y(1 - y)", "your dx/dy: x(1 - x)"]
    assert "zoom on the true range" in titles(fig)  # the learner's x(1 - x) dwarfs y(1 - y)


def test_the_figure_of_a_branch_shades_its_region():
    fig = error_figure(diagnose(LAYER["branch relu6 above 6"], (6,)))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "wrong: x > 6" in legend


def test_the_figure_of_a_routing_bug_is_the_per_window_map():
    fig = error_figure(diagnose(LAYER["routing max pool first"], (6, 6, 2), batch=3))
    shown = titles(fig)
    assert any(t.startswith("dx (routing) learner's") for t in shown)
    assert any(t.startswith("dx (routing) true") for t in shown)
    assert all("example 0" in t for t in shown) and all(ax.patches for ax in fig.axes if ax.get_images())


def test_a_fixed_handful_of_elements_is_local_even_in_an_elementwise_layer():
    """Wrong at the same indices for every input: positions, not a region of x."""
    layer = elementwise(jnp.tanh, lambda x, y: (1 - y**2) * jnp.ones(x.shape).at[0, 1].set(3.0))
    (finding,) = diagnose(layer, (6,)).findings
    assert finding.kind == "local" and finding.where == ((0, 1),), finding


def test_names_for_a_local_derivative():
    x = np.linspace(-3, 3, 41) + 0.01
    y = 1 / (1 + np.exp(-x))
    s = Sample(x, y, {"gamma": np.full_like(x, 1.7)})
    assert name(y * (1 - y), s).text == "y(1 - y)"
    assert name(x * (1 - x), s).text == "x(1 - x)"
    assert name(1 - np.tanh(x) ** 2, s).text == "1 - tanh(x)^2"
    assert name(np.full_like(x, 0.1), s).text == "0.1"
    assert name(1.7 * y, s).text == "gamma y"
    assert name(0.5 * np.exp(x) + 2, s).text == "0.5 exp(x) + 2"
    assert name(np.arctan(x), s) is None
    assert name_by_sign(np.where(x > 0, 1.0, 0.1), s).text == "1 where x > 0 and 0.1 where x < 0"
    assert (threshold(5.93, 6.2), threshold(-0.04, 0.03), threshold(0.43, 0.52), threshold(1.01, 1.02)) == (
        6,
        0,
        0.5,
        1.02,
    )
