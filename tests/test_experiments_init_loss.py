"""experiments.init_loss: the loss before any update, the recipes' first batch, the facts and
each claim flipping with its data."""

import copy
import math

import numpy as np
import pytest

from experiments import fmt
from experiments.init_loss import facts, run


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


@pytest.mark.slow  # the quick run compiles both models' losses under three heads: 14 s cold
def test_init_loss(quick_experiment):
    from experiments import init_loss

    out, r = quick_experiment("init_loss")
    assert pngs(out) == ["init_loss.png"]
    for model in ("mlp", "cnn"):
        small, he = r["measured"][model]["small"], r["measured"][model]["he"]
        assert abs(small["softmax_cross_entropy"]["mean"] - math.log(10)) < 1e-3  # scores ~ 0
        assert abs(small["multiclass_svm"]["mean"] - 9.0) < 1e-3
        assert len(he["softmax_cross_entropy"]["per_seed"]) == 2
        # He initialisation spreads the scores, which raises the softmax loss above ln 10
        assert he["softmax_cross_entropy"]["score_spread"] > 0.1
        assert math.log(10) < he["softmax_cross_entropy"]["mean"] < math.log(10) + 0.5
        first = r["first_batch"][model]
        assert first["drop_rate"] == 0.3 and first["batch_size"] in (64, 128)
        assert len(first["train_mode"]["per_seed"]) == len(first["test_mode"]["per_seed"]) == 2
    f = facts.facts(r)  # every key the report may cite exists, and every claim evaluates
    assert f["mlp"]["he"]["softmax"]["mean"] == pytest.approx(
        r["measured"]["mlp"]["he"]["softmax_cross_entropy"]["mean"]
    )
    assert all(claim(f) in (True, False) for claim in facts.CLAIMS.values())
    (out / "init_loss.png").unlink()
    init_loss.main(["--replot", "--out", str(out)])
    assert pngs(out) == ["init_loss.png"]


def test_init_loss_recipe_first_batch_is_the_loss_training_logs(tiny_mnist):
    from experiments import common
    from fnn import models

    recipe = models.RECIPES["mlp"]._replace(epochs=1)
    for seed, got in zip((0, 1), run.recipe_first_batch("mlp", tiny_mnist, (0, 1))):
        model = models.mlp(drop_rate=recipe.drop_rate)
        trained = common.train_recipe(model, tiny_mnist, recipe, seed=seed, label="first batch")
        logged = trained.history[0]["batch_losses"][0]
        np.testing.assert_allclose(got["train_mode"], logged, rtol=1e-5)
        assert got["train_mode"] != got["test_mode"]  # dropout is on in train mode only


LN10 = math.log(10)


def _loss(per_seed, sigma, gaussian):
    return {
        "per_seed": per_seed,
        "mean": float(np.mean(per_seed)),
        "sd": float(np.std(per_seed, ddof=1)),
        "score_spread": sigma,
        "gaussian_reference": gaussian,
    }


def _model(rise, sigma, svm):
    return {
        "he": {
            "softmax_cross_entropy": _loss([LN10 + rise - 0.01, LN10 + rise + 0.01], sigma, LN10 + rise),
            "multiclass_svm": _loss([svm - 0.1, svm + 0.1], sigma, svm),
        },
        "small": {
            "softmax_cross_entropy": _loss([LN10, LN10 + 1e-7], 1e-6, LN10),
            "multiclass_svm": _loss([9.0, 9.0 + 1e-7], 1e-6, 9.0),
        },
    }


def _first(train, test):
    def mode(values):
        return {"per_seed": values, "mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1))}

    return {"batch_size": 64, "drop_rate": 0.3, "train_mode": mode(train), "test_mode": mode(test)}


@pytest.fixture
def results():
    """Constructed results on which every claim holds (the shape of run.run's output)."""
    return {
        "setup": {"seeds": [0, 1, 2], "images": 1280, "small_scale": 1e-3},
        "expected": dict(run.EXPECTED),
        "measured": {"mlp": _model(0.07, 0.4, 9.1), "cnn": _model(0.16, 0.68, 9.3)},
        "first_batch": {
            "mlp": _first([2.50, 2.51, 2.49], [2.42, 2.43, 2.44]),
            "cnn": _first([2.44, 2.50, 2.40], [2.38, 2.45, 2.47]),
        },
    }


def test_facts_are_formatted_values(results):
    f = facts.facts(results)

    def leaves(tree):
        for value in tree.values():
            yield from leaves(value) if isinstance(value, dict) else [value]

    assert all(isinstance(v, (fmt.Num, int, str, fmt.Table)) for v in leaves(f))
    assert str(f["ln10"]) == "2.303" and f["mlp"]["first_batch"]["dropout_effect"]["n"] == 3
    assert all(claim(f) for claim in facts.CLAIMS.values())


def _flipped(results, edit):
    broken = copy.deepcopy(results)
    edit(broken)
    return facts.facts(broken)


def _he_softmax(model, rise):
    def edit(r):
        r["measured"][model]["he"]["softmax_cross_entropy"] = _loss(
            [LN10 + rise - 0.01, LN10 + rise + 0.01], 0.4, LN10
        )

    return edit


@pytest.mark.parametrize(
    "claim, edit",
    [
        (
            "small_init_gives_textbook",
            lambda r: r["measured"]["cnn"]["small"]["multiclass_svm"].update(mean=4.5, per_seed=[4.5, 4.5]),
        ),
        ("he_softmax_above_ln10", _he_softmax("mlp", 0.005)),  # one seed below ln 10
        ("he_softmax_near_ln10", _he_softmax("cnn", 0.6)),
        (
            "rise_tracks_sigma",
            lambda r: r["measured"]["mlp"]["he"]["softmax_cross_entropy"].update(score_spread=2.0),
        ),
        (
            "cnn_spreads_more",
            lambda r: r["measured"]["cnn"]["he"]["softmax_cross_entropy"].update(score_spread=0.1),
        ),
        ("svm_near_nine", lambda r: r["measured"]["mlp"]["he"]["multiclass_svm"].update(mean=10.0)),
        (
            "mlp_dropout_raises_first_loss",
            lambda r: r["first_batch"].update(mlp=_first([2.4, 2.5, 2.3], [2.45, 2.4, 2.4])),
        ),
        (
            "cnn_dropout_no_reliable_difference",
            lambda r: r["first_batch"].update(cnn=_first([2.50, 2.51, 2.49], [2.42, 2.43, 2.44])),
        ),
        (
            "first_batch_near_ln10",
            lambda r: r["first_batch"].update(cnn=_first([3.5, 3.4, 3.6], [3.4, 3.5, 3.5])),
        ),
    ],
)
def test_each_claim_flips_with_its_data(results, claim, edit):
    assert facts.CLAIMS[claim](facts.facts(results)) is True
    assert facts.CLAIMS[claim](_flipped(results, edit)) is False
