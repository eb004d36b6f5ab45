"""What `fnn train` can set, checked in full before anything is loaded or written.

`Settings` holds one run's choices; a recipe field left None takes the model's measured
recipe (`fnn.models.RECIPES`). Constructing it validates every field and raises
`SettingsError` naming the flag (`--lr`), what is allowed and what was given, so a bad flag
costs nothing: no data is read and no folder is touched.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fnn import checks, models
from fnn.layers.conv import CONV_IMPLS
from fnn.optim import OPTIMIZERS
from fnn.step import DRIVERS, GRADIENTS

__all__ = ["Settings", "SettingsError", "FREE_ON_RESUME", "SEED_LIMIT"]

SEED_LIMIT = 2**32  # numpy's generators take seeds in [0, 2**32)
# Settings a resumed run may change: they do not change the arithmetic of the epochs done
# ("epochs" changes the schedule of the epochs to come; `fnn.run` says so when it does).
FREE_ON_RESUME = ("epochs", "driver", "patience", "devices", "data")


class SettingsError(ValueError):
    """The settings cannot run: a value out of range, a clash with a checkpoint or a folder."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything `fnn train` can set. A recipe field left None takes the model's recipe."""

    model: str = "cnn"
    epochs: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    momentum: float | None = None
    batch_size: int | None = None
    weight_decay: float | None = None
    warmup_steps: int | None = None
    schedule: str | None = None
    drop_rate: float | None = None
    seed: int = 0
    gradients: str = GRADIENTS[0]
    conv_impl: str = "auto"
    driver: str | None = None
    validation: int = 5000
    patience: int | None = None
    devices: int = 1
    data: str | None = None

    def __post_init__(self):
        try:
            self._check()
        except ValueError as e:
            raise SettingsError(str(e)) from None

    def _check(self) -> None:
        """Each field's rule; the owner in messages is the flag, e.g. "--lr"."""

        def flag(name):
            return "--" + name.replace("_", "-")

        choices = {
            "model": sorted(models.RECIPES),
            "optimizer": OPTIMIZERS,
            "schedule": ("cosine", "constant"),
            "gradients": GRADIENTS,
            "conv_impl": CONV_IMPLS,
            "driver": DRIVERS,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value is not None:
                checks.one_of(flag(name), "the value", value, allowed)
        minimum = {
            "epochs": 1,
            "batch_size": 1,
            "warmup_steps": 0,
            "validation": 0,
            "patience": 1,
            "devices": 1,
        }
        for name, low in minimum.items():
            value = getattr(self, name)
            if value is not None:
                checks.positive_int(flag(name), "the value", value, minimum=low)
        if not (isinstance(self.seed, int) and 0 <= self.seed < SEED_LIMIT):
            raise ValueError(f"--seed: the value must be an int in [0, 2**32), got {self.seed!r}")
        if self.lr is not None:
            checks.number("--lr", "the value", self.lr, low=0.0, low_open=True)
        if self.weight_decay is not None:
            checks.number("--weight-decay", "the value", self.weight_decay, low=0.0)
        for name in ("momentum", "drop_rate"):
            if getattr(self, name) is not None:
                checks.probability(flag(name), "the value", getattr(self, name))
        if self.data is not None and not Path(self.data).exists():
            raise ValueError(f"--data: {self.data} does not exist")

    def resolved(self) -> dict:
        """The settings as recorded: every recipe field filled in from the model's recipe."""
        recipe = models.RECIPES[self.model]
        values = dataclasses.asdict(self)
        values["data"] = None if self.data is None else str(self.data)
        return {
            k: (getattr(recipe, k) if k in recipe._fields and v is None else v) for k, v in values.items()
        }
