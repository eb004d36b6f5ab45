"""The registry run of `fnn gradcheck`: the lines it prints (a header, a row per case, and under
a failing row the gradient doctor's findings) and `diagnose_case`, which diagnoses a registered
case, a loss as a layer from scores to its value (`loss_as_layer`). Text only: the CLI prints.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from fnn import layers as layer_lib
from fnn import losses as loss_lib
from fnn.gradcheck.cases import Case
from fnn.gradcheck.check import TOLERANCE, Report
from fnn.gradcheck.diagnose import Diagnosis, diagnose
from fnn.layer import Layer

__all__ = ["HEADER", "row", "diagnosis_lines", "diagnose_case", "loss_as_layer"]

HEADER = (
    f"{'case':<22} {'config':<58} {'equations':<40} {'max rel. error per array: autodiff / finite diff.'}"
)


def row(report: Report, tolerance: float) -> str:
    """One case: its name, configuration, equations, and both errors per array; FAIL if not ok
    (and why, when no error says it: the report's `failure`)."""
    cells = "  ".join(
        f"{e.name} {e.autodiff:.1e} / {'-' if e.finite_diff is None else f'{e.finite_diff:.1e}'}"
        for e in report.errors
    )
    equations = ",".join(label.removeprefix("eq:") for label in report.equations)
    verdict = "" if report.ok(tolerance) else "  FAIL" + (f": {report.failure}" if report.failure else "")
    return f"{report.constructor:<22} {report.config:<58} {equations:<40} {cells}{verdict}"


def diagnosis_lines(case: Case, tolerance: float) -> tuple[list[str], list[dict]]:
    """What is wrong with a failing case: one indented line per array that is not "ok" (or one
    saying autodiff agrees: then only finite differences disagreed), and the same as JSON."""
    found = [f for f in diagnose_case(case, tolerance=tolerance).findings if f.kind != "ok"]
    if not found:
        return ["    diagnosis: every array agrees with autodiff; only finite differences disagree"], []
    return [f"    {f.array}: {f.kind}: {f.detail}" for f in found], [f._asdict() for f in found]


def diagnose_case(case: Case, *, seed: int = 0, tolerance: float = TOLERANCE) -> Diagnosis:
    """`diagnose` one registered case; a loss through `loss_as_layer`, with its labels drawn from `seed`."""
    if case.constructor in loss_lib.LOSSES:
        N, K = case.in_shape
        labels = np.random.default_rng(seed).integers(0, K, N)
        layer = loss_as_layer(loss_lib.LOSSES[case.constructor], labels, name=case.constructor, **case.kwargs)
        return diagnose(layer, (K,), batch=N, seed=seed, tolerance=tolerance)
    layer = getattr(layer_lib, case.constructor)(*case.args, **case.kwargs)
    return diagnose(layer, case.in_shape, batch=case.batch, train=case.train, seed=seed, tolerance=tolerance)


def loss_as_layer(loss, labels: np.ndarray, *, name: str, **loss_kwargs) -> Layer:
    """A Layer from scores (N, K) to the loss value (1,), whose backward is the loss's dscores.

    Scores within 0.05 of an SVM hinge are shifted by 0.1 first, as `check_loss` does (the
    shift is piecewise constant: it has no gradient), so no trial sits on a kink.
    """
    labels, margin = jnp.asarray(labels), loss_kwargs.get("margin", 1.0)

    def init(key, in_shape):
        return (1,), {}, {}

    def apply(params, state, x, *, train=False, key=None):
        correct = jnp.take_along_axis(x, labels[:, None], axis=1)
        near = (jnp.abs(x - correct + margin) < 0.05) & (jnp.arange(x.shape[1]) != labels[:, None])
        scores = x + 0.1 * near
        return loss(scores, labels, **loss_kwargs)[0][None], state, scores

    def dscores_times_dy(params, cache, dy):  # the chain rule through the loss value y
        return loss(cache, labels, **loss_kwargs)[1] * dy[0], {}

    return Layer(name=name, init=init, apply=apply, backward=dscores_times_dy)
