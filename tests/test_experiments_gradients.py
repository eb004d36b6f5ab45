"""experiments.gradients: the registry table and the finite-difference step study (--quick),
its figure, its facts, and each claim flipping with its data."""

import copy
import json

import numpy as np
import pytest

from experiments import fmt
from experiments.gradients import facts, run
from fnn.gradcheck.check import FD_STEP


def test_table_passes_and_covers_the_quick_cases(quick_experiment):
    out, r = quick_experiment("gradients")
    assert sorted(p.name for p in out.glob("*.png")) == ["fd_step.png"]
    assert {row["constructor"] for row in r["table"]} == set(run.QUICK["only"])
    assert all(len(row["max_error_per_seed"]) == len(r["seeds"]) >= 3 for row in r["table"])
    assert r["max_error"] == max(max(row["max_error_per_seed"]) for row in r["table"]) < r["tolerance"]


def test_fd_study_shows_truncation_and_round_off(quick_experiment):
    _, r = quick_experiment("gradients")
    steps = np.asarray(r["fd_steps"])
    assert r["gradcheck_step"] == FD_STEP
    for dtype in run.DTYPES:
        for p in run.STENCILS:
            errors = np.asarray(r["fd_errors"][dtype][str(p)])
            assert errors.shape == (len(r["seeds"]), len(steps)) and (errors >= 0).all()
    geo = {f"{d}_{p}": run._log_mean(r["fd_errors"][d][p]) for d in run.DTYPES for p in ("2", "4")}
    # nonlinear function: the 2nd-order difference has a truncation error that grows with h
    big, mid = int(np.argmax(steps)), int(np.argmin(np.abs(steps - 1e-2)))
    assert geo["float64_2"][big] > 1e-6 and geo["float64_2"][big] > 10 * geo["float64_2"][mid]
    # round-off: float64 reaches far lower errors than float32; 4th order beats 2nd order
    assert geo["float64_4"].min() < 1e-3 * geo["float32_4"].min()
    assert geo["float64_4"].min() < geo["float64_2"].min()
    assert r["fd"]["float64_4"]["truncation_C"] > 0 and r["fd"]["float64_2"]["roundoff_B"] > 0


def test_replot_redraws_the_figure(quick_experiment):
    from experiments import gradients

    out, _ = quick_experiment("gradients")
    (out / "fd_step.png").unlink()
    gradients.main(["--replot", "--out", str(out)])
    assert (out / "fd_step.png").is_file()


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_facts_on_the_quick_run(quick_experiment):
    _, r = quick_experiment("gradients")
    f = facts.facts(json.loads(json.dumps(r)))
    for key, value in _leaves(f):
        assert isinstance(value, (fmt.Num, int, str, fmt.Table)), key
    assert f["cases"] == len(r["table"]) and len(f["table"].rows) == f["cases"]
    assert len(f["fd_table"].rows) == 4
    for name, claim in facts.CLAIMS.items():
        assert claim(f) in (True, False), name
    assert facts.CLAIMS["all_cases_pass"](f) and facts.CLAIMS["step_meets_tolerance"](f)


@pytest.fixture(scope="module")
def base(quick_experiment):
    _, r = quick_experiment("gradients")
    return facts.facts(json.loads(json.dumps(r)))


def _set(f, path, value):
    g = copy.deepcopy(f)
    *head, last = path.split(".")
    node = g
    for key in head:
        node = node[key]
    node[last] = value
    return g


@pytest.mark.parametrize(
    "claim, path, holds, fails",
    [
        ("all_cases_pass", "passed", None, 0),
        ("autodiff_tighter_than_fd", "max_autodiff_error", 1e-16, 1.0),
        ("step_meets_tolerance", "fd.float64_4.at_gradcheck_step", 1e-13, 1e-6),
        ("float32_too_coarse", "fd.float32_floor", 1e-7, 1e-12),
        ("fourth_order_better", "fd.float64_4.best_error", 1e-20, 1.0),
        ("best_steps_follow_rule", "fd.best_over_rule_max", 2.0, 30.0),
        ("best_steps_follow_rule", "fd.best_over_rule_min", 0.5, 0.01),
        ("step_on_roundoff_side", "fd.truncation_at_step", 1e-20, 1.0),
        ("step_near_best", "fd.float64_4.best_step", FD_STEP, 1.0),
    ],
)
def test_each_claim_flips_with_its_data(base, claim, path, holds, fails):
    if holds is not None:
        assert facts.CLAIMS[claim](_set(base, path, holds)) is True
    assert facts.CLAIMS[claim](_set(base, path, fails)) is False
