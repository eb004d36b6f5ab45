"""Models, their recipes, and trained runs loaded back: one module each.

- `fnn.models.architectures`: `mlp`, `cnn` (and `cnn_layers`), `small_cnn`, `MODELS`, `from_settings`;
- `fnn.models.recipes`: `Recipe`, `RECIPES` (what `fnn train --model M` uses);
- `fnn.models.runs`: `load(run_dir)` -> `Loaded` (model, best params and state, settings, pixel mean).
"""

from fnn.models.architectures import (
    ACTIVATIONS,
    INPUT_SHAPE,
    MODELS,
    POOLS,
    cnn,
    cnn_layers,
    from_settings,
    mlp,
    small_cnn,
)
from fnn.models.recipes import AUGMENTATIONS, RECIPES, Recipe
from fnn.models.runs import Loaded, load

__all__ = [
    "mlp",
    "ACTIVATIONS",
    "cnn",
    "cnn_layers",
    "small_cnn",
    "POOLS",
    "MODELS",
    "INPUT_SHAPE",
    "Recipe",
    "RECIPES",
    "AUGMENTATIONS",
    "from_settings",
    "Loaded",
    "load",
]
