"""fnn.cli.layerfile: a user's layer file imports its neighbours, and cannot exit the command.

Each test writes the user's files into tmp_path and runs `fnn gradcheck --layer` through
`fnn.cli.main`, from another working folder, as a user would.
"""

import os
import sys

import pytest

from fnn.cli import main

BASE = '''
from fnn import layers
from fnn.layer import Layer


def relu_importing_late():
    """relu whose apply imports a neighbour when it runs, not when the file is imported."""
    relu = layers.relu()

    def apply(params, state, x, *, train=False, key=None):
        from fnn_test_late_neighbour import identity

        return relu.apply(params, state, identity(x), train=train, key=key)

    return Layer("late_relu", relu.init, apply, relu.backward)
'''

MY_LAYER = """
from fnn_test_base_neighbour import relu_importing_late


def make_layer():
    return relu_importing_late()
"""


@pytest.fixture
def neighbours(tmp_path, monkeypatch):
    """tmp_path/layers/my_layer.py, which imports two files beside it; run from tmp_path/elsewhere."""
    folder = tmp_path / "layers"
    folder.mkdir()
    (folder / "my_layer.py").write_text(MY_LAYER)
    (folder / "fnn_test_base_neighbour.py").write_text(BASE)
    (folder / "fnn_test_late_neighbour.py").write_text("def identity(x):\n    return x\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    yield folder
    for name in ("fnn_test_base_neighbour", "fnn_test_late_neighbour"):
        sys.modules.pop(name, None)


def test_a_layer_file_imports_its_neighbours_at_load_and_at_call_time(neighbours, capsys):
    path_before = list(sys.path)
    argv = ["gradcheck", "--layer", f"{neighbours / 'my_layer.py'}:make_layer", "--in-shape", "4"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "0 of 1 gradient arrays wrong" in capsys.readouterr().out
    assert "fnn_test_late_neighbour" in sys.modules  # imported inside apply, while it ran
    assert sys.path == path_before  # the folder was first only while the user's code ran


QUITTER = """
import os
import sys

from fnn import layers
from fnn.layer import Layer

WHERE = "{where}"


def leave():
    {call}


if WHERE == "import":
    leave()


def make_layer():
    if WHERE == "make_layer":
        leave()
    relu = layers.relu()

    def init(key, in_shape):
        if WHERE == "init":
            leave()
        return relu.init(key, in_shape)

    def apply(params, state, x, *, train=False, key=None):
        if WHERE == "apply":
            leave()
        return relu.apply(params, state, x, train=train, key=key)

    def backward(params, cache, dy):
        if WHERE == "backward":
            leave()
        return relu.backward(params, cache, dy)

    return Layer("quitter", init, apply, backward)
"""

EXITS = [  # (where, the call in the user's code, how the message names it)
    ("import", "sys.exit(0)", "sys.exit(0)"),
    ("import", "sys.exit()", "sys.exit()"),
    ("make_layer", "sys.exit(0)", "sys.exit(0)"),
    ("make_layer", "os._exit(0)", "os._exit(0)"),
    ("init", "sys.exit(0)", "sys.exit(0)"),
    ("apply", "sys.exit(0)", "sys.exit(0)"),
    ("apply", "os._exit(0)", "os._exit(0)"),
    ("backward", "raise SystemExit('bye')", "sys.exit('bye')"),
]


@pytest.mark.parametrize("where, call, named", EXITS, ids=[f"{w}-{c}" for w, c, _ in EXITS])
def test_a_layer_file_that_exits_is_a_usage_error(where, call, named, tmp_path, monkeypatch, capsys):
    path = tmp_path / "my_layer.py"
    path.write_text(QUITTER.format(where=where, call=call))

    def process_ends(status):  # were os._exit let through, pytest would end here, passing
        raise AssertionError(f"os._exit({status}) reached the real os._exit")

    monkeypatch.setattr(os, "_exit", process_ends)
    assert main(["gradcheck", "--layer", f"{path}:make_layer", "--in-shape", "4"]) == 2
    assert os._exit is process_ends  # restored
    what = {"import": f"importing {path}", "make_layer": "make_layer()"}.get(where, "diagnosing quitter")
    captured = capsys.readouterr()
    assert captured.err == (
        f"fnn gradcheck: error: --layer: {what} called {named}; a layer file must not exit\n"
    )
    assert captured.out == ""
