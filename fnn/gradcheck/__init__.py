"""Proof that each hand-written backward is right: manual vs jax.vjp vs finite differences.

`check` holds the checks (`check_layer`, `check_loss`) and their `Report`; `cases` the
registry `CASES` that `fnn gradcheck` runs (`run_case`), and `table` its lines. `diagnose`
(the gradient doctor) says what is wrong with a backward, by the rules of `rules` (and
`spatial`) on the evidence of `evidence`; `plot.error_figure` draws its error maps,
and `table.diagnose_case` diagnoses a registered case. `reference.compare` checks someone's own
layer, loss or optimizer against fnn's on the registered cases of fnn's constructor.
Every public name is importable from here, e.g. `from fnn.gradcheck import CASES, diagnose`.
"""

from fnn.gradcheck.cases import CASES, Case, run_case
from fnn.gradcheck.check import (
    TOLERANCE,
    UNDEFINED,
    ArrayError,
    Report,
    check_layer,
    check_loss,
    distinct_inputs,
    equation_labels,
)
from fnn.gradcheck.diagnose import KINDS, Diagnosis, Finding, diagnose
from fnn.gradcheck.plot import error_figure
from fnn.gradcheck.reference import (
    OPTIMIZER_CASES,
    REFERENCE_KINDS,
    CaseComparison,
    Comparison,
    compare,
    reference_cases,
    reference_kind,
    reference_names,
)
from fnn.gradcheck.rules import PASSING
from fnn.gradcheck.table import diagnose_case, loss_as_layer

__all__ = [
    "ArrayError",
    "Report",
    "Case",
    "CASES",
    "TOLERANCE",
    "UNDEFINED",
    "check_layer",
    "check_loss",
    "run_case",
    "equation_labels",
    "distinct_inputs",
    "KINDS",
    "PASSING",
    "Finding",
    "Diagnosis",
    "diagnose",
    "diagnose_case",
    "loss_as_layer",
    "error_figure",
    "OPTIMIZER_CASES",
    "REFERENCE_KINDS",
    "CaseComparison",
    "Comparison",
    "compare",
    "reference_cases",
    "reference_kind",
    "reference_names",
]
