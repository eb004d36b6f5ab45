"""What a person waits for: `fnn train` run as a command, with XLA's compiled programs kept on
disk (fnn.cli.keep_compiled_programs) and without them. Prints JSON.

For each seed, one run with an empty compile-cache folder ("cold": everything compiled, as on a
fresh machine) and then one with the folder that run filled ("warm": the programs loaded, as on
every later run of the same model and batch size). Each run is its own process; its seconds are
metrics.json's (from the settings to the test accuracy: data loading and imports excluded),
and its process's wall time is recorded beside them.

    python -m benchmarks.train_command [--model fast] [--seeds 5] [--fnn-args "--epochs 1"]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import emit
from fnn import models, runtime

ROOT = Path(__file__).resolve().parent.parent


def train_once(model: str, seed: int, cache: Path, out: Path, extra: list[str]) -> dict:
    """One `fnn train` process with `cache` as its compile-cache folder: its metrics and times."""
    env = {**os.environ, "FNN_COMPILE_CACHE": str(cache)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    argv = [sys.executable, "-m", "fnn", "train", "--model", model, "--seed", str(seed)]
    argv += ["--out", str(out), "--overwrite", *extra]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    return {
        "seed": seed,
        "seconds": metrics["seconds"],
        "process_seconds": wall,
        "train_seconds": [h["train_seconds"] for h in history],
        "test_accuracy": metrics["test_accuracy"],
        "cached_programs": len(list(cache.glob("*-cache"))),
    }


def summary(runs: list[dict]) -> dict:
    seconds = [r["seconds"] for r in runs]
    accuracy = [r["test_accuracy"] for r in runs]
    return {
        "seconds_mean": statistics.fmean(seconds),
        "seconds_max": max(seconds),
        "process_seconds_mean": statistics.fmean(r["process_seconds"] for r in runs),
        "test_accuracy_mean": statistics.fmean(accuracy),
        "test_accuracy_min": min(accuracy),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_command", description=__doc__)
    parser.add_argument("--model", default="fast", choices=sorted(models.MODELS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1, each run cold then warm")
    parser.add_argument("--fnn-args", default="", help="more `fnn train` flags, one string")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    extra = shlex.split(args.fnn_args)
    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="fnn-train-command-") as scratch:
        for seed in range(args.seeds):
            cache, out = Path(scratch) / f"xla{seed}", Path(scratch) / f"run{seed}"
            for kind in ("cold", "warm"):
                runs[kind].append(train_once(args.model, seed, cache, out, extra))
                print(f"seed {seed} {kind}: {runs[kind][-1]['seconds']:.1f} s", file=sys.stderr)
    result = {
        "benchmark": "train_command",
        "model": args.model,
        "fnn_args": extra,
        **runtime.device_info(),
        **{kind: summary(r) for kind, r in runs.items()},
        "runs": runs,
    }
    emit(result)
    return result


if __name__ == "__main__":
    main()
