"""`fnn.cli.train`: the recipe with settings over it, the run folder it writes, and its rules
(a used folder, a changed resume); `fnn.train.evaluate_test` reports the best epoch on test."""

import json

import pytest

from fnn import models
from fnn.cli.settings import Settings, SettingsError
from fnn.cli.train import train_recipe
from fnn.train import best_epoch


def test_settings_take_the_recipe_where_not_given():
    resolved = Settings(model="cnn-bn", lr=0.5).resolved()
    recipe = models.RECIPES["cnn-bn"]
    assert resolved["lr"] == 0.5 and resolved["epochs"] == recipe.epochs
    assert resolved["weight_decay"] == recipe.weight_decay and resolved["conv_impl"] == "auto"


def test_train_recipe_writes_the_run_and_refuses_a_used_folder_and_a_changed_resume(
    tiny_npz, tmp_path, capsys
):
    chosen = Settings(model="mlp", epochs=1, batch_size=25, validation=50, data=tiny_npz)
    result = train_recipe(chosen, tmp_path / "r")
    err = capsys.readouterr().err
    assert "mlp epoch   1/1" in err and " lr " in err  # one progress line per epoch, with the lr
    assert result.metrics["model"] == "mlp" and result.metrics["epochs"] == 1
    assert result.metrics["best_epoch"] == best_epoch(result.history)
    files = {p.name for p in (tmp_path / "r").iterdir()}
    assert {
        "config.json",
        "history.json",
        "metrics.json",
        "metrics.jsonl",
        "curves.png",
        "checkpoint.npz",
    } <= files
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["batch_size"] == 25 and {"fnn", "jax", "device", "host"} <= set(config)
    assert json.loads((tmp_path / "r" / "metrics.json").read_text()) == result.metrics
    with pytest.raises(SettingsError, match="--resume"):
        train_recipe(chosen, tmp_path / "r")
    changed = Settings(**{**chosen.__dict__, "lr": 0.01, "epochs": 2})
    with pytest.raises(SettingsError, match="lr"):
        train_recipe(changed, tmp_path / "r", resume=True)
    more = Settings(**{**chosen.__dict__, "epochs": 2, "patience": 5})  # free to change
    assert train_recipe(more, tmp_path / "r", resume=True).metrics["epochs"] == 2
