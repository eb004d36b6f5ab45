"""Derived statistics and claims of experiments.batch_norm (no LaTeX, no sentences).

Arms share seeds (initial weights and batch order), so every comparison is paired by seed
(`experiments.stats.paired`): batch norm minus no batch norm at one scale or batch size, one
evaluation mode minus another on the same network and images.
"""

from __future__ import annotations

import numpy as np

from experiments import fmt, stats

TRAINS = 0.5  # a configuration "trains" when its mean validation accuracy exceeds this (chance: 0.1)


def _val(runs) -> list[float]:
    return [r["val_accuracy"] for r in runs]


def _scale_name(a: float) -> fmt.Num:
    return fmt.Num(a, "g")


def _init_facts(s: dict, lr: float) -> dict:
    scales = s["scales"]
    hidden = len(s["layers"]) - 1
    bn, no = s["bn"]["val_accuracy"], s["no_bn"]["val_accuracy"]
    bn_mean = [float(np.mean(v)) for v in bn]
    no_mean = [float(np.mean(v)) for v in no]
    no_trains = [a for a, m in zip(scales, no_mean) if m > TRAINS]
    both = [i for i, m in enumerate(no_mean) if m > TRAINS]
    best = int(np.argmax(bn_mean))
    rel = [lr * float(np.mean([v[:hidden] for v in seeds])) for seeds in s["bn"]["rel_grad"]]
    var = [float(np.min(np.mean(seeds, axis=0)[:hidden])) for seeds in s["bn"]["pre_var"]]
    growth = [float(np.mean([g for g in seeds if g is not None])) for seeds in s["bn"]["weight_growth"]]
    out = {
        "scales": len(scales),
        "smallest": _scale_name(scales[0]),
        "second": _scale_name(scales[1]),
        "largest": _scale_name(scales[-1]),
        "he_low": fmt.num(min(s["he_scales"]), 3),
        "he_high": fmt.num(max(s["he_scales"]), 3),
        "no_bn": {
            "trains": len(no_trains),
            "trains_low": _scale_name(min(no_trains)) if no_trains else fmt.Num(float("nan"), "g"),
            "trains_high": _scale_name(max(no_trains)) if no_trains else fmt.Num(float("nan"), "g"),
            "best": fmt.pm(no[int(np.argmax(no_mean))], 1, 100),
            "diverged_scales": int(np.sum(np.asarray(s["no_bn"]["diverged"]).any(axis=1))),
        },
        "bn": {
            "trains": sum(m > TRAINS for m in bn_mean),
            "best_scale": _scale_name(scales[best]),
            "best": fmt.pm(bn[best], 1, 100),
            "at_largest": fmt.pm(bn[-1], 1, 100),
            "at_smallest": fmt.pm(bn[0], 1, 100),
            "largest_minus_best": fmt.paired(stats.paired(bn[best], bn[-1]), 1, 100),
            "smallest_minus_best": fmt.paired(stats.paired(bn[best], bn[0]), 1, 100),
        },
        "slope": fmt.num(s["slope"] if s["slope"] is not None else float("nan"), 2),
        "update_at_largest": fmt.sci(rel[-1]),
        "update_at_smallest": fmt.num(rel[0], 1),
        "update_at_second": fmt.num(rel[1], 1),
        "var_over_eps_at_smallest": fmt.sci(var[0] / s["eps"]),
        "var_over_eps_at_second": fmt.num(var[1] / s["eps"], 1),
        "growth_at_smallest": fmt.Num(growth[0], ".0f"),
        "growth_at_second": fmt.Num(growth[1], ".0f"),
        "growth_at_largest": fmt.num(growth[-1], 2),
        # paired BN - no BN where the network without batch norm trains
        "where_both_train": len(both),
    }
    for k, i in enumerate(both):
        out[f"both{k + 1}"] = {
            "scale": _scale_name(scales[i]),
            "bn_minus_no_bn": fmt.paired(stats.paired(no[i], bn[i]), 1, 100),
        }
    return out


def _batch_facts(b: dict) -> dict:
    sizes, ref = b["batch_sizes"], b["reference_batch"]
    runs = b["runs"]
    i_ref = sizes.index(ref)
    out = {"smallest": sizes[0], "largest": sizes[-1], "reference": ref}
    rows = []
    diffs = {}
    for arm in ("fixed", "scaled"):
        for i, B in enumerate(sizes):
            diffs[arm, B] = stats.paired(_val(runs[arm]["no_bn"][i]), _val(runs[arm]["bn"][i]))
    for i, B in enumerate(sizes):
        cells = [str(B), f"{b['steps'][i]:,}"]
        for arm in ("fixed", "scaled"):
            p = diffs[arm, B]
            cells.append(f"{100 * p.mean:+.1f} [{100 * p.lo:+.1f}, {100 * p.hi:+.1f}]")
        rows.append(tuple(cells))
    out["table"] = fmt.Table(("B", "steps", "same lr: BN - no BN", "scaled lr: BN - no BN"), tuple(rows))
    B0 = sizes[0]
    bn_fixed0, bn_scaled0 = _val(runs["fixed"]["bn"][0]), _val(runs["scaled"]["bn"][0])
    train_mode = {i: [r["train_accuracy"] for r in runs["fixed"]["bn"][i]] for i in (0, i_ref)}
    out.update(
        {
            "fixed_smallest": fmt.paired(diffs["fixed", B0], 1, 100),
            "fixed_reference": fmt.paired(diffs["fixed", ref], 1, 100),
            "fixed_largest": fmt.paired(diffs["fixed", sizes[-1]], 1, 100),
            "scaled_smallest": fmt.paired(diffs["scaled", B0], 1, 100),
            "second": sizes[1],
            "scaled_second": fmt.paired(diffs["scaled", sizes[1]], 1, 100),
            "scaled_largest": fmt.paired(diffs["scaled", sizes[-1]], 1, 100),
            "lr_smallest": fmt.Num(b["lr"]["scaled"][0], "g"),
            "lr_largest": fmt.Num(b["lr"]["scaled"][-1], "g"),
            "lr_fixed": fmt.Num(b["lr"]["fixed"][0], "g"),
            "lr_ratio": fmt.Num(b["lr"]["fixed"][0] / b["lr"]["scaled"][0], "g"),
            "steps_smallest": fmt.count(b["steps"][0]),
            "steps_largest": fmt.count(b["steps"][-1]),
            "bn_smallest_fixed": fmt.pm(bn_fixed0, 1, 100),
            "bn_smallest_scaled": fmt.pm(bn_scaled0, 1, 100),
            "bn_reference": fmt.pm(_val(runs["fixed"]["bn"][i_ref]), 1, 100),
            "bn_smallest_scaled_minus_fixed": fmt.paired(stats.paired(bn_fixed0, bn_scaled0), 1, 100),
            "no_bn_smallest_fixed": fmt.pm(_val(runs["fixed"]["no_bn"][0]), 1, 100),
            "no_bn_smallest_scaled": fmt.pm(_val(runs["scaled"]["no_bn"][0]), 1, 100),
            "bn_train_mode_smallest": fmt.pm(train_mode[0], 1, 100),
            "bn_train_mode_reference": fmt.pm(train_mode[i_ref], 1, 100),
            "bn_val_minus_train_smallest": fmt.paired(stats.paired(train_mode[0], bn_fixed0), 1, 100),
        }
    )
    return out


def _mode_facts(m: dict) -> dict:
    curves = m["curves"]
    last = {k: [c[-1] for c in v] for k, v in curves.items()}
    first = {k: [c[0] for c in v] for k, v in curves.items()}
    by_size = np.asarray(m["by_batch_size"])  # (seeds, sizes)
    sizes = m["eval_batch_sizes"]
    out = {
        "eval_size": fmt.count(m["eval_size"]),
        "eval_batch": m["eval_batch"],
        "running": fmt.pm(last["running"], 1, 100),
        "batch": fmt.pm(last["batch"], 1, 100),
        "single": fmt.pm(last["single"], 1, 100),
        "running_minus_batch": fmt.paired(stats.paired(last["batch"], last["running"]), 2, 100),
        "running_minus_batch_first": fmt.paired(stats.paired(first["batch"], first["running"]), 2, 100),
        "single_class_share": fmt.pm(m["single_predicted_class_share"], 1, 100),
        "single_distinct_max": max(m["single_distinct_predictions"]),
    }
    for j, size in enumerate(sizes):
        out[f"eval_batch_{size}"] = fmt.pm(by_size[:, j], 1, 100)
    return out


def facts(results: dict) -> dict:
    setup = results["setup"]
    init = _init_facts(results["init_scale"], setup["lr"])
    batch = _batch_facts(results["batch_size"])
    modes = _mode_facts(results["modes"])
    out = {
        "setup": {
            "hidden": "-".join(map(str, setup["hidden"])),
            "depth": len(setup["hidden"]),
            "lr": fmt.Num(setup["lr"], "g"),
            "momentum": fmt.Num(setup["momentum"], "g"),
            "seeds": len(setup["seeds"]),
            "eps": fmt.sci(setup["eps"], 0),
            "bn_momentum": fmt.Num(setup["bn_momentum"], "g"),
            "scale_epochs": setup["scale_epochs"],
            "scale_train_size": fmt.count(setup["scale_train_size"]),
            "scale_batch_size": setup["scale_batch_size"],
            "batch_epochs": setup["batch_epochs"],
            "batch_train_size": fmt.count(setup["batch_train_size"]),
            "mode_epochs": setup["mode_epochs"],
            "mode_train_size": fmt.count(setup["mode_train_size"]),
            "mode_batch_size": setup["mode_batch_size"],
        },
        "init": init,
        "batch": batch,
        "modes": modes,
    }
    return out


def _covers_zero(d) -> bool:
    return float(d["lo"]) <= 0 <= float(d["hi"])


CLAIMS = {
    # (a) initialisation scale
    "bn_trains_at_every_scale": lambda f: f["init"]["bn"]["trains"] == f["init"]["scales"],
    "no_bn_trains_only_near_he": lambda f: (
        0 < f["init"]["no_bn"]["trains"] <= 3
        and float(f["init"]["no_bn"]["trains_low"]) >= float(f["init"]["he_low"]) / 3
        and float(f["init"]["no_bn"]["trains_high"]) <= float(f["init"]["he_high"]) * 3
    ),
    "no_bn_diverges_at_large_scales": lambda f: f["init"]["no_bn"]["diverged_scales"] >= 1,
    "bn_better_at_lower_trained_scale": lambda f: (
        f["init"]["where_both_train"] >= 1 and float(f["init"]["both1"]["bn_minus_no_bn"]["lo"]) > 0
    ),
    "bn_better_at_every_trained_scale": lambda f: (
        f["init"]["where_both_train"] >= 1
        and all(
            float(f["init"][f"both{k + 1}"]["bn_minus_no_bn"]["lo"]) > 0
            for k in range(f["init"]["where_both_train"])
        )
    ),
    "bn_worse_at_largest_scale": lambda f: float(f["init"]["bn"]["largest_minus_best"]["hi"]) < 0,
    "bn_worse_at_smallest_scale": lambda f: float(f["init"]["bn"]["smallest_minus_best"]["hi"]) < 0,
    "update_goes_as_inverse_square": lambda f: abs(float(f["init"]["slope"]) + 2) < 0.1,
    "eps_dominates_at_smallest_scale": lambda f: float(f["init"]["var_over_eps_at_smallest"]) < 1,
    "small_weights_grow": lambda f: (
        float(f["init"]["growth_at_smallest"]) > 10 and float(f["init"]["growth_at_second"]) > 10
    ),
    "large_weights_barely_move": lambda f: abs(float(f["init"]["growth_at_largest"]) - 1) < 0.05,
    # (b) batch size
    "no_bn_fails_at_smallest_batch_fixed_lr": lambda f: (
        float(f["batch"]["fixed_smallest"]["lo"]) > 0.1 * 100
        and float(f["batch"]["no_bn_smallest_fixed"]["mean"])
        < float(f["batch"]["no_bn_smallest_scaled"]["mean"]) - 10
    ),
    "bn_better_at_reference_batch": lambda f: float(f["batch"]["fixed_reference"]["lo"]) > 0,
    "no_reliable_difference_at_second_batch_scaled_lr": lambda f: _covers_zero(f["batch"]["scaled_second"]),
    "bn_better_at_largest_batch_fixed_lr": lambda f: float(f["batch"]["fixed_largest"]["lo"]) > 0,
    "bn_worse_at_smallest_batch_scaled_lr": lambda f: float(f["batch"]["scaled_smallest"]["hi"]) < 0,
    "bn_smallest_batch_indifferent_to_lr": lambda f: _covers_zero(
        f["batch"]["bn_smallest_scaled_minus_fixed"]
    ),
    "bn_train_mode_low_at_smallest_batch": lambda f: (
        float(f["batch"]["bn_val_minus_train_smallest"]["lo"]) > 0
    ),
    # (c) train vs test mode
    "running_matches_batch_statistics": lambda f: _covers_zero(f["modes"]["running_minus_batch"]),
    "single_image_predicts_one_class": lambda f: f["modes"]["single_distinct_max"] == 1,
    "single_image_near_chance": lambda f: float(f["modes"]["single"]["mean"]) < 15,
    "train_mode_accuracy_rises_with_eval_batch": lambda f: all(
        float(f["modes"][f"eval_batch_{a}"]["mean"]) < float(f["modes"][f"eval_batch_{b}"]["mean"])
        for a, b in zip(_sizes(f), _sizes(f)[1:])
    ),
}


def _sizes(f) -> list[int]:
    return sorted(int(k.removeprefix("eval_batch_")) for k in f["modes"] if k.startswith("eval_batch_"))
