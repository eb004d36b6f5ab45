"""The registry of gradient checks: every layer constructor and loss, in configurations that
cover padding 0 and > 0, stride 1 and 2, overlapping windows, non-square inputs,
C_in != C_out, every conv impl (auto on both sides of its rule), train and test mode.
`fnn gradcheck` runs them and prints the table.
"""

from __future__ import annotations

from typing import NamedTuple

from fnn import layers as layer_lib
from fnn import losses as loss_lib
from fnn.gradcheck.check import Report, check_layer, check_loss

__all__ = ["Case", "CASES", "run_case"]


class Case(NamedTuple):
    """A registered gradient check: a constructor called with args/kwargs, on in_shape."""

    constructor: str  # a name in fnn.layers.__all__ or fnn.losses.LOSSES
    args: tuple = ()
    kwargs: dict = {}
    in_shape: tuple[int, ...] = ()  # per example; for a loss (N, K)
    batch: int = 2
    train: bool = False

    def config(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        mode = "" if self.constructor in loss_lib.LOSSES else (" train" if self.train else " eval")
        return f"({', '.join(parts)}) on {self.in_shape}{mode}"


def run_case(case: Case, *, finite_differences: bool = True, seed: int = 0) -> Report:
    """Run one registered case: `check_loss` for a loss, else `check_layer` on the constructed layer."""
    if case.constructor in loss_lib.LOSSES:
        N, K = case.in_shape
        return check_loss(
            loss_lib.LOSSES[case.constructor],
            N,
            K,
            seed=seed,
            constructor=case.constructor,
            config=case.config(),
            finite_differences=finite_differences,
            **case.kwargs,
        )
    layer = getattr(layer_lib, case.constructor)(*case.args, **case.kwargs)
    return check_layer(
        layer,
        case.in_shape,
        batch=case.batch,
        train=case.train,
        seed=seed,
        constructor=case.constructor,
        config=case.config(),
        finite_differences=finite_differences,
    )


def _conv_cases() -> list[Case]:
    cases = []
    for impl in ("direct", "im2col", "xla"):
        cases += [
            Case("conv2d", (4, 3), {"stride": 1, "padding": 1, "impl": impl}, (6, 5, 3)),
            Case("conv2d", (3, (2, 3)), {"stride": 2, "padding": (1, 0), "impl": impl}, (7, 8, 2)),
            Case("conv2d", (2, 3), {"stride": 2, "padding": 0, "impl": impl}, (8, 8, 2)),  # floor drops a row
            Case("conv2d", (2, 5), {"impl": impl}, (5, 5, 2)),  # kernel = input size
        ]
    # auto: k_h k_w C_in = 9 (the MNIST first layer) runs im2col, 72 runs xla; winograd: 3x3, stride 1
    return cases + [
        Case("conv2d", (3, 3), {"stride": 1, "padding": 1, "impl": "auto"}, (6, 5, 1)),
        Case("conv2d", (4, 3), {"stride": 2, "padding": 1, "impl": "auto"}, (7, 6, 8)),
        Case("conv2d", (4, 3), {"padding": 1, "impl": "winograd"}, (6, 5, 3)),  # odd output width
        Case("conv2d", (3, 3), {"padding": (2, 0), "impl": "winograd"}, (5, 7, 2)),  # pad 2 and 0
    ]


CASES: tuple[Case, ...] = (
    Case("affine", (5,), {}, (4,), batch=3),
    Case("affine", (3,), {}, (3, 2, 2)),
    Case("relu", (), {}, (3, 4, 2)),
    Case("leaky_relu", (0.2,), {}, (3, 4, 2)),
    Case("sigmoid", (), {}, (3, 4, 2)),
    Case("tanh", (), {}, (3, 4, 2)),
    Case("elu", (0.7,), {}, (3, 4, 2)),
    *_conv_cases(),
    Case("max_pool2d", (2,), {}, (6, 4, 3)),
    Case("max_pool2d", (3,), {"stride": 2, "padding": 1}, (7, 6, 2)),  # overlapping, padded
    Case("max_pool2d", (3,), {"stride": 2, "padding": 1, "pad_value": 0.0}, (7, 6, 2)),
    Case("avg_pool2d", (2,), {}, (6, 4, 3)),
    Case("avg_pool2d", (3,), {"stride": 2, "padding": 1}, (7, 6, 2)),
    Case("avg_pool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (7, 6, 2)),
    Case("batch_norm", (), {}, (5,), batch=4, train=True),
    Case("batch_norm", (), {}, (5,), batch=4, train=False),
    Case("batch_norm", (), {}, (4, 3, 2), batch=3, train=True),
    Case("batch_norm", (), {}, (4, 3, 2), batch=3, train=False),
    Case("batch_norm", (), {"unbiased_running_var": True}, (5,), batch=4, train=True),
    Case("dropout", (0.3,), {}, (4, 5), batch=3, train=True),
    Case("dropout", (0.3,), {}, (4, 5), batch=3, train=False),
    Case("flatten", (), {}, (3, 2, 2)),
    Case("softmax_cross_entropy", (), {}, (4, 5)),
    Case("multiclass_svm", (), {}, (4, 5)),
    Case("multiclass_svm", (), {"margin": 0.5}, (6, 3)),
)
