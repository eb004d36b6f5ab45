"""experiments.gradients: the registry table and the finite-difference step study (--quick)."""

import copy
import re

import numpy as np

from experiments import gradients
from fnn.gradcheck.check import FD_STEP


def test_table_passes_and_covers_the_quick_cases(quick_experiment):
    out, r = quick_experiment("gradients")
    assert sorted(p.name for p in out.glob("*.png")) == ["fd_step.png"]
    assert {row["constructor"] for row in r["table"]} == set(gradients.QUICK["only"])
    assert all(len(row["max_error_per_seed"]) == len(r["seeds"]) >= 3 for row in r["table"])
    assert r["max_error"] == max(max(row["max_error_per_seed"]) for row in r["table"]) < r["tolerance"]


def test_fd_study_shows_truncation_and_round_off(quick_experiment):
    _, r = quick_experiment("gradients")
    steps = np.asarray(r["fd_steps"])
    assert r["gradcheck_step"] == FD_STEP
    for dtype in gradients.DTYPES:
        for p in gradients.STENCILS:
            errors = np.asarray(r["fd_errors"][dtype][str(p)])
            assert errors.shape == (len(r["seeds"]), len(steps)) and (errors >= 0).all()
    geo = {
        f"{d}_{p}": gradients._log_mean(r["fd_errors"][d][p]) for d in gradients.DTYPES for p in ("2", "4")
    }
    # nonlinear function: the 2nd-order difference has a truncation error that grows with h
    big, mid = int(np.argmax(steps)), int(np.argmin(np.abs(steps - 1e-2)))
    assert geo["float64_2"][big] > 1e-6 and geo["float64_2"][big] > 10 * geo["float64_2"][mid]
    # round-off: float64 reaches far lower errors than float32; 4th order beats 2nd order
    assert geo["float64_4"].min() < 1e-3 * geo["float32_4"].min()
    assert geo["float64_4"].min() < geo["float64_2"].min()
    # the step fnn's check uses is good enough for its tolerance in float64, not in float32
    assert r["fd"]["float64_4"]["error_at_gradcheck_step"] < r["tolerance"]
    assert r["fd"]["float32_4"]["best_error"] > r["tolerance"]
    assert r["fd"]["float64_4"]["truncation_C"] > 0 and r["fd"]["float64_2"]["roundoff_B"] > 0


def _refs_resolve(text):
    labels = set(re.findall(r"\\label\{([^}]*)\}", text))
    refs = set(re.findall(r"\\ref\{([^}]*)\}", text))
    return labels, refs


def test_section_labels_and_data_driven_sentences(quick_experiment):
    _, r = quick_experiment("gradients")
    text = gradients.section(r)
    assert text.startswith("\\section{") and "\\label{sec:exp-gradients}" in text
    labels, refs = _refs_resolve(text)
    assert {"fig:gradients-fd-step", "tab:gradients-table"} <= refs <= labels
    assert f"All {len(r['table'])} cases pass" in text and "runs in float64" in text
    prose = re.sub(r"\$[^$]*\$|\\(label|ref|includegraphics)(\[[^]]*\])?\{[^}]*\}", "", text)
    assert text.count("$") % 2 == 0 and not re.search(r"(?<!\\)[_%#]", prose)  # escaped outside math
    broken = copy.deepcopy(r)
    broken["table"][0]["max_error"] = 1.0
    assert "FAIL" in gradients.section(broken)
