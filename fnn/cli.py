"""The `fnn` command: `fnn gradcheck`, `fnn train`, `fnn eval`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _gradcheck(args: argparse.Namespace) -> int:
    from fnn import gradcheck

    cases = [c for c in gradcheck.CASES if not args.only or c.constructor in args.only]
    if not cases:
        print(f"fnn gradcheck: no case matches --only {args.only}", file=sys.stderr)
        return 2
    header = (
        f"{'case':<22} {'config':<58} {'equations':<40} {'max rel. error per array: autodiff / finite diff.'}"
    )
    print(header)
    print("-" * len(header))
    rows, failed = [], 0
    for case in cases:
        report = gradcheck.run_case(case, finite_differences=not args.no_fd)
        ok = report.ok(args.tolerance)
        failed += not ok
        cells = "  ".join(
            f"{e.name} {e.autodiff:.1e} / {'-' if e.finite_diff is None else f'{e.finite_diff:.1e}'}"
            for e in report.errors
        )
        equations = ",".join(label.removeprefix("eq:") for label in report.equations)
        print(
            f"{report.constructor:<22} {report.config:<58} {equations:<40} {cells}{'' if ok else '  FAIL'}",
            flush=True,
        )
        rows.append(report.as_dict(args.tolerance))
    print(f"{len(cases) - failed} of {len(cases)} cases below tolerance {args.tolerance:g} (float64)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tolerance": args.tolerance, "cases": rows}, f, indent=1)
    return 1 if failed else 0


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fnn import run, train

    fields = {f.name for f in dataclasses.fields(run.Settings)}
    settings = run.Settings(**{k: v for k, v in vars(args).items() if k in fields})
    out = Path(args.out or f"runs/{args.model}")
    try:
        result = run.train_recipe(settings, out, resume=args.resume)
    except run.SettingsError as e:
        print(f"fnn train: {e}", file=sys.stderr)
        return 2
    except train.DivergedError as e:
        print(f"fnn train: {e}", file=sys.stderr)
        return 3
    print(json.dumps(result.metrics))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    import jax

    from fnn import checkpoint, data, models, run

    path = Path(args.checkpoint)
    path = path / "checkpoint.npz" if path.is_dir() else path
    meta = checkpoint.read_meta(path)
    model = models.from_settings(meta)
    _, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    restored, _ = checkpoint.load(path, {"best": {"params": params, "state": state}})
    mnist = data.load_mnist(
        args.data or meta.get("data"), validation=meta["validation"], seed=meta["seed"], subtract_mean=True
    )
    best = restored["best"]
    _, test = run.evaluate_test(model, best["params"], best["state"], mnist.test)
    print(json.dumps({"model": meta["model"], **test, "checkpoint": str(path)}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "gradcheck", help="hand-written backward vs jax.vjp vs finite differences, every layer"
    )
    g.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    g.add_argument("--tolerance", type=float, default=1e-9, help="max relative error (default 1e-9)")
    g.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these constructors, e.g. conv2d batch_norm"
    )
    g.add_argument("--no-fd", action="store_true", help="skip the finite-difference witness")
    g.set_defaults(run=_gradcheck)

    from fnn.layers.conv import CONV_IMPLS
    from fnn.models import RECIPES
    from fnn.optim import OPTIMIZERS
    from fnn.step import DRIVERS, GRADIENTS

    t = sub.add_parser(
        "train",
        help="train a model on MNIST; writes history.json, metrics.json, curves.png, a checkpoint",
        description="Defaults (optimizer, lr, epochs, ...) are each model's measured recipe; see the README.",
    )
    t.add_argument("--model", choices=sorted(RECIPES), default="cnn")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS))
    t.add_argument("--lr", type=float, help="peak learning rate (linear warm-up, then cosine decay)")
    t.add_argument("--momentum", type=float, help="mu of momentum and nesterov")
    t.add_argument("--epochs", type=int, help="total epochs (with --resume: until this many are done)")
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--weight-decay", dest="weight_decay", type=float, help="L2 on weights, not biases or BN")
    t.add_argument("--warmup-steps", dest="warmup_steps", type=int)
    t.add_argument("--schedule", choices=["cosine", "constant"])
    t.add_argument(
        "--drop-rate",
        dest="drop_rate",
        type=float,
        help="dropout (probability of zeroing) before the last affine",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--gradients", choices=GRADIENTS, default="manual")
    t.add_argument("--conv-impl", dest="conv_impl", choices=CONV_IMPLS, default="auto")
    t.add_argument("--driver", choices=DRIVERS, help="epoch driver (default: step on CPU, scan on GPU)")
    t.add_argument("--validation", type=int, default=5000, help="training images held out for validation")
    t.add_argument(
        "--patience", type=int, help="stop after this many epochs without a better validation accuracy"
    )
    t.add_argument(
        "--data", help="MNIST file or IDX folder (default: FNN_MNIST, data/mnist_all.mat, cache, download)"
    )
    t.add_argument("--out", help="output folder (default runs/<model>)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument(
        "--devices",
        type=int,
        default=1,
        help="data-parallel over this many devices (on CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N)",
    )
    t.set_defaults(run=_train)

    e = sub.add_parser("eval", help="test accuracy of a checkpoint's best parameters")
    e.add_argument("--checkpoint", required=True, help="a run folder or its checkpoint.npz")
    e.add_argument("--data", help="MNIST file (default: the one the run used)")
    e.set_defaults(run=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from fnn import runtime
    from fnn.checkpoint import CheckpointError
    from fnn.data import DataError

    args = build_parser().parse_args(argv)
    runtime.keep_freed_memory()  # this process trains: reuse the step's buffers (fnn.runtime)
    try:
        return args.run(args)
    except (DataError, CheckpointError) as e:
        print(f"fnn {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
