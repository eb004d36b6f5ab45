"""`fnn.cli.settings`: every rule checked before anything is read, and `--config` files read with
the same rules, naming the file and the key (not a flag nobody typed)."""

import json

import pytest

from fnn.cli.settings import Settings, SettingsError, choices, read_config


def write(tmp_path, content) -> str:
    path = tmp_path / "config.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


@pytest.mark.parametrize(
    "content, match",
    [
        ({"seed": True}, r"config.json: 'seed': must be an int in \[0, 2\*\*32\), got True"),
        ({"epochs": True}, "config.json: 'epochs': must be a positive int, got True"),
        ({"epochs": 0}, "config.json: 'epochs': must be a positive int, got 0"),
        ({"model": "resnet"}, "config.json: 'model': must be one of"),
        ({"learning_rate": 0.1}, "unknown key 'learning_rate'; did you mean 'lr'"),
        ({"batchsize": 3}, "unknown key 'batchsize'; did you mean 'batch_size'"),
        ({"zzz": 3}, "unknown key 'zzz'; the settings are model, epochs"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        ("[1, 2]", "is not a JSON object"),
        ("{", "cannot read"),
    ],
)
def test_a_config_the_rules_refuse_names_the_file_and_the_key(tmp_path, content, match):
    with pytest.raises(SettingsError, match=match) as error:
        read_config(write(tmp_path, content))
    assert str(error.value).startswith("--config: ")
    assert "--seed" not in str(error.value) and "--epochs" not in str(error.value)


def test_a_runs_own_config_reads_back_with_what_fnn_records_beside_the_settings(tmp_path):
    recorded = {"model": "mlp", "lr": 0.02, "epochs": None, "fnn": "0.1.0", "jax": "0.8", "device": "cpu",
                "host": {"cores": 2}, "data_source": {"path": "/x"}}  # fmt: skip
    assert read_config(write(tmp_path, recorded)) == {"model": "mlp", "lr": 0.02, "epochs": None}


def test_a_bool_is_no_int_and_data_is_recorded_as_an_absolute_path(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="--seed"):
        Settings(seed=True)
    (tmp_path / "d.npz").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert Settings(data="d.npz").resolved()["data"] == str(tmp_path / "d.npz")


def test_one_list_of_choices_serves_the_rules_and_the_flags():
    for name, allowed in choices().items():
        Settings(**{name: allowed[0]})
        with pytest.raises(SettingsError, match=f"--{name.replace('_', '-')}"):
            Settings(**{name: "no-such-choice"})
