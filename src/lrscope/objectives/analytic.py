"""Built-in test functions: x², quadratic bowls of chosen conditioning, Rosenbrock, Beale, Himmelblau, a saddle.

Each has a sensible default start point. x², quadratics and Rosenbrock are written out in NumPy (they are the hot
paths of sweeps and benchmarks); Beale, Himmelblau and the saddle are formulas, so their derivatives are exact and
symbolic.
"""

from __future__ import annotations

import numpy as np

from .base import Objective, as_point
from .expression import FormulaObjective


class Quadratic(Objective):
    """f(x) = ½ xᵀAx − bᵀx with A symmetric: gradient Ax − b, Hessian A everywhere (so L and μ are exact)."""

    def __init__(self, A, b=None, x0=None, name="quadratic", variables=None):
        A = np.asarray(A, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"A: expected a square matrix, got shape {A.shape}")
        if not np.all(np.isfinite(A)) or not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
            raise ValueError("A: must be a finite symmetric matrix")
        d = A.shape[0]
        self.A = 0.5 * (A + A.T)
        self.b = np.zeros(d) if b is None else as_point(b, d, "b")
        self.name = name
        self.variables = tuple(variables) if variables else (("x", "y", "z")[:d] if d <= 3 else
                                                             tuple(f"x{i + 1}" for i in range(d)))
        self.x0 = np.full(d, 10.0) if x0 is None else as_point(x0, d, "x0")
        eig = np.linalg.eigvalsh(self.A)
        if eig[0] > 0:
            self.minimizer = np.linalg.solve(self.A, self.b)
            self.minimum = float(-0.5 * self.b @ self.minimizer)

    def value_and_grad(self, params, rows=None):
        g = params @ self.A - self.b
        value = 0.5 * np.einsum("kd,kd->k", params, g - self.b)   # ½xᵀAx − bᵀx = ½xᵀ(Ax − b) − ½bᵀx
        return value, g

    def constant_hessian(self):
        return self.A


def square(dim: int = 1, x0=None) -> Quadratic:
    """f(x) = Σ xᵢ² (the course's f(x) = x²), gradient 2x; default start x = 10 in every coordinate."""
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim: expected a positive integer, got {dim!r}")
    variables = ("x",) if dim == 1 else tuple(f"x{i + 1}" for i in range(dim))
    return Quadratic(2.0 * np.eye(dim), x0=x0, name="x^2" if dim == 1 else f"sum of x_i^2 (d={dim})",
                     variables=variables)


def quadratic(eigenvalues=None, *, condition: float | None = None, dim: int = 2, b=None, x0=None,
              rotate: bool | int = False) -> Quadratic:
    """A quadratic bowl ½xᵀAx − bᵀx whose Hessian A has the given ``eigenvalues`` (default ``(1, 10)``).

    ``condition=κ`` with ``dim`` instead spreads eigenvalues geometrically from 1 to κ. ``rotate`` (True or a seed)
    turns the axes by a random orthogonal matrix, so the valley is not aligned with the coordinates.
    """
    if eigenvalues is not None and condition is not None:
        raise ValueError("eigenvalues, condition: give one, not both")
    if condition is not None:
        if not np.isfinite(condition) or condition < 1:
            raise ValueError(f"condition: must be >= 1, got {condition!r}")
        if not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim: expected a positive integer, got {dim!r}")
        eigenvalues = np.geomspace(1.0, condition, dim)
    if eigenvalues is None:
        eigenvalues = (1.0, 10.0)
    lam = np.atleast_1d(np.asarray(eigenvalues, dtype=np.float64))
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"eigenvalues: expected a list of finite numbers, got {eigenvalues!r}")
    A = np.diag(lam)
    if rotate is not False:
        seed = 0 if rotate is True else int(rotate)
        q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((lam.size, lam.size)))
        q = q * np.sign(np.diag(r))
        A = q @ A @ q.T
    kappa = lam.max() / lam.min() if lam.min() > 0 else np.inf
    return Quadratic(A, b=b, x0=x0, name=f"quadratic (condition {kappa:.3g})")


class Rosenbrock(Objective):
    """f(x, y) = (a − x)² + b(y − x²)²: a curved, narrow valley; minimum 0 at (a, a²)."""

    variables = ("x", "y")

    def __init__(self, a: float = 1.0, b: float = 100.0, x0=(-1.2, 1.0)):
        self.a, self.b = float(a), float(b)
        self.x0 = as_point(x0, 2, "x0")
        self.name = "rosenbrock" if (a, b) == (1.0, 100.0) else f"rosenbrock(a={a:g}, b={b:g})"
        self.minimum = 0.0
        self.minimizer = np.array([self.a, self.a ** 2])

    def value_and_grad(self, params, rows=None):
        x, y = params[:, 0], params[:, 1]
        u = self.a - x
        v = y - x * x
        value = u * u + self.b * v * v
        grad = np.empty_like(params)
        grad[:, 0] = -2.0 * u - 4.0 * self.b * x * v
        grad[:, 1] = 2.0 * self.b * v
        return value, grad

    def hessian(self, point):
        x, y = np.asarray(point, dtype=np.float64)
        b = self.b
        return np.array([[2.0 - 4.0 * b * (y - x * x) + 8.0 * b * x * x, -4.0 * b * x],
                         [-4.0 * b * x, 2.0 * b]])


def rosenbrock(a: float = 1.0, b: float = 100.0, x0=(-1.2, 1.0)) -> Rosenbrock:
    """The Rosenbrock banana valley, classic start (−1.2, 1)."""
    return Rosenbrock(a, b, x0)


def beale(x0=(1.0, 1.0)) -> FormulaObjective:
    """Beale's function: flat plateaus and sharp ridges; minimum 0 at (3, 0.5)."""
    return FormulaObjective("(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2", x0=x0,
                            name="beale", minimum=0.0, minimizer=(3.0, 0.5))


def himmelblau(x0=(0.0, 0.0)) -> FormulaObjective:
    """Himmelblau's function: four minima of value 0 (one at (3, 2)); where you land depends on α."""
    return FormulaObjective("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", x0=x0, name="himmelblau", minimum=0.0,
                            minimizer=(3.0, 2.0))


def saddle(x0=(2.0, 0.01)) -> FormulaObjective:
    """f = ½x² + ¼y⁴ − ½y²: a saddle at the origin, minima −¼ at (0, ±1). Near the saddle progress is slow."""
    return FormulaObjective("x^2/2 + y^4/4 - y^2/2", x0=x0, name="saddle", minimum=-0.25, minimizer=(0.0, 1.0))
