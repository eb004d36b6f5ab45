"""What a training run shows while it runs, on stderr.

- After each epoch, one line: loss, train and validation accuracy, the learning rate of the
  epoch's last step (as the optimizer's state records it), its seconds, and the estimated
  time left for the run (from the epochs so far).
- Within an epoch, when stderr is a terminal: a bar redrawn in place at most four times a
  second with steps done, images per second, the epoch's time left and the latest loss. On a
  pipe, in CI or in a notebook, only the epoch lines (a log file does not fill with bars).
- At the end, `finish`: one sentence with the test accuracy, the best epoch, the time and
  the files written.

Drawing the bar waits for the step it shows (`float(loss)`), four times a second at most: the
images/s and time left are then measured, not guessed from how fast steps were queued.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

__all__ = ["Progress", "clock"]


def clock(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour."""
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Progress of a run of `epochs` epochs (see the module docstring).

    Args:
        epochs: the run's total. label: printed first on each line (e.g. the model).
        enabled: False prints nothing. batch_size: images per step, for images/s.
        stream: where to print (default sys.stderr). live: draw the in-epoch bar (default:
            when `stream` is a terminal).
    """

    REDRAW_SECONDS = 0.25

    def __init__(
        self,
        epochs: int,
        label: str = "",
        *,
        enabled: bool = True,
        batch_size: int | None = None,
        stream: TextIO | None = None,
        live: bool | None = None,
    ):
        self.epochs, self.label, self.enabled, self.batch_size = epochs, label, enabled, batch_size
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._epoch_seconds: list[float] = []
        self._first_step_at = self._drawn_at = 0.0

    def _prefix(self, epoch: int) -> str:
        return f"{self.label + ' ' if self.label else ''}epoch {epoch:>3}/{self.epochs}"

    def _print(self, text: str, end: str = "\n") -> None:
        clear = "\r\x1b[K" if self.live else ""  # overwrite the bar, if one is drawn
        print(clear + text, end=end, file=self.stream, flush=True)

    def step(self, epoch: int, done: int, total: int, loss) -> None:
        """After step `done` of `total` in `epoch`: redraw the bar (live only, throttled)."""
        if not (self.enabled and self.live):
            return
        now = time.perf_counter()
        if done == 1:  # the first step of an epoch (its compilation included): start the clock
            self._first_step_at = self._drawn_at = now
            return
        if now - self._drawn_at < self.REDRAW_SECONDS and done < total:
            return
        value = float(loss)  # waits for this step: the rate below is measured, not queued
        now = time.perf_counter()
        self._drawn_at = now
        rate = (done - 1) / max(now - self._first_step_at, 1e-9)  # steps per second
        images = f"  {rate * self.batch_size:,.0f} img/s" if self.batch_size else ""
        filled = int(30 * done / total)
        self._print(
            f"{self._prefix(epoch)} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} steps"
            f"{images}  ETA {clock((total - done) / rate)}  loss {value:.4f}",
            end="",
        )

    def __call__(self, record: dict) -> None:
        """After an epoch: its line (and the run's time left)."""
        if not self.enabled:
            return
        self._epoch_seconds.append(record["seconds"])
        left = (self.epochs - record["epoch"]) * sum(self._epoch_seconds) / len(self._epoch_seconds)
        done = int(30 * record["epoch"] / self.epochs)
        lr = f"  lr {record['lr']:.4g}" if "lr" in record else ""
        val = "-" if record["val_accuracy"] is None else f"{100 * record['val_accuracy']:.2f}%"
        eta = f"  ETA {clock(left)}" if record["epoch"] < self.epochs else ""
        self._print(
            f"{self._prefix(record['epoch'])} [{'#' * done}{'.' * (30 - done)}] loss {record['train_loss']:.4f}  "
            f"train {100 * record['train_accuracy']:.2f}%  val {val}{lr}  {record['seconds']:.1f}s{eta}"
        )

    def finish(self, metrics: dict, out: Path | None = None) -> None:
        """The run's last line: test accuracy, best epoch, time, and where the files went."""
        if not self.enabled:
            return
        where = ""
        if out is not None:
            files = sorted(p.name for p in Path(out).iterdir() if not p.name.startswith("."))
            where = f"; wrote {out}/: {', '.join(files)}"
        self._print(
            f"{self.label + ': ' if self.label else ''}test accuracy {100 * metrics['test_accuracy']:.2f}% "
            f"(best epoch {metrics['best_epoch']} of {metrics['epochs']}) in {clock(metrics['seconds'])}{where}"
        )
