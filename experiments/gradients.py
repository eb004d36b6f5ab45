"""Gradients: are the hand-written backward passes right, and which finite-difference step checks them?

Question 1: does every registered layer and loss pass `fnn gradcheck` (hand-written backward vs
`jax.vjp` vs finite differences, float64)? The table lists every case's largest relative error,
the largest over `seeds`.

Question 2: how does a finite difference's error depend on the step h, and why does fnn's check
use the step it does? The function is L(x) = <dy, tanh(conv(x))>, NONLINEAR in x (a function
linear in x, such as <dy, conv(x)>, has no truncation error under a central difference, so it
cannot show the trade-off). For steps h from 1e-10 to 1, in float32 and float64, the 2nd-order
central difference (L(x + h v) - L(x - h v)) / 2h and the 4th-order five-point stencil are
compared with the directional derivative <dx, v> of the hand-written backward in float64 (exact
up to ~1e-16), the error normalised as fnn.gradcheck does: |fd - <dx, v>| / (|dx| |v|); one
random direction v, input, kernel and dy per seed. Truncation error falls like h^2 (h^4);
round-off, about eps / h, rises as h shrinks, so the best step is near eps^(1/3) (eps^(1/5)). Figure: fd_step.png (both stencils, both dtypes, the fitted reference
lines C h^p and B eps / h, and the step fnn.gradcheck uses).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from experiments import common, latex
from fnn import gradcheck, layers, plots
from fnn.gradcheck.check import FD_STEP
from fnn.layer import serial

DTYPES = ("float32", "float64")
STENCILS = {2: "2nd-order central", 4: "4th-order five-point"}
FLOOR = 1e-17  # an error of exactly 0 is drawn here on the log axis
FD_INPUT, FD_FILTERS, FD_KERNEL, FD_PADDING = (2, 8, 8, 3), 4, 3, 1  # the function of the step study


@dataclasses.dataclass(frozen=True)
class Config:
    steps: tuple = tuple(float(10.0 ** (e / 3)) for e in range(-30, 1))  # 1e-10 ... 1, 31 steps
    seeds: tuple = (0, 1, 2)
    only: tuple = ()  # constructor names for the table; () for all


QUICK = {"only": ("affine", "relu", "softmax_cross_entropy"), "steps": (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1)}


def _nonlinear_function(seed: int):
    """L(x) = <dy, tanh(conv(x))> (x of shape FD_INPUT, FD_FILTERS filters, FD_KERNEL, FD_PADDING).

    Returns (exact, normalisation, along): <dx, v> with dx from the hand-written backward in
    float64, |dx| |v|, and along(dtype) -> jitted ts -> L(x + t v) evaluated in dtype. Every array
    is drawn in float32, so the float64 reference is taken at exactly the point the float32
    differences see."""
    model = serial(layers.conv2d(FD_FILTERS, FD_KERNEL, padding=FD_PADDING, impl="xla"), layers.tanh())
    rng = np.random.default_rng(seed)
    _, params, state = model.init(jax.random.key(seed), FD_INPUT[1:])
    params = jax.tree.map(lambda a: np.asarray(a, np.float32), params)
    x = rng.standard_normal(FD_INPUT).astype(np.float32)
    y_shape = model.apply(params, state, jnp.asarray(x))[0].shape
    dy = rng.standard_normal(y_shape).astype(np.float32)
    v = rng.uniform(-1.0, 1.0, x.shape).astype(np.float32)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        _, _, cache = model.apply(p64, state, jnp.asarray(x, jnp.float64))
        dx, _ = model.backward(p64, cache, jnp.asarray(dy, jnp.float64))
        dx = np.asarray(dx)

    def along(dtype):
        """t -> L(x + t v) for a vector of t, evaluated in `dtype`."""
        p, xd, vd, dyd = (jax.tree.map(lambda a: jnp.asarray(a, dtype), a) for a in (params, x, v, dy))

        @jax.jit
        def values(ts):
            return jax.vmap(lambda t: jnp.vdot(dyd, model.apply(p, state, xd + t * vd)[0]))(ts)

        return values

    exact = float(np.vdot(dx.astype(np.float64), v.astype(np.float64)))
    normalisation = float(np.linalg.norm(dx) * np.linalg.norm(v.astype(np.float64)))
    return exact, normalisation, along


def _differences(values, steps: np.ndarray, dtype) -> dict[int, np.ndarray]:
    """Both stencils at every step, the four values per step computed in `dtype`."""
    h = np.asarray(steps, dtype).astype(np.float64)  # the step as the dtype holds it
    offsets = np.concatenate([2 * h, h, -h, -2 * h]).astype(dtype)
    g2p, g1p, g1m, g2m = np.asarray(values(jnp.asarray(offsets)), np.float64).reshape(4, len(h))
    return {2: (g1p - g1m) / (2 * h), 4: (-g2p + 8 * g1p - 8 * g1m + g2m) / (12 * h)}


def _fd_study(steps: tuple, seeds: tuple) -> dict:
    """errors[dtype][order] = per seed, per step |fd - <dx, v>| / (|dx| |v|), fnn.gradcheck's measure."""
    errors = {d: {str(p): [] for p in STENCILS} for d in DTYPES}
    ratio = []
    steps_arr = np.asarray(steps, np.float64)
    for seed in seeds:
        exact, normalisation, along = _nonlinear_function(seed)
        ratio.append(abs(exact) / normalisation)
        with jax.enable_x64(True):
            for dtype in DTYPES:
                fd = _differences(along(getattr(jnp, dtype)), steps_arr, np.dtype(dtype))
                for p in STENCILS:
                    errors[dtype][str(p)].append((np.abs(fd[p] - exact) / normalisation).tolist())
    return {"errors": errors, "directional_over_norms": ratio}


def _log_mean(per_seed) -> np.ndarray:
    """Geometric mean over seeds of errors (exact zeros raised to FLOOR)."""
    return 10 ** np.mean(np.log10(np.maximum(np.asarray(per_seed, float), FLOOR)), axis=0)


def _fit(steps, error, slope: float, keep) -> float | None:
    """C with error ~ C h^slope: the median of error / h^slope over the points `keep` selects."""
    steps, error = np.asarray(steps, float), np.asarray(error, float)
    chosen = keep & (error > FLOOR)
    if not chosen.any():
        return None
    return float(10 ** np.median(np.log10(error[chosen]) - slope * np.log10(steps[chosen])))


def _analyse(steps: tuple, study: dict) -> dict:
    """Best steps, fitted reference lines and theory, per dtype and stencil."""
    steps_arr = np.asarray(steps, float)
    out = {}
    for dtype in DTYPES:
        eps = float(np.finfo(dtype).eps)
        for p in STENCILS:
            mean = _log_mean(study["errors"][dtype][str(p)])
            best = int(np.argmin(mean))
            usable = mean < 1e-2  # below 1% the error is in one regime or the other, not saturated
            at = int(np.argmin(np.abs(np.log(steps_arr / FD_STEP))))
            out[f"{dtype}_{p}"] = {
                "eps": eps,
                "best_step": float(steps_arr[best]),
                "best_error": float(mean[best]),
                "best_error_per_seed": [float(e[best]) for e in study["errors"][dtype][str(p)]],
                "theory_step": eps ** (1 / (p + 1)),
                "truncation_C": _fit(steps_arr, mean, p, usable & (steps_arr >= 10 * steps_arr[best])),
                "roundoff_B": _fit(steps_arr, mean / eps, -1, usable & (steps_arr <= steps_arr[best] / 10)),
                "gradcheck_step_on_grid": float(steps_arr[at]),
                "error_at_gradcheck_step": float(mean[at]),
                "error_at_gradcheck_step_per_seed": [float(e[at]) for e in study["errors"][dtype][str(p)]],
                "zeros": int(sum(np.sum(np.asarray(e) == 0) for e in study["errors"][dtype][str(p)])),
            }
    for p in STENCILS:  # truncation does not depend on the dtype: one C per stencil, from float64
        C = out[f"float64_{p}"]["truncation_C"]
        for dtype in DTYPES:
            entry = out[f"{dtype}_{p}"]
            entry["truncation_C_used"] = C
            B = entry["roundoff_B"]
            entry["fitted_step"] = (
                None if C is None or B is None else (B * entry["eps"] / (p * C)) ** (1 / (p + 1))
            )
    return out


def run(config: Config) -> dict:
    cases = [c for c in gradcheck.CASES if not config.only or c.constructor in config.only]
    table = []
    for case in cases:
        rows = [gradcheck.run_case(case, seed=seed).as_dict() for seed in config.seeds]
        worst = max(rows, key=lambda row: row["max_error"])
        table.append({**worst, "max_error_per_seed": [row["max_error"] for row in rows]})
    study = _fd_study(config.steps, config.seeds)
    return {
        "table": table,
        "seeds": list(config.seeds),
        "max_error": max(row["max_error"] for row in table),
        "tolerance": gradcheck.TOLERANCE,
        "gradcheck_step": FD_STEP,
        "fd_function": {
            "input_shape": list(FD_INPUT),
            "filters": FD_FILTERS,
            "kernel": FD_KERNEL,
            "padding": FD_PADDING,
        },
        "fd_steps": list(config.steps),
        "fd_errors": study["errors"],
        "fd_directional_over_norms": study["directional_over_norms"],
        "fd": _analyse(config.steps, study),
    }


def plot(results: dict, out: Path) -> None:
    steps = np.asarray(results["fd_steps"], float)
    fig = Figure(figsize=(7.5, 9.5))  # drawn for the page width
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    colours = {"float32": "tab:red", "float64": "tab:blue"}
    styles = {"float32": ("o", "-"), "float64": ("s", "--")}
    zeros = 0
    for ax, p in zip(axes, STENCILS):
        for dtype in DTYPES:
            per_seed = np.maximum(np.asarray(results["fd_errors"][dtype][str(p)], float), FLOOR)
            zeros += int(np.sum(np.asarray(results["fd_errors"][dtype][str(p)]) == 0))
            logs = np.log10(per_seed)
            mean, sd = logs.mean(0), logs.std(0, ddof=1) if len(logs) > 1 else np.zeros(len(steps))
            marker, line = styles[dtype]
            ax.plot(
                steps, 10**mean, marker=marker, ls=line, ms=4, color=colours[dtype], label=f"{dtype} (data)"
            )
            ax.fill_between(steps, 10 ** (mean - sd), 10 ** (mean + sd), color=colours[dtype], alpha=0.2)
            entry = results["fd"][f"{dtype}_{p}"]
            if entry["roundoff_B"] is not None:
                ax.plot(
                    steps,
                    entry["roundoff_B"] * entry["eps"] / steps,
                    ls="-.",
                    lw=1,
                    color=colours[dtype],
                    label=f"{entry['roundoff_B']:.2g} eps/h, eps = {entry['eps']:.1e}",
                )
            ax.plot(entry["best_step"], entry["best_error"], "*", ms=14, color=colours[dtype], mec="k")
        C = results["fd"][f"float64_{p}"]["truncation_C"]
        if C is not None:
            ax.plot(steps, C * steps**p, ls=":", lw=1.5, color="k", label=f"{C:.2g} h^{p} (truncation)")
        ax.axvline(
            results["gradcheck_step"],
            color="tab:green",
            lw=1.5,
            label=f"fnn.gradcheck step h = {results['gradcheck_step']:g}",
        )
        ax.set(
            xscale="log",
            yscale="log",
            ylim=(3e-17, 3),
            ylabel="|fd - <dx, v>| / (|dx| |v|)",
            title=f"{STENCILS[p]} difference",
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left", ncol=2)
    zero_note = f"; {zeros} exact zeros drawn at {FLOOR:g}" if zeros else ""
    axes[1].set_xlabel(f"finite-difference step h{zero_note}")
    fig.suptitle(
        "L(x) = <dy, tanh(conv(x))>: finite differences vs the hand-written gradient\n"
        f"geometric mean of {len(results['seeds'])} seeds, band +-1 sd of log10; star: best step",
        fontsize=10,
    )
    fig.tight_layout()
    plots.save(fig, out / "fd_step.png")


def _sci(value: float, digits: int = 1) -> str:
    """value as $m \\times 10^{e}$."""
    if value == 0:
        return "$0$"
    exponent = int(np.floor(np.log10(abs(value))))
    mantissa = value / 10**exponent
    if round(mantissa, digits) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"${mantissa:.{digits}f} \\times 10^{{{exponent}}}$"


def _times(ratio: float) -> str:
    """A factor as a plain whole number ($83$) below 10^4, else as $m \\times 10^{e}$."""
    return f"${ratio:.0f}$" if ratio < 1e4 else _sci(ratio)


def _log_pm(values) -> str:
    """Geometric mean and the factor of one sd of log10, as $m \\times/\\div f$."""
    logs = np.log10(np.maximum(np.asarray(values, float), FLOOR))
    sd = float(logs.std(ddof=1)) if len(logs) > 1 else 0.0
    return f"{_sci(10 ** float(logs.mean()))} ($\\times/\\div$ {10**sd:.1f})"


def _larger_words(r: dict) -> str:
    """Which comparison sets the table's column, from the per-array errors stored for each case's
    worst seed ("" when it is not the same one everywhere)."""
    autodiff = [e["autodiff"] for row in r["table"] for e in row["errors"].values()]
    fd = [
        e["finite_diff"] for row in r["table"] for e in row["errors"].values() if e["finite_diff"] is not None
    ]
    if not autodiff or not fd:
        return ""
    if max(autodiff) < min(row["max_error"] for row in r["table"]):
        return (
            f"; in the seed with each case's largest error, the error against \\texttt{{jax.vjp}} is at most "
            f"{_sci(max(autodiff))}, so the column is set by the finite differences"
        )
    return ""


def section(r: dict) -> str:
    """The LaTeX of the gradient-check section, from results.json."""
    fd, tol, step = r["fd"], r["tolerance"], r["gradcheck_step"]
    seeds = len(r["seeds"])
    failing = [row for row in r["table"] if row["max_error"] >= tol]
    rows = [
        [latex.esc(row["constructor"]), "\\texttt{" + latex.esc(row["config"]) + "}", _sci(row["max_error"])]
        for row in r["table"]
    ]
    table = latex.table(
        ["layer", "configuration", "max.\\ rel.\\ error"],
        rows,
        "Every registered gradient check (\\texttt{fnn gradcheck}), float64. The hand-written backward is "
        "compared with \\texttt{jax.vjp} and with the 4th-order finite difference; the one column is the "
        "larger of the two relative errors, maximised over all gradient arrays of the case and over "
        f"{seeds} seeds (inputs, cotangents, directions){_larger_words(r)}. Tolerance "
        f"{_sci(tol, 0)}. The equations each backward implements are cited in its docstring and kept "
        "in results.json.",
        "gradients-table",
        align="llr",
        size="\\scriptsize",
    )
    verdict = (
        f"All {len(r['table'])} cases pass: the largest error is {_sci(r['max_error'])}, "
        f"{_times(tol / r['max_error'])} times below the tolerance {_sci(tol, 0)}."
        if not failing
        else f"{len(failing)} of {len(r['table'])} cases FAIL the tolerance {_sci(tol, 0)}: "
        + ", ".join(latex.esc(row["constructor"]) for row in failing)
        + "."
    )

    step_rows = []
    for p in STENCILS:
        for dtype in DTYPES:
            e = fd[f"{dtype}_{p}"]
            step_rows.append(
                [
                    f"{p}th order" if p == 4 else "2nd order",
                    dtype,
                    _sci(e["best_step"]),
                    _log_pm(e["best_error_per_seed"]),
                    _sci(e["theory_step"]),
                    "--" if e["fitted_step"] is None else _sci(e["fitted_step"]),
                    _log_pm(e["error_at_gradcheck_step_per_seed"]),
                ]
            )
    steps_table = latex.table(
        [
            "stencil",
            "dtype",
            "best $h$",
            "error at best $h$",
            "$\\varepsilon^{1/(p+1)}$",
            "$h^\\ast$ (fitted)",
            f"error at $h = {_sci(step)[1:-1]}$",
        ],
        step_rows,
        "The finite-difference step study (Figure~\\ref{fig:gradients-fd-step}): the best step on the "
        f"grid, its error (geometric mean over {seeds} seeds, $\\times/\\div$ the factor of one standard "
        "deviation of $\\log_{10}$), the scale-free rule $\\varepsilon^{1/(p+1)}$, the optimum "
        "$(B\\varepsilon/pC)^{1/(p+1)}$ of the fitted lines, and the error at the step fnn's check uses.",
        "gradients-steps",
        size="\\footnotesize",
    )

    c2, c4 = fd["float64_2"]["truncation_C"], fd["float64_4"]["truncation_C"]
    g4_64, g4_32 = fd["float64_4"], fd["float32_4"]
    floor32 = min(fd["float32_2"]["best_error"], fd["float32_4"]["best_error"])
    at_step = g4_64["error_at_gradcheck_step"]
    near_best = abs(np.log10(step / g4_64["best_step"])) <= 1
    eps64 = fd["float64_4"]["eps"]
    ratio = float(np.mean(r["fd_directional_over_norms"]))
    b_words = [
        f"{fd[f'float32_{p}']['roundoff_B']:.2g} and {fd[f'float64_{p}']['roundoff_B']:.2g} ({STENCILS[p]})"
        for p in STENCILS
        if fd[f"float32_{p}"]["roundoff_B"] is not None and fd[f"float64_{p}"]["roundoff_B"] is not None
    ]
    f = r["fd_function"]
    function = (
        f"$L(x) = \\langle dy, \\tanh(\\mathrm{{conv}}(x))\\rangle$ with $x$ of shape "
        f"$({', '.join(map(str, f['input_shape']))})$, {f['filters']} filters "
        f"${f['kernel']} \\times {f['kernel']}$, padding {f['padding']}"
    )
    setup = f"""\\section{{Gradient checks and the finite-difference step}}\\label{{sec:exp-gradients}}

\\paragraph{{Question.}} Are the hand-written backward passes right, and how large should the step
of the finite-difference check be?

\\paragraph{{The checks.}} Each registered case (every layer constructor and loss, in configurations
that cover padding 0 and $>0$, stride 1 and 2, non-square inputs and every convolution impl) compares
the hand-written gradient with \\texttt{{jax.vjp}} of the forward pass for a random cotangent $dy$, and
with a 4th-order central difference of $t \\mapsto \\langle dy, f(a + t v)\\rangle$ along a random
direction $v$ with step $h = {_sci(step)[1:-1]}$ (read from \\texttt{{fnn.gradcheck}}), all in float64.
The finite-difference error is $|\\mathrm{{fd}} - \\langle da, v\\rangle| / (\\|da\\|\\,\\|v\\|)$: the
denominator bounds $|\\langle da, v\\rangle|$, so a direction that happens to be nearly orthogonal to
the gradient cannot inflate the error. Table~\\ref{{tab:gradients-table}} lists every case. {verdict}

{table}
\\paragraph{{Finite-difference step: setup.}} The function is {function}, with a
He-initialised kernel, standard normal $x$ and $dy$, and $v$ uniform in $[-1,1]$, one draw per seed
({seeds} seeds). It must be nonlinear in $x$: for a function linear in $x$, such as
$\\langle dy, \\mathrm{{conv}}(x)\\rangle$, a central difference has no truncation error at all, and
its error can only fall as $h$ grows. For {len(r["fd_steps"])} steps $h$ from
{_sci(min(r["fd_steps"]), 0)} to {_sci(max(r["fd_steps"]), 0)} we evaluate $L$ in float32 and in
float64 and form the 2nd-order difference $(L(x+hv) - L(x-hv))/2h$ and the 4th-order five-point
difference $(-L(x+2hv) + 8L(x+hv) - 8L(x-hv) + L(x-2hv))/12h$. The error is measured as in the check,
$|\\mathrm{{fd}} - \\langle dx, v\\rangle| / (\\|dx\\|\\,\\|v\\|)$, against the hand-written $dx$ in
float64 at the same point (all inputs are drawn in float32, so both dtypes see the same point). For
these draws $|\\langle dx, v\\rangle| / \\|dx\\|\\|v\\|$ is {ratio:.2g} on average: the error relative
to the directional derivative itself is larger by the inverse of that factor.
"""
    if b_words and all(
        0.1 < fd[f"float32_{p}"]["roundoff_B"] / fd[f"float64_{p}"]["roundoff_B"] < 10 for p in STENCILS
    ):
        b_text = (
            "The fitted round-off constants $B$ (float32, float64) are "
            + "; ".join(b_words)
            + ": within a factor 10 of each other, so one law $B\\varepsilon/h$ describes both dtypes."
        )
    elif b_words:
        b_text = (
            "The fitted round-off constants $B$ (float32, float64) are "
            + "; ".join(b_words)
            + ": they differ by more than a factor 10, so round-off is not one law $B\\varepsilon/h$ here."
        )
    else:
        b_text = ""
    ratios = [fd[f"{d}_{p}"]["best_step"] / fd[f"{d}_{p}"]["theory_step"] for d in DTYPES for p in STENCILS]
    agree = (
        f"every best step lies within a factor {max(max(ratios), 1 / min(ratios)):.2g} of "
        "$\\varepsilon^{1/(p+1)}$, so the rule locates the optimum to within the grid's resolution and "
        "the unknown constants."
        if max(max(ratios), 1 / min(ratios)) < 10
        else f"the best steps lie between {min(ratios):.2g} and {max(ratios):.2g} times "
        "$\\varepsilon^{1/(p+1)}$: the constants $B$ and $C$ of this function move the optimum."
    )
    shows = f"""
\\paragraph{{What Figure~\\ref{{fig:gradients-fd-step}} shows.}} Each curve is V-shaped. On the right
is truncation, the Taylor remainder of the stencil: $C h^2$ (fitted $C = {c2:.2g}$) and $C h^4$ (fitted
$C = {c4:.2g}$) follow float64's right branch, and float32's where round-off does not hide it. On the
left is round-off: each value of $L$ carries a relative error of order $\\varepsilon$ (float32
$\\varepsilon = {_sci(fd["float32_2"]["eps"])[1:-1]}$, float64 $\\varepsilon = {_sci(eps64)[1:-1]}$),
and the difference divides it by $h$, so the error grows like $B\\varepsilon/h$. {b_text} Where
float32's curve flattens at tiny $h$, $x + hv$ rounds back to $x$: the difference is 0 and the error
is $|\\langle dx, v\\rangle| / \\|dx\\|\\|v\\|$. Balancing $C h^p$ against $B\\varepsilon/h$ gives the
best step $h^\\ast = (B\\varepsilon / pC)^{{1/(p+1)}} \\propto \\varepsilon^{{1/(p+1)}}$.
Table~\\ref{{tab:gradients-steps}} compares the measured best steps (stars) with this rule: {agree}

{steps_table}"""
    where = (
        "within a factor 10 of the best step on the grid"
        if near_best
        else f"more than a factor 10 from the best step {_sci(g4_64['best_step'])}"
    )
    verdict_step = (
        f"below the tolerance {_sci(tol, 0)} by a factor {_times(tol / at_step)}"
        if at_step < tol
        else f"NOT below the tolerance {_sci(tol, 0)}"
    )
    b4 = fd["float64_4"]["roundoff_B"] or 1.0
    balance = (
        "the step sits on the round-off side of the V, which leaves room for a function with larger "
        "higher derivatives (a larger $C$) before truncation matters"
        if c4 * step**4 < b4 * eps64 / step
        else "the step sits on the truncation side of the V"
    )
    why32 = (
        "far above the tolerance: this is why every gradient check runs in float64."
        if floor32 > tol
        else "below the tolerance."
    )
    answer = f"""
\\paragraph{{Answer: the step of fnn's check.}} The check uses the 4th-order stencil at
$h = {_sci(step)[1:-1]}$ in float64 (green line). There the error is
{_log_pm(g4_64["error_at_gradcheck_step_per_seed"])}, {verdict_step}, and $h$ is {where}. The 4th-order
stencil allows a larger step than the 2nd-order one for the same truncation, because its remainder
falls as $h^4$. At $h = {_sci(step)[1:-1]}$ the fitted lines give round-off
$B\\varepsilon/h \\approx {_sci(b4 * eps64 / step)[1:-1]}$ and truncation $C h^4 \\approx
{_sci(c4 * step**4)[1:-1]}$: {balance}. In float32 the best either stencil reaches is {_sci(floor32)} (the
4th-order stencil at its best step: {_log_pm(g4_32["best_error_per_seed"])}), {why32}

"""
    caption = (
        f"Finite differences of {function} along a random direction $v$, against the "
        "hand-written gradient in float64: error $|\\mathrm{fd} - \\langle dx, v\\rangle| / "
        "(\\|dx\\|\\|v\\|)$ versus the step $h$. Top: 2nd-order central difference; bottom: 4th-order "
        "five-point stencil. Red circles, solid: float32; blue squares, dashed: float64; geometric mean "
        f"over {seeds} seeds, band $\\pm 1$ sd of $\\log_{{10}}$. Dotted: $C h^p$ fitted to float64's "
        "truncation branch; dash-dot: $B\\varepsilon/h$ fitted to each dtype's round-off branch; star: "
        "best step; green: the step of \\texttt{fnn.gradcheck}. An error of exactly 0 would be drawn at "
        f"{_sci(FLOOR, 0)}."
    )
    return setup + shows + answer + latex.figure("gradients", "fd_step.png", caption, width=0.75)


def main(argv=None) -> Path:
    return common.main("gradients", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
