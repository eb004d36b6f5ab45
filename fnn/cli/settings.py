"""What `fnn train` can set: the flags, their defaults, and the rules, checked in full before
anything is loaded or written.

`Settings` holds one run's choices; a recipe field left None takes the model's measured
recipe (`fnn.models.RECIPES`). Constructing it validates every field and raises
`SettingsError` naming the flag (`--lr`), what is allowed and what was given, so a bad flag
costs nothing: no data is read and no folder is touched. `add_arguments` makes one flag per
field, `recipe_table` prints the recipes for `--help` (from RECIPES, never typed twice), and
`read_config` reads a run's config.json back as settings (`fnn train --config`).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
from pathlib import Path

from fnn import checks, models
from fnn.layers.conv import CONV_IMPLS
from fnn.optim import OPTIMIZERS
from fnn.step import DRIVERS, GRADIENTS

__all__ = [
    "Settings",
    "SettingsError",
    "FREE_ON_RESUME",
    "SEED_LIMIT",
    "add_arguments",
    "recipe_table",
    "read_config",
]

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
    augment: str | None = None
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

        for name, allowed in choices().items():
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
        if not (
            isinstance(self.seed, int) and not isinstance(self.seed, bool) and 0 <= self.seed < SEED_LIMIT
        ):
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
        values["data"] = None if self.data is None else str(Path(self.data).resolve())  # from any folder
        return {
            k: (getattr(recipe, k) if k in recipe._fields and v is None else v) for k, v in values.items()
        }


# One line of help per field; a recipe field's default is in recipe_table.
_HELP = {
    "model": "which model",
    "epochs": "total epochs (with --resume: until this many are done)",
    "optimizer": "update rule",
    "lr": "peak learning rate (linear warm-up, then the schedule)",
    "momentum": "mu of momentum and nesterov",
    "batch_size": "images per step",
    "weight_decay": "L2 on weights, not biases or batch norm",
    "warmup_steps": "steps of linear warm-up",
    "schedule": "after the warm-up: cosine decay to 0, or constant",
    "drop_rate": "dropout (probability of zeroing) before the last affine",
    "augment": "random rotation, zoom and shift of every training image, inside the step (fnn.augment)",
    "seed": "initialisation, shuffling, dropout and the validation split",
    "gradients": "hand-written backward, or jax.grad through the same apply",
    "conv_impl": "convolution implementation (auto: chosen per shape)",
    "driver": "epoch driver; unless given, step on a CPU and scan on accelerators",
    "validation": "training images held out for validation (0: none; the best epoch is then the last)",
    "patience": "stop after this many epochs without a better validation accuracy (unless given, never)",
    "devices": "data-parallel over this many devices (on a CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N)",
    "data": "MNIST file or IDX folder; unless given, FNN_MNIST, the packaged copy, the cache, a download",
}


def choices() -> dict[str, tuple]:
    """The allowed values of each field that has a fixed set of them (one list, for the rules
    and for --help)."""
    return {
        "model": tuple(sorted(models.RECIPES)),
        "optimizer": tuple(OPTIMIZERS),
        "schedule": ("cosine", "constant"),
        "augment": tuple(models.AUGMENTATIONS),
        "gradients": GRADIENTS,
        "conv_impl": CONV_IMPLS,
        "driver": DRIVERS,
    }


_TYPES = {"int": int, "float": float, "str": str}


def add_arguments(parser: argparse.ArgumentParser, defaults: dict | None = None) -> None:
    """One flag per Settings field (`--batch-size` for batch_size), with its help, choices,
    type and default; `defaults` (e.g. from `read_config`) replace the fields' defaults."""
    recipe_fields, allowed = set(models.Recipe._fields), choices()
    for field in dataclasses.fields(Settings):
        default = (defaults or {}).get(field.name, field.default)
        kind = _TYPES[field.type.split(" | ")[0]]
        if field.name in recipe_fields and default is None:
            shown = " (default: from the recipe below)"
        else:
            shown = "" if default is None else f" (default: {default})"
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=kind,
            default=default,
            choices=allowed.get(field.name),
            help=_HELP[field.name] + shown,
        )


def recipe_table() -> str:
    """The recipes as a text table, one row per model: what `fnn train --model M` uses."""
    names = models.Recipe._fields

    def cell(value) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    rows = [["model", *(n.replace("_", "-") for n in names)]]
    rows += [[model, *(cell(getattr(r, n)) for n in names)] for model, r in models.RECIPES.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "recipes (the defaults of each --model, measured; README, Recipes):\n  " + "\n  ".join(lines)


# What fnn records in a run's config.json besides the settings (`fnn.runtime.environment`, and
# the data the run read): --config accepts these keys and ignores them.
RECORDED = ("fnn", "jax", "device", "host", "data_source")
# The names other libraries give some settings, for the suggestion after an unknown key.
ALIASES = {
    "learning_rate": "lr",
    "mu": "momentum",
    "dropout": "drop_rate",
    "batch": "batch_size",
    "steps": "epochs",
}


def read_config(path: str | Path) -> dict:
    """The Settings fields recorded in a run's config.json, each checked by its rule.

    Raises:
        SettingsError: the file cannot be read or parsed (nesting too deep included), is not
            a JSON object, holds a key that is neither a setting nor one fnn records (the
            closest setting is suggested), or a value its setting refuses; the message names
            the file and the key, not a flag that was never typed.
    """
    try:
        recorded = json.loads(Path(path).read_text())
    except RecursionError:
        raise SettingsError(f"--config: cannot read {path}: JSON nested too deeply") from None
    except (OSError, ValueError) as e:
        raise SettingsError(f"--config: cannot read {path}: {e}") from None
    if not isinstance(recorded, dict):
        raise SettingsError(f"--config: {path} is not a JSON object")
    fields = [f.name for f in dataclasses.fields(Settings)]
    for key in recorded:
        if key not in fields and key not in RECORDED:
            close = [ALIASES[key]] if key in ALIASES else difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the settings are {', '.join(fields)}"
            raise SettingsError(f"--config: {path}: unknown key {key!r}{hint}")
    values = {k: v for k, v in recorded.items() if k in fields}
    for key, value in values.items():
        try:
            Settings(**{key: value})
        except SettingsError as e:
            reason = str(e).split(": ", 1)[-1].removeprefix("the value ")  # less "--epochs: the value"
            raise SettingsError(f"--config: {path}: {key!r}: {reason}") from None
    return values
