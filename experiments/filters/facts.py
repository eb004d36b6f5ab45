"""What the report says about the learned filters: counts read from the trained CNN's weights
and the digit's feature maps."""

from __future__ import annotations

import numpy as np

from experiments import fmt


def facts(results: dict) -> dict:
    filters = np.asarray(results["filters"], float)  # (C_out, 3, 3)
    balance = np.abs(filters.sum(axis=(1, 2))) / np.abs(filters).sum(axis=(1, 2))
    r = results["run"]
    return {
        "filters": len(filters),
        "contrast_filters": results["contrast_filters"],
        "balance_median": fmt.num(float(np.median(balance)), 2),
        "maps": {name: len(maps) for name, maps in results["feature_maps"].items()},
        "silent_maps": dict(results["silent_maps"]),
        "val_accuracy": fmt.pct(results["val_accuracy"]),
        "epochs": r["epochs"],
        "lr": fmt.Num(r["lr"], "g"),
        "batch_size": r["batch_size"],
        "seed": r["seed"],
        "train_size": fmt.count(r["train_size"]),
        "digit_label": results["digit_label"],
        "digit_index": results["digit_index"],
    }


CLAIMS = {
    # more than half of the first-layer filters have weights that nearly cancel (contrast detectors)
    "most_filters_contrast": lambda f: f["contrast_filters"] > f["filters"] / 2,
    # at most a tenth of each layer's feature maps are silent (0 everywhere) on the digit
    "few_silent_maps": lambda f: all(f["silent_maps"][k] <= f["maps"][k] / 10 for k in f["maps"]),
}
