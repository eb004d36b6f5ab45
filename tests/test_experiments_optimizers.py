"""experiments.optimizers: the quick run and --replot, the sweep against the effective rate,
the quadratic, and each claim flipping with its data."""

import copy
import math

import pytest

from experiments import optimizers
from experiments.optimizers import facts, run

STATUSES = {"ok", "nan", "above-chance"}
FIGURES = ["gap.png", "loss.png", "lr_sweep.png", "quadratic.png"]


@pytest.fixture(scope="module")
def quick(quick_experiment):
    """The quick run (12 s cold: a sweep of short trainings): the tests on it are marked slow."""
    return quick_experiment("optimizers")


@pytest.mark.slow
def test_writes_and_redraws_its_figures(quick):
    out, _ = quick
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES
    for p in out.glob("*.png"):
        p.unlink()
    optimizers.main(["--replot", "--out", str(out)])
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES


@pytest.mark.slow
def test_facts_and_claims_evaluate_on_the_quick_run(quick):
    _, r = quick
    f = facts.facts(r)
    assert {"gap", "sgd", "momentum", "same_lr", "setup", "quadratic", "compare"} <= set(f)
    for claim in facts.CLAIMS.values():
        assert claim(f) in (True, False)


@pytest.mark.slow
def test_sweep_runs_both_at_the_same_effective_rates_until_they_diverge(quick):
    _, r = quick
    setup = r["setup"]
    for name, entries in r["sweep"].items():
        etas = [e["effective_lr"] for e in entries]
        assert etas == sorted(set(etas)) and set(setup["sweep"]) <= set(etas)
        for e in entries:
            factor = 1 - setup["mu"] if name == "momentum" else 1.0
            assert e["lr"] == pytest.approx(e["effective_lr"] * factor, rel=1e-5)
            assert set(e["status"]) <= STATUSES
            for status, loss in zip(e["status"], e["final_loss"]):
                assert (loss is None) == (status == "nan")
        b = run.best(entries)
        assert b is not None and run.ok(b)


def test_step_125_walks_the_grid():
    assert [run._step_125(x, up=True) for x in (0.01, 0.02, 0.05, 5.0)] == [0.02, 0.05, 0.1, 10.0]
    assert [run._step_125(x, up=False) for x in (0.01, 0.02, 0.05, 10.0)] == [0.005, 0.01, 0.02, 5.0]


@pytest.mark.slow
def test_quadratic_contraction_matches_the_linear_theory(quick):
    _, r = quick
    q, mu = r["quadratic"], r["setup"]["mu"]
    for x in q["runs"]:
        assert x["rho_measured"] == pytest.approx(x["rho_predicted"], abs=2e-3)
        assert (x["rho_measured"] > 1) == (x["scenario"] == "above the limit")
    runs = {(x["scenario"], x["optimizer"]): x for x in q["runs"]}
    assert runs["largest stable lr", "momentum"]["rho_predicted"] == pytest.approx(math.sqrt(mu))


def _entry(eta, lr, losses, accuracy=0.9):
    ok = losses is not None
    return {
        "effective_lr": eta,
        "lr": lr,
        "status": ["ok" if ok else "nan"] * 3,
        "final_loss": list(losses) if ok else [None] * 3,
        "val_accuracy": [accuracy] * 3,
    }


def _results(gap, compare_gap=(0.001, -0.002, 0.0005), nesterov=(-0.003, -0.004, -0.005)):
    """Constructed results: SGD's losses on a grid, momentum's = SGD's + gap per seed."""
    sgd_loss = {0.1: [0.30, 0.31, 0.32], 1.0: [0.12, 0.13, 0.125], 2.0: [0.10, 0.11, 0.105]}
    sgd = [_entry(eta, eta, v) for eta, v in sgd_loss.items()] + [_entry(5.0, 5.0, None)]
    mom = [_entry(eta, eta * 0.1, [a + g for a, g in zip(v, gap)]) for eta, v in sgd_loss.items()]
    mom += [_entry(0.5, 0.05, [0.2, 0.21, 0.2]), _entry(5.0, 0.5, [0.4, 0.38, 0.39]), _entry(10.0, 1.0, None)]
    mom.sort(key=lambda e: e["effective_lr"])
    sgd.insert(0, _entry(0.2, 0.2, [0.25, 0.26, 0.255]))
    base = [0.07, 0.068, 0.066]
    compare = {
        "sgd": base,
        "momentum": [a + g for a, g in zip(base, compare_gap)],
        "nesterov": [a + g for a, g in zip(base, nesterov)],
        "rmsprop": [0.095] * 3,
        "adam": [0.12, 0.121, 0.122],
    }
    quadratic_runs = []
    for scenario, (s, m) in {
        "same lr": (0.985, 0.949),
        "same effective lr": (0.985, 0.982),
        "largest stable lr": (0.981, 0.948),
        "above the limit": (1.1, 1.48),
    }.items():
        for name, rho in (("sgd", s), ("momentum", m)):
            quadratic_runs.append(
                {
                    "scenario": scenario,
                    "optimizer": name,
                    "lr": 1.0,
                    "effective_lr": 1.0,
                    "rho_measured": rho,
                    "rho_predicted": rho,
                }
            )
    return {
        "setup": {
            "mu": 0.9,
            "seeds": [0, 1, 2],
            "sweep_epochs": 2,
            "compare_epochs": 3,
            "steps_per_epoch": 156,
            "train_images": 20000,
            "batch_size": 128,
            "hidden": [256],
            "final_percent": 10,
            "chance_loss": 2.3,
            "lr_rmsprop": 1e-3,
            "lr_adam": 1e-3,
        },
        "sweep": {"sgd": sorted(sgd, key=lambda e: e["effective_lr"]), "momentum": mom},
        "compare": {
            n: {"lr": 0.1, "status": ["ok"] * 3, "final_loss": v, "val_accuracy": [0.96] * 3}
            for n, v in compare.items()
        },
        "quadratic": {
            "kappa": 100.0,
            "lambda_min": 0.01,
            "limit_sgd": 2.0,
            "limit_momentum": 3.8,
            "sqrt_mu": 0.9487,
            "below": 0.95,
            "above": 1.05,
            "steps": 300,
            "shrink": 1e-3,
            "runs": quadratic_runs,
        },
    }


def _claims(results):
    f = facts.facts(results)
    return {name: claim(f) for name, claim in facts.CLAIMS.items()}


def test_momentum_worse_at_equal_eta_flips_with_the_sign_of_the_gap():
    assert _claims(_results((0.004, 0.005, 0.006)))["momentum_worse_at_equal_eta"]
    assert not _claims(_results((0.004, -0.001, 0.006)))["momentum_worse_at_equal_eta"]
    assert not _claims(_results((-0.004, -0.005, -0.006)))["momentum_worse_at_equal_eta"]


def test_gap_reliable_but_at_one_rate_counts_the_intervals():
    # the same gap at every rate: every interval excludes 0 (no exception) -> False
    assert not _claims(_results((0.004, 0.005, 0.006)))["gap_reliable_but_at_one_rate"]
    r = _results((0.004, 0.005, 0.006))
    wide = next(e for e in r["sweep"]["momentum"] if e["effective_lr"] == 1.0)
    wide["final_loss"] = [a + g for a, g in zip([0.12, 0.13, 0.125], (0.0001, 0.012, 0.001))]
    assert _claims(r)["gap_reliable_but_at_one_rate"]
    f = facts.facts(r)
    assert f["gap"]["wide_eta"] == 1.0 and f["gap"]["wide"]["lo"] < 0


def test_gap_small_and_same_best_eta():
    c = _claims(_results((0.004, 0.005, 0.006)))
    assert c["gap_small"] and c["same_best_eta"]
    assert not _claims(_results((0.04, 0.05, 0.06)))["gap_small"]
    big = _claims(_results((0.1, 0.1, 0.1)))  # momentum's best moves off eta = 2
    assert not big["same_best_eta"]


def test_same_lr_stability_and_extra_range_claims():
    r = _results((0.004, 0.005, 0.006))
    c = _claims(r)
    assert c["momentum_faster_at_same_lr"] and c["momentum_stable_where_sgd_diverges"]
    assert c["extra_range_does_not_pay"]
    r2 = copy.deepcopy(r)
    next(e for e in r2["sweep"]["momentum"] if e["effective_lr"] == 5.0)["final_loss"] = [0.05, 0.06, 0.055]
    assert not _claims(r2)["extra_range_does_not_pay"]
    r3 = copy.deepcopy(r)
    e5 = next(e for e in r3["sweep"]["momentum"] if e["effective_lr"] == 5.0)
    e5["status"], e5["final_loss"] = ["nan"] * 3, [None] * 3
    assert not _claims(r3)["momentum_stable_where_sgd_diverges"]
    r4 = copy.deepcopy(r)  # SGD at momentum's best lr (0.2) as good as momentum
    next(e for e in r4["sweep"]["sgd"] if e["lr"] == 0.2)["final_loss"] = [0.09, 0.1, 0.1]
    assert not _claims(r4)["momentum_faster_at_same_lr"]


def test_compare_claims_flip():
    c = _claims(_results((0.004, 0.005, 0.006)))
    assert c["no_difference_at_best_rates"] and c["nesterov_lower_every_seed"] and c["untuned_adaptive_worse"]
    assert c["nesterov_vs_momentum_unclear"]
    c = _claims(
        _results((0.004, 0.005, 0.006), compare_gap=(0.01, 0.011, 0.012), nesterov=(0.012, 0.009, 0.013))
    )
    assert not c["no_difference_at_best_rates"] and not c["nesterov_lower_every_seed"]
    c = _claims(_results((0.004, 0.005, 0.006), compare_gap=(0, 0, 0), nesterov=(-0.01, -0.0101, -0.0102)))
    assert not c["nesterov_vs_momentum_unclear"]


def test_quadratic_claims_flip():
    r = _results((0.004, 0.005, 0.006))
    c = _claims(r)
    assert (
        c["quadratic_theory_matches"]
        and c["quadratic_same_eta_close"]
        and c["quadratic_momentum_faster_at_limit"]
    )
    for x in r["quadratic"]["runs"]:
        if x["scenario"] == "same effective lr" and x["optimizer"] == "momentum":
            x["rho_measured"] = 0.95
        if x["scenario"] == "largest stable lr" and x["optimizer"] == "momentum":
            x["rho_measured"] = x["rho_predicted"] = 0.99
        if x["scenario"] == "above the limit":
            x["rho_measured"] = 0.99
    c = _claims(r)
    assert not (c["quadratic_theory_matches"] or c["quadratic_same_eta_close"])
    assert not c["quadratic_momentum_faster_at_limit"]


def test_adaptive_same_lr_claim_flips_with_the_rates():
    r = _results((0.004, 0.005, 0.006))
    assert _claims(r)["adaptive_same_lr"]
    r["setup"]["lr_adam"] = 3 * r["setup"]["lr_rmsprop"]
    assert not _claims(r)["adaptive_same_lr"]
