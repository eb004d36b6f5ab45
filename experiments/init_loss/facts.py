"""What the report says about the loss at initialisation: derived numbers and their claims."""

from __future__ import annotations

import math

from experiments import fmt, stats

SOFTMAX, SVM = "softmax_cross_entropy", "multiclass_svm"
K = 10  # classes


def _init(by_loss: dict, ln10: float) -> dict:
    soft, svm = by_loss[SOFTMAX], by_loss[SVM]
    sigma = soft["score_spread"]
    return {
        "sigma": fmt.num(sigma) if sigma >= 0.01 else fmt.sci(sigma),
        "softmax": {
            "mean": fmt.num(soft["mean"], 3),
            "sd": fmt.num(soft["sd"], 3),
            "rise": fmt.signed(soft["mean"] - ln10, 3),
            "min_rise": fmt.signed(min(soft["per_seed"]) - ln10, 3),
            "gaussian": fmt.num(soft["gaussian_reference"], 3),
        },
        "svm": {
            "mean": fmt.num(svm["mean"], 2),
            "sd": fmt.num(svm["sd"], 2),
            "gaussian": fmt.num(svm["gaussian_reference"], 2),
        },
        # the small-sigma expansion of E[log sum exp(s) - s_y] - ln K for iid N(0, sigma^2) scores
        "predicted_rise": fmt.signed(sigma**2 / 2 * (K - 1) / K, 3),
    }


def facts(results: dict) -> dict:
    ln10, nine = results["expected"][SOFTMAX], results["expected"][SVM]
    out = {
        "ln10": fmt.num(ln10, 3),
        "svm_zero": fmt.Num(nine, ".0f"),
        "seeds": len(results["setup"]["seeds"]),
        "images": fmt.count(results["setup"]["images"]),
        "small_scale": fmt.Num(results["setup"]["small_scale"], "g"),
    }
    for model, by_init in results["measured"].items():
        out[model] = {init: _init(by_loss, ln10) for init, by_loss in by_init.items()}
        small = by_init["small"]
        out[model]["small"]["softmax_error"] = fmt.sci(abs(small[SOFTMAX]["mean"] - ln10))
        out[model]["small"]["svm_error"] = fmt.sci(abs(small[SVM]["mean"] - nine))
        first = results["first_batch"][model]
        train, test = first["train_mode"]["per_seed"], first["test_mode"]["per_seed"]
        out[model]["first_batch"] = {
            "batch_size": first["batch_size"],
            "drop_rate": fmt.num(first["drop_rate"], 1),
            "train_mode": fmt.pm(train, 3),
            "test_mode": fmt.pm(test, 3),
            "dropout_effect": fmt.paired(stats.paired(test, train), 3),  # train minus test, per seed
        }
    return out


def _models(f: dict) -> list[str]:
    return [m for m in ("mlp", "cnn") if m in f]


def _interval_covers_zero(d: dict) -> bool:
    return d["lo"] <= 0 <= d["hi"]


CLAIMS = {
    # with tiny weights the losses are the textbook ln 10 and 9 for every model (to 1e-3)
    "small_init_gives_textbook": lambda f: all(
        f[m]["small"]["softmax_error"] < 1e-3 and f[m]["small"]["svm_error"] < 1e-3 for m in _models(f)
    ),
    # with He initialisation every seed's softmax loss is above ln 10
    "he_softmax_above_ln10": lambda f: all(f[m]["he"]["softmax"]["min_rise"] > 0 for m in _models(f)),
    # ... but close to it: the mean rise is under 0.25 for every model
    "he_softmax_near_ln10": lambda f: all(f[m]["he"]["softmax"]["rise"] < 0.25 for m in _models(f)),
    # the measured rise is within a factor 2 of sigma^2 / 2 (K - 1) / K for every model
    "rise_tracks_sigma": lambda f: all(
        0.5 < f[m]["he"]["softmax"]["rise"] / f[m]["he"]["predicted_rise"] < 2 for m in _models(f)
    ),
    # the CNN's scores spread more than the MLP's, and its loss rises more
    "cnn_spreads_more": lambda f: (
        f["cnn"]["he"]["sigma"] > f["mlp"]["he"]["sigma"]
        and f["cnn"]["he"]["softmax"]["rise"] > f["mlp"]["he"]["softmax"]["rise"]
    ),
    # with He initialisation the SVM loss stays within 0.5 of 9 for every model
    "svm_near_nine": lambda f: all(abs(f[m]["he"]["svm"]["mean"] - 9) < 0.5 for m in _models(f)),
    # dropout raises the MLP recipe's first-batch loss (paired interval above 0)
    "mlp_dropout_raises_first_loss": lambda f: f["mlp"]["first_batch"]["dropout_effect"]["lo"] > 0,
    # for the CNN recipe there is no reliable difference between train and test mode
    "cnn_dropout_no_reliable_difference": lambda f: _interval_covers_zero(
        f["cnn"]["first_batch"]["dropout_effect"]
    ),
    # the recipes' first logged loss (train mode) is within 0.5 of ln 10 for every model
    "first_batch_near_ln10": lambda f: all(
        abs(f[m]["first_batch"]["train_mode"]["mean"] - math.log(10)) < 0.5 for m in _models(f)
    ),
}
