"""Derived statistics and claims of experiments.activations (no LaTeX, no sentences).

Every arm uses the same seeds (initial weights drawn from the same keys, same batch order), so
every comparison is paired by seed (`experiments.stats.paired`) on test accuracy. An
activation's "main" arm is He at the recipe's rate for ReLU, leaky ReLU and ELU, and Xavier at
the rate chosen on validation for sigmoid and tanh.
"""

from __future__ import annotations

import numpy as np

from experiments import fmt, stats

RELU_LIKE = ("relu", "leaky_relu", "elu")


def _per_seed(runs, key, layer=None, index=None):
    values = [r[key] if layer is None else r[key][layer] for r in runs]
    return values if index is None else [v[index] for v in values]


def _acc(runs) -> list[float]:
    return [r["test_accuracy"] for r in runs]


def _threshold(activation: str, c: float) -> float:
    """Where the slope falls below c times its largest: |x| for sigmoid and tanh, x for ELU."""
    edge = float(np.arctanh(np.sqrt(1 - c)))
    return {"sigmoid": 2 * edge, "tanh": edge, "elu": float(np.log(c))}[activation]


def _activation_facts(runs, hidden, affines, widths) -> dict:
    first, last = affines[0], affines[-1]
    ratio = [
        f / s for f, s in zip(_per_seed(runs, "grad_norm", first, 0), _per_seed(runs, "grad_norm", last, 0))
    ]
    out = {
        "test": fmt.pm(_acc(runs), 2, 100),
        "grad_ratio_init": fmt.pm(ratio, 2),  # ||dW|| first layer / last layer, at initialisation
    }
    for h in hidden:
        out[h] = {
            "saturated_init": fmt.pm(_per_seed(runs, "saturated", h, 0), 1, 100),
            "saturated_end": fmt.pm(_per_seed(runs, "saturated_end", h), 1, 100),
            "saturated_change": fmt.paired(
                stats.paired(_per_seed(runs, "saturated", h, 0), _per_seed(runs, "saturated_end", h)), 1, 100
            ),
            "saturated_peak": fmt.pct(np.mean(_per_seed(runs, "saturated", h), axis=0).max(), 1),
            "slope_init": fmt.pm(_per_seed(runs, "mean_slope", h, 0), 2),
            "slope_end": fmt.pm(_per_seed(runs, "mean_slope_end", h), 2),
        }
        if "dead_fraction" in runs[0]:
            out[h]["dead_end_max"] = fmt.pct(max(_per_seed(runs, "dead_fraction_end", h)), 1)
            worst = max(max(r["dead_fraction"][h]) for r in runs)
            out[h]["dead_any_step_max"] = fmt.pct(worst, 2)
            out[h]["dead_any_step_units"] = round(worst * widths[h])
    out["saturated_end_max"] = fmt.pct(max(np.mean(_per_seed(runs, "saturated_end", h)) for h in hidden), 1)
    return out


def _sweep_facts(sweep: dict, main_runs) -> dict:
    he = next(a for a in sweep["arms"] if a["init"] == "he")
    xavier = {a["lr"]: a for a in sweep["arms"] if a["init"] == "xavier"}
    ok = {lr: a for lr, a in xavier.items() if not any(r["diverged"] for r in a["runs"])}
    lrs = sorted(xavier)
    out = {
        "selected_lr": fmt.Num(sweep["selected_lr"], "g"),
        "selected_is_edge": int(sweep["selected_lr"] in (lrs[0], lrs[-1])),
        "selected_is_top": int(sweep["selected_lr"] == lrs[-1]),
        "diverged_rates": len(xavier) - len(ok),
        "he_diverged": int(any(r["diverged"] for r in he["runs"])),
    }
    for lr, a in ok.items():
        out[f"val_at_{lrs.index(lr) + 1}"] = fmt.pm([r["val_accuracy"] for r in a["runs"]], 2, 100)
    if not out["he_diverged"]:
        out["he_test"] = fmt.pm(_acc(he["runs"]), 2, 100)
        out["tuned_minus_he"] = fmt.paired(stats.paired(_acc(he["runs"]), _acc(main_runs)), 2, 100)
        if he["lr"] in ok:  # initialisation alone, at the ReLU recipe's rate
            out["xavier_minus_he_same_lr"] = fmt.paired(
                stats.paired(_acc(he["runs"]), _acc(ok[he["lr"]]["runs"])), 2, 100
            )
        he_sat = max(
            np.mean([r["saturated_end"][h] for r in he["runs"]]) for h in he["runs"][0]["saturated_end"]
        )
        out["he_saturated_end_max"] = fmt.pct(he_sat, 1)
    return out


def facts(results: dict) -> dict:
    setup, runs = results["setup"], results["runs"]
    first = next(iter(runs.values()))[0]
    hidden, affines = list(first["saturated"]), list(first["grad_norm"])
    c = setup["saturated_below"]
    out = {
        "setup": {
            "hidden": "-".join(["784", *map(str, setup["hidden"]), "10"]),
            "epochs": setup["epochs"],
            "steps": fmt.count(setup["steps"]),
            "train_size": fmt.count(setup["train_size"]),
            "seeds": len(setup["seeds"]),
            "lr": fmt.Num(setup["lr"], "g"),
            "rates": ", ".join(f"{v:g}" for v in setup["saturating_lrs"]),
            "rates_low": fmt.Num(min(setup["saturating_lrs"]), "g"),
            "rates_high": fmt.Num(max(setup["saturating_lrs"]), "g"),
            "batch_size": setup["batch_size"],
            "probe_size": fmt.count(setup["probe_size"]),
            "saturated_below": fmt.Num(c, "g"),
            "sigmoid_edge": fmt.num(_threshold("sigmoid", c), 1),
            "tanh_edge": fmt.num(_threshold("tanh", c), 1),
            "elu_edge": fmt.num(_threshold("elu", c), 1),
        }
    }
    for name, r in runs.items():
        out[name] = _activation_facts(r, hidden, affines, dict(zip(hidden, setup["hidden"])))
        if name in results.get("sweep", {}):
            out[name]["sweep"] = _sweep_facts(results["sweep"][name], r)
        if name != "relu" and "relu" in runs:
            out[name]["minus_relu"] = fmt.paired(stats.paired(_acc(runs["relu"]), _acc(r)), 2, 100)
    smooth = [a for a in ("sigmoid", "tanh", "elu") if a in runs]
    if smooth:  # the largest saturated share at initialisation, over the smooth activations and layers
        out["smooth"] = {
            "saturated_init_max": fmt.pct(
                max(np.mean(_per_seed(runs[a], "saturated", h, 0)) for a in smooth for h in hidden), 1
            )
        }
    return out


def _acts(f) -> list[str]:
    return [a for a in ("relu", "leaky_relu", "sigmoid", "tanh", "elu") if a in f]


def _lo(d) -> float:
    return float(d["lo"])


def _hi(d) -> float:
    return float(d["hi"])


def _hidden(f, name) -> list[str]:
    return [k for k in f[name] if k.startswith("hidden")]


def _covers_zero(d) -> bool:
    return _lo(d) <= 0 <= _hi(d)


CLAIMS = {
    # accuracy
    "relu_like_tied": lambda f: all(_covers_zero(f[a]["minus_relu"]) for a in ("leaky_relu",)),
    "elu_below_relu": lambda f: _hi(f["elu"]["minus_relu"]) < 0,
    "sigmoid_below_relu": lambda f: _hi(f["sigmoid"]["minus_relu"]) < 0,
    "tanh_below_relu": lambda f: _hi(f["tanh"]["minus_relu"]) < 0,
    "none_beats_relu": lambda f: all(
        _hi(f[a]["minus_relu"]) <= 0 or _covers_zero(f[a]["minus_relu"])
        for a in _acts(f)
        if "minus_relu" in f[a]
    ),
    # sigmoid and tanh with their own recipe
    "sigmoid_tuned_better": lambda f: _lo(f["sigmoid"]["sweep"]["tuned_minus_he"]) > 0,
    "tanh_tuned_better": lambda f: _lo(f["tanh"]["sweep"]["tuned_minus_he"]) > 0,
    "sigmoid_wants_top_rate": lambda f: f["sigmoid"]["sweep"]["selected_is_top"] == 1,
    "tanh_best_rate_inside": lambda f: f["tanh"]["sweep"]["selected_is_edge"] == 0,
    "sigmoid_xavier_alone_no_gain": lambda f: _covers_zero(f["sigmoid"]["sweep"]["xavier_minus_he_same_lr"]),
    "tanh_xavier_alone_worse": lambda f: _hi(f["tanh"]["sweep"]["xavier_minus_he_same_lr"]) < 0,
    # saturation
    "relu_half_inputs_at_zero_slope": lambda f: all(
        30 <= float(f["relu"][h]["saturated_end"]["mean"]) <= 70 for h in _hidden(f, "relu")
    ),
    "sigmoid_saturates_in_last_hidden_only": lambda f: (
        _lo(f["sigmoid"][_hidden(f, "sigmoid")[-1]]["saturated_change"]) > 0
        and float(f["sigmoid"][_hidden(f, "sigmoid")[0]]["saturated_end"]["mean"]) < 1
    ),
    "sigmoid_he_recipe_barely_saturates": lambda f: float(f["sigmoid"]["sweep"]["he_saturated_end_max"]) < 1,
    "tanh_saturates_most": lambda f: (
        float(f["tanh"]["saturated_end_max"])
        > max(float(f[a]["saturated_end_max"]) for a in ("sigmoid", "elu"))
    ),
    "tanh_saturates_most_in_last_hidden": lambda f: (
        float(f["tanh"][_hidden(f, "tanh")[-1]]["saturated_end"]["mean"])
        > float(f["tanh"][_hidden(f, "tanh")[0]]["saturated_end"]["mean"])
        and _lo(f["tanh"][_hidden(f, "tanh")[-1]]["saturated_change"]) > 0
    ),
    "saturation_starts_near_zero": lambda f: float(f["smooth"]["saturated_init_max"]) < 5,
    "sigmoid_saturation_peaks_then_falls": lambda f: (
        float(f["sigmoid"][_hidden(f, "sigmoid")[-1]]["saturated_peak"])
        > float(f["sigmoid"][_hidden(f, "sigmoid")[-1]]["saturated_end"]["mean"]) + 10
    ),
    "no_relu_dead_after_training": lambda f: all(
        float(f["relu"][h]["dead_end_max"]) == 0 for h in _hidden(f, "relu")
    ),
    "relu_unit_died_and_recovered": lambda f: (
        any(float(f["relu"][h]["dead_any_step_max"]) > 0 for h in _hidden(f, "relu"))
        and all(float(f["relu"][h]["dead_end_max"]) == 0 for h in _hidden(f, "relu"))
    ),
    "relu_dead_units_rare": lambda f: all(
        float(f["relu"][h]["dead_any_step_max"]) < 1 for h in _hidden(f, "relu")
    ),
    # gradients through the layers
    "sigmoid_first_layer_gradient_smallest": lambda f: (
        float(f["sigmoid"]["grad_ratio_init"]["mean"])
        < min(float(f[a]["grad_ratio_init"]["mean"]) for a in _acts(f) if a != "sigmoid")
    ),
    "sigmoid_slope_at_most_quarter": lambda f: all(
        float(f["sigmoid"][h]["slope_init"]["mean"]) <= 0.25 for h in _hidden(f, "sigmoid")
    ),
}
