"""fnn.optim: each rule against its closed form, the optax protocol, masks, clipping, schedules.

References are NumPy in float64; fnn runs in float32, as users do. optax is not a dependency:
the protocol tests use stand-ins written here that only call `.init` / `.update`, as optax does.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import optim

PARAMS = {"W": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.1, -0.2])}
GRADS = [jax.tree.map(lambda p, i=i: (i + 1) * 0.1 * p + 0.05 * (-1) ** i, PARAMS) for i in range(4)]
LR = 0.1
SCHEDULE = optim.step_decay(LR, 2, 0.5)  # 0.1, 0.1, 0.05, 0.05 at counts 0..3
LRS = {"constant": lambda count: LR, "schedule": lambda count: LR * 0.5 ** (count // 2)}


def run(opt, grads=GRADS, params=PARAMS):
    """Apply `opt` for len(grads) steps; return the params, the state and every update."""
    state, updates = opt.init(params), []
    for g in grads:
        u, state = opt.update(g, state, params)
        params = optim.apply_updates(params, u)
        updates.append(u)
    return params, state, updates


def reference(rule, lr_of, slots=1, decoupled=0.0):
    """The closed-form rule leaf by leaf in float64: rule(g, slots, lr, t, p) -> (u, slots)."""
    p = {k: np.asarray(v, np.float64) for k, v in PARAMS.items()}
    s = {k: [np.zeros_like(v) for _ in range(slots)] for k, v in p.items()}
    for t, g in enumerate(GRADS, start=1):
        for k in p:
            u, s[k] = rule(np.asarray(g[k], np.float64), s[k], lr_of(t - 1), t, p[k])
            p[k] = p[k] + u
    return p


def sgd_rule(g, s, lr, t, p):
    return -lr * g, []


def momentum_rule(g, s, lr, t, p):
    v = 0.9 * s[0] - lr * g
    return v, [v]


def nesterov_rule(g, s, lr, t, p):
    v = 0.9 * s[0] - lr * g
    return -0.9 * s[0] + 1.9 * v, [v]


def rmsprop_rule(g, s, lr, t, p):
    c = 0.99 * s[0] + 0.01 * g * g
    return -lr * g / (np.sqrt(c) + 1e-8), [c]


def adam_rule(g, s, lr, t, p):
    m = 0.9 * s[0] + 0.1 * g
    v = 0.999 * s[1] + 0.001 * g * g
    return -lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8), [m, v]


def optax_adamw_rule(wd):
    """optax.adamw = chain(scale_by_adam, add_decayed_weights(wd, mask), scale_by_learning_rate(lr)),
    written out: u = -lr (m_hat / (sqrt(v_hat) + eps) + wd p) where the mask is True (ndim >= 2)."""

    def rule(g, s, lr, t, p):
        m = 0.9 * s[0] + 0.1 * g
        v = 0.999 * s[1] + 0.001 * g * g
        direction = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        return -lr * (direction + (wd * p if p.ndim >= 2 else 0.0)), [m, v]

    return rule


RULES = [
    (optim.sgd, sgd_rule, 0, optim.SgdState),
    (optim.momentum, momentum_rule, 1, optim.MomentumState),
    (optim.nesterov, nesterov_rule, 1, optim.MomentumState),
    (optim.rmsprop, rmsprop_rule, 1, optim.RmspropState),
    (optim.adam, adam_rule, 2, optim.AdamState),
]


def assert_tree_close(a, b, rtol=1e-5, atol=1e-5):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


@pytest.mark.parametrize("lr", ["constant", "schedule"])
@pytest.mark.parametrize("make, rule, slots, state_type", RULES, ids=lambda v: getattr(v, "__name__", ""))
def test_rule_matches_its_closed_form_for_several_steps(make, rule, slots, state_type, lr):
    params, state, _ = run(make(LR if lr == "constant" else SCHEDULE))
    assert_tree_close(params, reference(rule, LRS[lr], slots))  # float32 against float64
    assert type(state) is state_type and state.count.dtype == jnp.int32 and int(state.count) == 4
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(params))


@pytest.mark.parametrize("lr", ["constant", "schedule"])
def test_adamw_is_optax_adamw_with_the_lr_on_the_decay(lr):
    params, state, _ = run(optim.adamw(LR if lr == "constant" else SCHEDULE, weight_decay=0.5))
    assert_tree_close(params, reference(optax_adamw_rule(0.5), LRS[lr], slots=2))
    assert type(state) is optim.AdamState and int(state.count) == 4
    zeros = jax.tree.map(jnp.zeros_like, PARAMS)  # then m = v = 0: the update is the decay alone
    u, _ = optim.adamw(0.2, weight_decay=0.5).update(zeros, optim.adamw(0.2).init(PARAMS), PARAMS)
    np.testing.assert_allclose(u["W"], -0.2 * 0.5 * PARAMS["W"], rtol=1e-6)
    np.testing.assert_allclose(u["b"], 0.0)


def test_momentum_is_minus_lr_times_the_heavy_ball_trace_at_a_constant_lr():
    h, mu = {k: np.zeros(v.shape) for k, v in PARAMS.items()}, 0.7
    _, _, updates = run(optim.momentum(LR, mu=mu))
    for g, u in zip(GRADS, updates):
        h = {k: mu * h[k] + np.asarray(g[k], np.float64) for k in h}
        assert_tree_close(u, {k: -LR * h[k] for k in h})
    _, _, scheduled = run(optim.momentum(SCHEDULE, mu=mu))  # with a schedule the forms differ
    assert not np.allclose(scheduled[-1]["W"], -SCHEDULE(3) * h["W"], rtol=1e-3)


def test_momentum_with_mu_zero_is_sgd():
    a, _, _ = run(optim.momentum(SCHEDULE, mu=0.0))
    b, _, _ = run(optim.sgd(SCHEDULE))
    assert_tree_close(a, b, rtol=1e-6)


def test_two_momentum_steps_by_hand():
    opt = optim.momentum(0.5, mu=0.5)
    p = {"x": jnp.array(1.0)}
    s = opt.init(p)
    u, s = opt.update({"x": jnp.array(2.0)}, s, p)  # v = -0.5 * 2 = -1
    p = optim.apply_updates(p, u)  # x = 0
    u, s = opt.update({"x": jnp.array(2.0)}, s, p)  # v = 0.5 * -1 - 1 = -1.5
    p = optim.apply_updates(p, u)  # x = -1.5
    assert float(u["x"]) == -1.5 and float(p["x"]) == -1.5
    assert float(s.velocity["x"]) == -1.5 and int(s.count) == 2


def test_add_decayed_weights_masks():
    params = {
        "affine": {"W": jnp.ones((3, 2)), "b": jnp.ones(2)},
        "conv": {"W": jnp.ones((3, 3, 1, 2)), "b": jnp.ones(2)},
        "bn": {"gamma": jnp.ones(2), "beta": jnp.ones(2)},
    }
    zeros = jax.tree.map(jnp.zeros_like, params)

    def decayed(**kwargs):
        u, state = optim.add_decayed_weights(0.5, **kwargs).update(zeros, optim.EmptyState(), params)
        assert state == optim.EmptyState()
        return {(a, b): float(leaf.ravel()[0]) for a, layer in u.items() for b, leaf in layer.items()}

    default = decayed()
    assert default == {("affine", "W"): 0.5, ("affine", "b"): 0.0, ("conv", "W"): 0.5, ("conv", "b"): 0.0,
                       ("bn", "gamma"): 0.0, ("bn", "beta"): 0.0}  # fmt: skip
    assert optim.weights_mask(params)["bn"] == {"gamma": False, "beta": False}
    only_gamma = jax.tree.map(lambda _: False, params)
    only_gamma["bn"]["gamma"] = True
    assert [k for k, v in decayed(mask=only_gamma).items() if v] == [("bn", "gamma")]

    def conv_only(p):
        return {name: jax.tree.map(lambda _, keep=name == "conv": keep, layer) for name, layer in p.items()}

    assert [k for k, v in decayed(mask=conv_only).items() if v] == [("conv", "W"), ("conv", "b")]
    with pytest.raises(ValueError, match="add_decayed_weights: needs params"):
        optim.add_decayed_weights(0.5).update(zeros, optim.EmptyState())
    with pytest.raises(TypeError, match="mask must be shaped like params"):
        optim.add_decayed_weights(0.5, mask={"affine": True}).update(zeros, optim.EmptyState(), params)


def test_weight_decay_option_is_l2_on_the_gradient_before_the_rule():
    opt = optim.momentum(0.1, weight_decay=0.5)
    state = opt.init(PARAMS)
    assert type(state) is tuple and state[0] == optim.EmptyState() and type(state[1]) is optim.MomentumState
    u, _ = opt.update(GRADS[0], state, PARAMS)
    np.testing.assert_allclose(u["W"], -0.1 * (GRADS[0]["W"] + 0.5 * PARAMS["W"]), rtol=1e-6)
    np.testing.assert_allclose(u["b"], -0.1 * GRADS[0]["b"], rtol=1e-6)


def test_clip_by_global_norm_above_and_below():
    grads = {"W": jnp.array([3.0, 0.0]), "b": jnp.array([4.0])}  # global norm 5
    clip = optim.clip_by_global_norm(1.0)
    u, state = clip.update(grads, clip.init(grads))
    assert state == optim.EmptyState()
    np.testing.assert_allclose(u["W"], [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(u["b"], [0.8], rtol=1e-6)
    u, _ = optim.clip_by_global_norm(10.0).update(grads, optim.EmptyState())
    assert_tree_close(u, grads, rtol=0, atol=0)
    u, _ = optim.sgd(1.0, clip_norm=1.0).update(grads, optim.sgd(1.0, clip_norm=1.0).init(grads), grads)
    np.testing.assert_allclose(u["W"], [-0.6, 0.0], rtol=1e-6)


def test_chain_composes_and_counts_once():
    opt = optim.chain(optim.clip_by_global_norm(1e6), optim.add_decayed_weights(0.5), optim.sgd(LR))
    state = opt.init(PARAMS)
    zero = optim.SgdState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32))
    assert state == (optim.EmptyState(), optim.EmptyState(), zero)
    for i, g in enumerate(GRADS[:3], start=1):
        u, state = opt.update(g, state, PARAMS)
        assert int(state[2].count) == i and float(state[2].lr) == pytest.approx(LR)  # the rate it used
    np.testing.assert_allclose(u["W"], -LR * (GRADS[2]["W"] + 0.5 * PARAMS["W"]), rtol=1e-6)
    np.testing.assert_allclose(u["b"], -LR * GRADS[2]["b"], rtol=1e-6)
    assert type(optim.momentum(0.1).init(PARAMS)) is optim.MomentumState  # no chain without options


# Protocol stand-ins: what optax's chain and apply_updates do, through .init / .update only,
# and foreign transforms built without fnn's types.


class Foreign(NamedTuple):
    """Any object with init/update in the protocol, as optax's GradientTransformation."""

    init: Any
    update: Any


def stand_in_chain(*transforms):
    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        new_state = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return Foreign(init, update)


def stand_in_apply_updates(params, updates):
    return jax.tree.map(lambda p, u: jnp.asarray(p + u).astype(jnp.asarray(p).dtype), params, updates)


def stand_in_clip(max_norm):
    def update(updates, state, params=None):
        norm = jnp.sqrt(sum(jnp.sum(u**2) for u in jax.tree.leaves(updates)))
        return jax.tree.map(lambda u: u * jnp.minimum(1.0, max_norm / norm), updates), state

    return Foreign(lambda params: (), update)


def sign_sgd(lr):
    """A foreign optimizer: u = -lr sign(g)."""
    return Foreign(
        lambda params: (), lambda g, s, params=None: (jax.tree.map(lambda g: -lr * jnp.sign(g), g), s)
    )


def test_protocol_fnn_rule_inside_a_stand_in_chain():
    opt = stand_in_chain(stand_in_clip(1e6), optim.sgd(0.1))
    params, state = PARAMS, opt.init(PARAMS)
    for g in GRADS[:2]:
        updates, state = opt.update(g, state, params)
        new = stand_in_apply_updates(params, updates)
        assert_tree_close(new, jax.tree.map(lambda p, g: p - 0.1 * g, params, g), rtol=1e-6)  # not 2p - 0.1g
        params = new
    assert int(state[1].count) == 2


def test_protocol_foreign_optimizer_with_fnn_apply_updates_and_chain():
    for opt in (sign_sgd(0.01), optim.chain(optim.clip_by_global_norm(1.0), sign_sgd(0.01))):
        updates, _ = opt.update(GRADS[0], opt.init(PARAMS), PARAMS)
        new = optim.apply_updates(PARAMS, updates)
        assert_tree_close(new, jax.tree.map(lambda p, g: p - 0.01 * jnp.sign(g), PARAMS, GRADS[0]), rtol=1e-6)
    low = {"x": jnp.ones(2, jnp.bfloat16)}
    assert optim.apply_updates(low, {"x": jnp.full(2, 0.5)})["x"].dtype == jnp.bfloat16
    with pytest.raises(TypeError, match="apply_updates: updates must be shaped like params"):
        optim.apply_updates(PARAMS, {"W": PARAMS["W"]})


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_jit_equals_eager_and_structure_is_kept(name):
    opt = optim.OPTIMIZERS[name](SCHEDULE)
    state = opt.init(PARAMS)
    eager = opt.update(GRADS[0], state, PARAMS)
    jitted = jax.jit(opt.update)(GRADS[0], state, PARAMS)
    assert_tree_close(eager, jitted, rtol=1e-6)
    assert jax.tree.structure(eager[0]) == jax.tree.structure(PARAMS)
    assert jax.tree.structure(eager[1]) == jax.tree.structure(state)


def test_updates_and_state_keep_the_leaves_dtype():
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), PARAMS)  # a float32 schedule must not promote
    for name, make in optim.OPTIMIZERS.items():
        opt = make(optim.cosine_decay(LR, 10))  # float32, not weakly typed
        updates, state = opt.update(params, opt.init(params), params)
        assert {x.dtype.name for x in jax.tree.leaves(updates)} == {"bfloat16"}, name
        slots = [x for x in jax.tree.leaves(state) if x is not state.count and x is not state.lr]
        assert {x.dtype.name for x in slots} <= {"bfloat16"}, name  # the lr recorded is float32


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_quadratic_converges_to_its_minimiser(name):
    target, scale = jnp.array([1.0, -2.0, 3.0]), jnp.array([1.0, 4.0, 0.5])
    lr = {"sgd": 0.2, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05}[name]
    opt = optim.OPTIMIZERS[name](
        optim.step_decay(lr, 300, 0.3) if name in ("rmsprop", "adam", "adamw") else lr
    )
    loss = lambda q: (scale * (q["x"] - target) ** 2).sum()  # noqa: E731

    def step(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(loss)(params), state, params)
        return (optim.apply_updates(params, updates), state), None

    params = {"x": jnp.zeros(3)}  # ndim 1: adamw's default mask leaves it undecayed
    (params, state), _ = jax.lax.scan(step, (params, opt.init(params)), length=1000)
    np.testing.assert_allclose(params["x"], target, atol=2e-3)
    assert int(state.count) == 1000


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_bad_arguments_name_the_optimizer(name):
    make = optim.OPTIMIZERS[name]
    for kwargs in [{"lr": -1.0}, {"lr": True}, {"lr": float("nan")}, {"lr": 0.1, "weight_decay": -1}]:
        with pytest.raises(ValueError, match=f"^{name}: (lr|weight_decay)"):
            make(**kwargs)
    if name != "adamw":
        with pytest.raises(ValueError, match=f"^{name}: clip_norm"):
            make(0.1, clip_norm=0)
    for key, value in {"momentum": "mu", "nesterov": "mu", "rmsprop": "decay", "adam": "b1"}.items():
        if name == key:
            for bad in (1.0, True, -0.1):
                with pytest.raises(ValueError, match=f"^{name}: {value}"):
                    make(0.1, **{value: bad})
    opt = make(0.1)
    with pytest.raises(TypeError, match=f"^{name}: grads must be shaped like params"):
        opt.update({"W": PARAMS["W"]}, opt.init(PARAMS), PARAMS)


def test_schedules():
    assert float(optim.constant(0.3)(10)) == pytest.approx(0.3)
    assert float(optim.step_decay(1.0, 10, 0.5)(25)) == pytest.approx(0.25)
    assert float(optim.exponential_decay(1.0, 0.5, 2)(4)) == pytest.approx(0.25)
    cosine = optim.cosine_decay(1.0, 100)
    assert float(cosine(0)) == pytest.approx(1.0) and float(cosine(50)) == pytest.approx(0.5)
    assert float(cosine(100)) == pytest.approx(0.0, abs=1e-7)
    assert float(cosine(500)) == pytest.approx(0.0, abs=1e-7)
    warm = optim.linear_warmup(0.4, 4)
    assert [round(float(warm(s)), 6) for s in range(6)] == [0.1, 0.2, 0.3, 0.4, 0.4, 0.4]
    schedule = optim.make_schedule(0.1, total_steps=10, warmup_steps=2)
    assert float(schedule(0)) == pytest.approx(0.05) and float(schedule(10)) == pytest.approx(0.0, abs=1e-7)
    flat = optim.make_schedule(0.1, total_steps=10, schedule="constant")
    assert float(flat(0)) == float(flat(9)) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="make_schedule: schedule"):
        optim.make_schedule(0.1, total_steps=10, schedule="linear")


def test_make_optimizer():
    schedule = optim.make_schedule(0.1, total_steps=10, warmup_steps=2)
    for name, expected in [
        ("momentum", optim.momentum(schedule, mu=0.5, weight_decay=0.3)),
        ("nesterov", optim.nesterov(schedule, mu=0.5, weight_decay=0.3)),
        ("rmsprop", optim.rmsprop(schedule, weight_decay=0.3)),
        ("adamw", optim.adamw(schedule, weight_decay=0.3)),
        ("adam", optim.adam(schedule, weight_decay=0.3)),
    ]:
        opt = optim.make_optimizer(name, 0.1, total_steps=10, warmup_steps=2, mu=0.5, weight_decay=0.3)
        assert_tree_close(run(opt)[0], run(expected)[0], rtol=1e-6)
    adamw = optim.make_optimizer("adamw", 0.1, total_steps=10, weight_decay=0.3)
    assert type(adamw.init(PARAMS)) is optim.AdamState
    with pytest.raises(ValueError, match="make_optimizer: name must be one of"):
        optim.make_optimizer("lbfgs", 0.1, total_steps=1)
    with pytest.raises(ValueError, match="^adam: lr"):
        optim.make_optimizer("adam", -0.1, total_steps=1)


def test_optimizers_and_schedules_print_as_the_call_that_made_them():
    schedule = optim.make_schedule(0.05, total_steps=4295, warmup_steps=10)
    assert repr(schedule) == "make_schedule(0.05, total_steps=4295, warmup_steps=10)"
    assert float(schedule(jnp.int32(0))) == pytest.approx(0.05 / 10)  # still the schedule
    opt = optim.momentum(schedule, mu=0.9)
    assert repr(opt) == "momentum(make_schedule(0.05, total_steps=4295, warmup_steps=10), mu=0.9)"
    init, update = opt  # exactly optax's two fields
    assert isinstance(opt, optim.GradientTransformation) and opt == optim.GradientTransformation(init, update)
    chained = optim.chain(optim.sgd(0.1), optim.sgd(0.2), optim.sgd(0.3))
    assert repr(chained) == "chain(\n  sgd(0.1),\n  sgd(0.2),\n  sgd(0.3),\n)"
    assert (
        repr(optim.add_decayed_weights(1e-4, optim.weights_mask))
        == "add_decayed_weights(0.0001, <weights_mask>)"
    )
    assert repr(optim.make_optimizer("adamw", 0.05, total_steps=100, schedule="constant")) == (
        "adamw(make_schedule(0.05, total_steps=100, warmup_steps=0, schedule='constant'), weight_decay=0.0)"
    )
