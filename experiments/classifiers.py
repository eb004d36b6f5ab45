"""Facts and claims the three recipe experiments (mlp, cnn, cnn_bn) share (no LaTeX, no prose).

`facts(results)` reads `experiments.common.classifier_seeds`' output: test accuracy over seeds,
training time, best epochs, and from the first seed's curves and confusion matrix the markers the
report's training section interprets (how fast validation accuracy rises and when it stops,
the train-validation gap at the end, whether validation loss turns up, the largest confusions).
`CLAIM` holds the predicates; each experiment's facts.py picks those its prose cites.
"""

from __future__ import annotations

import numpy as np

from experiments import fmt
from fnn import models

__all__ = ["facts", "recipe_facts", "CLAIM", "CNN_CLAIMS", "PLATEAU", "NEAR_BEST", "TOP"]

PLATEAU = 0.0005  # validation accuracy "stops improving": no later epoch beats the best so far by more
NEAR_BEST = 0.005  # "within half a point" of the best validation accuracy
TOP = 3  # the largest off-diagonal cells of the confusion matrix


def plateau_epoch(val_accuracy: list[float], step: float = PLATEAU) -> int:
    """The last epoch (1-based) whose validation accuracy beats every earlier epoch's by more
    than `step`; after it, validation accuracy never improves by more than `step`."""
    last, best = 1, val_accuracy[0]
    for epoch, acc in enumerate(val_accuracy[1:], start=2):
        if acc > best + step:
            last = epoch
        best = max(best, acc)
    return last


def near_best_epoch(val_accuracy: list[float], within: float = NEAR_BEST) -> int:
    """The first epoch (1-based) whose validation accuracy is within `within` of the best."""
    best = max(val_accuracy)
    return 1 + next(i for i, acc in enumerate(val_accuracy) if acc >= best - within)


def top_errors(confusion: list[list[int]], top: int = TOP) -> dict:
    """The `top` largest off-diagonal cells, largest first (ties: by true, then predicted class):
    {"1": {"true", "predicted", "count"}, ...}."""
    counts = np.asarray(confusion)
    cells = sorted(
        ((int(counts[i, j]), i, j) for i in range(len(counts)) for j in range(len(counts)) if i != j),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    return {str(k + 1): {"true": i, "predicted": j, "count": n} for k, (n, i, j) in enumerate(cells[:top])}


def recipe_facts(recipe: dict) -> dict:
    """The recipe's settings the prose names (plain numbers: 0.05, 0.0005)."""
    return {
        "epochs": recipe["epochs"],
        "batch_size": recipe["batch_size"],
        "lr": fmt.Num(recipe["lr"], "g"),
        "weight_decay": fmt.Num(recipe["weight_decay"], "g"),
        "drop_rate": fmt.Num(recipe["drop_rate"], "g"),
    }


def facts(results: dict, recipe: str) -> dict:
    """The facts of one recipe experiment; `recipe` names its entry in fnn.models.RECIPES, read
    only for results recorded before run() kept the recipe it trained with."""
    detail = results["runs"][0]["detail"]
    history = detail["history"]
    val_acc = [h["val_accuracy"] for h in history]
    val_loss = [h["val_loss"] for h in history]
    last = history[-1]
    counts = np.asarray(detail["confusion"])
    errors = int(counts.sum() - np.trace(counts))
    per_class = counts.sum(axis=1) - np.diag(counts)
    top = top_errors(detail["confusion"])
    best_epochs = [r["best_epoch"] for r in results["runs"]]
    loss_min = int(np.argmin(val_loss))
    used = results.get("recipe") or models.RECIPES[recipe]._asdict()
    return {
        "recipe": recipe_facts(used),
        "seeds": len(results["seeds"]),
        "train_size": fmt.count(results["train_size"]),
        "accuracy": fmt.pm(results["test_accuracy"], 2, 100),
        "accuracy_min": fmt.pct(min(results["test_accuracy"])),
        "seconds": fmt.pm(results["train_seconds"], 0),
        "epochs": len(history),
        "best_epoch": {"min": min(best_epochs), "max": max(best_epochs)},
        "curve": {  # the first seed's
            "seed": results["runs"][0]["seed"],
            "val_first": fmt.pct(val_acc[0]),
            "val_best": fmt.pct(max(val_acc)),
            "val_last": fmt.pct(val_acc[-1]),
            "train_last": fmt.pct(last["train_accuracy"]),
            "gap_last": fmt.num(100 * (last["train_accuracy"] - last["val_accuracy"])),
            "plateau_epoch": plateau_epoch(val_acc),
            "near_best_epoch": near_best_epoch(val_acc),
            "train_loss_last": fmt.num(last["train_loss"], 3),
            "val_loss_min": fmt.num(val_loss[loss_min], 3),
            "val_loss_min_epoch": loss_min + 1,
            "val_loss_last": fmt.num(val_loss[-1], 3),
            "val_loss_rise": fmt.pct(val_loss[-1] / val_loss[loss_min] - 1, 1),  # percent above its minimum
        },
        "errors": {  # the first seed's test errors
            "total": errors,
            "top": top,
            "top_share": fmt.pct(sum(c["count"] for c in top.values()) / max(errors, 1), 0),
            "worst_class": int(per_class.argmax()),
            "worst_class_count": int(per_class.max()),
        },
    }


CLAIM = {
    # test accuracy (mean over seeds) on either side of 99%
    "accuracy_above_99": lambda f: f["accuracy"]["mean"] > 99,
    "accuracy_below_99": lambda f: f["accuracy"]["mean"] < 99,
    # validation accuracy after the first epoch already above 98% / below 97%
    "fast_first_epoch": lambda f: f["curve"]["val_first"] > 98,
    "slow_first_epoch": lambda f: f["curve"]["val_first"] < 97,
    # validation accuracy stops improving (by > 0.05 points) before the last quarter of training
    "plateau_before_last_quarter": lambda f: f["curve"]["plateau_epoch"] <= 0.75 * f["epochs"],
    # every seed's best validation epoch falls in the second half of training
    "best_epoch_late": lambda f: f["best_epoch"]["min"] > f["epochs"] / 2,
    # every seed's best validation epoch is one of the last two
    "best_epoch_last_two": lambda f: f["best_epoch"]["min"] >= f["epochs"] - 1,
    # train accuracy ends more than a point above validation accuracy / less than half a point
    "overfits": lambda f: f["curve"]["gap_last"] > 1,
    "small_gap": lambda f: f["curve"]["gap_last"] < 0.5,
    # the final validation loss is within 5% of its minimum: it flattens, it does not turn up
    "val_loss_no_upturn": lambda f: f["curve"]["val_loss_rise"] < 5,
    # the final training loss (train mode) is below the final validation loss
    "train_loss_below_val": lambda f: f["curve"]["train_loss_last"] < f["curve"]["val_loss_last"],
    # the two largest cells are one pair of digits confused both ways (a read as b, b read as a)
    "top_two_are_one_pair": lambda f: (
        (f["errors"]["top"]["1"]["true"], f["errors"]["top"]["1"]["predicted"])
        == (f["errors"]["top"]["2"]["predicted"], f["errors"]["top"]["2"]["true"])
    ),
    # no single confusion dominates: the largest cell holds under 15% of the errors
    "errors_spread": lambda f: f["errors"]["top"]["1"]["count"] < 0.15 * f["errors"]["total"],
}


# The claims report/sections/training.tex cites for each CNN (cnn and cnn_bn alike).
CNN_CLAIMS = (
    "accuracy_above_99",
    "fast_first_epoch",
    "best_epoch_last_two",
    "small_gap",
    "val_loss_no_upturn",
    "errors_spread",
)
