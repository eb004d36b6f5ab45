"""The `fnn` command: its tables and files, and one clear line (never a traceback) for every
bad flag, file, folder, interrupt and fault."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fnn.cli import main

ROOT = Path(__file__).resolve().parent.parent


def train_args(data, out, *more):
    return ["train", "--model", "mlp", "--data", str(data), "--validation", "50", "--batch-size", "25",
            "--out", str(out), *more]  # fmt: skip


def test_train_writes_its_files_resumes_and_evaluates(tiny_npz, tmp_path, capsys):
    out = tmp_path / "run"
    common = train_args(tiny_npz, out, "--model", "cnn")
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
    (out / "checkpoint.npz.0badc0de.tmp").write_bytes(b"left by a killed save")
    assert main([*common, "--epochs", "3", "--resume"]) == 0
    assert not list(out.glob("*.tmp"))
    err = capsys.readouterr().err
    assert "schedule is recomputed for 3 epochs" in err
    history = json.loads((out / "history.json").read_text())
    assert [(h["epoch"], h["epochs"]) for h in history] == [(1, 1), (2, 3), (3, 3)]
    assert main(["eval", "--checkpoint", str(out)]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    final = json.loads((out / "metrics.json").read_text())
    assert evaluated["test_accuracy"] == final["test_accuracy"] > 0.5


# One row per bad flag: the arguments, a fragment of the one-line message. Each exits 2 before
# any data is read or any file written (the --out folder is never created).
BAD_FLAGS = [
    (["--lr", "-0.1"], "--lr: the value must be a finite number > 0"),
    (["--lr", "0"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--warmup-steps", "-5"], "--warmup-steps"),
    (["--epochs", "0"], "--epochs: the value must be a positive int"),
    (["--batch-size", "-5"], "--batch-size"),
    (["--batch-size", "0"], "--batch-size"),
    (["--devices", "0"], "--devices"),
    (["--devices", "64"], "64 requested"),
    (["--seed", "-1"], "--seed"),
    (["--momentum", "1.5"], "--momentum"),
    (["--weight-decay", "-1"], "--weight-decay"),
    (["--drop-rate", "1"], "--drop-rate"),
    (["--validation", "-1"], "--validation"),
    (["--patience", "0"], "--patience"),
    (["--resume", "--overwrite"], "pass one"),
]


@pytest.mark.parametrize("flags, message", BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_a_bad_flag_is_one_line_and_exit_2_before_anything_is_written(
    flags, message, tiny_npz, tmp_path, capsys
):
    out = tmp_path / "never"
    assert main([*train_args(tiny_npz, out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def foreign_checkpoint(tmp_path):
    from fnn import checkpoint

    return checkpoint.save(tmp_path / "c.npz", {"w": [1.0]}, {"model": "bogus", "validation": 0, "seed": 0})


def bad_out(tmp_path):
    (tmp_path / "a_file").write_text("")
    return tmp_path / "a_file"


BAD_FILES = [  # (what to make of tmp_path -> argv, message fragment)
    (lambda t, d: train_args(d, bad_out(t)), "a_file"),
    (lambda t, d: train_args(t / "none.npz", t / "r"), "does not exist"),
    (lambda t, d: train_args(d, t / "r", "--batch-size", "1000"), "larger than the training set"),
    (lambda t, d: train_args(d, t / "r", "--validation", "300"), "validation must be"),
    (lambda t, d: ["eval", "--checkpoint", str(t / "nothing")], "no checkpoint"),
    (lambda t, d: ["eval", "--checkpoint", str(foreign_checkpoint(t))], "model must be one of"),
    (
        lambda t, d: ["gradcheck", "--only", "relu", "--json", str(t / "no" / "x.json")],
        "--json: cannot write",
    ),
    (lambda t, d: ["gradcheck", "--only", "bogus"], "no case named bogus; the names are affine"),
    (
        lambda t, d: ["train", "--model", "mlp", "--resume", "--out", str(t / "empty"), "--data", d],
        "no checkpoint",
    ),
]


@pytest.mark.parametrize("make_argv, message", BAD_FILES)
def test_a_bad_file_or_folder_is_one_line_and_exit_2(make_argv, message, tiny_npz, tmp_path, capsys):
    assert main(make_argv(tmp_path, tiny_npz)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err, err


def test_explicit_data_that_does_not_exist_is_an_error_never_a_fallback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FNN_MNIST", str(tmp_path / "x.mat"))
    assert main(["train", "--model", "mlp", "--out", str(tmp_path / "r")]) == 2
    assert "FNN_MNIST" in capsys.readouterr().err


def test_validation_0_trains_and_keeps_the_last_epoch(tiny_npz, tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*train_args(tiny_npz, out, "--validation", "0"), "--epochs", "2"]) == 0
    assert "val -" in capsys.readouterr().err
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == 2


def test_resume_with_fewer_epochs_than_done_changes_nothing(tiny_npz, tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*train_args(tiny_npz, out), "--epochs", "2"]) == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != ".fnn.lock"}
    capsys.readouterr()
    assert main([*train_args(tiny_npz, out), "--epochs", "1", "--resume"]) == 0
    assert "already trained 2 epochs" in capsys.readouterr().err
    assert stamps == {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != ".fnn.lock"}


def test_resume_and_eval_refuse_other_data(tiny_npz, tmp_path, capsys):
    import numpy as np

    out = tmp_path / "r"
    assert main([*train_args(tiny_npz, out), "--epochs", "1"]) == 0
    other = tmp_path / "other.npz"
    with np.load(tiny_npz) as f:
        arrays = dict(f)
    arrays["x_test"] = 255 - arrays["x_test"]
    np.savez(other, **arrays)
    capsys.readouterr()
    assert main([*train_args(other, out), "--epochs", "2", "--resume"]) == 2
    assert "a different file" in capsys.readouterr().err
    os.replace(other, tiny_npz)  # the recorded path now holds other data
    assert main(["eval", "--checkpoint", str(out)]) == 2
    assert "a different file" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(out), "--data", tiny_npz]) == 0  # said loudly, allowed
    assert "WARNING" in capsys.readouterr().err


def test_eval_refuses_a_checkpoint_with_non_finite_parameters(tiny_npz, tmp_path, capsys):
    import jax

    from fnn import checkpoint

    out = tmp_path / "r"
    assert main([*train_args(tiny_npz, out), "--epochs", "1"]) == 0
    path = out / "checkpoint.npz"
    meta = checkpoint.read_meta(path)
    tree = checkpoint.load(path, _template(meta))[0]
    tree["best"]["params"] = jax.tree.map(lambda a: a * float("nan"), tree["best"]["params"])
    checkpoint.save(path, tree, {k: v for k, v in meta.items() if k not in ("format", "arrays")})
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out)]) == 2
    assert "not finite" in capsys.readouterr().err


def _template(meta):
    from fnn import models
    from fnn.step import init_train_state

    model = models.from_settings(meta)
    recipe = models.Recipe(**{k: meta[k] for k in models.Recipe._fields})
    ts = init_train_state(model, recipe.make_optimizer(1), models.INPUT_SHAPE)
    return {"train_state": ts, "best": {"params": ts.params, "state": ts.state}}


def test_a_failed_save_is_one_line_and_keeps_the_previous_checkpoint(tiny_npz, tmp_path, capsys, monkeypatch):
    import errno

    from fnn import checkpoint

    out, calls = tmp_path / "r", []
    real_replace = os.replace

    def replace_then_fill_the_disk(src, dst):
        calls.append(dst)
        if len(calls) > 2:  # epoch 1's two files are written; epoch 2 finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", replace_then_fill_the_disk)
    assert main([*train_args(tiny_npz, out), "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "intact" in err and "Traceback" not in err
    monkeypatch.undo()
    assert checkpoint.read_meta(out / "checkpoint.npz")["epochs_done"] == 1
    assert not list(out.glob("*.tmp"))


def start_training(tiny_npz, out, epochs=100000):
    """`fnn train` in a child process; returns it once its first epoch is done."""
    argv = [sys.executable, "-m", "fnn", *train_args(tiny_npz, out), "--epochs", str(epochs)]
    child = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in child.stderr:
        lines.append(line)
        if "epoch " in line and "/" in line:
            return child, lines
    raise AssertionError("the child stopped before its first epoch:\n" + "".join(lines))


def test_two_runs_on_one_folder_the_second_fails_at_once_naming_the_first(tiny_npz, tmp_path, capsys):
    out = tmp_path / "dual"
    child, _ = start_training(tiny_npz, out)
    try:
        started = time.perf_counter()
        assert main([*train_args(tiny_npz, out, "--lr", "0.05"), "--epochs", "2"]) == 2
        err = capsys.readouterr().err
        assert f"pid {child.pid}" in err and time.perf_counter() - started < 5
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize(
    "signum, status", [(signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)]
)
def test_a_signal_stops_training_with_one_line_and_an_intact_checkpoint(tiny_npz, tmp_path, signum, status):
    from fnn import checkpoint

    out = tmp_path / "r"
    child, _ = start_training(tiny_npz, out)
    child.send_signal(signum)
    sent = time.perf_counter()
    rest = child.stderr.read()
    assert child.wait(timeout=30) == status and time.perf_counter() - sent < 5
    last = rest.strip().splitlines()[-1]
    assert "interrupted in epoch" in last and "is intact; rerun with --resume" in last, rest
    assert "Traceback" not in rest
    assert checkpoint.read_meta(out / "checkpoint.npz")["epochs_done"] >= 1
    assert not list(out.glob("*.tmp"))


def test_version_help_and_config(tiny_npz, tmp_path, capsys):
    from fnn import models

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("fnn ")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    for name, recipe in models.RECIPES.items():  # the recipe table comes from RECIPES
        assert any(
            line.split()[:3] == [name, str(recipe.epochs), recipe.optimizer]
            for line in help_text.splitlines()
        )
    first, second = tmp_path / "first", tmp_path / "second"
    assert main([*train_args(tiny_npz, first, "--lr", "0.02"), "--epochs", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress, no summary
    metrics = json.loads(captured.out)
    assert metrics["test_accuracy"] == round(metrics["test_accuracy"], 4)
    assert main(["train", "--config", str(first / "config.json"), "--out", str(second), "--seed", "3"]) == 0
    config = json.loads((second / "config.json").read_text())
    assert config["lr"] == 0.02 and config["batch_size"] == 25 and config["seed"] == 3  # the flag wins
    assert len((second / "metrics.jsonl").read_text().splitlines()) == config["epochs"] == 1
    assert "test accuracy" in capsys.readouterr().err.strip().splitlines()[-1]  # the summary line


def test_a_relative_data_path_is_recorded_so_that_eval_finds_it_from_another_folder(
    tiny_npz, tmp_path, capsys, monkeypatch
):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "small.npz").write_bytes(Path(tiny_npz).read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(train_args("data/small.npz", "run", "--epochs", "1", "--quiet")) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    assert "WARNING" not in captured.err
    assert json.loads(captured.out)["data"] == str(tmp_path / "data" / "small.npz")


def test_a_figure_that_cannot_be_drawn_is_a_warning_and_the_run_still_reports(
    tiny_npz, tmp_path, capsys, monkeypatch
):
    from fnn import plots

    def full_disk(fig, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(plots, "save", full_disk)
    out = tmp_path / "run"
    assert main(train_args(tiny_npz, out, "--epochs", "1")) == 0
    captured = capsys.readouterr()
    assert f"WARNING: could not write {out / 'curves.png'}: No space left on device" in captured.err
    assert "the checkpoint, history and metrics are written" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["test_accuracy"] > 0
    assert {"checkpoint.npz", "metrics.json", "history.json"} <= {p.name for p in out.iterdir()}


def test_eval_and_help_never_load_matplotlib():
    """Its cache warning (an unwritable cache folder) is noise for a command that draws nothing."""
    code = (
        "import sys\nfrom fnn.cli import build_parser\nimport fnn.cli.eval, fnn.cli.predict\n"
        "build_parser()\nprint('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_compiled_programs_are_kept_on_disk_and_reused_by_the_next_command(tiny_npz, tmp_path):
    cache = tmp_path / "xla"
    env = {**os.environ, "FNN_COMPILE_CACHE": str(cache)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)

    def train(out):
        argv = [sys.executable, "-m", "fnn", *train_args(tiny_npz, tmp_path / out), "--epochs", "1"]
        subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=True)
        return {p.name for p in cache.glob("*-cache")}

    first = train("a")
    assert any(name.startswith("jit_") for name in first)  # the train step among them
    assert train("b") == first  # the same programs: loaded, none compiled anew


def test_the_compile_cache_can_be_turned_off_and_a_folder_already_configured_is_kept(monkeypatch, tmp_path):
    import jax

    from fnn.cli import keep_compiled_programs

    configured = jax.config.jax_compilation_cache_dir
    assert configured and keep_compiled_programs() == configured  # conftest's, kept
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        monkeypatch.setenv("FNN_COMPILE_CACHE", "off")
        assert keep_compiled_programs() is None
        (tmp_path / "file").write_text("")
        monkeypatch.setenv("FNN_COMPILE_CACHE", str(tmp_path / "file" / "xla"))  # cannot be created
        assert keep_compiled_programs() is None
        assert jax.config.jax_compilation_cache_dir is None
    finally:
        jax.config.update("jax_compilation_cache_dir", configured)


def test_resume_refuses_a_checkpoint_another_version_wrote_for_another_network(
    tiny_npz, tmp_path, capsys, monkeypatch
):
    import fnn
    from fnn.models import architectures

    out = tmp_path / "r"
    assert main([*train_args(tiny_npz, out), "--epochs", "1"]) == 0
    config = (out / "config.json").read_bytes()
    written = fnn.__version__
    monkeypatch.setattr(fnn, "__version__", "9.9.9")  # a later fnn whose mlp is narrower
    monkeypatch.setitem(architectures.MODELS, "mlp", lambda **kw: architectures.mlp((64,), **kw))
    capsys.readouterr()
    assert main([*train_args(tiny_npz, out), "--epochs", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"written by fnn {written} and this is fnn 9.9.9" in err and "Traceback" not in err
    assert (out / "config.json").read_bytes() == config  # nothing rewritten
    assert main(["eval", "--checkpoint", str(out)]) == 2
    assert "train it again" in capsys.readouterr().err
