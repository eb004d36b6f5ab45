"""`fnn handout OUT [--extras]`: the student version of the assignment, for a teacher.

OUT gets one student file per layer family the assignment asks for (affine, ReLU, convolution,
max pooling, batch normalisation) and the two update rules (SGD, momentum), copied from
`fnn.cli.handout.student`: each runs as it is, its forward pass given and each function the
assignment asks for (a backward pass, an update rule) a stub that raises NotImplementedError
naming its section and equation labels in DERIVE.md. The losses are provided, as in the
assignment; `--extras` adds what the assignment does not ask for: dropout, and the losses'
gradients as stubs. Beside them, README.md (for students: what to write and the `fnn gradcheck
--layer FILE.py:FUNCTION --like NAME` command that checks it, every one of which fails until
its stub is written) and DERIVE.md (the statements of the derivations, without solutions).
Neither the derivations nor the walkthrough notebook is included; README.md says why.

It reads nothing but fnn: the section names and labels are in `CHECKS` and
`fnn.cli.handout.text`, so an installed fnn writes the same handout as a checkout (`make handout`
runs it).
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from fnn.cli.handout import text
from fnn.cli.usage import UsageError

__all__ = ["Check", "CHECKS", "MARKER", "checks", "write_handout", "add_parser", "run"]

MARKER = ".fnn-handout"  # lists the files a handout wrote, so that a new one may replace them


class Check(NamedTuple):
    """A student file's function that `fnn gradcheck --like` checks, and what it asks for."""

    file: str  # the student file, in OUT
    function: str  # what --layer names
    like: str  # fnn's constructor it is checked against
    stubs: tuple[str, ...]  # the functions the student writes
    section: str  # of DERIVE.md and derivations/backprop.pdf
    labels: tuple[str, ...]  # the equations those functions implement
    extra: bool = False  # not asked by the assignment: written with --extras only

    def command(self) -> str:
        return f"fnn gradcheck --layer {self.file}:{self.function} --like {self.like}"


CHECKS = (
    Check(
        "affine.py",
        "affine",
        "affine",
        ("affine_backward",),
        "Affine layer",
        ("eq:affine-dx", "eq:affine-dW", "eq:affine-db"),
    ),
    Check("relu.py", "relu", "relu", ("relu_backward",), "Activations", ("eq:relu-dx",)),
    Check(
        "conv.py",
        "conv2d",
        "conv2d",
        ("conv_backward",),
        "Convolution",
        ("eq:conv-im2col-dW", "eq:conv-im2col-dx", "eq:conv-db"),
    ),
    Check("pool.py", "max_pool2d", "max_pool2d", ("max_pool_backward",), "Pooling", ("eq:maxpool-dx",)),
    Check(
        "batch_norm.py",
        "batch_norm",
        "batch_norm",
        ("batch_norm_train_backward", "batch_norm_eval_backward"),
        "Batch normalisation",
        ("eq:bn-dbeta", "eq:bn-dgamma", "eq:bn-dx", "eq:bn-dx-eval"),
    ),
    Check("optim.py", "sgd", "sgd", ("sgd_update",), "Optimizers", ("eq:sgd",)),
    Check("optim.py", "momentum", "momentum", ("momentum_update",), "Optimizers", ("eq:momentum",)),
    Check(
        "dropout.py", "dropout", "dropout", ("dropout_backward",), "Dropout", ("eq:dropout-dx",), extra=True
    ),
    Check(
        "losses.py",
        "softmax_cross_entropy",
        "softmax_cross_entropy",
        ("softmax_dscores",),
        "Losses",
        ("eq:softmax-dscores",),
        extra=True,
    ),
    Check(
        "losses.py",
        "multiclass_svm",
        "multiclass_svm",
        ("svm_dscores",),
        "Losses",
        ("eq:svm-dscores",),
        extra=True,
    ),
)
PROVIDED_LOSSES = "losses_provided.py"  # written as losses.py without --extras
DERIVE_ORDER = (
    "Affine layer",
    "Activations",
    "Convolution",
    "Pooling",
    "Batch normalisation",
    "Dropout",
    "Losses",
    "Optimizers",
)


def checks(extras: bool = False) -> tuple[Check, ...]:
    """The checks of a handout: the assignment's, and with `extras` the others."""
    return tuple(c for c in CHECKS if extras or not c.extra)


def _files(extras: bool) -> dict[str, str]:
    """{name in OUT: its text}: the student files, README.md and DERIVE.md."""
    student = resources.files("fnn.cli.handout.student")
    chosen = checks(extras)
    files = {c.file: student.joinpath(c.file).read_text() for c in chosen}
    if not extras:
        files["losses.py"] = student.joinpath(PROVIDED_LOSSES).read_text()
    sections = [name for name in DERIVE_ORDER if name == "Losses" or any(c.section == name for c in chosen)]
    rows = [
        (
            c.file,
            ", ".join(f"`{s}`" for s in c.stubs),
            f"{c.section}: " + ", ".join(f"`{lab}`" for lab in c.labels),
            c.command(),
        )
        for c in chosen
    ]
    provided = (
        []
        if extras
        else [
            "`losses.py`: the softmax and SVM losses (derive their gradients all the same: DERIVE.md, Losses)"
        ]
    )
    files["README.md"] = text.readme_md(rows, provided)
    files["DERIVE.md"] = text.derive_md(sections)
    return files


def write_handout(out: str | Path, *, extras: bool = False) -> list[Path]:
    """Write the handout into `out` (made if missing); the paths written.

    Raises:
        UsageError: `out` is a file, or a folder that holds files and no earlier handout.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"OUT: {out} is a file, not a folder")
    marker = out / MARKER
    if out.is_dir() and any(out.iterdir()) and not marker.is_file():
        raise UsageError(f"OUT: {out} holds files and no earlier handout; name an empty or new folder")
    if marker.is_file():  # replace the earlier handout: remove what it wrote
        for name in marker.read_text().split():
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in _files(extras).items():
        (out / name).write_text(content)
        written.append(out / name)
    marker.write_text("\n".join(p.name for p in written) + "\n")
    return written


def add_parser(subparsers) -> argparse.ArgumentParser:
    h = subparsers.add_parser(
        "handout",
        help="write the student version of the assignment: stubs, statements, the checks that grade them",
        description=__doc__.splitlines()[0],
    )
    h.add_argument("out", metavar="OUT", help="the folder to write (new, empty, or an earlier handout)")
    h.add_argument(
        "--extras",
        action="store_true",
        help="also dropout and the losses' gradients, which the assignment does not ask for",
    )
    h.set_defaults(run=run)
    return h


def run(args: argparse.Namespace) -> int:
    """Write the handout and list the command that checks each stub; 0. A folder that cannot
    take it is a UsageError (exit 2, one line)."""
    written = write_handout(args.out, extras=args.extras)
    print(f"wrote {len(written)} files to {args.out}; each check fails until its stub is written:")
    for check in checks(args.extras):
        print(f"  (cd {args.out} && {check.command()})")
    return 0
