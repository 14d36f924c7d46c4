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

No constant rate is the best gradient descent can do in T steps, though: with step sizes α_1 … α_T the error
becomes p(H)e₀ with p(λ) = Π_t (1 − α_t λ), any polynomial of degree T with p(0) = 1, and the one that leaves the
least loss is the conjugate-gradient polynomial, whose roots are the Ritz values θ_j of T Lanczos steps from the
first gradient (Richardson's method with optimal steps, Young 1953). Its step sizes 1/θ_j -- many far above the
course's limit 2/L: a step of 1/μ blows the stiff directions up by (L/μ − 1) for one step, and the steps before and
after shrink them back -- reach the minimum in as many steps as H has distinct eigenvalues (the bowl: 2).
In floating point that is only half true: each step magnifies what rounding left in the other directions, by
(L/μ)^(d−1) over a whole cycle of an ill-conditioned H -- and rounding differs from one CPU's kernels to the next,
so a cycle that holds on one machine can blow up on another. :func:`best_step_sizes` therefore repeats a short
cycle -- the k Ritz values of k Lanczos steps, the k that leaves the least loss when every gradient carries an
error ``MARGIN`` × L‖x‖, a million times float64's rounding -- in an order that keeps those errors in check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal
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


MAX_CYCLE = 64              # the longest cycle of step sizes considered
# The gradient errors a recommended cycle must survive: δ·L·‖x‖ every step with δ = 1e-10 -- a relative error of
# 1e-10 in the Hessian-vector product that a quadratic's gradient is, 10⁶× float64's rounding (kernels of other
# CPUs differ by d·ε at most). Cycles scored at float64's own rounding blew up at δ = 1e-14 (50-d, condition 1e4:
# 17 → 1.8e26); scored at δ they hold at δ and leave 66 (docs/finder.md, "Step sizes with a margin").
MARGIN = 1e-10


class GradientErrors(Objective):
    """``objective`` whose every gradient is off by ``size`` · ``curvature`` · ‖x‖ in a random direction (seeded):
    what a gradient computed with relative error ``size`` in its Hessian-vector product may be off by. The runs
    that confirm step sizes are run on it, so that they confirm the margin and not one CPU's rounding."""

    def __init__(self, objective: Objective, curvature: float, size: float = MARGIN, seed: int = 0):
        self.objective, self.scale = objective, float(size) * float(curvature)
        self.name, self.x0, self.variables = objective.name, objective.x0, objective.variables
        self.minimum, self.minimizer, self.n_samples = objective.minimum, objective.minimizer, objective.n_samples
        self._rng = np.random.default_rng(seed)

    def value_and_grad(self, params, rows=None):
        f, g = self.objective.value_and_grad(params, rows)
        z = self._rng.standard_normal(g.shape)
        with np.errstate(all="ignore"):
            z *= self.scale * np.linalg.norm(params, axis=1, keepdims=True) / np.linalg.norm(z, axis=1, keepdims=True)
        return f, g + z

    def value(self, params, rows=None):
        return self.objective.value(params, rows)

    def constant_hessian(self):
        return self.objective.constant_hessian()

    def hessian(self, point):
        return self.objective.hessian(point)


def clearly_lower(loss: float, than: float, floor: float, start: float | None = None) -> bool:
    """Whether ``loss`` leaves at most half of what ``than`` leaves above ``floor`` (the minimum) -- and, given the
    ``start``'s loss, the two have not both converged to rounding: what step sizes must do to be recommended."""
    if not (np.isfinite(loss) and np.isfinite(than)) or not loss - floor < 0.5 * (than - floor):
        return False
    return start is None or than - loss > TIE * (start - floor)


@dataclass(frozen=True)
class StepSizes:
    """The best step sizes found for gradient descent's budget: ``rates`` (one per step: a cycle of ``cycle``
    step sizes, repeated) and ``loss`` the loss they reach with errors of ``MARGIN`` (a model of it: see
    :func:`best_step_sizes`); ``floor`` the least loss reachable from the start (the minimum); ``curvature`` the
    largest (L), to which the errors are scaled (:class:`GradientErrors`)."""

    rates: np.ndarray
    loss: float
    cycle: int
    floor: float
    curvature: float


def best_step_sizes(objective: Objective, optimizer: Optimizer, steps: int, constant: QuadraticPick,
                    ) -> StepSizes | None:
    """Step sizes that leave less loss after ``steps`` steps of gradient descent on a quadratic than the best
    constant rate ``constant`` (None: another optimizer, or no clear gain -- they must leave at most half of
    what the constant rate leaves above the minimum, and not both have converged to rounding).

    Lanczos from the first gradient in H's eigenbasis (H = diag(λ): each product is d multiplications, with full
    reorthogonalization), up to ``MAX_CYCLE`` steps; for each k the Ritz values θ_j of its first k steps are the
    roots of the best degree-k polynomial (conjugate gradients), and the cycle 1/θ_1 … 1/θ_k in Leja order (each
    next root the farthest, in product of distances, from those taken -- the largest first) is repeated for the
    budget. Each k is scored by running it on the eigen-errors with an error added at every step (``MARGIN``
    · (‖x‖ + α L‖x‖) in random directions, far above any CPU's rounding): a cycle that would magnify such errors (a
    polynomial above 1 anywhere on the spectrum, or a long cycle on an ill-conditioned H) scores badly, and the k
    with the least loss wins."""
    if optimizer.kind != "gd" or any(np.size(v) != 1 for v in optimizer.hyperparams.values()):
        return None
    lam, e0, floor = _errors(objective)
    start = floor + 0.5 * float(np.sum(lam * e0 ** 2))
    x_star = float(np.linalg.norm(objective.x0 - _minimizer_offset(objective, lam, e0)))
    best = best_cycle(lam, e0, floor, steps, x_star)
    return best if best is not None and clearly_lower(best.loss, constant.loss, floor, start) else None


def best_cycle(lam: np.ndarray, e0: np.ndarray, floor: float, steps: int, x_size: float,
               check=None) -> StepSizes | None:
    """The cycle of step sizes that leaves the least loss after ``steps`` steps on the quadratic with eigenvalues
    ``lam``, start error ``e0`` (in its eigenbasis) and minimum ``floor``, errors of ``MARGIN`` counted
    (``x_size``: the size of the parameters, to which they are relative); see :func:`best_step_sizes`. None
    without curvature. ``check()`` is called before each cycle length is scored (what it raises stops it)."""
    L = float(lam.max()) if lam.size else 0.0
    grad = lam * e0
    keep = (lam > 1e-12 * L) & (np.abs(grad) > 1e-14 * np.max(np.abs(grad), initial=0.0))
    if not L > 0 or not np.any(keep):
        return None
    alphas, betas, _ = _lanczos(lambda q: lam[keep] * q, grad[keep], min(steps, int(keep.sum()), MAX_CYCLE), L)
    best = None
    for k in range(1, alphas.size + 1):
        if check is not None:
            check()
        theta = eigh_tridiagonal(alphas[:k], betas[:k - 1], eigvals_only=True) if k > 1 else alphas[:1]
        cycle = 1.0 / _leja(np.clip(theta, lam[keep].min(), L))
        rates = np.resize(cycle, steps)
        loss = _loss_with_rounding(lam, e0, floor, rates, x_size)
        if best is None or loss < best.loss:
            best = StepSizes(rates, loss, k, floor, L)
    return best


def _minimizer_offset(objective: Objective, lam: np.ndarray, e0: np.ndarray) -> np.ndarray:
    """x₀ − x*, in the parameters' own coordinates (for the size of x*: rounding is relative to it)."""
    H = objective.constant_hessian()
    _, Q = np.linalg.eigh(0.5 * (H + H.T))
    return Q @ e0


def _loss_with_rounding(lam, e0, floor, rates, x_star: float) -> float:
    """The loss after the ``rates``' steps on the eigen-errors, each step adding the errors a cycle must survive:
    ``MARGIN``·(‖x‖ + α L‖x‖) spread over random directions (the same directions for every schedule scored)."""
    e = e0.copy()
    L = float(lam.max())
    rng = np.random.default_rng(0)
    scale = MARGIN / np.sqrt(lam.size)
    with np.errstate(all="ignore"):
        for a in rates:
            size = x_star + float(np.linalg.norm(e))
            e = e * (1.0 - a * lam) + scale * size * (1.0 + a * L) * rng.standard_normal(lam.size)
        loss = floor + 0.5 * float(np.sum(lam * e * e))
    return loss if np.isfinite(loss) else np.inf


def _lanczos(matvec, start: np.ndarray, k: int, scale: float | None = None):
    """The tridiagonal matrix (diagonal, off-diagonal) of up to ``k`` Lanczos steps with the symmetric operator
    ``matvec`` from ``start`` (fewer when the Krylov space is exhausted first: a new direction below 1e-10 ×
    ``scale``, the operator's size -- by default the size of its first product); the Lanczos vectors are the
    third result."""
    Q = np.zeros((k, start.size))
    q = start / np.linalg.norm(start)
    alphas, betas = [], []
    for j in range(k):
        Q[j] = q
        v = np.asarray(matvec(q), dtype=np.float64)
        if scale is None:
            scale = float(np.linalg.norm(v))
        a = float(q @ v)
        v = v - Q[:j + 1].T @ (Q[:j + 1] @ v)          # full reorthogonalization, twice (enough in floating point)
        v = v - Q[:j + 1].T @ (Q[:j + 1] @ v)
        alphas.append(a)
        b = float(np.linalg.norm(v))
        if j == k - 1 or not b > 1e-10 * scale:
            break
        betas.append(b)
        q = v / b
    return np.array(alphas), np.array(betas), Q[:len(alphas)]


def _leja(points: np.ndarray) -> np.ndarray:
    """``points`` in Leja order: the largest first, then each next maximizing the product of its distances to those
    taken (in logs)."""
    left = list(np.sort(points)[::-1])
    order = [left.pop(0)]
    logs = np.log(np.abs(np.array(left) - order[0]) + 1e-300)
    while left:
        i = int(np.argmax(logs))
        order.append(left.pop(i))
        logs = np.delete(logs, i)
        if left:
            logs = logs + np.log(np.abs(np.array(left) - order[-1]) + 1e-300)
    return np.array(order)
