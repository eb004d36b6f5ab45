"""The gradient doctor measured on the blind set (tests/doctor_cases/, README there): learner bugs
written from scratch, and correct layers of the same families.

A case is named correctly when every array its `expected` lists gets one of the kinds listed
for it and every other array gets "ok". The doctor's rules were tuned on `tuning` only; the
`heldout` half measures them. Goals: no false alarm on a control (`controls`), and at least 80%
of the cases of each half named correctly. The whole halves take a minute on 2 cores (slow);
the default suite diagnoses one tuning case per kind of the second round and a few controls.
"""

from typing import NamedTuple

import pytest
from doctor_cases import DoctorCase, controls, tuning

from fnn.gradcheck import diagnose

GOAL = 0.8  # the share of a half's cases named correctly


class Score(NamedTuple):
    cases: int  # named correctly
    of_cases: int
    arrays: int  # arrays named correctly
    of_arrays: int
    misses: tuple[str, ...]  # "case: array got kind, expected kinds"

    def __str__(self) -> str:
        return f"{self.cases}/{self.of_cases} cases, {self.arrays}/{self.of_arrays} arrays named correctly"


def measure(cases: list[DoctorCase]) -> Score:
    right = arrays = of_arrays = 0
    misses = []
    for case in cases:
        diagnosis = diagnose(case.make_layer(), case.in_shape, train=case.train)
        found = {f.array: f for f in diagnosis.findings}
        every = all(a in found for a in case.expected)  # a listed array the doctor never names is a miss
        misses += [
            f"{case.name}: {a} not named, expected {k}" for a, k in case.expected.items() if a not in found
        ]
        for array, finding in found.items():
            expected = case.expected.get(array, ("ok",))
            of_arrays += 1
            if finding.kind in expected:
                arrays += 1
            else:
                every = False
                misses.append(
                    f"{case.name}: {array} is {finding.kind}, expected {expected}: {finding.detail}"
                )
        right += every
    return Score(right, len(cases), arrays, of_arrays, tuple(misses))


# one tuning case per kind of the second round, and controls of the same families
FEW_TUNING = (
    "affine_dw_in_float32",  # precision
    "softplus_derivative_is_exp",  # factor
    "hardtanh_forgets_clip",  # branch
    "batchnorm_forgets_mean_and_var_paths",  # coupling
    "maxpool_grad_to_whole_window",  # routing
)
FEW_CONTROLS = ("relu6", "sigmoid", "hardtanh", "batch_norm1d", "max_pool2x2", "softmax")


def test_a_few_tuning_cases_are_named_and_their_controls_raise_no_alarm():
    few = [c for c in tuning.CASES if c.name in FEW_TUNING]
    assert len(few) == len(FEW_TUNING)
    score = measure(few)
    assert score.cases == len(few), "\n".join(score.misses)
    correct = measure([c for c in controls.CASES if c.name in FEW_CONTROLS])
    assert correct.cases == len(FEW_CONTROLS), "\n".join(correct.misses)


@pytest.mark.slow
def test_no_control_raises_a_false_alarm():
    score = measure(controls.CASES)
    print(f"controls: {score}")
    assert score.cases == score.of_cases, "\n".join(score.misses)


@pytest.mark.slow
def test_the_tuning_half_is_named():
    score = measure(tuning.CASES)
    print(f"tuning: {score}", *score.misses, sep="\n")
    assert score.cases >= GOAL * score.of_cases, "\n".join(score.misses)


@pytest.mark.slow
def test_the_held_out_half_is_named():
    """The measurement: the rules were never tuned on these cases (README of doctor_cases)."""
    from doctor_cases import heldout

    score = measure(heldout.CASES)
    print(f"held-out: {score}", *score.misses, sep="\n")
    assert score.cases >= GOAL * score.of_cases, "\n".join(score.misses)
