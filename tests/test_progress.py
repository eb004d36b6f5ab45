"""fnn.progress: the epoch lines, the live in-epoch bar (terminals only) and the summary."""

import io

import pytest

from fnn import models, optim
from fnn.progress import Progress, clock
from fnn.train import fit


def record(epoch, seconds=2.0, val=0.9):
    return {"epoch": epoch, "train_loss": 0.5, "train_accuracy": 0.8, "val_accuracy": val, "lr": 0.01,
            "seconds": seconds}  # fmt: skip


def test_clock():
    assert [clock(s) for s in (0, 59.6, 61, 3725)] == ["0:00", "1:00", "1:01", "1:02:05"]


def test_epoch_lines_carry_the_mean_lr_and_the_runs_time_left():
    stream = io.StringIO()
    progress = Progress(3, "cnn", stream=stream, live=False)
    progress.step(1, 5, 10, 0.3)  # not live: no bar
    progress(record(1, seconds=2.0))
    progress(record(2, seconds=4.0, val=None))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert lines[0].startswith("cnn epoch   1/3") and " lr 0.01 " in lines[0] and "ETA 0:04" in lines[0]
    assert "val -" in lines[1] and "ETA 0:03" in lines[1]  # 1 epoch left at the mean 3 s


def test_the_live_bar_shows_steps_images_per_second_and_eta(monkeypatch):
    stream, now = io.StringIO(), [0.0]
    monkeypatch.setattr("fnn.progress.time.perf_counter", lambda: now[0])
    progress = Progress(2, stream=stream, live=True, batch_size=64)
    for done in range(1, 11):  # a step every 0.1 s
        progress.step(1, done, 10, 0.25)
        now[0] += 0.1
    text = stream.getvalue()
    assert "\r\x1b[K" in text and "10/10 steps" in text and "640 img/s" in text and "loss 0.2500" in text
    assert text.count("steps") < 10  # redrawn at most four times a second (and at the end)


def test_finish_names_the_files(tmp_path):
    stream = io.StringIO()
    (tmp_path / "curves.png").write_text("")
    Progress(5, "cnn", stream=stream, live=False).finish(
        {"test_accuracy": 0.99321, "best_epoch": 4, "epochs": 5, "seconds": 92.0}, tmp_path
    )
    assert (
        stream.getvalue().strip()
        == f"cnn: test accuracy 99.32% (best epoch 4 of 5) in 1:32; wrote {tmp_path}/: curves.png"
    )


@pytest.mark.parametrize("log, shown", [("progress", True), (None, False)])
def test_fit_shows_progress_by_default_and_can_be_silenced(tiny_mnist, capsys, log, shown):
    fit(models.mlp((16,)), tiny_mnist, optim.sgd(0.05), epochs=2, batch_size=50, log=log)
    err = capsys.readouterr().err
    assert ("epoch   2/2" in err) == shown and (err == "") != shown
