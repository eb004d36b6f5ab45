"""`fnn gradcheck --layer` on many files: a folder, a glob or several --layer, each file checked in
its own process with a time limit, one row per file, a JSON list and a CSV gradebook.

Which run: one --layer naming one file (FILE.py:FUNCTION) is checked in this process, as always;
a folder (FOLDER:FUNCTION: its *.py files, not those starting with "_" or "."), a glob
('subs/*.py:FUNCTION', quoted so that the shell leaves it) or several --layer flags grade every
file they name. Each file runs `python -m fnn gradcheck --layer FILE.py:FUNCTION ... --json TMP`
in a process of its own (a new session, so that a kill reaches whatever it started), at most
--jobs at a time, killed after --timeout seconds. A file's record is what its process wrote,
else one made here: status "timeout", or "error" with the last line it printed.

A record, in the JSON list and (one line per file) in the CSV:
    {file, function, status: ok | wrong | error | timeout, error, max_rel_error, seconds,
     arrays: [{array, kind, max_rel_error, detail[, case]}], ...}
Exit statuses: 0 every file ok; 1 some wrong, none failed to run; 4 some could not run
(error or timeout), whatever the others; 2 a usage error (nothing graded).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fnn.cli.layerfile as layerfile
from fnn.cli.usage import UsageError, open_for_writing

__all__ = [
    "OK",
    "WRONG",
    "USAGE",
    "COULD_NOT_RUN",
    "EXIT_STATUSES",
    "is_bulk",
    "expand",
    "run",
    "record",
    "error_record",
    "write_csv",
    "status_of",
]

OK, WRONG, USAGE, COULD_NOT_RUN = 0, 1, 2, 4
EXIT_STATUSES = """exit statuses:
  one file (--layer FILE.py:FUNCTION):
    0  every array ok    1  something wrong
    2  a bad flag, or a file or function that cannot run (its error in --json)
  several files (a folder, a glob, or several --layer):
    0  every file ok     1  some wrong, every file ran
    4  some file could not run (error or timeout), whatever the others
    2  a bad flag (nothing graded)"""
GLOB_CHARACTERS = "*?["
CSV_FIELDS = ("file", "function", "status", "max_rel_error", "kinds", "error", "seconds")


def is_bulk(values: list[str]) -> bool:
    """Whether --layer's values name several files (grading) rather than one file."""
    if len(values) != 1:
        return True
    path, _, _ = values[0].rpartition(":")
    return os.path.isdir(path) or (any(c in path for c in GLOB_CHARACTERS) and not os.path.isfile(path))


def expand(values: list[str]) -> list[tuple[str, str]]:
    """(file, FUNCTION) for every file the values name, in order, each pair once; a UsageError for
    a folder or glob that names no Python file (a file that does not exist is graded: an error)."""
    found: dict[tuple[str, str], None] = {}
    for value in values:
        path, function = layerfile.split_spec(value)
        if os.path.isdir(path):
            files = sorted(
                str(p) for p in Path(path).glob("*.py") if not p.name.startswith(("_", ".")) and p.is_file()
            )
            if not files:
                raise UsageError(f"--layer: the folder {path} holds no Python file")
        elif any(c in path for c in GLOB_CHARACTERS) and not os.path.isfile(path):
            files = sorted(
                p for p in glob.glob(path, recursive=True) if p.endswith(".py") and os.path.isfile(p)
            )
            if not files:
                raise UsageError(f"--layer: no Python file matches {path!r}")
        else:
            files = [path]
        found.update(dict.fromkeys((file, function) for file in files))
    return list(found)


def record(file: str, function: str, status: str, *, error: str = "", arrays=(), max_rel_error=None) -> dict:
    """One file's record (module docstring); `max_rel_error` None where there is no number."""
    number = None if max_rel_error is None or not math.isfinite(max_rel_error) else float(max_rel_error)
    return {
        "file": file,
        "function": function,
        "status": status,
        "error": error,
        "max_rel_error": number,
        "arrays": list(arrays),
    }


def error_record(file: str, function: str, message: str, status: str = "error") -> dict:
    return record(file, function, status, error=message)


def status_of(records: list[dict]) -> int:
    """The exit status of a grading run (module docstring)."""
    statuses = {r["status"] for r in records}
    if statuses & {"error", "timeout"}:
        return COULD_NOT_RUN
    return WRONG if "wrong" in statuses else OK


def _kinds(rec: dict) -> str:
    return ",".join(dict.fromkeys(a["kind"] for a in rec["arrays"] if a["kind"] != "ok"))


def write_csv(records: list[dict], file) -> None:
    """A gradebook: one line per file (CSV_FIELDS)."""
    writer = csv.DictWriter(file, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({**{k: rec.get(k, "") for k in CSV_FIELDS}, "kinds": _kinds(rec)})


def _row(rec: dict, width: int) -> str:
    error = "-" if rec["max_rel_error"] is None else f"{rec['max_rel_error']:.1e}"
    note = rec["error"] if rec["status"] in ("error", "timeout") else _kinds(rec)
    return f"{rec['file']:<{width}}  {rec['status']:<7}  {error:>9}  {note}".rstrip()


def child_flags(args: argparse.Namespace) -> list[str]:
    """The flags each file's process gets: what decides how a file is checked."""
    flags = ["--tolerance", repr(args.tolerance), "--seed", str(args.seed)]
    if args.like:
        flags += ["--like", args.like]
    if args.in_shape:
        flags += ["--in-shape", args.in_shape]
    if args.train:
        flags.append("--train")
    if args.batch is not None:
        flags += ["--batch", str(args.batch)]
    return flags


def run(args: argparse.Namespace) -> int:
    """Grade every file --layer names; print a row per file; write --json and --csv; the status."""
    if args.plot:
        raise UsageError("--plot: only with one file (--layer FILE.py:FUNCTION)")
    if not args.like:  # one message here, not one per file
        try:
            layerfile.parse_in_shape(args.in_shape)
        except layerfile.SpecError as e:
            raise UsageError(str(e)) from None
    files = expand(args.layer)
    json_file = open_for_writing(args.json) if args.json else None  # fail before the work, not after
    csv_file = open_for_writing(args.csv, "--csv") if args.csv else None
    jobs = args.jobs or os.cpu_count() or 1
    width = max(len(f) for f, _ in files)
    print(f"{'file':<{width}}  {'status':<7}  {'max error':>9}  kinds / error", flush=True)
    start = time.perf_counter()
    records: dict[int, dict] = {}
    try:
        for index, rec in _grade(files, child_flags(args), args.timeout or 60.0, jobs):
            records[index] = rec
            print(_row(rec, width), flush=True)
    finally:  # also when interrupted: every file gets a record
        done = [
            records.get(i) or error_record(f, fn, "not graded: interrupted")
            for i, (f, fn) in enumerate(files)
        ]
        if json_file:
            with json_file:
                json.dump(done, json_file, indent=1)
        if csv_file:
            with csv_file:
                write_csv(done, csv_file)
    counts = {s: sum(r["status"] == s for r in done) for s in ("ok", "wrong", "error", "timeout")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"{len(done)} files: {summary} ({time.perf_counter() - start:.1f} s)")
    return status_of(done)


def _grade(files: list[tuple[str, str]], flags: list[str], timeout: float, jobs: int):
    """Yield (index, record) as each file's process ends, at most `jobs` at a time."""
    with tempfile.TemporaryDirectory(prefix="fnn-grade-") as tmp:
        waiting, running = list(enumerate(files)), {}
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    index, (file, function) = waiting.pop(0)
                    running[index] = _start(Path(tmp) / str(index), file, function, flags)
                time.sleep(0.05)
                for index, child in list(running.items()):
                    late = time.perf_counter() - child["start"] > timeout
                    if child["process"].poll() is None and not late:
                        continue
                    if late and child["process"].poll() is None:
                        _kill(child["process"])
                    del running[index]
                    yield index, _finish(child, files[index], timed_out=late, timeout=timeout)
        finally:
            for child in running.values():
                _kill(child["process"])


def _start(folder: Path, file: str, function: str, flags: list[str]) -> dict:
    folder.mkdir()
    command = [sys.executable, "-m", "fnn", "gradcheck", "--layer", f"{file}:{function}", *flags]
    command += ["--json", str(folder / "record.json")]
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
    return {"process": process, "folder": folder, "start": time.perf_counter()}


def _kill(process: subprocess.Popen) -> None:
    """End the file's process and all it started (its own session and process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _finish(child: dict, spec: tuple[str, str], *, timed_out: bool, timeout: float) -> dict:
    """The file's record: what its process wrote, else one made from how it ended."""
    file, function = spec
    seconds = round(time.perf_counter() - child["start"], 2)
    if timed_out:
        rec = error_record(file, function, f"still running after {timeout:g} s: killed", "timeout")
        return {**rec, "seconds": seconds}
    try:
        rec = json.loads((child["folder"] / "record.json").read_text())
        if not isinstance(rec, dict) or rec.get("status") not in ("ok", "wrong", "error"):
            raise ValueError("no status")
    except (OSError, ValueError):
        lines = (child["folder"] / "stderr").read_text(errors="replace").strip().splitlines()
        status = child["process"].returncode
        last = lines[-1] if lines else f"exited with status {status} and no report"
        rec = error_record(file, function, last)
    return {**rec, "file": file, "seconds": seconds}
