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
