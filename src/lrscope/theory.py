"""What theory says about the learning rate: L, μ, the stable range (0, 2/L), the optimal step 2/(L+μ), predicted rates.

For gradient descent on a quadratic with Hessian eigenvalues in [μ, L], the error is multiplied each step by at most
ρ(α) = max|1 − αλ| = max(|1 − αμ|, |1 − αL|), so GD converges iff 0 < α < 2/L, and ρ is smallest, (κ−1)/(κ+1)
with κ = L/μ, at α* = 2/(L+μ). L and μ are exact for quadratics and least squares (a constant Hessian); elsewhere they
are the extreme eigenvalues of the Hessian at a point (the start, or the worst point along a path), found exactly
from a known Hessian when the dimension is small, and by Lanczos iteration on Hessian-vector products otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from .jsonable import number
from .objectives.base import Objective, as_point

DENSE_LIMIT = 400          # dimensions up to which a Hessian is built and decomposed exactly


@dataclass(frozen=True)
class Analysis:
    """Curvature of an objective and what it implies for a constant learning rate.

    ``L`` (largest Hessian eigenvalue) and ``mu`` (smallest); ``exact`` says whether they hold globally (constant
    Hessian) rather than at ``where``; ``stable_below`` = 2/L; ``optimal`` = 2/(L+μ) when μ > 0, else 1/L.
    """

    L: float
    mu: float
    exact: bool
    where: str
    method: str

    @property
    def has_bound(self) -> bool:
        """Whether curvature bounds the learning rate here: L > 0 (a concave or flat loss has no such bound)."""
        return self.L > 0

    @property
    def stable_below(self) -> float:
        return 2.0 / self.L if self.L > 0 else np.inf

    @property
    def strongly_convex(self) -> bool:
        return self.mu > 1e-12 * max(abs(self.L), 1e-300)

    @property
    def optimal(self) -> float:
        if self.L <= 0:
            return np.inf
        return 2.0 / (self.L + self.mu) if self.strongly_convex else 1.0 / self.L

    @property
    def condition(self) -> float:
        return self.L / self.mu if self.strongly_convex else np.inf

    def contraction(self, lr) -> np.ndarray:
        """Predicted factor by which GD shrinks the distance to the minimum per step: max(|1−αμ|, |1−αL|)."""
        a = np.asarray(lr, dtype=np.float64)
        mu = max(self.mu, 0.0)
        with np.errstate(over="ignore"):            # a rate near float64's largest: a factor of inf, and rightly so
            return np.maximum(np.abs(1.0 - a * mu), np.abs(1.0 - a * self.L))

    def predicted_steps(self, lr, tol: float = 1e-6) -> np.ndarray:
        """Steps for GD to shrink the error by ``tol`` (log tol / log ρ); inf where ρ ≥ 1."""
        rho = self.contraction(lr)
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.where(rho < 1, np.ceil(np.log(tol) / np.log(np.where(rho > 0, rho, 1e-300))), np.inf)
        return np.where(rho == 0, 1.0, steps)

    def stability_limit(self, optimizer=None) -> float | np.ndarray | None:
        """Largest stable constant α on a quadratic with this L for ``optimizer`` (default: gradient descent), one per
        configuration where its β differs; None where no such bound exists (adaptive methods, L ≤ 0)."""
        return optimizer_limit(optimizer, self.L)

    def explain(self, optimizer=None) -> str:
        """What the curvature says about the learning rate of ``optimizer`` (default gradient descent), in a
        sentence: its own stability bound, or, for the adaptive methods, why none applies."""
        kind = "gd" if optimizer is None else optimizer.kind
        if kind == "adaptive":
            return (f"{optimizer.name.split('[')[0]} rescales each coordinate's step by its gradient history, so no "
                    f"curvature bound applies: each step moves a coordinate by about α, whatever L is; choose α as a "
                    f"step size (Adam: try 1e-3 first)")
        if not self.has_bound:
            return "no positive curvature here (L ≤ 0): curvature gives no bound on α"
        limit = np.ravel(self.stability_limit(optimizer))
        value = f"{limit[0]:.4g}" if np.all(limit == limit[0]) else f"{limit.min():.4g} to {limit.max():.4g}"
        names = {"gd": "gradient descent", "ema_momentum": "momentum (the course's EMA form)",
                 "heavy_ball": "heavy-ball momentum", "nesterov": "Nesterov momentum"}
        text = f"{names[kind]} is stable for α < {bound_name(kind)} = {value}"
        if kind == "gd":
            text += f"; the best constant α is {'2/(L+μ)' if self.strongly_convex else '1/L'} = {self.optimal:.4g}"
        return text

    def position(self, lr) -> str:
        """Where α sits for gradient descent: 'unstable (α ≥ 2/L)', 'stable, above optimal', 'near optimal' (within
        10% of it) or 'stable, below optimal'."""
        a = float(lr)
        if not self.L > 0:
            return "no curvature bound (L ≤ 0 here)"
        if a >= self.stable_below:
            return "unstable (α ≥ 2/L)"
        if abs(a - self.optimal) <= 0.1 * self.optimal:
            return "near optimal"
        return "stable, above optimal" if a > self.optimal else "stable, below optimal"

    def summary(self) -> str:
        kind = "exact" if self.exact else f"at {self.where}"
        head = f"L = {self.L:.6g}, mu = {self.mu:.6g} ({kind})"
        if self.L <= 0:
            return head + "; no positive curvature here (concave): curvature gives no bound on α"
        if self.strongly_convex:
            return (f"{head}; stable for 0 < α < 2/L = {self.stable_below:.6g}; optimal constant α = 2/(L+mu) = "
                    f"{self.optimal:.6g}; condition number {self.condition:.4g}")
        shape = "not convex here" if self.mu < 0 else "not strongly convex"
        return (f"{head}, {shape}; stable for 0 < α < 2/L = {self.stable_below:.6g}; a safe constant α is 1/L = "
                f"{self.optimal:.6g}")

    def __repr__(self) -> str:
        return (f"Analysis(L={self.L:.6g}, mu={self.mu:.6g}, stable_below={self.stable_below:.6g}, "
                f"optimal={self.optimal:.6g}, condition={self.condition:.4g}, exact={self.exact})")

    def _repr_html_(self) -> str:
        """In Jupyter: L, μ, 2/L, the optimal α and the condition number as a table, and the summary line."""
        from .notebook import analysis_html
        rows = [("L (largest Hessian eigenvalue)", f"{self.L:.6g}"), ("μ (smallest)", f"{self.mu:.6g}"),
                ("stable for 0 < α <", f"{self.stable_below:.6g}"), ("optimal constant α", f"{self.optimal:.6g}"),
                ("condition number", f"{self.condition:.6g}"), ("where", self.where + (" (exact)" if self.exact
                                                                                      else ""))]
        return analysis_html(rows, self.summary(), "curvature and the learning rate")

    def to_dict(self) -> dict:
        """Plain values for JSON; an infinite quantity (no bound, condition of a flat direction) is None."""
        return {"L": self.L, "mu": self.mu, "exact": self.exact, "where": self.where, "method": self.method,
                "stable_below": number(self.stable_below), "optimal": number(self.optimal),
                "condition": number(self.condition), "summary": self.summary()}


BOUND_NAMES = {"gd": "2/L", "ema_momentum": "2(1+β)/((1-β)L)", "heavy_ball": "2(1+β)/((1-τ)L)",
               "nesterov": "2(1+β)/((1+2β)L)"}


def optimizer_limit(optimizer, L: float):
    """:func:`stability_limit` for an lrscope ``optimizer`` (None: gradient descent) -- its kind, β and dampening."""
    if optimizer is None:
        return stability_limit("gd", L)
    hp = optimizer.hyperparams
    return stability_limit(optimizer.kind, L, hp.get("beta", 0.0), hp.get("dampening", 0.0))


def stability_limit(kind: str, L: float, beta=0.0, dampening=0.0):
    """The largest stable constant α on a quadratic whose largest curvature is ``L`` -- the one formula, for every
    optimizer kind (core and torch alike):

    - gradient descent (``gd``): α < 2/L;
    - heavy ball (torch's SGD momentum, b ← βb + (1−τ)g): α < 2(1+β)/((1−τ)L); the course's EMA form
      (``ema_momentum``, v ← βv + (1−β)g) is τ = β;
    - Nesterov: α < 2(1+β)/((1+2β)L);
    - adaptive methods (Adam, RMSProp, AdaGrad) rescale each step: no such bound (None). None also where L ≤ 0.

    ``beta`` and ``dampening`` may be arrays (one per configuration); the result then is one too.
    """
    if not L > 0 or kind not in BOUND_NAMES:
        return None
    beta = np.asarray(beta, dtype=np.float64)
    if kind == "gd":
        limit = 2.0 / L + 0.0 * beta
    elif kind == "nesterov":
        limit = 2.0 * (1.0 + beta) / ((1.0 + 2.0 * beta) * L)
    else:
        keep = 1.0 - (beta if kind == "ema_momentum" else np.asarray(dampening, dtype=np.float64))
        with np.errstate(divide="ignore"):
            limit = 2.0 * (1.0 + beta) / (keep * L)
    if np.ndim(limit):
        return limit
    return float(limit) if np.isfinite(limit) else None


def error_factor(kind: str, lr, mu: float, L: float, beta=0.0, dampening=0.0) -> np.ndarray:
    """The factor by which ``kind``'s error shrinks (or grows) per step on a quadratic whose curvatures lie in
    [μ, L], for each α in ``lr`` (β, dampening: one value or one per α): the spectral radius of one step's
    iteration matrix at the worst curvature -- |1 − αλ| for gradient descent; for heavy ball (b ← βb + (1−τ)g,
    x ← x − αb) the matrix [[1 − α(1−τ)λ, −αβ], [(1−τ)λ, β]] (the course's EMA form: τ = β); for Nesterov (torch's
    form) [[1 − αλ(1+β), −αβ²], [λ, β]]. Below 1 the error shrinks. NaN for adaptive methods (no such factor)."""
    lr = np.atleast_1d(np.asarray(lr, dtype=np.float64))
    beta = np.broadcast_to(np.asarray(beta, dtype=np.float64), lr.shape)
    tau = beta if kind == "ema_momentum" else np.broadcast_to(np.asarray(dampening, dtype=np.float64), lr.shape)
    if kind not in BOUND_NAMES or not L > 0:
        return np.full(lr.shape, np.nan)
    low = max(mu, 0.0)
    lam = np.unique(np.r_[low, np.geomspace(max(low, 1e-9 * L), L, 64), L])
    a, lam = lr[:, None], lam[None, :]
    b, t = beta[:, None], tau[:, None]
    if kind == "gd":
        return np.max(np.abs(1.0 - a * lam), axis=1)
    if kind == "nesterov":
        m11, m12, m21, m22 = 1.0 - a * lam * (1.0 + b), -a * b * b, lam + 0.0 * a, b + 0.0 * lam
    else:
        m11, m12, m21, m22 = 1.0 - a * (1.0 - t) * lam, -a * b + 0.0 * lam, (1.0 - t) * lam + 0.0 * a, b + 0.0 * lam
    trace, det = m11 + m22, m11 * m22 - m12 * m21
    disc = trace * trace - 4.0 * det
    root = np.sqrt(np.abs(disc))
    radius = np.where(disc >= 0, np.maximum(np.abs(trace + root), np.abs(trace - root)) / 2.0,
                      np.sqrt(np.abs(det)))
    return np.max(radius, axis=1)


def bound_name(kind: str) -> str:
    """How the advice writes the stability bound of an optimizer kind (e.g. '2/L')."""
    return BOUND_NAMES.get(kind, "2/L")


def _dense_extremes(H: np.ndarray) -> tuple[float, float]:
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    return float(eig[-1]), _zeroed(float(eig[0]), float(eig[-1]))


def _zeroed(mu: float, L: float) -> float:
    """μ within rounding of zero (a flat direction, as softmax regression has) is zero, not 'negative'."""
    return 0.0 if abs(mu) <= 1e-10 * max(abs(L), 1e-300) else mu


class OutOfTime(RuntimeError):
    """The curvature analysis used up its time budget (``seconds`` of this thread's CPU time) and gave up."""


def _deadline(seconds: float | None) -> float | None:
    """When a budget of ``seconds`` ends, on this thread's CPU clock: the same answer on a busy machine, and time
    spent paused (a server giving another request its turn) does not count."""
    return None if seconds is None else time.thread_time() + seconds


def _hvp_within(objective: Objective, point: np.ndarray, deadline: float | None, check=None):
    """Hessian-vector products at ``point`` that stop the analysis (OutOfTime) once ``deadline`` has passed;
    ``check()`` is called before each."""
    def hvp(v):
        if check is not None:
            check()
        if deadline is not None and time.thread_time() > deadline:
            raise OutOfTime("the curvature analysis ran out of its time budget and gave up")
        return objective.hvp(point, np.ravel(v))
    return hvp


def _lanczos_end(operator, which: str, tol: float, max_iter: int) -> float | None:
    """One end of a symmetric operator's spectrum by Lanczos (``"LA"`` the largest, ``"SA"`` the smallest): the best
    estimate found where it did not converge, None where there is none."""
    v0 = np.random.default_rng(0).standard_normal(operator.shape[0])
    try:
        return float(eigsh(operator, k=1, which=which, tol=tol, maxiter=max_iter, v0=v0,
                           return_eigenvectors=False)[0])
    except ArpackNoConvergence as exc:       # keep the best estimate found
        if len(exc.eigenvalues) == 0:
            return None
        return float(exc.eigenvalues[0])


def _lanczos_top(op, tol: float, max_iter: int) -> float:
    """λ_max of the operator ``op`` by Lanczos; ArpackNoConvergence where there is no estimate at all."""
    L = _lanczos_end(op, "LA", tol, max_iter)
    if L is None:
        raise ArpackNoConvergence("Lanczos found no estimate of the largest eigenvalue", [], [])
    return L


def _hessian_operator(hvp, d: int) -> LinearOperator:
    return LinearOperator((d, d), matvec=hvp, dtype=np.float64)


def _lanczos_extremes(hvp, d: int, tol: float, max_iter: int) -> tuple[float, float]:
    """λ_max and λ_min by Lanczos. The smallest end of a spectrum crowded near zero (softmax on raw digit pixels:
    hundreds of flat directions) may not converge as such; then λ_min = L − λ_max(L·I − H), whose top converges."""
    op = _hessian_operator(hvp, d)
    L = _lanczos_top(op, tol, max_iter)
    mu = _lanczos_end(op, "SA", tol, max_iter)
    if mu is None:
        shifted = LinearOperator((d, d), matvec=lambda v: L * np.ravel(v) - hvp(v), dtype=np.float64)
        gap = _lanczos_end(shifted, "LA", tol, max_iter)
        if gap is None:
            raise ArpackNoConvergence("Lanczos found no estimate of the smallest eigenvalue", [], [])
        mu = L - gap
    return L, mu


def curvature_at(objective: Objective, point, tol: float = 1e-8, max_iter: int = 300,
                 seconds: float | None = None, check=None) -> tuple[float, float, str]:
    """Largest and smallest Hessian eigenvalue at ``point`` and the method used; :class:`OutOfTime` after
    ``seconds`` of CPU time (None: no limit); ``check()`` before each Hessian-vector product."""
    point = as_point(point, objective.dim, "at")
    hvp = _hvp_within(objective, point, _deadline(seconds), check)
    if objective.dim <= DENSE_LIMIT:
        H = objective.hessian(point)
        method = "exact Hessian"
        if H is None:      # build it column by column from Hessian-vector products
            H = np.column_stack([hvp(e) for e in np.eye(objective.dim)])
            method = "Hessian from Hessian-vector products"
        if not np.all(np.isfinite(H)):
            raise ValueError("at: the Hessian is not finite at this point")
        L, mu = _dense_extremes(H)
        return L, mu, method
    L, mu = _lanczos_extremes(hvp, objective.dim, tol, max_iter)
    return L, _zeroed(mu, L), "Lanczos on Hessian-vector products"


def largest_curvature_at(objective: Objective, point, tol: float = 1e-8, max_iter: int = 300,
                         seconds: float | None = None, check=None) -> float:
    """λ_max of the Hessian at ``point`` alone -- all a stability bound needs. :func:`curvature_at` also needs λ_min,
    which on a spectrum crowded near zero may find no estimate at all (softmax on digits after 63 steps of gradient
    descent) where λ_max converges; ``seconds`` and ``check`` as there."""
    if objective.dim <= DENSE_LIMIT:       # the whole spectrum at once
        return curvature_at(objective, point, tol, max_iter, seconds, check)[0]
    point = as_point(point, objective.dim, "at")
    hvp = _hvp_within(objective, point, _deadline(seconds), check)
    return _lanczos_top(_hessian_operator(hvp, objective.dim), tol, max_iter)


def analyze(objective: Objective, at=None, path=None, tol: float = 1e-8, max_iter: int = 300,
            seconds: float | None = None, check=None) -> Analysis:
    """L, μ and the learning-rate facts they imply for ``objective``.

    Exact and global where the Hessian is constant (quadratics, least squares). Otherwise at the point ``at``
    (default: the objective's start point), or -- with ``path``, an array of points such as ``result.params[k]`` --
    the largest L and smallest μ over up to 20 points along it. ``seconds``: a budget of CPU time for the
    measurement; past it :class:`OutOfTime` (a RuntimeError) is raised. ``check()``, called before each
    Hessian-vector product, may stop it by raising (a server's cancellation, or its turn given to another request).
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective: expected an lrscope Objective, got {type(objective).__name__}")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ValueError(f"tol: expected a number in (0, 1), got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter: expected a whole number >= 1, got {max_iter!r}")
    H = objective.constant_hessian()
    if H is not None and at is None and path is None:
        L, mu = _dense_extremes(H)
        return Analysis(L, mu, True, "everywhere", "exact (constant Hessian)")
    if path is not None:
        points = np.asarray(path, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != objective.dim:
            raise ValueError(f"path: expected shape (n, {objective.dim}), got {points.shape}")
        points = points[np.all(np.isfinite(points), axis=1)]
        if points.shape[0] == 0:
            raise ValueError("path: has no finite points")
        picks = points[np.unique(np.linspace(0, points.shape[0] - 1, min(20, points.shape[0])).astype(int))]
        deadline = _deadline(seconds)
        found = [curvature_at(objective, p, tol, max_iter,
                              None if deadline is None else max(deadline - time.thread_time(), 0.0), check)
                 for p in picks]
        return Analysis(max(f[0] for f in found), min(f[1] for f in found), False,
                        f"the worst of {len(picks)} points along the path", found[0][2])
    point = objective.x0 if at is None else at
    L, mu, method = curvature_at(objective, point, tol, max_iter, seconds, check)
    where = "the start point" if at is None else "the given point"
    return Analysis(L, mu, H is not None, where, method)
