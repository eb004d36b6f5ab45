"""The one front door: `run.train` trains, evaluates the best epoch on test, writes a run folder;
`run.train_recipe` is `fnn train` (recipe, settings check, resume)."""

import json

import pytest

from fnn import models, optim, run
from fnn.train import best_epoch


def test_train_without_a_folder_writes_nothing_and_evaluates_the_best_epoch(tiny_mnist, tmp_path, capsys):
    model = models.mlp((16,))
    result = run.train(
        model, tiny_mnist, optim.momentum(0.05), epochs=2, batch_size=25, label="tiny", progress=False
    )
    assert capsys.readouterr().err == ""  # progress=False: silent
    assert result.metrics["best_epoch"] == best_epoch(result.history)
    accuracy = float((result.test_scores.argmax(1) == tiny_mnist.test.labels).mean())
    assert result.metrics["test_accuracy"] == accuracy > 0.5
    assert result.test_scores.shape == (len(tiny_mnist.test.x), 10)
    assert not list(tmp_path.iterdir())


def test_train_into_a_folder_writes_the_run(tiny_mnist, tmp_path, capsys):
    schedule = optim.make_schedule(0.05, total_steps=20)
    result = run.train(
        models.mlp((16,)),
        tiny_mnist,
        optim.momentum(schedule),
        epochs=2,
        batch_size=25,
        out=tmp_path / "r",
        settings={"model": "mlp", "note": "tiny"},
        lr_schedule=schedule,
        label="tiny",
    )
    err = capsys.readouterr().err
    assert "tiny epoch   2/2" in err and " lr " in err  # one progress line per epoch
    files = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"config.json", "history.json", "metrics.json", "curves.png", "checkpoint.npz"} <= files
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["note"] == "tiny" and {"fnn", "jax", "device"} <= set(config)
    assert json.loads((tmp_path / "r" / "metrics.json").read_text()) == result.metrics


def test_settings_take_the_recipe_where_not_given():
    resolved = run.Settings(model="cnn-bn", lr=0.5).resolved()
    recipe = models.RECIPES["cnn-bn"]
    assert resolved["lr"] == 0.5 and resolved["epochs"] == recipe.epochs
    assert resolved["weight_decay"] == recipe.weight_decay and resolved["conv_impl"] == "auto"


def test_train_recipe_refuses_a_used_folder_and_a_changed_resume(tiny_npz, tmp_path):
    settings = run.Settings(model="mlp", epochs=1, batch_size=25, validation=50, data=tiny_npz)
    result = run.train_recipe(settings, tmp_path / "r")
    assert result.metrics["model"] == "mlp" and result.metrics["epochs"] == 1
    with pytest.raises(run.SettingsError, match="--resume"):
        run.train_recipe(settings, tmp_path / "r")
    changed = run.Settings(**{**settings.__dict__, "lr": 0.01, "epochs": 2})
    with pytest.raises(run.SettingsError, match="lr"):
        run.train_recipe(changed, tmp_path / "r", resume=True)
    more = run.Settings(**{**settings.__dict__, "epochs": 2, "patience": 5})  # free to change
    assert run.train_recipe(more, tmp_path / "r", resume=True).metrics["epochs"] == 2
