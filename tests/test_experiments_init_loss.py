"""experiments.init_loss: the loss before any update, its report section and the recipes' first batch."""

import copy
import math

import numpy as np
import pytest

from experiments import init_loss


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


@pytest.mark.slow  # the quick run compiles both models' losses under three heads: 14 s cold
def test_init_loss(quick_experiment):
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
        assert math.log(10) < first["test_mode"]["mean"] < 3.0


def test_init_loss_recipe_first_batch_is_the_loss_training_logs(tiny_mnist):
    from experiments import common
    from fnn import models

    recipe = models.RECIPES["mlp"]._replace(epochs=1)
    for seed, got in zip((0, 1), init_loss.recipe_first_batch("mlp", tiny_mnist, (0, 1))):
        model = models.mlp(drop_rate=recipe.drop_rate)
        run = common.train_recipe(model, tiny_mnist, recipe, seed=seed, label="first batch")
        logged = run.history[0]["batch_losses"][0]
        np.testing.assert_allclose(got["train_mode"], logged, rtol=1e-5)
        assert got["train_mode"] != got["test_mode"]  # dropout is on in train mode only


@pytest.mark.slow  # on the quick run above
def test_init_loss_section_reads_its_numbers_and_follows_them(quick_experiment, check_section):
    out, r = quick_experiment("init_loss")
    text = init_loss.section(r)
    check_section(text, "init_loss", out)
    for label in ("tab:init-loss", "tab:init-loss-first-batch", "fig:init_loss-init-loss"):
        assert f"\\label{{{label}}}" in text and f"\\ref{{{label}}}" in text
    he = r["measured"]["mlp"]["he"]["softmax_cross_entropy"]
    assert f"{np.mean(he['per_seed']):.3f} \\pm" in text  # numbers come from results.json
    assert "equal the textbook values" in text and "NOT" not in text
    broken = copy.deepcopy(r)  # a loss that is wrong at scores ~ 0 must be called out
    broken["measured"]["cnn"]["small"]["multiclass_svm"].update(mean=4.5, per_seed=[4.5, 4.5])
    assert "do NOT all equal the textbook values" in init_loss.section(broken)
