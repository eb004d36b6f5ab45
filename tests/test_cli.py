import json

from fnn.cli import main


def test_gradcheck_prints_a_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "g.json"
    assert main(["gradcheck", "--only", "relu", "batch_norm", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "bn-dx" in out and "relu-dx" in out and "6 of 6 cases below tolerance" in out
    table = json.loads(path.read_text())
    assert {row["constructor"] for row in table["cases"]} == {"relu", "batch_norm"}
    assert all(row["ok"] and row["max_error"] < 1e-9 for row in table["cases"])


def test_gradcheck_exits_non_zero_above_tolerance(capsys):
    assert main(["gradcheck", "--only", "tanh", "--tolerance", "1e-30"]) == 1
    assert "FAIL" in capsys.readouterr().out


def tiny_npz(tmp_path):
    import numpy as np
    from conftest import synthetic_arrays

    x_train, y_train, x_test, y_test = synthetic_arrays()
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def test_train_writes_its_files_resumes_and_evaluates(tmp_path, capsys):
    data, out = tiny_npz(tmp_path), tmp_path / "run"
    common = [
        "train",
        "--model",
        "cnn",
        "--data",
        str(data),
        "--validation",
        "50",
        "--batch-size",
        "25",
        "--out",
        str(out),
    ]
    assert main([*common, "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "epoch   1/1" in captured.err
    metrics = json.loads(captured.out.strip().splitlines()[-1])
    assert {"test_accuracy", "test_loss", "images_per_second", "seconds", "device"} <= set(metrics)
    for name in (
        "history.json",
        "metrics.json",
        "checkpoint.npz",
        "checkpoint.json",
        "curves.png",
        "config.json",
    ):
        assert (out / name).exists(), name
    assert main([*common, "--epochs", "1"]) == 2  # refuses to overwrite a run
    assert "--resume" in capsys.readouterr().err
    assert main([*common, "--epochs", "3", "--resume"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out)]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    final = json.loads((out / "metrics.json").read_text())
    assert evaluated["test_accuracy"] == final["test_accuracy"] > 0.5


def test_train_with_missing_data_fails_with_one_clear_message(tmp_path, capsys):
    assert (
        main(["train", "--model", "mlp", "--data", str(tmp_path / "none.mat"), "--out", str(tmp_path / "r")])
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
