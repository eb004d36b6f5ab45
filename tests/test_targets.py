"""The measured recipes reach their targets on the full MNIST (slow: minutes each on 2 cores;
`best` about 12 beside the other slow tests). Each floor sits a little under the recipe's
measured mean (README, Recipes)."""

import json

import pytest

from fnn.cli import main

TARGETS = {"mlp": 0.983, "cnn": 0.992, "cnn-bn": 0.993, "fast": 0.989, "best": 0.9955}


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(TARGETS))
def test_default_recipe_reaches_the_target(model, tmp_path, capsys):
    assert main(["train", "--model", model, "--out", str(tmp_path / model)]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["test_accuracy"] >= TARGETS[model], metrics
    for name in ("curves.png", "history.json", "metrics.json", "checkpoint.npz"):
        assert (tmp_path / model / name).exists()
