"""`fnn gradcheck`: the registry's table; `--layer FILE.py:FUNCTION`, the doctor on a user's file;
`--like NAME`, a user's code against fnn's own on NAME's registered cases; and grading many files,
each in its own process, with a record per file in --json and --csv and documented exit statuses."""

import csv
import json
import time

import pytest

from fnn import gradcheck
from fnn.cli import grade, main


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


LAYER_FILE = '''
from fnn import layers
from fnn.layer import Layer


def make_layer():
    """conv2d whose backward returns minus dx."""
    conv = layers.conv2d(2, 3, padding=1)

    def backward(params, cache, dy):
        dx, grads = conv.backward(params, cache, dy)
        return -dx, grads

    return Layer("negated", conv.init, conv.apply, backward)


def correct():
    return layers.relu()


def not_a_layer():
    return 42
'''


def layer_file(tmp_path):
    """A file outside the package that defines layers, as a user's would."""
    path = tmp_path / "my_layer.py"
    path.write_text(LAYER_FILE)
    return path


def test_gradcheck_layer_diagnoses_a_users_file(tmp_path, capsys):
    path, png, report = layer_file(tmp_path), tmp_path / "errors.png", tmp_path / "d.json"
    argv = ["gradcheck", "--layer", f"{path}:make_layer", "--in-shape", "5,5,2", "--plot", str(png)]
    assert main(argv) == 1
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()]
    assert ["dx", "sign"] in rows and ["W", "ok"] in rows and ["b", "ok"] in rows
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    argv = ["gradcheck", "--layer", f"{path}:correct", "--in-shape", "3,4", "--json", str(report)]
    assert main([*argv, "--batch", "2", "--seed", "1"]) == 0
    assert "0 of 1 gradient arrays wrong" in capsys.readouterr().out
    assert json.loads(report.read_text())["ok"] is True


BAD_LAYER_SPECS = [  # (gradcheck flags, {t}: tmp_path holding my_layer.py; message fragment)
    (["--layer", "{t}/none.py:make_layer", "--in-shape", "3"], "no Python file"),
    (["--layer", "{t}/my_layer.py:nope", "--in-shape", "3"], "defines no function 'nope'"),
    (["--layer", "{t}/my_layer.py:not_a_layer", "--in-shape", "3"], "returned a int, not an fnn.Layer"),
    (["--layer", "{t}/my_layer.py", "--in-shape", "3"], "expected FILE.py:FUNCTION"),
    (
        ["--layer", "{t}/my_layer.py:make_layer", "--in-shape", "5,x"],
        "--in-shape: expected positive integers",
    ),
    (["--layer", "{t}/my_layer.py:make_layer"], "--in-shape: required"),
    (
        ["--layer", "{t}/my_layer.py:make_layer", "--in-shape", "5"],
        "expected per-example shape (H_in, W_in, C_in)",
    ),
    (
        ["--layer", "{t}/my_layer.py:make_layer", "--in-shape", "5,5,2", "--batch", "0"],
        "--batch: must be >= 1",
    ),
    (["--in-shape", "3", "--plot", "x.png"], "--in-shape, --plot: only with --layer"),
]


@pytest.mark.parametrize("flags, message", BAD_LAYER_SPECS)
def test_a_bad_layer_spec_is_one_line_and_exit_2(flags, message, tmp_path, capsys):
    layer_file(tmp_path)
    assert main(["gradcheck", *[flag.format(t=tmp_path) for flag in flags]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_gradcheck_prints_the_diagnosis_under_a_failing_row(tmp_path, monkeypatch, capsys):
    from fnn import layers

    relu = layers.relu

    def relu_with_minus_dx(*args, **kwargs):
        layer = relu(*args, **kwargs)
        return layer._replace(backward=lambda params, cache, dy: (-layer.backward(params, cache, dy)[0], {}))

    monkeypatch.setattr(layers, "relu", relu_with_minus_dx)
    assert main(["gradcheck", "--only", "relu", "--no-fd", "--json", str(tmp_path / "g.json")]) == 1
    assert "    dx: sign: dx is minus the true gradient" in capsys.readouterr().out
    (row,) = json.loads((tmp_path / "g.json").read_text())["cases"]
    assert [(d["array"], d["kind"]) for d in row["diagnosis"]] == [("dx", "sign")]


# --like: against fnn's own code, on the registered cases


TANH_AS_SIGMOID = """
import jax.numpy as jnp

from fnn import Layer


def make_layer():
    # a tanh, forward and backward consistent with each other, posing as a sigmoid
    def init(key, in_shape):
        return tuple(in_shape), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        y = jnp.tanh(x)
        return y, state, y

    def backward(params, y, dy):
        return dy * (1 - y * y), {}

    return Layer("my_sigmoid", init, apply, backward)
"""


def test_a_tanh_posing_as_a_sigmoid_fails_like_sigmoid_with_a_wrong_forward(tmp_path, capsys):
    path, report = tmp_path / "my_sigmoid.py", tmp_path / "r.json"
    path.write_text(TANH_AS_SIGMOID)
    assert (
        main(["gradcheck", "--layer", f"{path}:make_layer"] + ["--in-shape", "3,4"]) == 0
    )  # the doctor: consistent
    capsys.readouterr()
    assert (
        main(["gradcheck", "--layer", f"{path}:make_layer", "--like", "sigmoid", "--json", str(report)]) == 1
    )
    out = capsys.readouterr().out
    assert "apply differs from fnn's sigmoid" in out and "a tanh posing as a sigmoid?" in out
    rec = json.loads(report.read_text())
    assert rec["file"] == str(path) and rec["function"] == "make_layer" and rec["status"] == "wrong"
    assert isinstance(rec["max_rel_error"], float) and rec["max_rel_error"] > 0.1
    assert [(a["array"], a["kind"]) for a in rec["arrays"]] == [("y", "forward"), ("dx", "ok")]


def fnn_itself(tmp_path):
    """A user's file whose function NAME is fnn's NAME, for every name --like knows."""
    lines = ["from fnn import layers, losses, optim\n"]
    for name in gradcheck.reference_names():
        module = {"layer": "layers", "loss": "losses", "optimizer": "optim"}[gradcheck.reference_kind(name)]
        lines.append(f"\n\ndef {name}(*args, **kwargs):\n    return {module}.{name}(*args, **kwargs)\n")
    path = tmp_path / "fnn_itself.py"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("name", [n for n in gradcheck.reference_names() if n != "conv2d"])
def test_fnns_own_code_in_a_file_passes_like_itself(name, tmp_path, capsys):
    path, report = fnn_itself(tmp_path), tmp_path / "r.json"
    assert main(["gradcheck", "--layer", f"{path}:{name}", "--like", name, "--json", str(report)]) == 0
    assert f"{name} like fnn's {name}: 0 of " in capsys.readouterr().out
    rec = json.loads(report.read_text())
    assert rec["status"] == "ok" and rec["max_rel_error"] < 1e-9
    assert len(rec["cases"]) == len(gradcheck.reference_cases(name)) and rec["arrays"]


@pytest.mark.slow
def test_fnns_own_conv2d_in_a_file_passes_like_conv2d(tmp_path, capsys):  # 16 cases, ~10 s
    path = fnn_itself(tmp_path)
    assert main(["gradcheck", "--layer", f"{path}:conv2d", "--like", "conv2d"]) == 0
    assert "conv2d like fnn's conv2d: 0 of 16 cases wrong" in capsys.readouterr().out


POOL_WITH_MINUS_DX = """
from fnn import layers


def make_pool(*args, **kwargs):
    pool = layers.max_pool2d(*args, **kwargs)

    def backward(params, cache, dy):
        dx, grads = pool.backward(params, cache, dy)
        return -dx, grads

    return pool._replace(backward=backward)
"""


def test_like_diagnoses_a_wrong_backward_in_every_case(tmp_path, capsys):
    path = tmp_path / "pool.py"
    path.write_text(POOL_WITH_MINUS_DX)
    assert main(["gradcheck", "--layer", f"{path}:make_pool", "--like", "max_pool2d"]) == 1
    out = capsys.readouterr().out
    assert "make_pool like fnn's max_pool2d: 3 of 3 cases wrong" in out
    assert out.count("dx     sign  dx is minus the true gradient") == 3
    assert "max_pool2d(3, stride=2, padding=1, pad_value=0.0) on (7, 6, 2) eval" in out


BAD_LIKE = [  # (flags after --layer FILE:make_pool, message fragment)
    (["--like", "nope"], "--like: fnn has no registered cases for 'nope'; the names are affine, relu"),
    (
        ["--like", "relu", "--in-shape", "3"],
        "--in-shape: not with --like (the registered cases of relu fix them)",
    ),
    (["--like", "relu", "--train", "--batch", "2"], "--train, --batch: not with --like"),
    (["--like", "relu", "--timeout", "5"], "--timeout: only with several files"),
    (["--like", "relu", "--jobs", "2"], "--jobs: only with several files"),
]


@pytest.mark.parametrize("flags, message", BAD_LIKE)
def test_a_bad_like_is_one_line_and_exit_2(flags, message, tmp_path, capsys):
    (tmp_path / "pool.py").write_text(POOL_WITH_MINUS_DX)
    assert main(["gradcheck", "--layer", f"{tmp_path / 'pool.py'}:make_pool", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_like_csv_and_timeout_need_a_layer(capsys):
    assert main(["gradcheck", "--like", "relu", "--csv", "x.csv", "--timeout", "3"]) == 2
    assert "--like, --csv, --timeout: only with --layer" in capsys.readouterr().err


def test_a_file_that_cannot_run_still_writes_its_json_and_csv(tmp_path, capsys):
    path, report, book = tmp_path / "broken.py", tmp_path / "r.json", tmp_path / "g.csv"
    path.write_text("def make_layer(:\n")
    argv = ["gradcheck", "--layer", f"{path}:make_layer", "--like", "relu", "--json", str(report)]
    assert main([*argv, "--csv", str(book)]) == 2
    assert "raised SyntaxError" in capsys.readouterr().err
    rec = json.loads(report.read_text())
    assert rec["status"] == "error" and "SyntaxError" in rec["error"] and rec["file"] == str(path)
    assert rec["arrays"] == [] and rec["max_rel_error"] is None
    (row,) = csv.DictReader(book.open())
    assert row["status"] == "error" and row["file"] == str(path)
    argv = [
        "gradcheck",
        "--layer",
        f"{tmp_path}/none.py:make_layer",
        "--in-shape",
        "3",
        "--json",
        str(report),
    ]
    assert main(argv) == 2  # the doctor, without --like, too
    assert json.loads(report.read_text())["error"].startswith("--layer: no Python file")


def test_the_doctors_json_names_its_file_and_a_numeric_max_rel_error(tmp_path, capsys):
    path, report = layer_file(tmp_path), tmp_path / "r.json"
    assert (
        main(["gradcheck", "--layer", f"{path}:make_layer", "--in-shape", "5,5,2", "--json", str(report)])
        == 1
    )
    rec = json.loads(report.read_text())
    assert rec["file"] == str(path) and rec["status"] == "wrong" and rec["ok"] is False
    assert rec["max_rel_error"] == pytest.approx(2.0)  # -dx against dx
    assert [(a["array"], a["kind"]) for a in rec["arrays"]] == [("dx", "sign"), ("W", "ok"), ("b", "ok")]
    assert rec["arrays"][1]["max_rel_error"] < 1e-9


# Grading many files


def test_which_layer_values_grade_and_which_files_they_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("subs/b.py", "subs/a.py", "subs/_helper.py", "subs/notes.txt", "more/c.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    assert not grade.is_bulk(["subs/a.py:f"]) and not grade.is_bulk(["subs/none.py:f"])
    assert (
        grade.is_bulk(["subs:f"]) and grade.is_bulk(["subs/*.py:f"]) and grade.is_bulk(["a.py:f", "b.py:g"])
    )
    assert grade.expand(["subs:f"]) == [("subs/a.py", "f"), ("subs/b.py", "f")]
    assert grade.expand(["*/*.py:g", "subs/a.py:g", "gone.py:h", "subs/a.py:f"]) == [
        ("more/c.py", "g"),
        ("subs/_helper.py", "g"),
        ("subs/a.py", "g"),
        ("subs/b.py", "g"),
        ("gone.py", "h"),
        ("subs/a.py", "f"),  # the same file, another function: graded again
    ]
    with pytest.raises(grade.UsageError, match="no Python file matches 'nothing/\\*.py'"):
        grade.expand(["nothing/*.py:f"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(grade.UsageError, match="the folder empty holds no Python file"):
        grade.expand(["empty:f"])


def test_the_exit_status_of_a_grading_run():
    def records(*statuses):
        return [grade.record("f.py", "f", s) for s in statuses]

    assert grade.status_of(records("ok", "ok")) == grade.OK == 0
    assert grade.status_of(records("ok", "wrong")) == grade.WRONG == 1
    assert grade.status_of(records("wrong", "timeout", "ok")) == grade.COULD_NOT_RUN == 4
    assert grade.status_of(records("error")) == 4


RELU = """
from fnn import layers


def make_layer(*args, **kwargs):
    return layers.relu(*args, **kwargs)
"""
RELU_MINUS_DX = """
from fnn import layers


def make_layer(*args, **kwargs):
    relu = layers.relu(*args, **kwargs)
    return relu._replace(backward=lambda params, cache, dy: (-relu.backward(params, cache, dy)[0], {}))
"""


def test_grading_three_files_each_in_its_own_process(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "good.py").write_text(RELU)
    (tmp_path / "subs" / "minus.py").write_text(RELU_MINUS_DX)
    (tmp_path / "late.py").write_text("def make_layer(:\n")  # a second --layer: it counts too
    report, book = tmp_path / "grades.json", tmp_path / "grades.csv"
    argv = [
        "gradcheck",
        "--layer",
        f"{tmp_path / 'subs'}:make_layer",
        "--layer",
        f"{tmp_path / 'late.py'}:make_layer",
    ]
    assert main([*argv, "--like", "relu", "--json", str(report), "--csv", str(book)]) == 4
    out = capsys.readouterr().out
    assert "3 files: 1 ok, 1 wrong, 1 error" in out
    records = {r["file"].rsplit("/", 1)[-1]: r for r in json.loads(report.read_text())}
    assert [r["file"] for r in json.loads(report.read_text())] == [
        str(tmp_path / "subs" / "good.py"),
        str(tmp_path / "subs" / "minus.py"),
        str(tmp_path / "late.py"),
    ]
    assert records["good.py"]["status"] == "ok" and records["good.py"]["max_rel_error"] == 0.0
    assert records["minus.py"]["status"] == "wrong" and records["minus.py"]["max_rel_error"] == 2.0
    assert [(a["array"], a["kind"]) for a in records["minus.py"]["arrays"]] == [("y", "ok"), ("dx", "sign")]
    assert records["late.py"]["status"] == "error" and "SyntaxError" in records["late.py"]["error"]
    rows = list(csv.DictReader(book.open()))
    assert [(r["status"], r["kinds"]) for r in rows] == [("ok", ""), ("wrong", "sign"), ("error", "")]


def test_grading_without_like_needs_an_in_shape_and_no_plot(tmp_path, capsys):
    (tmp_path / "a.py").write_text(RELU)
    spec = f"{tmp_path}:make_layer"
    assert main(["gradcheck", "--layer", spec]) == 2
    assert "--in-shape: required with --layer" in capsys.readouterr().err
    assert main(["gradcheck", "--layer", spec, "--in-shape", "3", "--plot", "x.png"]) == 2
    assert "--plot: only with one file" in capsys.readouterr().err


SUBMISSIONS = {  # name -> (file text, expected status, a kind or error fragment)
    "correct.py": (
        "from fnn import layers\n\n\ndef make_layer(*a, **k):\n    return layers.affine(*a, **k)\n",
        "ok",
        "",
    ),
    "neighbour.py": ("from _helper import affine_like_fnn as make_layer\n", "ok", ""),
    "dw_over_n.py": (None, "wrong", "scale"),
    "minus_dx.py": (None, "wrong", "sign"),
    "no_db.py": (None, "wrong", "shape"),
    "relu_posing.py": (
        "from fnn import layers\n\n\ndef make_layer(*a, **k):\n    return layers.relu()\n",
        "wrong",
        "init",
    ),
    "crashes.py": (None, "error", "raised ZeroDivisionError"),
    "loops.py": (None, "timeout", "killed"),
    "syntax.py": ("def make_layer(:\n", "error", "SyntaxError"),
    "no_function.py": ("def other():\n    pass\n", "error", "defines no function 'make_layer'"),
    "not_a_layer.py": (
        "def make_layer(*a, **k):\n    return 42\n",
        "error",
        "returned a int, not an fnn.Layer",
    ),
    "exits.py": (
        "import sys\n\n\ndef make_layer(*a, **k):\n    sys.exit(3)\n",
        "error",
        "a layer file must not exit",
    ),
}
BROKEN_AFFINE = """
from fnn import layers


def make_layer(*args, **kwargs):
    affine = layers.affine(*args, **kwargs)

    def backward(params, cache, dy):
        dx, grads = affine.backward(params, cache, dy)
        {change}
        return dx, grads

    return affine._replace(backward=backward)
"""
CHANGES = {
    "dw_over_n.py": 'grads = {"W": grads["W"] / dy.shape[0], "b": grads["b"]}',
    "minus_dx.py": "dx = -dx",
    "no_db.py": 'grads = {"W": grads["W"]}',
    "crashes.py": 'raise ZeroDivisionError("my bug")',
    "loops.py": "while True:\n            pass",
}


@pytest.mark.slow
def test_a_folder_of_twelve_submissions_is_graded_in_one_command_in_under_two_minutes(tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, (text, _, _) in SUBMISSIONS.items():
        (folder / name).write_text(text or BROKEN_AFFINE.format(change=CHANGES[name]))
    helper = "from fnn import layers\n\n\ndef affine_like_fnn(*a, **k):\n    return layers.affine(*a, **k)\n"
    (folder / "_helper.py").write_text(helper)  # a neighbour, not a submission: "_" files are skipped
    report, book = tmp_path / "grades.json", tmp_path / "grades.csv"
    start = time.perf_counter()
    argv = ["gradcheck", "--layer", f"{folder}:make_layer", "--like", "affine", "--timeout", "20"]
    status = main([*argv, "--json", str(report), "--csv", str(book)])
    seconds = time.perf_counter() - start
    assert status == 4, capsys.readouterr().out
    assert seconds < 120, seconds
    records = {r["file"].rsplit("/", 1)[-1]: r for r in json.loads(report.read_text())}
    assert set(records) == set(SUBMISSIONS)
    for name, (_, expected, fragment) in SUBMISSIONS.items():
        rec = records[name]
        kinds = {a["kind"] for a in rec["arrays"]}
        assert rec["status"] == expected, (name, rec)
        assert fragment in kinds or fragment in rec["error"], (name, rec)
    assert len(list(csv.DictReader(book.open()))) == len(records)
    print(f"graded {len(records)} files in {seconds:.1f} s")
