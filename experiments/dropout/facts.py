"""Derived statistics and claims of experiments.dropout (no LaTeX, no sentences).

Every drop rate shares its seeds with q = 0 (same initial weights of the shared layers' draws,
same batch order), so each is compared with q = 0 paired by seed (`experiments.stats.paired`),
in test accuracy (points) and validation accuracy; rate keys are "q0", "q01", "q03", "q05".
"""

from __future__ import annotations

from experiments import fmt, stats


def _key(q: str) -> str:
    return "q" + q.replace(".", "")


def _values(results: dict, variant: str, q: str, key: str) -> list[float]:
    return [run[key] for run in results["runs"][variant][q]]


def facts(results: dict) -> dict:
    setup, runs = results["setup"], results["runs"]
    rates = list(runs["inverted"])
    zero = rates[0]
    out: dict = {
        "setup": {
            "seeds": len(setup["seeds"]),
            "epochs": setup["epochs"],
            "train_size": fmt.count(setup["train_size"]),
            "hidden": "-".join(map(str, setup["hidden"])),
            "layers": setup["dropout_layers"],
            "recipe_rate": fmt.Num(setup["recipe_drop_rate"], "g"),
        },
        "none": {
            "test": fmt.pm(_values(results, "inverted", zero, "test_accuracy"), 2, 100),
            "train": fmt.pm(_values(results, "inverted", zero, "train_accuracy"), 2, 100),
            "gap": fmt.pm(_values(results, "inverted", zero, "gap"), 2, 100),
        },
    }
    for q in rates[1:]:
        entry = {"q": fmt.Num(float(q), "g")}
        for variant in ("inverted", "unscaled"):
            test = stats.paired(
                _values(results, "inverted", zero, "test_accuracy"),
                _values(results, variant, q, "test_accuracy"),
            )
            val = stats.paired(
                _values(results, "inverted", zero, "val_accuracy"),
                _values(results, variant, q, "val_accuracy"),
            )
            gap = stats.paired(_values(results, "inverted", zero, "gap"), _values(results, variant, q, "gap"))
            entry[variant] = {
                "test_gain": fmt.paired(test, 2, 100),
                "val_gain": fmt.paired(val, 2, 100),
                "gap_change": fmt.paired(gap, 2, 100),
                "val_loss": fmt.pm(_values(results, variant, q, "val_loss"), 3),
                "ratio": fmt.pm(_values(results, variant, q, "activation_ratio"), 2),
            }
        entry["unscaled"]["val_loss_rule"] = fmt.pm(
            _values(results, "unscaled", q, "val_loss_scaled_for_test"), 3
        )
        entry["ratio_one_layer"] = fmt.num(1 / (1 - float(q)), 2)
        entry["ratio_all_layers"] = fmt.num((1 - float(q)) ** -setup["dropout_layers"], 2)
        out[_key(q)] = entry
    return out


def _gain(f: dict, q: str) -> dict:
    return f[q]["inverted"]["test_gain"]


CLAIMS = {
    # inverted dropout against no dropout, test accuracy, paired by seed
    "gain_q03_every_seed": lambda f: _gain(f, "q03")["min"] > 0,
    "gain_q03_reliable": lambda f: _gain(f, "q03")["lo"] > 0,
    "q01_no_reliable_difference": lambda f: _gain(f, "q01")["lo"] <= 0 <= _gain(f, "q01")["hi"],
    "q05_worse": lambda f: _gain(f, "q05")["hi"] < 0,
    "gain_small": lambda f: all(abs(_gain(f, q)["mean"]) < 0.5 for q in ("q01", "q03", "q05")),
    # without inverted scaling
    "unscaled_loses_at_q05": lambda f: f["q05"]["unscaled"]["test_gain"]["hi"] < 0,
    "unscaled_ratio_near_all_layers": lambda f: (
        abs(f["q05"]["unscaled"]["ratio"]["mean"] - f["q05"]["ratio_all_layers"])
        < 0.15 * f["q05"]["ratio_all_layers"]
    ),
    "inverted_ratio_near_one": lambda f: abs(f["q05"]["inverted"]["ratio"]["mean"] - 1) < 0.15,
    "test_rule_recovers_most_loss": lambda f: (
        (f["q05"]["unscaled"]["val_loss_rule"]["mean"] - f["q05"]["inverted"]["val_loss"]["mean"])
        < 0.5 * (f["q05"]["unscaled"]["val_loss"]["mean"] - f["q05"]["inverted"]["val_loss"]["mean"])
    ),
}
