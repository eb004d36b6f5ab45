"""Optimizers: SGD against SGD + momentum (the assignment's pair), then Nesterov, RMSProp, Adam.

Question: does momentum make training faster, and if so, why? Momentum's velocity
v <- mu v - lr g sums past steps, so along a steady gradient its step tends to lr / (1 - mu):
the effective learning rate eta = lr / (1 - mu) (SGD: eta = lr). Compared at the same lr,
momentum simply takes steps 1 / (1 - mu) = 10 times larger; so the comparison here is made
against eta.

1. Learning-rate sweep (the MLP 784-256-10, ReLU, He initialisation, no dropout, no weight
   decay, constant lr, batch `batch_size`, `sweep_epochs` epochs on the first `train_size`
   images of the shuffled training split of `data_seed`, once per seed in `seeds`: the seed
   draws the initial weights and the batch order). SGD and momentum (mu `mu`) run at the same
   effective learning rates, a 1-2-5 grid (`sweep`) extended upward until every seed diverges
   and downward while the best rate is the lowest, at most `sweep_extend` points each way.
   Diverged: the loss or the parameters became NaN/Inf (`fnn.train.DivergedError`) or the
   final loss is no better than a uniform guess (ln 10). The final loss is the mean batch
   loss over the last 10% of the steps.
2. A 2-D quadratic f(w) = w^T A w / 2 with eigenvalues lambda_max = 1 and lambda_min =
   1 / `kappa`, rotated by `angle` degrees: fnn's own `optim.sgd` and `optim.momentum`
   (their init/update, in float64) from the same start, at the same lr, at the same
   effective lr, at 0.95 of each one's stability limit (SGD: lr < 2 / lambda_max, momentum:
   lr < 2 (1 + mu) / lambda_max) and at 1.05 of it. The per-step contraction of |w| is
   measured from the losses (f ~ rho^(2t)) and compared with the spectral radius of the
   linear iteration.
3. All five optimizers (SGD and momentum at their best sweep rate, Nesterov at momentum's,
   RMSProp and Adam at `lr_rmsprop`, `lr_adam`, not tuned), `compare_epochs` epochs, same
   seeds.

Figures: lr_sweep.png (final loss against lr and against eta, mean +- sd over seeds, diverged
points marked), quadratic.png (trajectories over the contours, loss per iteration, log y),
loss.png (the five optimizers' batch loss, moving average, mean +- sd band, x in epochs).
`section(results)` writes the report's section from results.json.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments import common, latex
from fnn import models, optim, plots
from fnn.train import DivergedError

NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
LABELS = {"sgd": "SGD", "momentum": "momentum", "nesterov": "Nesterov", "rmsprop": "RMSProp", "adam": "Adam"}
STYLES = {  # colour, line style, marker: told apart in colour and in grey
    "sgd": ("tab:blue", "-", "o"),
    "momentum": ("tab:orange", "--", "s"),
    "nesterov": ("tab:green", "-.", "^"),
    "rmsprop": ("tab:red", ":", "v"),
    "adam": ("tab:purple", (0, (5, 1, 1, 1, 1, 1)), "D"),
}
SCENARIOS = ("same lr", "same effective lr", "largest stable lr", "above the limit")
DRAWN = SCENARIOS[:3]  # the diverging pair is in the table only
FINAL_PERCENT = 10  # the final loss: mean batch loss over this last percentage of the steps
BELOW, ABOVE = 0.95, 1.05  # quadratic: "largest stable" and "above the limit", times the limit
DRAWN_STEPS = 80  # quadratic: steps drawn over the contours
SHRINK = 1e-3  # quadratic: "steps to shrink |w| by this factor"


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: tuple = (0, 1, 2)
    hidden: tuple = (256,)
    batch_size: int = 128
    train_size: int = 20000
    data_seed: int = 0
    data: str | None = None
    mu: float = 0.9
    sweep: tuple = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # effective lr, a 1-2-5 grid
    sweep_extend: int = 4
    sweep_epochs: int = 2
    compare_epochs: int = 3
    lr_rmsprop: float = 1e-3
    lr_adam: float = 1e-3
    smooth: int = 20  # steps in the moving average of loss.png
    kappa: float = 100.0
    angle: float = 30.0
    quad_lr: float = 1.5  # the "same lr" scenario, times 1 / lambda_max
    quad_steps: int = 300


QUICK = {
    "seeds": (0, 1),
    "hidden": (32,),
    "train_size": 2000,
    "sweep": (0.1, 1.0, 10.0),
    "sweep_extend": 1,
    "sweep_epochs": 1,
    "compare_epochs": 1,
    "smooth": 4,
    "quad_steps": 150,
}


def _step_125(x: float, up: bool) -> float:
    """The neighbour of x on the 1-2-5 grid (1 -> 2 -> 5 -> 10), above or below; off the grid,
    x times or over 2."""
    exponent = math.floor(math.log10(x) + 1e-9)
    mantissa = round(x / 10**exponent, 6)
    neighbours = {1.0: (0.5, 2.0), 2.0: (1.0, 5.0), 5.0: (2.0, 10.0)}
    if mantissa not in neighbours:
        return float(f"{x * 2 if up else x / 2:.6g}")
    return float(f"{neighbours[mantissa][up] * 10**exponent:.6g}")


def _train_once(config, mnist, name, lr, epochs, seed, chance) -> dict:
    """One run: per-batch losses, final loss (mean over the last FINAL_PERCENT % of the steps),
    status: "ok", "nan" (DivergedError) or "above-chance" (final loss >= ln 10)."""
    try:
        result = common.train(
            models.mlp(config.hidden),
            mnist,
            optim.OPTIMIZERS[name](lr, config.mu)
            if name in ("momentum", "nesterov")
            else optim.OPTIMIZERS[name](lr),
            epochs=epochs,
            batch_size=config.batch_size,
            seed=seed,
            label=f"{name} lr={lr:g} seed={seed}",
        )
    except DivergedError as e:
        return {"status": "nan", "diverged_at": [e.epoch, e.step], "final_loss": None, "val_accuracy": None}
    losses = [v for h in result.history for v in h["batch_losses"]]
    final = float(np.mean(losses[-max(1, len(losses) * FINAL_PERCENT // 100) :]))
    return {
        "status": "ok" if final < chance else "above-chance",
        "final_loss": final,
        "val_accuracy": result.history[-1]["val_accuracy"],
        "batch_losses": losses,
    }


def _sweep_point(config, mnist, name, eta, chance) -> dict:
    lr = float(f"{eta * (1 - config.mu) if name == 'momentum' else eta:.6g}")
    runs = [_train_once(config, mnist, name, lr, config.sweep_epochs, s, chance) for s in config.seeds]
    return {
        "effective_lr": eta,
        "lr": lr,
        **{key: [r[key] for r in runs] for key in ("status", "final_loss", "val_accuracy")},
    }


def _ok(entry) -> bool:
    return all(s == "ok" for s in entry["status"])


def best(entries: list[dict]) -> dict | None:
    """The sweep entry of lowest mean final loss among those where no seed diverged."""
    ok = [e for e in entries if _ok(e)]
    return min(ok, key=lambda e: np.mean(e["final_loss"])) if ok else None


def _sweep(config, mnist, name, chance) -> list[dict]:
    points = {eta: _sweep_point(config, mnist, name, eta, chance) for eta in sorted(config.sweep)}
    for _ in range(config.sweep_extend):  # up, until every seed diverges
        top = points[max(points)]
        if all(s != "ok" for s in top["status"]):
            break
        eta = _step_125(max(points), up=True)
        points[eta] = _sweep_point(config, mnist, name, eta, chance)
    for _ in range(config.sweep_extend):  # down, while the best is the lowest rate
        low = best(list(points.values()))
        if low is not None and low["effective_lr"] != min(points):
            break
        eta = _step_125(min(points), up=False)
        points[eta] = _sweep_point(config, mnist, name, eta, chance)
    return [points[eta] for eta in sorted(points)]


def _quadratic(config) -> dict:
    """fnn's sgd and momentum on f(w) = w^T A w / 2 (float64), and the predicted rates."""
    lam = np.array([1.0 / config.kappa, 1.0])  # lambda_min, lambda_max
    theta = math.radians(config.angle)
    R = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    A = R @ np.diag(lam) @ R.T  # eigenvector of lambda_min: R's first column
    w0 = R @ np.array([-math.sqrt(config.kappa), 1.0])  # the same loss in both directions
    mu, limit_sgd, limit_momentum = config.mu, 2.0 / lam[1], 2.0 * (1 + config.mu) / lam[1]
    lrs = {
        "same lr": (config.quad_lr, config.quad_lr),
        "same effective lr": (config.quad_lr, config.quad_lr * (1 - mu)),
        "largest stable lr": (BELOW * limit_sgd, BELOW * limit_momentum),
        "above the limit": (ABOVE * limit_sgd, ABOVE * limit_momentum),
    }

    def predicted(name, lr):  # spectral radius of the linear iteration, per eigenvalue
        if name == "sgd":
            return [abs(1 - lr * v) for v in lam]
        return [max(abs(np.roots([1.0, -(1 + mu - lr * v), mu]))) for v in lam]

    runs = []
    with jax.enable_x64(True):
        A_j = jnp.asarray(A)
        for scenario in SCENARIOS:
            for name, lr in zip(("sgd", "momentum"), lrs[scenario]):
                opt = optim.sgd(lr) if name == "sgd" else optim.momentum(lr, mu)

                def body(carry, _, opt=opt):
                    w, s = carry
                    updates, s = opt.update(A_j @ w, s, w)
                    w = optim.apply_updates(w, updates)
                    return (w, s), w

                start = jnp.asarray(w0)
                _, path = jax.lax.scan(body, (start, opt.init(start)), None, length=config.quad_steps)
                path = np.concatenate([w0[None], np.asarray(path)])
                loss = 0.5 * np.einsum("ti,ij,tj->t", path, A, path)
                t = np.arange(len(loss))
                window = t >= len(loss) // 3  # after the transient
                slope = np.polyfit(t[window], np.log(loss[window]), 1)[0]
                rates = predicted(name, lr)
                runs.append(
                    {
                        "scenario": scenario,
                        "optimizer": name,
                        "lr": lr,
                        "effective_lr": lr / (1 - mu) if name == "momentum" else lr,
                        "path": path.tolist(),
                        "loss": loss.tolist(),
                        "rho_slow": float(rates[0]),
                        "rho_fast": float(rates[1]),
                        "rho_predicted": float(max(rates)),
                        "rho_measured": float(np.exp(slope / 2)),
                    }
                )
    return {
        "lambda_min": float(lam[0]),
        "lambda_max": float(lam[1]),
        "kappa": config.kappa,
        "angle": config.angle,
        "w0": w0.tolist(),
        "steps": config.quad_steps,
        "limit_sgd": limit_sgd,
        "limit_momentum": limit_momentum,
        "sqrt_mu": math.sqrt(mu),
        "measured_from": config.quad_steps // 3,
        "below": BELOW,
        "above": ABOVE,
        "drawn_steps": DRAWN_STEPS,
        "shrink": SHRINK,
        "runs": runs,
    }


def run(config: Config) -> dict:
    mnist = common.load_data(config.data, train_size=config.train_size, seed=config.data_seed)
    classes = int(mnist.train.labels.max()) + 1
    chance = math.log(classes)  # the loss of a uniform guess
    sweep = {name: _sweep(config, mnist, name, chance) for name in ("sgd", "momentum")}
    lrs = {name: (best(entries) or entries[0])["lr"] for name, entries in sweep.items()}
    lrs.update(nesterov=lrs["momentum"], rmsprop=config.lr_rmsprop, adam=config.lr_adam)
    compare = {}
    for name in NAMES:
        runs = [
            _train_once(config, mnist, name, lrs[name], config.compare_epochs, s, chance)
            for s in config.seeds
        ]
        compare[name] = {
            "lr": lrs[name],
            **{
                key: [r.get(key) for r in runs]
                for key in ("status", "final_loss", "val_accuracy", "batch_losses")
            },
        }
    return {
        "setup": {
            **{k: v for k, v in dataclasses.asdict(config).items() if k != "data"},
            "train_images": len(mnist.train.x),
            "validation_images": len(mnist.validation.x),
            "steps_per_epoch": len(mnist.train.x) // config.batch_size,
            "smooth": min(config.smooth, config.compare_epochs * (len(mnist.train.x) // config.batch_size)),
            "chance_loss": chance,
            "final_percent": FINAL_PERCENT,
            "classes": classes,
        },
        "sweep": sweep,
        "compare": compare,
        "quadratic": _quadratic(config),
    }


def _mean_sd(values) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, float)
    return values.mean(axis=0), values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1:])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sweep_figure(results: dict) -> Figure:
    setup = results["setup"]
    fig = Figure(figsize=(12, 4.8))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key in zip(axes, ("lr", "effective_lr")):
        top = ax.get_xaxis_transform()  # x in data, y in axes fraction: diverged runs sit at the top
        for name, entries in results["sweep"].items():
            color, line, marker = STYLES[name]
            ok = [e for e in entries if _ok(e)]
            mean, sd = zip(*(latex.mean_sd(e["final_loss"]) for e in ok)) if ok else ((), ())
            ax.errorbar([e[key] for e in ok], mean, yerr=sd, color=color, ls=line, marker=marker, capsize=3,
                        label=f"{LABELS[name]} (mean ± sd)")  # fmt: skip
            for e in (e for e in entries if not _ok(e)):
                bad = sum(s != "ok" for s in e["status"])
                ax.plot(e[key], 0.95, marker="x", color=color, ms=9, mew=2, transform=top, ls="none")
                ax.annotate(f"{bad}/{len(e['status'])}", (e[key], 0.95), xycoords=top, color=color, ha="center",
                            textcoords="offset points", xytext=(0, -15 if name == "sgd" else 8), fontsize=7)  # fmt: skip
            b = best(entries)
            if b is not None:
                ax.plot(b[key], np.mean(b["final_loss"]), marker="*", color=color, ms=16, mec="k", ls="none")
        ax.axhline(setup["chance_loss"], color="grey", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    axes[0].plot([], [], color="grey", ls=":", label=f"ln 10 = {setup['chance_loss']:.2f} (uniform guess)")
    axes[0].plot([], [], "kx", ls="none", label="diverged (k/n seeds)")
    axes[0].plot([], [], "k*", ls="none", ms=10, label="best rate")
    axes[0].legend(fontsize=8, loc="lower left")
    axes[0].set(xlabel="learning rate lr passed to the optimizer",
                ylabel=f"final training loss (mean of the last {setup['final_percent']}% of steps)")  # fmt: skip
    axes[1].set_xlabel(f"effective learning rate lr / (1 - mu), mu = {setup['mu']:g} (SGD: lr)")
    axes[0].set_title(f"against lr: momentum's curve sits {1 / (1 - setup['mu']):.0f}x to the left")
    axes[1].set_title("against the effective lr")
    fig.suptitle(
        f"lr sweep: MLP 784-{'-'.join(map(str, setup['hidden']))}-10, "
        f"{_plural(setup['sweep_epochs'], 'epoch')} on {setup['train_images']} images, seeds {setup['seeds']}"
    )
    fig.tight_layout()
    return fig


def _quadratic_figure(results: dict) -> Figure:
    q = results["quadratic"]
    fig = Figure(figsize=(12, 9))
    axes = fig.subplots(2, 2).ravel()
    runs = {(r["scenario"], r["optimizer"]): r for r in q["runs"]}
    drawn = {k: np.asarray(r["path"])[: q["drawn_steps"] + 1] for k, r in runs.items() if k[0] in DRAWN}
    points = np.concatenate([*drawn.values(), [[0.0, 0.0]]])
    lo, hi = points.min(axis=0), points.max(axis=0)
    lo, hi = lo - 0.08 * (hi - lo), hi + 0.08 * (hi - lo)
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    theta = math.radians(q["angle"])
    R = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    A = R @ np.diag([q["lambda_min"], q["lambda_max"]]) @ R.T
    f = 0.5 * (A[0, 0] * g1**2 + 2 * A[0, 1] * g1 * g2 + A[1, 1] * g2**2)
    f0 = runs[DRAWN[0], "sgd"]["loss"][0]
    for ax, scenario in zip(axes[:3], DRAWN):
        ax.contour(g1, g2, f, levels=f0 * np.geomspace(1e-3, 10, 9), colors="0.75", linewidths=0.7)
        for name in ("sgd", "momentum"):
            r, (color, line, marker), p = runs[scenario, name], STYLES[name], drawn[scenario, name]
            ax.plot(p[:, 0], p[:, 1], color=color, ls=line, marker=marker, ms=3, lw=1,
                    label=f"{LABELS[name]}: lr {r['lr']:.3g}, effective {r['effective_lr']:.3g}")  # fmt: skip
        ax.plot(*q["w0"], "k*", ms=13)
        ax.plot(0, 0, "k+", ms=13, mew=2)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", xlabel="w1", ylabel="w2")
        ax.set_title(f"{scenario} (first {q['drawn_steps']} steps)")
        ax.legend(fontsize=8, loc="lower right")
    ax = axes[3]
    for color, scenario in zip(("tab:blue", "tab:red", "tab:green"), DRAWN):
        for name, line in (("sgd", "-"), ("momentum", "--")):
            r = runs[scenario, name]
            ax.plot(r["loss"], color=color, ls=line, lw=1.3,
                    label=f"{scenario}, {LABELS[name]}: rho {r['rho_measured']:.3f}")  # fmt: skip
    ax.set_yscale("log")
    ax.set(xlabel="iteration", ylabel="f(w) (log axis; no value is zero)",
           title="f per iteration; rho: measured contraction of |w| per step")  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(
        f"f(w) = w'Aw/2, eigenvalues {q['lambda_min']:g} and {q['lambda_max']:g} (kappa {q['kappa']:g}), "
        f"rotated {q['angle']:g} degrees; fnn's optim.sgd and optim.momentum; * start, + minimum"
    )
    fig.tight_layout()
    return fig


def _loss_figure(results: dict) -> Figure:
    setup, window = results["setup"], results["setup"]["smooth"]
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    for name, c in results["compare"].items():
        curves = [b for b in c["batch_losses"] if b is not None]
        if not curves:
            continue
        smoothed = [np.convolve(b, np.ones(window) / window, mode="valid") for b in curves]
        mean, sd = _mean_sd(smoothed)
        x = (np.arange(len(mean)) + window) / setup["steps_per_epoch"]
        color, line, _ = STYLES[name]
        ax.plot(
            x,
            mean,
            color=color,
            ls=line,
            lw=1.5,
            label=f"{LABELS[name]}, lr {c['lr']:g} ({len(curves)} seeds)",
        )
        ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    ax.set_yscale("log")
    ax.set_xlim(0, setup["compare_epochs"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=f"training loss, moving average over {window} steps (log axis)",
           title=f"five optimizers, MLP 784-{'-'.join(map(str, setup['hidden']))}-10: mean ± sd over seeds")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def plot(results: dict, out: Path) -> None:
    plots.save(_sweep_figure(results), out / "lr_sweep.png")
    plots.save(_quadratic_figure(results), out / "quadratic.png")
    plots.save(_loss_figure(results), out / "loss.png")


def _num(x: float) -> str:
    return f"${x:.3g}$"


def _sci(x: float) -> str:
    """x as $m\\times10^{e}$."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"${mantissa}\\times10^{{{int(exponent)}}}$"


def _steps_to(rho: float, shrink: float) -> float:
    """Steps for |w| to shrink by the factor `shrink` at contraction rho per step."""
    return math.log(shrink) / math.log(rho) if 0 < rho < 1 else math.inf


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _etas(values: list[float]) -> str:
    return "$\\eta\\in\\{" + ", ".join(f"{v:g}" for v in values) + "\\}$"


def _by_eta(r: dict, name: str) -> dict[float, dict]:
    return {e["effective_lr"]: e for e in r["sweep"][name]}


def _loss_cell(entry: dict | None) -> str:
    if entry is None:
        return "not run"
    if _ok(entry):
        return latex.pm(entry["final_loss"], 3)
    return f"diverged ({sum(s != 'ok' for s in entry['status'])}/{len(entry['status'])})"


def equal_eta(r: dict) -> dict[str, list[float]]:
    """The effective rates run by both, by outcome: "same" (within the spread), "momentum lower",
    "sgd lower" (beyond it), "momentum diverged", "sgd diverged" (only that one), "both diverged"."""
    sgd, mom = _by_eta(r, "sgd"), _by_eta(r, "momentum")
    out = {
        k: []
        for k in ("same", "momentum lower", "sgd lower", "momentum diverged", "sgd diverged", "both diverged")
    }
    for eta in sorted(set(sgd) & set(mom)):
        s, m = sgd[eta], mom[eta]
        if _ok(s) and _ok(m):
            if not latex.differ(s["final_loss"], m["final_loss"]):
                out["same"].append(eta)
            else:
                out[
                    "momentum lower" if np.mean(m["final_loss"]) < np.mean(s["final_loss"]) else "sgd lower"
                ].append(eta)
        else:
            out["sgd diverged" if _ok(m) else "momentum diverged" if _ok(s) else "both diverged"].append(eta)
    return out


def _stable_top(r: dict, name: str) -> float | None:
    stable = [e["effective_lr"] for e in r["sweep"][name] if _ok(e)]
    return max(stable) if stable else None


def _first_unstable(r: dict, name: str) -> float | None:
    """The lowest effective rate of `name`'s sweep above its largest stable one (a rate where some
    seed diverged), or None when the grid ends at the stable top."""
    top = _stable_top(r, name)
    above = [e["effective_lr"] for e in r["sweep"][name] if top is not None and e["effective_lr"] > top]
    return min(above) if above else None


def _stability_words(r: dict, theory: str = "") -> str:
    """Momentum's extra stable range on the MLP, as far as the grid can tell (for top_m > top_s):
    the largest rate where momentum is stable, SGD's outcome there, and the brackets of both limits;
    `theory` ends the parenthesis."""
    top_s, top_m = _stable_top(r, "sgd"), _stable_top(r, "momentum")
    next_s, next_m = _first_unstable(r, "sgd"), _first_unstable(r, "momentum")
    sgd = _by_eta(r, "sgd")
    if top_m in sgd:
        there = "where SGD diverges"
    elif next_s is not None:
        there = f"above SGD's first diverged rate, $\\eta={next_s:g}$"
    else:
        there = "above the largest rate SGD ran"

    def bracket(who, top, nxt):
        if nxt is None:
            return f"{who} at or above ${top:g}$, where the grid ends"
        return f"{who} between ${top:g}$ and ${nxt:g}$"

    text = (
        f"momentum is still stable at $\\eta={top_m:g}$, {there} (the grid brackets the limits: "
        f"{bracket('SGD' + chr(39) + 's', top_s, next_s)}, {bracket('momentum' + chr(39) + 's', top_m, next_m)}"
    )
    if next_s is not None:  # the ratio of the limits: above top_m / next_s, below next_m / top_s
        low = top_m / next_s
        text += (
            f"; so momentum's limit is between {low:.3g} and {next_m / top_s:.3g} times SGD's"
            if next_m is not None
            else f"; so momentum's limit is more than {low:.3g} times SGD's"
        )
    return text + theory + ")"


def _extra_range(r: dict) -> tuple[str, dict | None]:
    """How momentum's best loss at the effective rates where only it is stable compares with SGD's
    best: ("lower" | "higher" | "same" | "none", that best entry or None)."""
    top_s, b_sgd = _stable_top(r, "sgd"), best(r["sweep"]["sgd"])
    extra = [e for e in r["sweep"]["momentum"] if _ok(e) and top_s is not None and e["effective_lr"] > top_s]
    b_extra = best(extra)
    if b_extra is None or b_sgd is None:
        return "none", None
    if not latex.differ(b_extra["final_loss"], b_sgd["final_loss"]):
        return "same", b_extra
    return ("lower" if np.mean(b_extra["final_loss"]) < np.mean(b_sgd["final_loss"]) else "higher"), b_extra


def _best_words(r: dict, name: str) -> str:
    """The best rate of `name`, its numbers, and whether it is bracketed or the grid's edge."""
    entries, b, who = r["sweep"][name], best(r["sweep"][name]), LABELS[name]
    if b is None:
        return f"{who[0].upper() + who[1:]} diverged at every rate of the grid. "
    i = entries.index(b)
    text = (
        f"{who[0].upper() + who[1:]}'s best rate is $\\eta={b['effective_lr']:g}$ ($\\alpha={b['lr']:g}$): final loss "
        f"{latex.pm(b['final_loss'], 3)}, validation accuracy {latex.pm(b['val_accuracy'], 2, 100)}\\,\\%. "
    )
    sides = []
    for j, where in ((i - 1, "below"), (i + 1, "above")):
        if 0 <= j < len(entries):
            e = entries[j]
            what = f"a loss of {latex.pm(e['final_loss'], 3)}" if _ok(e) else "diverged runs"
            sides.append(f"the next rate {where}, $\\eta={e['effective_lr']:g}$, gives {what}")
    if 0 < i < len(entries) - 1:
        return text + "It is bracketed: " + _words(sides) + ". "
    edge = "upper" if i == len(entries) - 1 else "lower"
    return text + (
        f"It is the {edge} edge of the grid (its extension stopped at its limit), so a "
        f"{'larger' if edge == 'upper' else 'smaller'} rate might be better still"
        + (": " + _words(sides) if sides else "")
        + ". "
    )


def _sweep_text(r: dict) -> str:
    mu, sgd = r["setup"]["mu"], _by_eta(r, "sgd")
    b_sgd, b_mom = best(r["sweep"]["sgd"]), best(r["sweep"]["momentum"])
    text = _best_words(r, "sgd") + _best_words(r, "momentum")
    if b_sgd and b_mom:
        a, b = b_mom["final_loss"], b_sgd["final_loss"]
        if not latex.differ(a, b):
            verdict = "the same final loss as SGD, within the spread"
        else:
            verdict = (
                f"a {'lower' if np.mean(a) < np.mean(b) else 'higher'} final loss than SGD, beyond the spread"
            )
        text += (
            f"(a) \\emph{{Each at its best rate}}, momentum reaches {verdict} ({latex.pm(a, 3)} against "
            f"{latex.pm(b, 3)}); validation accuracy {latex.pm(b_mom['val_accuracy'], 2, 100)}\\,\\% against "
            f"{latex.pm(b_sgd['val_accuracy'], 2, 100)}\\,\\% "
            f"({latex.spread_words(b_mom['val_accuracy'], b_sgd['val_accuracy'])}).\n\n"
        )
    eq = equal_eta(r)
    both = len(eq["same"]) + len(eq["momentum lower"]) + len(eq["sgd lower"])
    parts = []
    if eq["same"]:
        parts.append(f"the same final loss within the spread at {len(eq['same'])} of the {both} rates where "
                     f"neither diverged ({_etas(eq['same'])})")  # fmt: skip
    for key, words in (
        ("momentum lower", "a lower loss for momentum, beyond the spread, at "),
        ("sgd lower", "a lower loss for SGD, beyond the spread, at "),
        ("momentum diverged", "divergence of momentum alone at "),
        ("sgd diverged", "divergence of SGD alone at "),
        ("both diverged", "divergence of both at "),
    ):
        if eq[key]:
            parts.append(words + _etas(eq[key]))
    text += (
        "(b) \\emph{At equal effective rate} (the rows of Table~\\ref{tab:optimizers-sweep}) the data show "
        + (_words(parts) if parts else "no rate where both ran")
        + ". "
    )
    if both and 2 * len(eq["same"]) >= both:
        text += (
            f"So where both are stable, momentum with $\\alpha$ {'' if len(eq['same']) == both else 'mostly '}"
            "behaves like SGD with $\\alpha/(1-\\mu)$: "
            "the advantage it shows at one $\\alpha$ is its larger step. "
        )
    top_s, top_m = _stable_top(r, "sgd"), _stable_top(r, "momentum")
    if top_s is not None and top_m is not None:
        text += (
            f"The largest effective rate at which no seed diverged is $\\eta={top_s:g}$ for SGD and "
            f"$\\eta={top_m:g}$ for momentum. "
        )
        if top_m > top_s:
            text += (
                f"So {_stability_words(r)}; on the quadratic below, the theory puts momentum's limit in "
                f"$\\eta$ at $(1+\\mu)/(1-\\mu)={(1 + mu) / (1 - mu):.0f}$ times SGD's. "
            )
            verdict, b_extra = _extra_range(r)
            if verdict in ("lower", "higher"):
                text += (
                    f"The extra range {'pays' if verdict == 'lower' else 'does not pay'}: its best rate, "
                    f"$\\eta={b_extra['effective_lr']:g}$, gives {latex.pm(b_extra['final_loss'], 3)}, "
                    f"{'below' if verdict == 'lower' else 'above'} SGD's best {latex.pm(b_sgd['final_loss'], 3)} "
                    "by more than the spread. "
                )
            elif verdict == "same":
                text += (
                    f"In the extra range the best loss, {latex.pm(b_extra['final_loss'], 3)} at "
                    f"$\\eta={b_extra['effective_lr']:g}$, equals SGD's best within the spread. "
                )
        elif top_m == top_s:
            text += "So on this network momentum buys no stability at larger effective steps. "
        else:
            text += (
                "So on this network momentum does \\emph{not} buy stability at larger effective steps: SGD stays "
                "stable further, although on the quadratic below momentum's limit in $\\eta$ is "
                f"$(1+\\mu)/(1-\\mu)={(1 + mu) / (1 - mu):.0f}$ times SGD's. That limit holds for a fixed "
                "curvature; in the network the curvature changes as the weights move, and the velocity keeps "
                "its direction for about $1/(1-\\mu)$ steps after the gradient has turned. "
            )
    if b_mom and b_mom["lr"] in sgd and b_mom["effective_lr"] in sgd:
        text += (
            f"The comparison at one $\\alpha$ reads differently: at $\\alpha={b_mom['lr']:g}$ momentum reaches "
            f"{latex.pm(b_mom['final_loss'], 3)} and SGD {_loss_cell(sgd[b_mom['lr']])}, but SGD at the same "
            f"\\emph{{effective}} rate, $\\alpha={b_mom['effective_lr']:g}$, reaches {_loss_cell(sgd[b_mom['effective_lr']])}. "
        )
    return text + "\n\n"


def _quadratic_text(r: dict) -> str:
    q, mu = r["quadratic"], r["setup"]["mu"]
    runs = {(x["scenario"], x["optimizer"]): x for x in q["runs"]}

    def steps(x):
        n = _steps_to(x["rho_measured"], q["shrink"])
        return f"${n:.0f}$" if math.isfinite(n) else "diverges"

    rows = [
        [x["scenario"], LABELS[x["optimizer"]], _num(x["lr"]), _num(x["effective_lr"]), f"${x['rho_slow']:.4f}$",
         f"${x['rho_predicted']:.4f}$", f"${x['rho_measured']:.4f}$", steps(x)]
        for x in q["runs"]
    ]  # fmt: skip
    shrink = f"$10^{{{math.log10(q['shrink']):.0f}}}$"
    table = latex.table(
        ["case", "optimizer", "$\\alpha$", "$\\eta$", "$\\rho_\\text{slow}$", "$\\rho$ predicted",
         "$\\rho$ measured", "steps"],
        rows,
        "The quadratic: learning rate $\\alpha$, effective rate $\\eta$, the predicted per-step contraction "
        "of $|w|$ in the slow eigen-direction and overall ($\\rho$, the larger of the slow and the fast one), "
        "the measured one "
        f"($e^{{s/2}}$, $s$ the least-squares slope of $\\ln f$ over steps {q['measured_from']}--{q['steps']}), "
        f"and the steps the measured rate needs to shrink $|w|$ by {shrink}.",
        "optimizers-quadratic",
        align="llrrrrrr",
    )  # fmt: skip
    text = (
        "$f(w)=\\tfrac12 w^\\top Aw$ with $A=R\\,\\mathrm{diag}(\\lambda_\\text{min},\\lambda_\\text{max})R^\\top$, "
        f"$\\lambda_\\text{{max}}={q['lambda_max']:g}$, $\\lambda_\\text{{min}}={q['lambda_min']:g}$ (condition "
        f"number $\\kappa={q['kappa']:g}$), $R$ a rotation by {q['angle']:g} degrees; the start "
        "$w_0=R(-\\sqrt{\\kappa},1)^\\top$ puts the same loss in both eigen-directions. fnn's own "
        "\\texttt{optim.sgd} and \\texttt{optim.momentum} take the steps (their \\texttt{init} and "
        f"\\texttt{{update}}, gradient $Aw$, float64, {q['steps']} steps; Figure~\\ref{{fig:optimizers-quadratic}}, "
        "Table~\\ref{tab:optimizers-quadratic}).\n\n"
        "\\emph{Theory.} Along an eigenvector with eigenvalue $\\lambda$ the error obeys $z_{t+1}=(1-\\alpha\\lambda)z_t$ "
        "under SGD and $z_{t+1}=(1+\\mu-\\alpha\\lambda)z_t-\\mu z_{t-1}$ under momentum, whose rate is the larger "
        "modulus of the roots of $\\rho^2-(1+\\mu-\\alpha\\lambda)\\rho+\\mu=0$. So SGD is stable only for "
        f"$\\alpha<2/\\lambda_\\text{{max}}={q['limit_sgd']:g}$ and momentum for "
        f"$\\alpha<2(1+\\mu)/\\lambda_\\text{{max}}={q['limit_momentum']:g}$, i.e.\\ $\\eta<{q['limit_momentum'] / (1 - mu):g}$ "
        f"against SGD's ${q['limit_sgd']:g}$. In the slow direction SGD contracts by $1-\\alpha\\lambda_\\text{{min}}$, "
        f"at best (at its limit) $1-2\\lambda_\\text{{min}}/\\lambda_\\text{{max}}={1 - 2 * q['lambda_min'] / q['lambda_max']:g}$; "
        "momentum, whenever the roots are complex ($(1-\\sqrt\\mu)^2\\le\\alpha\\lambda\\le(1+\\sqrt\\mu)^2$), "
        f"contracts by $\\sqrt\\mu={q['sqrt_mu']:.4f}$ whatever $\\alpha$.\n\n"
    )  # fmt: skip
    gap = max(abs(x["rho_measured"] - x["rho_predicted"]) for x in q["runs"])
    above = [x for x in q["runs"] if x["scenario"] == "above the limit"]
    grow = all(x["rho_measured"] > 1 for x in above)
    if gap < 5e-3:
        text += (
            "\\emph{Measured.} The measured contraction agrees with the prediction in every run, to within "
            f"{_sci(gap)} (Table~\\ref{{tab:optimizers-quadratic}})"
            + (f"; the runs at {q['above']:g} times the limits grow ($\\rho>1$), so the limits are where the "
               "theory puts them. " if grow else ". ")
        )  # fmt: skip
    else:
        bad = [f"{x['scenario']}/{LABELS[x['optimizer']]}" for x in q["runs"]
               if abs(x["rho_measured"] - x["rho_predicted"]) >= 5e-3]  # fmt: skip
        text += (
            f"\\emph{{Measured.}} The measured contraction departs from the prediction by up to ${gap:.3f}$, in "
            f"{latex.esc(_words(bad))} (Table~\\ref{{tab:optimizers-quadratic}}). "
        )
    s_same, m_same = runs["same lr", "sgd"], runs["same lr", "momentum"]
    s_eq, m_eq = runs["same effective lr", "sgd"], runs["same effective lr", "momentum"]
    s_top, m_top = runs["largest stable lr", "sgd"], runs["largest stable lr", "momentum"]
    n = lambda x: f"${_steps_to(x['rho_measured'], q['shrink']):.0f}$"  # noqa: E731
    text += (
        f"At the same $\\alpha={s_same['lr']:g}$, momentum contracts by ${m_same['rho_measured']:.4f}$ per step and "
        f"SGD by ${s_same['rho_measured']:.4f}$ ({n(m_same)} against {n(s_same)} steps to {shrink}). "
        f"At the same effective rate $\\eta={s_eq['effective_lr']:g}$, the rates are ${m_eq['rho_measured']:.4f}$ "
        f"(momentum) and ${s_eq['rho_measured']:.4f}$ (SGD)"
        + (": nearly the same, since the slow direction, which sets the rate, sees the summed step $\\eta$. "
           if abs(m_eq["rho_measured"] - s_eq["rho_measured"]) < 0.01 else ". ")
    )  # fmt: skip
    faster = "momentum" if m_top["rho_measured"] < s_top["rho_measured"] else "SGD"
    text += (
        f"At {q['below']:g} times each one's limit ($\\alpha={s_top['lr']:.3g}$ and ${m_top['lr']:.3g}$), {faster} "
        f"converges faster: ${m_top['rho_measured']:.4f}$ (momentum) against ${s_top['rho_measured']:.4f}$ (SGD), "
        f"{n(m_top)} against {n(s_top)} steps. "
    )
    if faster == "momentum":
        text += (
            "This is what momentum buys on an ill-conditioned problem: a range of stable $\\alpha$ that is "
            f"$1+\\mu={1 + mu:g}$ times wider, within which the slow direction contracts at $\\sqrt\\mu$ rather than "
            "at $1-\\alpha\\lambda_\\text{min}$. In the figure, momentum spirals into the minimum (complex roots) "
            "where SGD zig-zags across the valley and then crawls along it.\n\n"
        )
    return text + "\n\n" + table


def _compare_text(r: dict) -> str:
    c, setup = r["compare"], r["setup"]
    done = {name: x for name, x in c.items() if all(s == "ok" for s in x["status"])}
    rows = [
        [LABELS[name], f"${x['lr']:g}$"]
        + (
            [latex.pm(x["final_loss"], 3), latex.pm(x["val_accuracy"], 2, 100) + "\\,\\%"]
            if name in done
            else [f"diverged ({sum(s != 'ok' for s in x['status'])}/{len(x['status'])})", "---"]
        )
        for name, x in c.items()
    ]
    table = latex.table(
        ["optimizer", "$\\alpha$", "final training loss", "validation accuracy"],
        rows,
        f"Five optimizers after {_plural(setup['compare_epochs'], 'epoch')} (mean $\\pm$ sd over "
        f"{len(setup['seeds'])} seeds).",
        "optimizers-compare",
    )
    text = (
        f"The five optimizers of \\texttt{{fnn.optim}} train the same MLP for {_plural(setup['compare_epochs'], 'epoch')} "
        f"on the same {setup['train_images']} images and seeds (Figure~\\ref{{fig:optimizers-loss}}, "
        "Table~\\ref{tab:optimizers-compare}). SGD and momentum run at their best sweep rates, Nesterov at "
        "momentum's; RMSProp and Adam at the $\\alpha$ of the table, \\emph{not tuned}: this comparison "
        "does not rank tuned methods, and it is secondary to the sweep. "
    )
    order = sorted(done, key=lambda n: np.mean(done[n]["final_loss"]))
    if order:
        differs = lambda a, b: latex.differ(done[a]["final_loss"], done[b]["final_loss"])  # noqa: E731
        chain = [LABELS[order[0]]]
        for a, b in zip(order, order[1:]):
            chain.append(("$<$ " if differs(a, b) else "$\\approx$ ") + LABELS[b])
        text += (
            "Ordered by mean final training loss: "
            + " ".join(chain)
            + " ($\\approx$: within the spread; $<$: lower by more than the spread; each sign compares "
            "neighbours). "
        )
        # the chain suggests "<" between two optimizers with a "<" between them and "within the spread"
        # otherwise; the pairs where the test itself says something else:
        odd = {True: [], False: []}
        for i, a in enumerate(order):
            for j in range(i + 2, len(order)):
                b = order[j]
                implied = any(differs(x, y) for x, y in zip(order[i:j], order[i + 1 : j + 1]))
                if differs(a, b) != implied:
                    pair = f"{LABELS[a]} and {LABELS[b]} ({latex.pm(done[a]['final_loss'], 4)} against " + (
                        f"{latex.pm(done[b]['final_loss'], 4)})"
                    )
                    odd[differs(a, b)].append(pair)
        if odd[True] or odd[False]:
            text += "The signs do not chain: of the pairs that are not neighbours, "
            parts = []
            if odd[True]:
                parts.append("; ".join(odd[True]) + " differ by more than the spread")
            if odd[False]:
                parts.append("; ".join(odd[False]) + " are within the spread")
            text += "; while ".join(parts) + ". "
        else:
            text += "Every pair that is not a neighbour compares as the signs between them suggest. "
    return text + "\n\n" + table


def _answer(r: dict) -> str:
    b_sgd, b_mom = best(r["sweep"]["sgd"]), best(r["sweep"]["momentum"])
    q, mu, eq = r["quadratic"], r["setup"]["mu"], equal_eta(r)
    both = len(eq["same"]) + len(eq["momentum lower"]) + len(eq["sgd lower"])
    if both and 2 * len(eq["same"]) >= both:
        text = (
            "At one learning rate $\\alpha$, momentum trains faster because its steps are "
            f"$1/(1-\\mu)={1 / (1 - mu):.0f}$ times larger: at equal effective rate the MLP reaches the same loss "
            f"within the spread at {len(eq['same'])} of {both} rates (Table~\\ref{{tab:optimizers-sweep}}). "
        )
    else:
        text = (
            "The step size does not account for the whole difference: at equal effective rate the MLP reaches "
            f"the same loss within the spread at only {len(eq['same'])} of {both} rates "
            "(Table~\\ref{tab:optimizers-sweep}). "
        )
    if b_sgd and b_mom:
        pair = (
            f"({latex.pm(b_mom['final_loss'], 3)} for momentum, {latex.pm(b_sgd['final_loss'], 3)} for SGD)"
        )
        if latex.differ(b_mom["final_loss"], b_sgd["final_loss"]):
            who = "momentum" if np.mean(b_mom["final_loss"]) < np.mean(b_sgd["final_loss"]) else "SGD"
            text += f"Each tuned to its best rate, {who} reaches the lower loss {pair}. "
        else:
            text += f"Each tuned to its best rate, the two reach the same loss within the spread {pair}. "
    top_s, top_m = _stable_top(r, "sgd"), _stable_top(r, "momentum")
    m, s = (next(x for x in q["runs"] if x["scenario"] == "largest stable lr" and x["optimizer"] == n)
            for n in ("momentum", "sgd"))  # fmt: skip
    text += (
        "What momentum can buy is shown by the quadratic (Table~\\ref{tab:optimizers-quadratic}): a stable range "
        "$\\alpha<2(1+\\mu)/\\lambda_\\text{max}$ instead of $2/\\lambda_\\text{max}$, and in it a slow-direction "
        f"contraction of $\\sqrt\\mu$ instead of $1-\\alpha\\lambda_\\text{{min}}$ (measured ${m['rho_measured']:.4f}$ "
        f"against ${s['rho_measured']:.4f}$ at {q['below']:g} of the limits). "
    )
    if top_s is not None and top_m is not None:
        verdict, b_extra = _extra_range(r)
        if top_m <= top_s:
            text += (
                f"On the MLP the stable range of $\\eta$ ends at ${top_m:g}$ for momentum and ${top_s:g}$ for "
                "SGD: the extra stability does not carry over. "
            )
        elif verdict == "lower":
            text += (
                f"On the MLP {_stability_words(r)}, and momentum's best loss in the extra range, "
                f"{latex.pm(b_extra['final_loss'], 3)}, is below SGD's best: the extra stability carries over "
                "and pays. "
            )
        else:
            text += (
                f"On the MLP {_stability_words(r, f', against {(1 + mu) / (1 - mu):.0f} in the quadratic' + chr(39) + 's theory')}"
                ", and the extra range gives "
                + ("no lower loss" if verdict == "same" else "a higher loss")
                + (f" ({latex.pm(b_extra['final_loss'], 3)} at best)" if b_extra else "")
                + f" than SGD's best: with {_plural(r['setup']['sweep_epochs'], 'epoch')} of this MLP, the "
                "stability momentum adds does not buy a lower loss. "
            )
    return text + "\n"


def section(r: dict) -> str:
    """The report's section on optimizers (LaTeX), built from results.json `r` only."""
    setup, mu = r["setup"], r["setup"]["mu"]
    grid = sorted({e["effective_lr"] for entries in r["sweep"].values() for e in entries})
    sgd, mom = _by_eta(r, "sgd"), _by_eta(r, "momentum")
    n_seeds, epochs = len(setup["seeds"]), _plural(setup["sweep_epochs"], "epoch")
    sweep_table = latex.table(
        ["$\\eta$", "SGD $\\alpha$", "SGD final loss", "momentum $\\alpha$", "momentum final loss"],
        [[f"${eta:g}$", f"${eta:g}$" if eta in sgd else "---", _loss_cell(sgd.get(eta)),
          _num(mom[eta]["lr"]) if eta in mom else "---", _loss_cell(mom.get(eta))] for eta in grid],
        f"The sweep: final training loss (mean of the last {setup['final_percent']}\\,\\% of the steps; mean "
        f"$\\pm$ sd over {n_seeds} seeds) at each effective rate $\\eta$; momentum's $\\alpha=(1-\\mu)\\eta$. "
        "``diverged ($k$/$n$)'': $k$ of the $n$ seeds diverged; ``not run'': above the rate where every seed "
        "had diverged.",
        "optimizers-sweep",
    )  # fmt: skip
    unbounded = [
        LABELS[n] for n, entries in r["sweep"].items() if not all(s != "ok" for s in entries[-1]["status"])
    ]
    extent = (
        "extended upward until every seed diverged"
        if not unbounded
        else f"extended upward until every seed diverged, except for {_words(unbounded)}, whose extension "
        "stopped at its limit first"
    )
    hidden = "--".join(str(h) for h in setup["hidden"])
    return (
        "\\section{Optimizers: SGD and momentum}\\label{sec:exp-optimizers}\n"
        "\\paragraph{Question.} Does SGD with momentum train faster than plain SGD, and why? The velocity "
        "$v\\leftarrow\\mu v-\\alpha g$ of the assignment (eq.~\\ref{eq:momentum} in Appendix~\\ref{sec:optim}) sums "
        "past steps with weights $\\mu^k$; along a steady gradient the step tends to $\\alpha g/(1-\\mu)$. "
        "Momentum with learning rate $\\alpha$ therefore moves like SGD with the \\emph{effective learning rate} "
        f"$\\eta=\\alpha/(1-\\mu)$, here $1/(1-\\mu)={1 / (1 - mu):.0f}$ times larger ($\\mu={mu:g}$; for SGD "
        "$\\eta=\\alpha$). Compared at the same $\\alpha$, momentum mostly takes larger steps; so the two are "
        "compared here at equal $\\eta$, each at its own best rate, and on a quadratic where the theory is exact.\n\n"
        f"\\paragraph{{Setup.}} The MLP 784--{hidden}--10 (ReLU, He initialisation, no dropout, no weight decay), "
        f"softmax cross-entropy, batch {setup['batch_size']}, a constant learning rate (no warm-up, no schedule), "
        f"{epochs} of {setup['steps_per_epoch']} steps on the first {setup['train_images']} images of the shuffled "
        f"training split (validation: {setup['validation_images']} images), once per seed "
        f"({', '.join(str(s) for s in setup['seeds'])}): the seed draws the initial weights and the batch order; "
        "the images are the same. The \\emph{final loss} is the mean batch loss over the last "
        f"{setup['final_percent']}\\,\\% of the steps. A run \\emph{{diverged}} if its loss or parameters became "
        "NaN or Inf (\\texttt{fnn.train.DivergedError}) or its final loss is no better than a uniform guess, "
        f"$\\ln {setup['classes']}={setup['chance_loss']:.2f}$; a rate counts as diverged if any seed did. The "
        "best rate is the one of lowest mean final loss where no seed diverged. Two results differ when their "
        "means differ by more than the sum of their standard deviations; otherwise they are ``within the "
        "spread''.\n\n"
        "\\subsection{Learning-rate sweep}\\label{sec:exp-optimizers-sweep}\n"
        f"Both optimizers ran at the same effective rates, a 1-2-5 grid from ${grid[0]:g}$ to ${grid[-1]:g}$ "
        f"{extent} (Figure~\\ref{{fig:optimizers-lr-sweep}}, Table~\\ref{{tab:optimizers-sweep}}). Against "
        f"$\\alpha$ (left panel) momentum's curve sits {1 / (1 - mu):.0f} times to the left of SGD's; the right "
        "panel puts them on the same axis, $\\eta$.\n\n"
        + _sweep_text(r)
        + latex.figure(
            "optimizers",
            "lr_sweep.png",
            f"Final training loss after {epochs} against the learning rate $\\alpha$ (left) and the effective "
            "rate $\\eta=\\alpha/(1-\\mu)$ (right): mean $\\pm$ sd over seeds; crosses at the top: diverged, "
            "with the number of seeds that diverged; stars: the best rates. Dotted: $\\ln 10$, a uniform guess.",
            width=1.0,
        )
        + sweep_table
        + "\\subsection{An ill-conditioned quadratic}\\label{sec:exp-optimizers-quadratic}\n"
        + _quadratic_text(r)
        + latex.figure(
            "optimizers",
            "quadratic.png",
            "fnn's SGD (solid, circles) and momentum (dashed, squares) on the quadratic from the same start "
            f"(star): at the same $\\alpha$, at the same effective rate, and at {r['quadratic']['below']:g} times "
            f"each one's stability limit (the first {r['quadratic']['drawn_steps']} steps). Bottom right: $f$ per "
            "iteration (log axis), colour by case, line style by optimizer"
            + (
                "; SGD runs at the same $\\alpha$ in the first two cases, so its two curves coincide."
                if r["quadratic"]["runs"][0]["lr"] == r["quadratic"]["runs"][2]["lr"]
                else "."
            ),
            width=1.0,
        )
        + "\\subsection{Five optimizers}\\label{sec:exp-optimizers-five}\n"
        + _compare_text(r)
        + latex.figure(
            "optimizers",
            "loss.png",
            f"Training loss per batch, moving average over {setup['smooth']} steps: mean (line) $\\pm$ sd "
            f"(band) over {n_seeds} seeds, against epochs.",
        )
        + "\\subsection{Answer}\\label{sec:exp-optimizers-answer}\n"
        + _answer(r)
    )


def main(argv=None) -> Path:
    return common.main("optimizers", Config, run, plot, QUICK, argv, __doc__)


if __name__ == "__main__":
    main()
