import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import optim

PARAMS = {"W": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.1, -0.2])}
GRADS = [jax.tree.map(lambda p, i=i: (i + 1) * 0.1 * p + 0.05 * (-1) ** i, PARAMS) for i in range(4)]


def run(opt, steps=4, params=PARAMS):
    state = opt.init(params)
    for g in GRADS[:steps]:
        params, state = opt.update(g, state, params)
    return params, state


def reference(rule, slots=1):
    """The closed-form rule applied leaf by leaf in NumPy."""
    p = {k: np.asarray(v, np.float64) for k, v in PARAMS.items()}
    s = [{k: np.zeros_like(v) for k, v in p.items()} for _ in range(slots)]
    for t, g in enumerate(GRADS, start=1):
        for k in p:
            p[k], new = rule(p[k], np.asarray(g[k], np.float64), [x[k] for x in s], t)
            for x, n in zip(s, new):
                x[k] = n
    return p


LR = 0.1


def sgd_rule(p, g, s, t):
    return p - LR * g, []


def momentum_rule(p, g, s, t):
    v = 0.9 * s[0] - LR * g
    return p + v, [v]


def nesterov_rule(p, g, s, t):
    v = 0.9 * s[0] - LR * g
    return p - 0.9 * s[0] + 1.9 * v, [v]


def rmsprop_rule(p, g, s, t):
    c = 0.99 * s[0] + 0.01 * g * g
    return p - LR * g / (np.sqrt(c) + 1e-8), [c]


def adam_rule(p, g, s, t):
    m = 0.9 * s[0] + 0.1 * g
    v = 0.999 * s[1] + 0.001 * g * g
    return p - LR * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8), [m, v]


@pytest.mark.parametrize(
    "make, rule, slots",
    [
        (optim.sgd, sgd_rule, 0),
        (optim.momentum, momentum_rule, 1),
        (optim.nesterov, nesterov_rule, 1),
        (optim.rmsprop, rmsprop_rule, 1),
        (optim.adam, adam_rule, 2),
    ],
)
def test_update_rule_matches_its_closed_form_for_several_steps(make, rule, slots):
    params, state = run(make(LR))
    expected = reference(rule, slots)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-5, atol=1e-5)  # float32
    assert int(state.step) == 4
    assert jax.tree.structure(params) == jax.tree.structure(PARAMS)


def test_two_momentum_steps_by_hand():
    opt = optim.momentum(0.5, mu=0.5)
    p, s = {"x": jnp.array(1.0)}, None
    s = opt.init(p)
    p, s = opt.update({"x": jnp.array(2.0)}, s, p)  # v = -1, x = 0
    p, s = opt.update({"x": jnp.array(2.0)}, s, p)  # v = -0.5 - 1 = -1.5, x = -1.5
    assert float(p["x"]) == -1.5 and float(s.slots[0]["x"]) == -1.5


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_quadratic_converges_to_its_minimiser(name):
    target = jnp.array([1.0, -2.0, 3.0])
    scale = jnp.array([1.0, 4.0, 0.5])
    lr = {"sgd": 0.2, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 0.01, "adam": 0.05}[name]
    opt = optim.OPTIMIZERS[name](optim.step_decay(lr, 300, 0.3) if name in ("rmsprop", "adam") else lr)
    params, state = {"x": jnp.zeros(3)}, None
    state = opt.init(params)
    step = jax.jit(
        lambda p, s: opt.update(jax.grad(lambda q: (scale * (q["x"] - target) ** 2).sum())(p), s, p)
    )
    for _ in range(1000):
        params, state = step(params, state)
    np.testing.assert_allclose(params["x"], target, atol=2e-3)


def test_momentum_with_mu_zero_is_sgd_and_jit_equals_eager():
    a, _ = run(optim.momentum(LR, mu=0.0))
    b, _ = run(optim.sgd(LR))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)
    opt = optim.adam(LR)
    state = opt.init(PARAMS)
    eager = opt.update(GRADS[0], state, PARAMS)
    jitted = jax.jit(opt.update)(GRADS[0], state, PARAMS)
    for x, y in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
        np.testing.assert_allclose(x, y, rtol=1e-6)


def test_weight_decay_skips_biases_and_batch_norm():
    params = ({"W": jnp.ones(2), "b": jnp.ones(2)}, {"gamma": jnp.ones(2), "beta": jnp.ones(2)})
    zeros = jax.tree.map(jnp.zeros_like, params)
    opt = optim.sgd(0.1, weight_decay=0.5)
    new, _ = opt.update(zeros, opt.init(params), params)
    np.testing.assert_allclose(new[0]["W"], 0.95)
    for leaf in (new[0]["b"], new[1]["gamma"], new[1]["beta"]):
        np.testing.assert_allclose(leaf, 1.0)


def test_clip_norm_bounds_the_global_gradient_norm():
    params = {"W": jnp.zeros(2), "b": jnp.zeros(1)}
    grads = {"W": jnp.array([3.0, 0.0]), "b": jnp.array([4.0])}  # norm 5
    new, _ = optim.sgd(1.0, clip_norm=1.0).update(grads, optim.sgd(1.0).init(params), params)
    np.testing.assert_allclose(new["W"], [-0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(new["b"], [-0.8], rtol=1e-6)


def test_schedules():
    assert float(optim.constant(0.3)(10)) == pytest.approx(0.3)
    assert float(optim.step_decay(1.0, 10, 0.5)(25)) == pytest.approx(0.25)
    assert float(optim.exponential_decay(1.0, 0.5, 2)(4)) == pytest.approx(0.25)
    cosine = optim.cosine_decay(1.0, 100)
    assert float(cosine(0)) == pytest.approx(1.0) and float(cosine(50)) == pytest.approx(0.5)
    assert float(cosine(100)) == pytest.approx(0.0, abs=1e-7) and float(cosine(500)) == pytest.approx(
        0.0, abs=1e-7
    )
    warm = optim.linear_warmup(0.4, 4)
    assert [round(float(warm(s)), 6) for s in range(6)] == [0.1, 0.2, 0.3, 0.4, 0.4, 0.4]
    opt = optim.sgd(optim.step_decay(1.0, 1, 0.5))
    params, state = {"x": jnp.array(0.0)}, None
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.update({"x": jnp.array(1.0)}, state, params)
    assert float(params["x"]) == pytest.approx(-(1 + 0.5 + 0.25))
    assert float(optim.make_optimizer("adam", 0.1, total_steps=10, warmup_steps=2).lr(0)) == pytest.approx(
        0.05
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="lr"):
        optim.sgd(-1.0)
    with pytest.raises(ValueError, match="mu"):
        optim.momentum(0.1, mu=1.0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optim.make_optimizer("lbfgs", 0.1, total_steps=1)
    opt = optim.sgd(0.1)
    with pytest.raises(TypeError, match="grads must be shaped like params"):
        opt.update({"W": jnp.ones(2)}, opt.init(PARAMS), PARAMS)
