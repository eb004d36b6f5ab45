"""experiments.optimizers: the lr sweep against the effective rate, the quadratic, the five optimizers,
and the report section that must follow the numbers."""

import copy
import math
import re

import pytest

from experiments import optimizers

STATUSES = {"ok", "nan", "above-chance"}


@pytest.fixture(scope="module")
def quick(quick_experiment):
    """The quick run (12 s cold: a sweep of short trainings): the tests on it are marked slow."""
    return quick_experiment("optimizers")


@pytest.mark.slow
def test_writes_the_three_figures(quick):
    out, _ = quick
    assert sorted(p.name for p in out.glob("*.png")) == ["loss.png", "lr_sweep.png", "quadratic.png"]


@pytest.mark.slow
def test_sweep_runs_both_at_the_same_effective_rates_until_they_diverge(quick):
    _, r = quick
    setup = r["setup"]
    assert set(r["sweep"]) == {"sgd", "momentum"}
    for name, entries in r["sweep"].items():
        etas = [e["effective_lr"] for e in entries]
        assert etas == sorted(set(etas)) and set(setup["sweep"]) <= set(etas)
        for e in entries:
            factor = 1 - setup["mu"] if name == "momentum" else 1.0
            assert e["lr"] == pytest.approx(e["effective_lr"] * factor, rel=1e-5)
            assert len(e["status"]) == len(e["final_loss"]) == len(setup["seeds"])
            assert set(e["status"]) <= STATUSES
            for status, loss in zip(e["status"], e["final_loss"]):
                assert (loss is None) == (status == "nan")
                assert status != "ok" or (math.isfinite(loss) and loss < setup["chance_loss"])
        added_above = sum(eta > max(setup["sweep"]) for eta in etas)
        top_diverged = all(s != "ok" for s in entries[-1]["status"])
        assert top_diverged or added_above == setup["sweep_extend"], name
        b = optimizers.best(entries)
        assert b is not None and optimizers._ok(b)
        assert all(sum(b["final_loss"]) <= sum(e["final_loss"]) for e in entries if optimizers._ok(e))


def test_step_125_walks_the_grid():
    assert [optimizers._step_125(x, up=True) for x in (0.01, 0.02, 0.05, 5.0)] == [0.02, 0.05, 0.1, 10.0]
    assert [optimizers._step_125(x, up=False) for x in (0.01, 0.02, 0.05, 10.0)] == [0.005, 0.01, 0.02, 5.0]
    assert optimizers._step_125(0.3, up=True) == 0.6


@pytest.mark.slow
def test_quadratic_contraction_matches_the_linear_theory(quick):
    """fnn's sgd and momentum contract |w| at the spectral radius of their linear iteration, and
    diverge just above 2 / lambda_max and 2 (1 + mu) / lambda_max."""
    _, r = quick
    q, mu = r["quadratic"], r["setup"]["mu"]
    assert {(x["scenario"], x["optimizer"]) for x in q["runs"]} == {
        (s, n) for s in optimizers.SCENARIOS for n in ("sgd", "momentum")
    }
    for x in q["runs"]:
        assert x["path"][0] == pytest.approx(q["w0"])
        assert len(x["loss"]) == q["steps"] + 1
        assert x["rho_measured"] == pytest.approx(x["rho_predicted"], abs=2e-3), (
            x["scenario"],
            x["optimizer"],
        )
        assert (x["rho_measured"] > 1) == (x["scenario"] == "above the limit")
        if x["optimizer"] == "sgd":
            assert x["rho_slow"] == pytest.approx(1 - x["lr"] * q["lambda_min"])
    runs = {(x["scenario"], x["optimizer"]): x for x in q["runs"]}
    assert runs["largest stable lr", "momentum"]["rho_predicted"] == pytest.approx(math.sqrt(mu))
    assert (
        runs["largest stable lr", "momentum"]["rho_measured"]
        < runs["largest stable lr", "sgd"]["rho_measured"]
    )
    assert q["limit_momentum"] == pytest.approx(2 * (1 + mu) / q["lambda_max"])


@pytest.mark.slow
def test_five_optimizers_use_the_sweeps_best_rates(quick):
    _, r = quick
    c, setup = r["compare"], r["setup"]
    assert list(c) == list(optimizers.NAMES)
    assert c["sgd"]["lr"] == optimizers.best(r["sweep"]["sgd"])["lr"]
    assert c["momentum"]["lr"] == c["nesterov"]["lr"] == optimizers.best(r["sweep"]["momentum"])["lr"]
    for x in c.values():
        for status, losses in zip(x["status"], x["batch_losses"]):
            assert status == "nan" or len(losses) == setup["compare_epochs"] * setup["steps_per_epoch"]


def _refs_and_labels(tex):
    refs = set(re.findall(r"\\(?:ref|eqref)\{([^}]*)\}", tex))
    labels = set(re.findall(r"\\label\{([^}]*)\}", tex))
    return refs, labels


@pytest.mark.slow
def test_section_is_latex_whose_references_exist(quick):
    out, r = quick
    tex = optimizers.section(r)
    assert tex.startswith("\\section{") and "\\label{sec:exp-optimizers}" in tex
    refs, labels = _refs_and_labels(tex)
    for label in ("fig:optimizers-lr-sweep", "fig:optimizers-quadratic", "fig:optimizers-loss"):
        assert label in labels and label in refs
    for label in ("tab:optimizers-sweep", "tab:optimizers-quadratic", "tab:optimizers-compare"):
        assert label in labels and label in refs
    own = {ref for ref in refs if ref.startswith(("fig:", "tab:", "sec:exp-"))}
    assert own <= labels
    for path in re.findall(r"\\includegraphics\[[^]]*\]\{results/optimizers/([^}]*)\}", tex):
        assert (out / path).exists()
    assert tex.count("{") == tex.count("}") and tex.count("$") % 2 == 0
    assert not re.search(r"\bnan\b|None|inf\b", tex)


def _with_momentum_losses(r, scale, stable_top=None):
    """A copy of r where momentum's sweep losses are SGD's times `scale` at every shared effective
    rate where both are stable, and momentum diverges above `stable_top` if given."""
    r = copy.deepcopy(r)
    sgd = {e["effective_lr"]: e for e in r["sweep"]["sgd"]}
    for e in r["sweep"]["momentum"]:
        s = sgd.get(e["effective_lr"])
        if stable_top is not None and e["effective_lr"] > stable_top:
            e["status"], e["final_loss"] = ["nan"] * len(e["status"]), [None] * len(e["status"])
        elif s is not None and optimizers._ok(s):
            e["status"], e["final_loss"] = list(s["status"]), [v * scale for v in s["final_loss"]]
            e["val_accuracy"] = list(s["val_accuracy"])
    return r


@pytest.mark.slow
def test_section_sentences_follow_the_data(quick):
    _, r = quick
    same = optimizers.section(_with_momentum_losses(r, 1.0))
    assert "the same final loss within the spread" in same
    assert "momentum trains faster because its steps are" in same
    assert "a lower loss for momentum" not in same
    lower = optimizers.section(_with_momentum_losses(r, 0.5))
    assert "a lower loss for momentum, beyond the spread" in lower
    assert "does not account for the whole difference" in lower
    lowest = r["sweep"]["momentum"][0]["effective_lr"]
    assert optimizers._stable_top(r, "sgd") > lowest
    unstable = _with_momentum_losses(r, 1.0, stable_top=lowest)
    assert "momentum does \\emph{not} buy stability" in optimizers.section(unstable)


@pytest.mark.slow
def test_ordering_names_non_neighbours_that_differ(quick):
    """The chain of signs compares neighbours; a pair of non-neighbours whose difference the chain
    hides (a < c although a ~ b ~ c) is named."""
    _, r = quick
    r = copy.deepcopy(r)
    losses = {  # nesterov ~ momentum ~ sgd, but nesterov < sgd; rmsprop and adam far above
        "nesterov": [0.058, 0.062, 0.066],
        "momentum": [0.061, 0.067, 0.073],
        "sgd": [0.066, 0.068, 0.071],
        "rmsprop": [0.093, 0.095, 0.097],
        "adam": [0.121, 0.123, 0.125],
    }
    for name, values in losses.items():
        n = len(r["compare"][name]["status"])
        r["compare"][name]["status"] = ["ok"] * n
        r["compare"][name]["final_loss"] = (values * n)[:n]
        r["compare"][name]["val_accuracy"] = [0.9] * n
    text = optimizers._compare_text(r)
    if len(r["setup"]["seeds"]) >= 2:
        assert "Nesterov and SGD" in text and "differ by more than the spread" in text
    else:
        assert "compares as the signs between them suggest" in text


def _entry(eta, factor, losses):
    ok = losses is not None
    return {
        "effective_lr": eta,
        "lr": eta * factor,
        "status": ["ok" if ok else "nan"] * 2,
        "final_loss": list(losses) if ok else [None, None],
        "val_accuracy": [0.9, 0.9] if ok else [None, None],
    }


@pytest.mark.slow
def test_stability_is_stated_as_a_bracket(quick):
    """SGD stable up to 2, momentum up to 5 on the grid: the text states what the grid shows (momentum
    stable where SGD diverges, each limit between two rates), not a ratio of the two."""
    _, r = quick
    r = copy.deepcopy(r)
    r["setup"]["seeds"] = [0, 1]
    mu = r["setup"]["mu"]
    grid = {1.0: [0.12, 0.13], 2.0: [0.10, 0.11], 5.0: [0.37, 0.40]}
    r["sweep"] = {
        "sgd": [_entry(eta, 1.0, grid.get(eta) if eta <= 2 else None) for eta in (1.0, 2.0, 5.0)],
        "momentum": [_entry(eta, 1 - mu, grid.get(eta)) for eta in (1.0, 2.0, 5.0, 10.0)],
    }
    text = optimizers.section(r)
    assert "momentum is still stable at $\\eta=5$, where SGD diverges" in text
    assert "SGD's between $2$ and $5$, momentum's between $5$ and $10$" in text
    assert "between 1 and 5 times SGD's" in text and "times SGD's largest stable" not in text
