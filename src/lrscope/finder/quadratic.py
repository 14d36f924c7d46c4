"""The best constant learning rate for a finite budget, where theory knows the answer: quadratic losses.

On a loss with a constant Hessian H (quadratics, least squares on full batches) gradient descent, momentum in either
form and Nesterov are linear: in H's eigenbasis every direction i moves on its own, its error e_i shrinking (or
growing) by its own factor per step -- for gradient descent exactly (1 − αλ_i)^T after T steps. The loss after the
budget's T steps is then a known function of α,

    f_T(α) = f* + ½ Σ_i λ_i e_i(T; α)²,

which lrscope minimizes directly: each candidate α costs T updates of d numbers, not T training steps of the model.
The asymptotic optimum 2/(L+μ) is the best rate only for T → ∞: with a finite budget the stiff direction's factor
|1 − αL| at 2/(L+μ) is close to 1 and the best α sits nearer the edge 2/L (an ill-conditioned bowl with 400 steps:
0.99 × 2/L). The error directions are run through the optimizer's own ``update``, so momentum and Nesterov (each
with its own stability limit) are exact too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from .. import theory
from ..objectives.base import Objective
from ..optim import Optimizer

LINEAR_KINDS = ("gd", "ema_momentum", "heavy_ball", "nesterov")
GRID = 240                  # log-spaced rates scanned before the fine search
BELOW = 1e-4                # the scan starts this far below the stability limit
TIE = 1e-9                  # losses this close (a share of the loss range) are equal: rounding, not a difference


@dataclass(frozen=True)
class QuadraticPick:
    """The finite-budget optimum: ``lr`` and the loss ``loss`` it reaches after ``steps`` steps; ``interval`` the
    rates that leave at most 1.5× as much loss above the floor; ``limit`` the optimizer's stability limit;
    ``asymptotic`` gradient descent's 2/(L+μ) (None for momentum) and the loss it would reach in the same steps."""

    lr: float
    loss: float
    steps: int
    interval: tuple
    limit: float
    asymptotic: float | None
    asymptotic_loss: float | None


def _errors(objective: Objective):
    """H's eigenvalues, the start's error in its eigenbasis (0 along flat directions: the gradient never moves
    them) and the lowest loss reachable from the start, f* = f(x₀) − ½ Σ λ_i e_i²."""
    H = objective.constant_hessian()
    lam, Q = np.linalg.eigh(0.5 * (H + H.T))
    with np.errstate(all="ignore"):
        f0, g0 = objective.value_and_grad(objective.x0[None])
    coords = Q.T @ g0[0]
    tiny = 1e-12 * max(float(np.max(np.abs(lam))), 1e-300)
    e0 = np.where(lam > tiny, coords / np.where(lam > tiny, lam, 1.0), 0.0)
    return lam, e0, float(f0[0]) - 0.5 * float(np.sum(lam * e0 ** 2))


def loss_after(optimizer: Optimizer, lam: np.ndarray, e0: np.ndarray, floor: float, lrs, steps: int) -> np.ndarray:
    """f_T(α) for every α in ``lrs``: the optimizer's own update run on the eigen-errors (gradient λ_i e_i)."""
    lrs = np.asarray(lrs, dtype=np.float64)
    e = np.broadcast_to(e0, (lrs.size, e0.size)).copy()
    state = optimizer.init(e)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            step, state = optimizer.update(lam * e, state, e, lrs)
            e = e + step
        out = floor + 0.5 * np.sum(lam * e * e, axis=1)
    return np.where(np.isfinite(out), out, np.inf)


def quadratic_pick(objective: Objective, optimizer: Optimizer, steps: int) -> QuadraticPick | None:
    """The constant α that minimizes the loss after ``steps`` full-batch steps, or None where theory does not know
    it (no constant Hessian, an adaptive optimizer, weight decay, a swept hyperparameter, no positive curvature)."""
    if objective.constant_hessian() is None or optimizer.kind not in LINEAR_KINDS:
        return None
    if any(np.size(v) != 1 for v in optimizer.hyperparams.values()) or \
            np.any(np.asarray(optimizer.hyperparams.get("weight_decay", 0.0)) != 0):
        return None
    lam, e0, floor = _errors(objective)
    L = float(lam.max())
    if not L > 0:
        return None
    hp = optimizer.hyperparams
    limit = theory.stability_limit(optimizer.kind, L, hp.get("beta", 0.0), hp.get("dampening", 0.0))
    limit = float(np.ravel(limit)[0])
    grid = np.geomspace(BELOW * limit, limit, GRID)
    losses = loss_after(optimizer, lam, e0, floor, grid, steps)
    best, start = float(np.min(losses)), floor + 0.5 * float(np.sum(lam * e0 ** 2))
    rounding = TIE * max(start - floor, 1e-300)
    ties = np.flatnonzero(losses <= best + rounding)
    if ties.size > 1 and best - floor <= rounding:
        # converged to rounding over a whole range of α: the middle of that range (the furthest from its edges)
        k = int(ties[ties.size // 2])
    else:
        k = int(np.argmin(losses))
    lo, hi = np.log(grid[max(k - 1, 0)]), np.log(grid[min(k + 1, GRID - 1)])
    fine = minimize_scalar(lambda u: float(loss_after(optimizer, lam, e0, floor, [np.exp(u)], steps)[0]),
                           bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    lr, loss = (float(np.exp(fine.x)), float(fine.fun)) if fine.fun < losses[k] else (float(grid[k]), float(losses[k]))
    # almost as good: what is left above the floor at most 1.5× the pick's (or lost in rounding)
    good = grid[losses - floor <= max(1.5 * (loss - floor), rounding)]
    interval = (float(min(good.min(), lr)), float(max(good.max(), lr))) if good.size else (lr, lr)
    mu = float(max(lam.min(), 0.0))
    asymptotic = 2.0 / (L + mu) if optimizer.kind == "gd" and mu > 0 else None
    asymptotic_loss = None if asymptotic is None else float(loss_after(optimizer, lam, e0, floor, [asymptotic],
                                                                        steps)[0])
    return QuadraticPick(lr, loss, steps, interval, limit, asymptotic, asymptotic_loss)
