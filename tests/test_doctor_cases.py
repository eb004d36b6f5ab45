"""Checks the gradient doctor's test set (tests/doctor_cases/) itself, never the doctor.

For every case, in float64 on random inputs and random cotangents: the arrays a case lists as
wrong really differ from `jax.vjp` of its apply, the arrays it does not list agree to 1e-9
relative, and each wrong array has the property that its label claims, measured on the arrays
alone (e.g. `sign`: equals minus the true gradient; `border`: wrong only within two pixels of
the image's edges; `coupling`: the error lies in the span of 1, x and y over the normalised
group). Controls agree everywhere; precision cases differ by 1e-12..1e-5 relative.
"""

import itertools

import jax
import numpy as np
import pytest
from doctor_cases import KINDS, DoctorCase, controls, heldout, tuning

# The set changes rarely and its check compiles 78 layers (14-24 s cold on 2 cores): with the
# heavier checks, which .ci/run also runs.
pytestmark = pytest.mark.slow

N = 7  # examples per draw: more than the group-basis size, so that `coupling` means something
SEEDS = (0, 1)
TOL = 1e-9  # relative: agreement in float64
NEW_KINDS = ("branch", "routing", "factor", "coupling")

BUGGY = tuning.CASES + heldout.CASES
ALL = BUGGY + controls.CASES


class Subject:
    """A case's layer, with its backward and jax.vjp of its apply compiled together, once per case
    (compilation, not running, is what these checks spend their time on)."""

    def __init__(self, case: DoctorCase):
        self.case, self.layer = case, case.make_layer()

        def forward(params, state, x):
            return self.layer.apply(params, state, x, train=case.train)[0]

        def both(params, state, x, dy):
            """(y, the backward's gradients, jax.vjp's), the forward traced once for both."""

            def y_and_cache(params, x):
                y, _, cache = self.layer.apply(params, state, x, train=case.train)
                return y, (y, cache)

            vjp, (y, cache) = jax.vjp(y_and_cache, params, x, has_aux=True)[1:]
            dx, dparams = self.layer.backward(params, cache, dy)
            true_dparams, true_dx = vjp(dy)
            return y, {"dx": dx, **dparams}, {"dx": true_dx, **true_dparams}

        fast = {"xla_backend_optimization_level": 0}  # small programs: spend less time compiling them
        self.forward, self.both = (jax.jit(f, compiler_options=fast) for f in (forward, both))
        self.plain_forward = forward  # for jax.eval_shape


class Draw:
    """One random draw of a case: params, x, and both gradients for any cotangent (numpy draws,
    and an "rbg" key for init: jax's default threefry compiles anew for every shape)."""

    def __init__(self, subject: Subject, seed: int):
        self.subject, case = subject, subject.case
        out_shape, self.params, self.state = subject.layer.init(
            jax.random.key(seed, impl="rbg"), case.in_shape
        )
        self.rng = np.random.default_rng(seed)
        self.x = self.rng.standard_normal((N, *case.in_shape))
        y = jax.eval_shape(subject.plain_forward, self.params, self.state, self.x)
        assert tuple(y.shape[1:]) == tuple(out_shape), f"{case.name}: init's out_shape != y.shape[1:]"
        self.y_shape = y.shape
        self.y = None  # filled in by the first call to manual

    def forward(self, x):
        return np.asarray(self.subject.forward(self.params, self.state, x))

    def cotangent(self) -> np.ndarray:
        return self.rng.standard_normal(self.y_shape)

    def manual(self, dy) -> dict:
        y, grads, _ = self.subject.both(self.params, self.state, self.x, dy)
        self.y = np.asarray(y)
        return {key: np.asarray(value) for key, value in grads.items()}

    def true(self, dy, params=None) -> dict:
        """jax.vjp's gradients, at the draw's params or at others of the same shapes."""
        _, _, grads = self.subject.both(self.params if params is None else params, self.state, self.x, dy)
        return {key: np.asarray(value) for key, value in grads.items()}


def _close(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    return np.max(np.abs(a - b), initial=0.0) <= TOL * max(np.max(np.abs(b), initial=0.0), 1e-300)


def _relative_error(a, b) -> float:
    if a is None or b is None:  # a key missing on one side
        return np.inf
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return np.inf
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _wrong(bug, true) -> np.ndarray:
    bug, true = np.asarray(bug), np.asarray(true)
    return np.abs(bug - true) > TOL * np.max(np.abs(true))


def _constant_multiple(bug, true) -> float | None:
    """c if bug == c * true, else None."""
    bug, true = np.asarray(bug), np.asarray(true)
    c = float(np.vdot(bug, true) / np.vdot(true, true))
    return c if _close(bug, c * true) else None


def _axis_moves(a: np.ndarray, skip_batch: bool):
    """Flips of the first two (spatial) axes and swaps of two equal-sized axes."""
    first = 1 if skip_batch else 0
    axes = list(range(first, a.ndim))
    for r in (1, 2):
        for flip in itertools.combinations(axes[:2], r):
            yield np.flip(a, flip)
    for i, j in itertools.combinations(axes, 2):
        if a.shape[i] == a.shape[j]:
            yield np.swapaxes(a, i, j)


def _coverage(d: Draw) -> np.ndarray:
    """For each element of an image (H, W, C), how many output positions (windows) it reaches:
    raise each element of example 0 in turn, one perturbed copy per row of a batch, and count the
    output positions that change (structural, so a max pool counts every window, not the max's)."""
    x0 = d.x[0]
    P = x0.size
    raised = x0[None] + 1e3 * np.eye(P).reshape(P, *x0.shape)
    y = d.forward(np.concatenate([x0[None], raised]))  # one call: row 0 is the unraised example
    changed = y[1:] != y[:1]
    return np.any(changed, axis=3).reshape(P, -1).sum(axis=1).reshape(x0.shape)


def check_shape(name, bug, true, d, dy):
    return bug is None or true is None or np.shape(bug) != np.shape(true)


def check_zero(name, bug, true, d, dy):
    return bool(np.all(np.asarray(bug) == 0))


def check_sign(name, bug, true, d, dy):
    return _close(bug, -np.asarray(true))


def check_scale(name, bug, true, d, dy):
    c = _constant_multiple(bug, true)
    return c is not None and min(abs(c), abs(c - 1), abs(c + 1)) > 1e-3


def check_transpose(name, bug, true, d, dy):
    if any(_close(bug, moved) for moved in _axis_moves(np.asarray(true), skip_batch=name == "dx")):
        return True
    if name == "dx":  # a kernel flipped (or two axes swapped) inside the backward
        for key, value in d.params.items():
            for moved in _axis_moves(np.asarray(value), skip_batch=False) if np.ndim(value) >= 2 else ():
                if _close(bug, d.true(dy, {**d.params, key: moved})["dx"]):
                    return True
    return False


def check_batch_sum(name, bug, true, d, dy):
    """One example's contribution: the true gradient with dy kept for example n only."""
    for n in range(N):
        keep = (np.arange(N) == n).reshape((N,) + (1,) * (dy.ndim - 1))
        if _close(bug, d.true(dy * keep)[name]):
            return True
    return False


def check_border(name, bug, true, d, dy):
    """Wrong only within two pixels of the image's edges (and the image has an inside)."""
    wrong = _wrong(bug, true)
    if name != "dx" or wrong.ndim != 4 or not wrong.any():
        return False
    H_in, W_in = wrong.shape[1], wrong.shape[2]
    rows, cols = np.arange(H_in), np.arange(W_in)
    band = np.minimum.outer(np.minimum(rows, H_in - 1 - rows), np.minimum(cols, W_in - 1 - cols)) < 2
    return not band.all() and not (wrong & ~band[None, :, :, None]).any()


def check_overlap(name, bug, true, d, dy):
    """Wrong only at elements that several windows cover (and some are covered once)."""
    wrong = _wrong(bug, true)
    if name != "dx" or wrong.ndim != 4 or not wrong.any():
        return False
    single = (_coverage(d) < 2)[None]
    return single.any() and not (wrong & single).any()


def check_local(name, bug, true, d, dy):
    return 0 < _wrong(bug, true).mean() <= 1 / 8


def check_mismatch(name, bug, true, d, dy):
    """None of the other kinds' properties holds."""
    others = [check for kind, check in CHECKS.items() if kind not in ("mismatch", "shape")]
    return not check_shape(name, bug, true, d, dy) and not any(
        check(name, bug, true, d, dy) for check in others
    )


def check_branch(name, bug, true, d, dy):
    """Wrong exactly on a region of x: {x in an interval} or its complement, whatever dy is."""
    if name != "dx" or np.shape(bug) != d.x.shape:
        return False
    dy2 = d.cotangent()
    wrong = _wrong(bug, true)
    if (
        not wrong.any()
        or wrong.all()
        or not np.array_equal(wrong, _wrong(d.manual(dy2)["dx"], d.true(dy2)["dx"]))
    ):
        return False
    along_x = wrong.ravel()[np.argsort(d.x.ravel())]
    return np.count_nonzero(along_x[1:] != along_x[:-1]) <= 2


def check_routing(name, bug, true, d, dy):
    """A pooling layer's gradient reaches other elements than the true one, not as a multiple of it."""
    if name != "dx" or d.x.ndim != 4 or d.y.shape[1:3] == d.x.shape[1:3]:
        return False
    reached, should = np.asarray(bug) != 0, np.asarray(true) != 0
    return not np.array_equal(reached, should) and _constant_multiple(bug, true) is None


def check_factor(name, bug, true, d, dy):
    """dx = f * true dx elementwise, with f not constant and the same for another cotangent."""
    if name != "dx":
        return False
    dy2 = d.cotangent()
    bug2, true2 = np.asarray(d.manual(dy2)[name]), np.asarray(d.true(dy2)[name])
    bug, true = np.asarray(bug), np.asarray(true)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 where true is 0: nan, not a factor
        ratio, ratio2 = bug / true, bug2 / true2
    return (
        _constant_multiple(bug, true) is None
        and np.allclose(ratio, ratio2, rtol=1e-8, atol=0)
        and np.ptp(ratio) > 1e-6 * np.max(np.abs(ratio))
    )


def check_coupling(name, bug, true, d, dy):
    """The error lies, group by group, in the span of 1, x and y over the normalised axes."""
    error = np.asarray(bug) - np.asarray(true)
    if name != "dx" or error.shape != d.x.shape or d.y.shape != d.x.shape or not error.any():
        return False
    last = error.ndim - 1
    for shared in (tuple(range(last)), tuple(range(1, last + 1))):  # over the batch / over features
        kept = [a for a in range(error.ndim) if a not in shared]

        def groups(a, kept=kept):
            moved = np.moveaxis(a, kept, list(range(len(kept))))
            return moved.reshape(int(np.prod([a.shape[i] for i in kept])), -1)

        def fits(e, x, y):
            basis = np.stack([np.ones_like(x), x, y], axis=1)
            residual = e - basis @ np.linalg.lstsq(basis, e, rcond=None)[0]
            return np.linalg.norm(residual) <= 1e-8 * max(np.linalg.norm(e), 1e-12 * np.linalg.norm(error))

        if all(fits(*group) for group in zip(groups(error), groups(d.x), groups(d.y))):
            return True
    return False


CHECKS = {
    "shape": check_shape,
    "zero": check_zero,
    "sign": check_sign,
    "scale": check_scale,
    "transpose": check_transpose,
    "batch-sum": check_batch_sum,
    "border": check_border,
    "overlap": check_overlap,
    "local": check_local,
    "mismatch": check_mismatch,
    "branch": check_branch,
    "routing": check_routing,
    "factor": check_factor,
    "coupling": check_coupling,
}


@pytest.mark.parametrize("case", ALL, ids=[case.name for case in ALL])
def test_case_is_what_it_says(case):
    with jax.enable_x64(True):
        subject = Subject(case)
        for seed in SEEDS:
            d = Draw(subject, seed)
            dy = d.cotangent()
            manual, true = d.manual(dy), d.true(dy)
            assert set(case.expected) <= set(manual) | set(true), f"{case.name}: labels an array it has not"
            for name in sorted(set(manual) | set(true)):
                bug, right = manual.get(name), true.get(name)
                kinds = case.expected.get(name)
                if not kinds:
                    assert _relative_error(bug, right) <= TOL, (
                        f"{case.name}: {name} should be right (seed {seed})"
                    )
                elif kinds == ("precision",):
                    assert 1e-12 < _relative_error(bug, right) < 1e-5, f"{case.name}: {name} (seed {seed})"
                else:
                    if "shape" not in kinds:
                        assert not check_shape(name, bug, right, d, dy), (
                            f"{case.name}: {name}'s shape is wrong"
                        )
                        assert _relative_error(bug, right) > 1e-6, (
                            f"{case.name}: {name} is right (seed {seed})"
                        )
                    assert any(CHECKS[k](name, bug, right, d, dy) for k in kinds), (
                        f"{case.name}: {name} is not {kinds} (seed {seed})"
                    )


def test_the_set_is_well_formed():
    names = [case.name for case in ALL]
    assert len(names) == len(set(names))
    for case in ALL:
        assert case.make_layer().name == case.name
        assert case.note and "\n" not in case.note
        assert all(kinds and set(kinds) <= set(KINDS) for kinds in case.expected.values()), case.name
    assert all(case.expected == {} for case in controls.CASES) and len(controls.CASES) >= 15
    assert all(case.expected for case in BUGGY) and len(BUGGY) >= 36


def test_the_halves_are_balanced():
    def kinds(cases):
        return [k for case in cases for labels in case.expected.values() for k in labels]

    assert len(tuning.CASES) == len(heldout.CASES)
    assert set(kinds(tuning.CASES)) == set(kinds(heldout.CASES)) == set(KINDS)
    everything = kinds(BUGGY)
    assert all(everything.count(k) >= 4 for k in NEW_KINDS)
    assert 2 <= everything.count("precision") <= 3
