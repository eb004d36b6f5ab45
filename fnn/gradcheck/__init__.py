"""Proof that each hand-written backward is right: manual vs jax.vjp vs finite differences.

`check` holds the checks (`check_layer`, `check_loss`) and their `Report`; `cases` the
registry `CASES` that `fnn gradcheck` runs (`run_case`). Every public name is importable
from here, e.g. `from fnn.gradcheck import CASES, check_layer`.
"""

from fnn.gradcheck.cases import CASES, Case, run_case
from fnn.gradcheck.check import (
    TOLERANCE,
    ArrayError,
    Report,
    backward_that_ran,
    check_layer,
    check_loss,
    distinct_inputs,
    equation_labels,
)

__all__ = [
    "ArrayError",
    "Report",
    "Case",
    "CASES",
    "TOLERANCE",
    "check_layer",
    "check_loss",
    "run_case",
    "equation_labels",
    "backward_that_ran",
    "distinct_inputs",
]
