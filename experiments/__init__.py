"""The lab: the experiments behind REPORT.pdf and SUPPLEMENT.pdf (not shipped in the wheel).

Each experiment is a package `experiments/<name>/` with three roles, kept apart so that a
figure or a sentence can change without making a 20-minute result stale:

- `run.py`: `Config` (a frozen dataclass of settings), `QUICK` (the reduced settings that
  run in seconds, for tests) and `run(config) -> dict`, the numbers. Only `run.py` and what
  it imports count in a result's code hash (`experiments.codehash`).
- `plot.py`: `plot(results, out_dir)`, the figures, from results.json alone.
- `facts.py`: `facts(results) -> dict`, the derived statistics the report prints (leaves are
  `experiments.fmt` values; nested dicts flatten to dotted keys), and `CLAIMS`, a dict
  `{name: predicate(facts) -> bool}`: each statement of the report whose truth depends on the
  data. No LaTeX, no prose.
- `__init__.py`: the docstring (the question the experiment answers) and `main(argv)`;
  `__main__.py` calls it: `python -m experiments.<name> [--quick] [--replot] [--out DIR]`.

The prose is written by people in report/sections/*.tex (REPORT.pdf) and
report/supplement/*.tex (SUPPLEMENT.pdf). A number there is `\\R{<name>.<key>}`, a macro that
`python -m experiments.report` generates from `facts`; a sentence that depends on the data cites
its claim with `\\claim{<name>.<claim>}` (it prints nothing), and `report --check` fails, naming
the sentence, when the claim no longer holds. Statistics: `experiments.stats` (paired
differences over shared seeds, McNemar's test on one test set); number formats:
`experiments.fmt`.
"""
