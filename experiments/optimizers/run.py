"""The numbers of experiments.optimizers (its code hash covers this file and its imports).

1. Learning-rate sweep: the MLP 784-256-10 (ReLU, He initialisation, no dropout, no weight
   decay, constant lr, batch `batch_size`, `sweep_epochs` epochs on the first `train_size`
   images of the shuffled training split of `data_seed`, once per seed in `seeds`: the seed
   draws the initial weights and the batch order). SGD and momentum (mu `mu`) run at the same
   effective learning rates eta = lr / (1 - mu) (SGD: eta = lr), a 1-2-5 grid (`sweep`)
   extended upward until every seed diverges and downward while the best rate is the lowest,
   at most `sweep_extend` points each way. Diverged: the loss or the parameters became NaN/Inf
   (`fnn.train.DivergedError`) or the final loss is no better than a uniform guess (ln 10).
   The final loss is the mean batch loss over the last FINAL_PERCENT % of the steps.
2. A 2-D quadratic f(w) = w^T A w / 2 with eigenvalues lambda_max = 1 and lambda_min =
   1 / `kappa`, rotated by `angle` degrees: fnn's `optim.sgd` and `optim.momentum` (float64)
   from the same start, at the same lr, at the same effective lr, at 0.95 of each one's
   stability limit (SGD: lr < 2 / lambda_max, momentum: lr < 2 (1 + mu) / lambda_max) and at
   1.05 of it; the measured per-step contraction of |w| (f ~ rho^(2t)) beside the spectral
   radius of the linear iteration.
3. All five optimizers (SGD and momentum at their best sweep rate, Nesterov at momentum's,
   RMSProp and Adam at `lr_rmsprop`, `lr_adam`, not tuned), `compare_epochs` epochs, same seeds.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from fnn import models, optim
from fnn.train import DivergedError

NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
SCENARIOS = ("same lr", "same effective lr", "largest stable lr", "above the limit")
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


def ok(entry) -> bool:
    """No seed of this sweep entry diverged."""
    return all(s == "ok" for s in entry["status"])


def best(entries: list[dict]) -> dict | None:
    """The sweep entry of lowest mean final loss among those where no seed diverged."""
    stable = [e for e in entries if ok(e)]
    return min(stable, key=lambda e: np.mean(e["final_loss"])) if stable else None


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
