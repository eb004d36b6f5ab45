"""Derived statistics and claims of experiments.optimizers (no LaTeX, no sentences).

Arms share seeds (initial weights and batch order), so every comparison is paired by seed
(`experiments.stats.paired`): momentum minus SGD, final loss, at each effective rate where
neither diverged.
"""

from __future__ import annotations

import math

import numpy as np

from experiments import fmt, stats
from experiments.optimizers.run import best, ok

SCENARIOS = {"same lr": "same_lr", "same effective lr": "same_eta", "largest stable lr": "at_limit"}


def _by_eta(results: dict, name: str) -> dict[float, dict]:
    return {e["effective_lr"]: e for e in results["sweep"][name]}


def _stable_top(entries: list[dict]) -> float:
    stable = [e["effective_lr"] for e in entries if ok(e)]
    return max(stable) if stable else math.nan


def _first_diverged(entries: list[dict]) -> float:
    top = _stable_top(entries)
    above = [e["effective_lr"] for e in entries if e["effective_lr"] > top]
    return min(above) if above else math.nan


def _steps(rho: float, shrink: float) -> float:
    """Steps for |w| to shrink by the factor `shrink` at contraction rho per step."""
    return math.log(shrink) / math.log(rho) if 0 < rho < 1 else math.inf


def equal_eta(results: dict) -> list[tuple[float, stats.Paired]]:
    """(eta, momentum - SGD final loss, paired by seed) at each effective rate where both ran
    and no seed of either diverged, in increasing eta."""
    sgd, mom = _by_eta(results, "sgd"), _by_eta(results, "momentum")
    return [
        (eta, stats.paired(sgd[eta]["final_loss"], mom[eta]["final_loss"]))
        for eta in sorted(set(sgd) & set(mom))
        if ok(sgd[eta]) and ok(mom[eta])
    ]


def _sweep_facts(results: dict) -> dict:
    setup = results["setup"]
    pairs = equal_eta(results)
    means = [p.mean for _, p in pairs]
    wide = [eta for eta, p in pairs if not p.reliable]
    out = {
        "gap": {
            "rates": len(pairs),
            "low": fmt.signed(min(means), 3),
            "high": fmt.signed(max(means), 3),
            "seeds_positive": sum(d > 0 for _, p in pairs for d in p.diffs),
            "pairs": sum(p.n for _, p in pairs),
            "reliable": sum(p.reliable and p.mean > 0 for _, p in pairs),
            "covers_zero": len(wide),
            "wide_eta": fmt.Num(wide[0] if wide else math.nan, "g"),
            "lowest_eta": fmt.Num(pairs[0][0] if pairs else math.nan, "g"),
            "highest_eta": fmt.Num(pairs[-1][0] if pairs else math.nan, "g"),
        }
    }
    for eta, p in pairs:  # the widest interval, to quote
        if wide and eta == wide[0]:
            out["gap"]["wide"] = fmt.paired(p, 4)
    for name in ("sgd", "momentum"):
        entries = results["sweep"][name]
        b = best(entries)
        out[name] = {
            "best_eta": fmt.Num(b["effective_lr"], "g"),
            "best_lr": fmt.Num(b["lr"], "g"),
            "best_loss": fmt.pm(b["final_loss"], 3),
            "best_accuracy": fmt.pm(b["val_accuracy"], 2, 100),
            "stable_top": fmt.Num(_stable_top(entries), "g"),
            "first_diverged": fmt.Num(_first_diverged(entries), "g"),
            "grid_low": fmt.Num(entries[0]["effective_lr"], "g"),
            "grid_high": fmt.Num(entries[-1]["effective_lr"], "g"),
        }
    # one lr, two optimizers: momentum's best lr, and SGD there and at momentum's effective rate
    b_mom, sgd = best(results["sweep"]["momentum"]), _by_eta(results, "sgd")
    same = {"lr": fmt.Num(b_mom["lr"], "g"), "eta": fmt.Num(b_mom["effective_lr"], "g")}
    if b_mom["lr"] in sgd and ok(sgd[b_mom["lr"]]):
        slow = sgd[b_mom["lr"]]["final_loss"]
        same["sgd"] = fmt.num(np.mean(slow), 3)
        same["momentum"] = fmt.num(np.mean(b_mom["final_loss"]), 3)
        same["diff"] = fmt.paired(stats.paired(slow, b_mom["final_loss"]), 3)
        same["ratio"] = fmt.num(np.mean(slow) / np.mean(b_mom["final_loss"]), 1)
    out["same_lr"] = same
    # momentum's extra stable range against SGD's best
    top_s = _stable_top(results["sweep"]["sgd"])
    extra = best([e for e in results["sweep"]["momentum"] if ok(e) and e["effective_lr"] > top_s])
    b_sgd = best(results["sweep"]["sgd"])
    if extra is not None and b_sgd is not None:
        out["extra"] = {
            "eta": fmt.Num(extra["effective_lr"], "g"),
            "loss": fmt.pm(extra["final_loss"], 3),
            "minus_sgd_best": fmt.paired(stats.paired(b_sgd["final_loss"], extra["final_loss"]), 3),
        }
    out["setup"] = {
        "mu": fmt.Num(setup["mu"], "g"),
        "factor": fmt.Num(1 / (1 - setup["mu"]), ".0f"),
        "limit_factor": fmt.Num((1 + setup["mu"]) / (1 - setup["mu"]), ".0f"),
        "seeds": len(setup["seeds"]),
        "sweep_epochs": setup["sweep_epochs"],
        "compare_epochs": setup["compare_epochs"],
        "steps_per_epoch": setup["steps_per_epoch"],
        "train_images": fmt.count(setup["train_images"]),
        "batch_size": setup["batch_size"],
        "hidden": "-".join(map(str, setup["hidden"])),
        "final_percent": setup["final_percent"],
        "chance_loss": fmt.num(setup["chance_loss"], 2),
        "lr_rmsprop": fmt.Num(setup["lr_rmsprop"], "g"),
        "lr_adam": fmt.Num(setup["lr_adam"], "g"),
    }
    return out


def _quadratic_facts(results: dict) -> dict:
    q = results["quadratic"]
    runs = {(x["scenario"], x["optimizer"]): x for x in q["runs"]}
    out = {
        "kappa": fmt.Num(q["kappa"], "g"),
        "lambda_min": fmt.Num(q["lambda_min"], "g"),
        "limit_sgd": fmt.Num(q["limit_sgd"], "g"),
        "limit_momentum": fmt.Num(q["limit_momentum"], "g"),
        "sqrt_mu": fmt.num(q["sqrt_mu"], 3),
        "below": fmt.Num(q["below"], "g"),
        "above": fmt.Num(q["above"], "g"),
        "steps": q["steps"],
        "max_error": fmt.sci(max(abs(x["rho_measured"] - x["rho_predicted"]) for x in q["runs"])),
        "above_grows": int(
            all(x["rho_measured"] > 1 for x in q["runs"] if x["scenario"] == "above the limit")
        ),
    }
    for scenario, key in SCENARIOS.items():
        out[key] = {}
        for name in ("sgd", "momentum"):
            x = runs[scenario, name]
            out[key][name] = {
                "lr": fmt.Num(x["lr"], ".3g"),
                "eta": fmt.Num(x["effective_lr"], ".3g"),
                "rho": fmt.num(x["rho_measured"], 3),
                "steps": fmt.Num(_steps(x["rho_measured"], q["shrink"]), ".0f"),
            }
    return out


def _compare_facts(results: dict) -> dict:
    c = results["compare"]
    out = {}
    for name, x in c.items():
        stable = all(s == "ok" for s in x["status"])
        out[name] = {"lr": fmt.Num(x["lr"], "g"), "stable": int(stable)}
        if stable:
            out[name]["loss"] = fmt.pm(x["final_loss"], 3)
            out[name]["accuracy"] = fmt.pm(x["val_accuracy"], 2, 100)
    if all(v["stable"] for v in out.values()):
        for name in ("momentum", "nesterov", "rmsprop", "adam"):
            out[name]["minus_sgd"] = fmt.paired(
                stats.paired(c["sgd"]["final_loss"], c[name]["final_loss"]), 3
            )
        out["nesterov"]["minus_momentum"] = fmt.paired(
            stats.paired(c["momentum"]["final_loss"], c["nesterov"]["final_loss"]), 4
        )
    return out


def facts(results: dict) -> dict:
    return {
        **_sweep_facts(results),
        "quadratic": _quadratic_facts(results),
        "compare": _compare_facts(results),
    }


def _interval_excludes_zero_above(d: dict) -> bool:
    return d["lo"] > 0


def _interval_covers_zero(d: dict) -> bool:
    return d["lo"] <= 0 <= d["hi"]


CLAIMS = {
    # the sweep, at equal effective rate
    "momentum_worse_at_equal_eta": lambda f: (
        f["gap"]["rates"] > 0 and f["gap"]["seeds_positive"] == f["gap"]["pairs"]
    ),
    "gap_reliable_but_at_one_rate": lambda f: (
        f["gap"]["covers_zero"] == 1 and f["gap"]["reliable"] == f["gap"]["rates"] - 1
    ),
    "gap_small": lambda f: 0 < f["gap"]["low"] and f["gap"]["high"] < 0.02,
    "same_best_eta": lambda f: f["sgd"]["best_eta"] == f["momentum"]["best_eta"],
    # at one lr
    "momentum_faster_at_same_lr": lambda f: "diff" in f["same_lr"] and f["same_lr"]["diff"]["hi"] < 0,
    # stability
    "momentum_stable_where_sgd_diverges": lambda f: (
        f["momentum"]["stable_top"] > f["sgd"]["stable_top"]
        and f["momentum"]["stable_top"] >= f["sgd"]["first_diverged"]
    ),
    "extra_range_does_not_pay": lambda f: (
        "extra" in f and _interval_excludes_zero_above(f["extra"]["minus_sgd_best"])
    ),
    # the quadratic
    "quadratic_theory_matches": lambda f: (
        f["quadratic"]["max_error"] < 5e-3 and f["quadratic"]["above_grows"] == 1
    ),
    "quadratic_same_eta_close": lambda f: (
        abs(f["quadratic"]["same_eta"]["momentum"]["rho"] - f["quadratic"]["same_eta"]["sgd"]["rho"]) < 0.01
    ),
    "quadratic_momentum_faster_at_limit": lambda f: (
        f["quadratic"]["at_limit"]["momentum"]["rho"] < f["quadratic"]["at_limit"]["sgd"]["rho"] - 0.01
    ),
    # the five optimizers, each at its rate
    "adaptive_same_lr": lambda f: f["setup"]["lr_rmsprop"] == f["setup"]["lr_adam"],
    "no_difference_at_best_rates": lambda f: (
        "minus_sgd" in f["compare"]["momentum"]
        and _interval_covers_zero(f["compare"]["momentum"]["minus_sgd"])
    ),
    "nesterov_vs_momentum_unclear": lambda f: (
        "minus_momentum" in f["compare"]["nesterov"]
        and _interval_covers_zero(f["compare"]["nesterov"]["minus_momentum"])
    ),
    "nesterov_lower_every_seed": lambda f: (
        "minus_momentum" in f["compare"]["nesterov"] and f["compare"]["nesterov"]["minus_momentum"]["max"] < 0
    ),
    "untuned_adaptive_worse": lambda f: (
        "minus_sgd" in f["compare"]["adam"]
        and _interval_excludes_zero_above(f["compare"]["rmsprop"]["minus_sgd"])
        and _interval_excludes_zero_above(f["compare"]["adam"]["minus_sgd"])
    ),
}
