"""The classifier experiments: mlp, cnn, cnn_bn (one recipe over seeds) and cnn_variants (max
pooling, average pooling and batch norm at the cnn recipe); their quick runs, figures and
facts, and each claim of report/sections/training.tex on constructed results."""

import json

import numpy as np
import pytest

from experiments import classifiers

RECIPE_EXPERIMENTS = ("mlp", "cnn", "cnn_bn")


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


def leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def facts_module(name):
    import importlib

    return importlib.import_module(f"experiments.{name}.facts")


# The CNNs' quick runs take ~20 s each: under -m slow (the mlp runs the same pipeline by default).
@pytest.mark.parametrize(
    "name", ["mlp", *(pytest.param(n, marks=pytest.mark.slow) for n in ("cnn", "cnn_bn"))]
)
def test_recipe_experiment_runs_every_seed_and_keeps_the_first_seeds_detail(quick_experiment, name):
    out, r = quick_experiment(name)
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]
    assert r["seeds"] == [0, 1] and [x["seed"] for x in r["runs"]] == [0, 1]
    assert len(r["test_accuracy"]) == 2 and min(r["test_accuracy"]) > 0.8
    assert r["test_accuracy"][0] != r["test_accuracy"][1]  # the seeds are different runs
    detail = r["runs"][0]["detail"]
    assert "detail" not in r["runs"][1]
    assert sum(map(sum, detail["confusion"])) == r["test_size"] == 10000
    assert len(detail["misclassified"]["index"]) == min(
        32, round(r["test_size"] * (1 - detail["test_accuracy"]))
    )
    assert r["train_size"] == (4000 if name == "mlp" else 1500)
    assert r["recipe"]["epochs"] == len(detail["history"])
    assert 1 <= r["runs"][0]["best_epoch"] <= len(detail["history"])
    module = facts_module(name)
    f = module.facts(r)
    values = dict(leaves(f))
    assert values["accuracy.mean"] == pytest.approx(100 * np.mean(r["test_accuracy"]))
    assert values["errors.total"] == round(r["test_size"] * (1 - detail["test_accuracy"]))
    assert values["curve.plateau_epoch"] <= values["epochs"] == len(detail["history"])
    for claim in module.CLAIMS.values():
        assert claim(f) in (True, False)


@pytest.mark.parametrize(
    "name", ["mlp", *(pytest.param(n, marks=pytest.mark.slow) for n in ("cnn", "cnn_bn"))]
)
def test_replot_redraws_the_figures_without_training(quick_experiment, name):
    import importlib

    out, _ = quick_experiment(name)
    for png in out.glob("*.png"):
        png.unlink()
    importlib.import_module(f"experiments.{name}").main(["--replot", "--out", str(out)])
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]


def test_cnn_bn_runs_cnns_pipeline_with_its_recipe_and_batch_norm():
    """(The quick run itself is the slow case of the test above.)"""
    from experiments import codehash
    from experiments.cnn import run as cnn_run
    from experiments.cnn_bn import run as cnn_bn_run
    from fnn import models

    config = cnn_bn_run.Config()
    recipe = models.RECIPES["cnn-bn"]
    assert config.recipe == "cnn-bn" and config.batch_norm is True
    assert (config.lr, config.weight_decay, config.epochs) == (recipe.lr, recipe.weight_decay, recipe.epochs)
    assert isinstance(config, cnn_run.Config)
    assert "experiments/cnn/run.py" in codehash.file_hashes(cnn_bn_run.__file__)  # depends on cnn's code


# ---------------------------------------------------------------- recipe experiments' facts and claims


def test_convergence_markers():
    # improvements by more than 0.05 points end at epoch 3; epoch 5's +0.04 does not count
    val = [0.95, 0.97, 0.98, 0.9802, 0.9806, 0.9805]
    assert classifiers.plateau_epoch(val) == 3
    assert classifiers.plateau_epoch([0.9, 0.89, 0.88]) == 1
    assert classifiers.near_best_epoch(val) == 3  # first within half a point of 98.06
    assert classifiers.near_best_epoch([0.9, 0.99, 0.991]) == 2


def test_top_errors_are_the_largest_off_diagonal_cells():
    counts = np.diag([100] * 10)
    counts[4, 9], counts[9, 4], counts[7, 2], counts[3, 5] = 7, 7, 9, 1
    top = classifiers.top_errors(counts.tolist())
    assert top == {
        "1": {"true": 7, "predicted": 2, "count": 9},
        "2": {"true": 4, "predicted": 9, "count": 7},
        "3": {"true": 9, "predicted": 4, "count": 7},
    }


def recipe_results(val_acc, val_loss, train_acc_last, test_accuracy, confusion, best_epochs):
    """A classifier_seeds-shaped result with the given first-seed curve and confusion matrix."""
    history = [
        {
            "epoch": e + 1,
            "train_loss": 0.02,
            "train_accuracy": train_acc_last if e == len(val_acc) - 1 else a,
            "val_accuracy": a,
            "val_loss": loss,
        }
        for e, (a, loss) in enumerate(zip(val_acc, val_loss))
    ]
    return {
        "seeds": list(range(len(test_accuracy))),
        "train_size": 55000,
        "test_accuracy": test_accuracy,
        "train_seconds": [10.0] * len(test_accuracy),
        "runs": [
            {
                "seed": s,
                "best_epoch": b,
                **({"detail": {"history": history, "confusion": confusion}} if s == 0 else {}),
            }
            for s, b in enumerate(best_epochs)
        ],
    }


def confusion_with(cells):
    counts = np.diag([980] * 10)
    for (i, j), n in cells.items():
        counts[i, j] = n
    return counts.tolist()


MLP_LIKE = dict(
    val_acc=[0.955, 0.962, 0.971, 0.975, 0.98, 0.982, 0.9822, 0.9821],
    val_loss=[0.16, 0.12, 0.10, 0.08, 0.07, 0.062, 0.061, 0.062],
    train_acc_last=0.996,
    test_accuracy=[0.985, 0.9848, 0.9849],
    confusion=confusion_with({(4, 9): 7, (9, 4): 7, (2, 7): 6, **{(k, (k + 1) % 10): 5 for k in range(10)}}),
    best_epochs=[6, 8, 7],
)


def mlp_facts(**changes):
    return classifiers.facts(recipe_results(**{**MLP_LIKE, **changes}), "mlp")


@pytest.mark.parametrize(
    "claim, flipped",
    [
        ("accuracy_below_99", {"test_accuracy": [0.991, 0.992, 0.993]}),
        ("accuracy_above_99", None),
        ("slow_first_epoch", {"val_acc": [0.985, *MLP_LIKE["val_acc"][1:]]}),
        ("fast_first_epoch", None),
        ("plateau_before_last_quarter", {"val_acc": [*MLP_LIKE["val_acc"][:-1], 0.99]}),
        ("best_epoch_late", {"best_epochs": [3, 8, 7]}),
        ("best_epoch_last_two", None),
        ("overfits", {"train_acc_last": 0.985}),
        ("small_gap", None),
        ("val_loss_no_upturn", {"val_loss": [*MLP_LIKE["val_loss"][:-1], 0.07]}),
        ("train_loss_below_val", {"val_loss": [*MLP_LIKE["val_loss"][:-1], 0.01]}),
        ("errors_spread", {"confusion": confusion_with({(4, 9): 30, (9, 4): 7})}),
        ("top_two_are_one_pair", {"confusion": confusion_with({(4, 9): 8, (7, 2): 7, (9, 4): 6})}),
    ],
)
def test_each_recipe_claim_flips_with_its_data(claim, flipped):
    """MLP_LIKE satisfies the MLP's claims; `flipped` changes one thing and the claim goes false.
    (A claim the MLP does not satisfy, None, is flipped the other way round.)"""
    predicate = classifiers.CLAIM[claim]
    if flipped is None:  # a CNN's claim: false on the MLP-like run, true on a CNN-like one
        assert predicate(mlp_facts()) is False
        cnn_like = {
            "test_accuracy": [0.993, 0.9936, 0.9918],
            "val_acc": [0.983, 0.987, 0.9872, 0.9916, 0.991],
            "val_loss": [0.06, 0.043, 0.042, 0.034, 0.0345],
            "train_acc_last": 0.9945,
            "best_epochs": [4, 5, 4],
        }
        assert predicate(mlp_facts(**cnn_like)) is True
    else:
        assert predicate(mlp_facts()) is True
        assert predicate(mlp_facts(**flipped)) is False


def test_every_cited_claim_is_a_shared_claim():
    for name in RECIPE_EXPERIMENTS:
        module = facts_module(name)
        assert set(module.CLAIMS) <= set(classifiers.CLAIM)
        assert all(module.CLAIMS[c] is classifiers.CLAIM[c] for c in module.CLAIMS)


def test_old_results_without_a_recipe_read_it_from_fnn_models():
    from fnn import models

    f = mlp_facts()
    assert (
        f["recipe"]["lr"] == models.RECIPES["mlp"].lr
        and f["recipe"]["epochs"] == models.RECIPES["mlp"].epochs
    )


# ---------------------------------------------------------------- cnn_variants


@pytest.mark.slow  # six short CNN trainings: ~40 s
def test_cnn_variants_quick_run_records_every_arm_and_seed(quick_experiment):
    from experiments import cnn_variants
    from experiments.cnn_variants import facts

    out, r = quick_experiment("cnn_variants")
    assert pngs(out) == ["accuracy.png"]
    assert r["seeds"] == [0, 1] and r["train_size"] == 1500 and r["recipe"]["epochs"] == 1
    for arm in ("max", "avg", "bn"):
        record = r["arms"][arm]
        assert len(record["test_accuracy"]) == len(record["wrong"]) == 2
        for accuracy, wrong in zip(record["test_accuracy"], record["wrong"]):
            assert len(wrong) == round(r["test_size"] * (1 - accuracy)) and wrong == sorted(set(wrong))
    assert r["arms"]["max"]["wrong"][0] != r["arms"]["avg"]["wrong"][0]  # different models
    f = facts.facts(r)
    assert dict(leaves(f))["avg_minus_max.n"] == 2
    for claim in facts.CLAIMS.values():
        assert claim(f) in (True, False)
    (out / "accuracy.png").unlink()
    cnn_variants.main(["--replot", "--out", str(out)])
    assert pngs(out) == ["accuracy.png"]


def variants_results(max_acc, avg_acc, bn_acc, seconds=(40, 42, 60), test_size=1000):
    """Arms whose seed-k test errors are the first round(test_size * (1 - acc)) images, shifted
    per arm so that their errors overlap only in part."""
    arms = {}
    for (arm, accs), shift, sec in zip(
        {"max": max_acc, "avg": avg_acc, "bn": bn_acc}.items(), (0, 3, 6), seconds
    ):
        wrong = [sorted((shift + np.arange(round(test_size * (1 - a)))) % test_size) for a in accs]
        arms[arm] = {
            "test_accuracy": list(accs),
            "train_seconds": [float(sec)] * len(accs),
            "best_epoch": [5] * len(accs),
            "wrong": [list(map(int, w)) for w in wrong],
        }
    return {
        "recipe": {"epochs": 5, "lr": 0.05},
        "seeds": list(range(len(max_acc))),
        "test_size": test_size,
        "arms": arms,
    }


def test_cnn_variants_facts_pair_the_arms_by_seed():
    from experiments.cnn_variants import facts

    f = facts.facts(variants_results([0.99, 0.98, 0.97], [0.98, 0.97, 0.96], [0.99, 0.99, 0.99]))
    assert f["avg_minus_max"]["mean"] == pytest.approx(-1) and f["avg_minus_max"]["sd"] == pytest.approx(
        0, abs=1e-9
    )
    assert f["bn_minus_max"]["mean"] == pytest.approx(1) and f["bn_minus_max"]["n"] == 3
    # seed 0: max gets images 0..9 wrong, avg 3..22: 13 only max gets right (10..22), 3 only avg (0..2)
    m = f["avg_vs_max_seed0"]
    assert (m["only_a"], m["only_b"]) == (13, 3)
    assert f["bn_time_ratio"] == pytest.approx(1.5)


BN_BETTER = dict(max_acc=[0.990, 0.991, 0.989], avg_acc=[0.985, 0.984, 0.986], bn_acc=[0.993, 0.994, 0.992])


@pytest.mark.parametrize(
    "claim, holds, fails",
    [
        ("bn_better", BN_BETTER, {**BN_BETTER, "bn_acc": [0.993, 0.988, 0.992]}),
        ("bn_no_reliable_difference", {**BN_BETTER, "bn_acc": [0.993, 0.988, 0.992]}, BN_BETTER),
        ("avg_worse", BN_BETTER, {**BN_BETTER, "avg_acc": [0.985, 0.995, 0.986]}),
        ("avg_no_reliable_difference", {**BN_BETTER, "avg_acc": [0.985, 0.995, 0.986]}, BN_BETTER),
        ("avg_lower_every_seed", BN_BETTER, {**BN_BETTER, "avg_acc": [0.985, 0.991, 0.986]}),
    ],
)
def test_paired_claims_flip_with_the_per_seed_differences(claim, holds, fails):
    from experiments.cnn_variants import facts

    predicate = {**facts.CLAIMS, **facts.OPPOSITES}[claim]
    assert predicate(facts.facts(variants_results(**holds))) is True
    assert predicate(facts.facts(variants_results(**fails))) is False


def test_mcnemar_claims_flip_with_seed_zeros_discordant_images():
    from experiments.cnn_variants import facts

    claims = {**facts.CLAIMS, **facts.OPPOSITES}
    # seed 0: max 10 errors, bn 9 (shifted): few discordant images, no reliable difference
    close = facts.facts(variants_results([0.990], [0.990], [0.991]))
    assert claims["bn_mcnemar_no_reliable_difference"](close) is True
    assert claims["bn_better_mcnemar"](close) is False
    assert claims["avg_mcnemar_no_reliable_difference"](close) is True
    assert claims["avg_worse_mcnemar"](close) is False
    # bn 0 errors against max's 40 on 1000 images; avg 80: reliable both ways
    far = facts.facts(variants_results([0.96], [0.92], [1.0]))
    assert claims["bn_better_mcnemar"](far) is True
    assert claims["bn_mcnemar_no_reliable_difference"](far) is False
    assert claims["avg_worse_mcnemar"](far) is True
    assert claims["avg_mcnemar_no_reliable_difference"](far) is False


def test_bn_slower_flips_with_the_recorded_seconds():
    from experiments.cnn_variants import facts

    accs = dict(max_acc=[0.99, 0.99], avg_acc=[0.99, 0.99], bn_acc=[0.99, 0.99])
    assert facts.CLAIMS["bn_slower"](facts.facts(variants_results(**accs, seconds=(40, 42, 60)))) is True
    assert facts.CLAIMS["bn_slower"](facts.facts(variants_results(**accs, seconds=(40, 42, 30)))) is False


def test_the_results_json_of_this_repository_give_facts_when_present():
    """The committed results (when there) carry every key the facts read."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "results"
    for name in (*RECIPE_EXPERIMENTS, "cnn_variants"):
        path = root / name / "results.json"
        if path.is_file():
            f = facts_module(name).facts(json.loads(path.read_text()))
            assert all(v is not None for _, v in leaves(f))


def test_the_training_section_cites_exactly_these_claims():
    """Every claim of the four experiments is cited by report/sections/training.tex or its rows,
    and every claim they cite exists (the report fails on either; this says which, early)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "report"
    text = (root / "sections" / "training.tex").read_text() + (root / "rows" / "training.tex").read_text()
    names = (*RECIPE_EXPERIMENTS, "cnn_variants")
    cited = {c for c in re.findall(r"\\claim\{([^}]+)\}", text) if c.split(".")[0] in names}
    defined = {f"{name}.{claim}" for name in names for claim in facts_module(name).CLAIMS}
    assert cited == defined, (sorted(defined - cited), sorted(cited - defined))
