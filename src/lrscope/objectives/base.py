"""The objective protocol: value and gradient of a loss for a (K, d) batch of parameter vectors.

Every objective lrscope minimises -- an analytic function, a typed formula, a model on a data set -- is an
:class:`Objective`. The runner only ever calls :meth:`Objective.value_and_grad` on a ``(K, d)`` array (one row per
configuration), optionally on a subset of data rows; theory calls :meth:`Objective.hvp` or :meth:`Objective.hessian`.
"""

from __future__ import annotations

import numpy as np


def as_batch(params, dim: int, name: str = "params") -> np.ndarray:
    """Return ``params`` as a float64 ``(K, dim)`` array; a single ``(dim,)`` vector becomes ``K = 1``."""
    arr = np.asarray(params, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name}: expected shape (K, {dim}) or ({dim},), got {np.shape(params)}")
    return arr


def as_point(x, dim: int, name: str = "x0") -> np.ndarray:
    """Return ``x`` as a finite float64 vector of length ``dim`` (a scalar is accepted when ``dim == 1``)."""
    try:
        arr = np.atleast_1d(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected {dim} number(s), got {x!r}") from None
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise ValueError(f"{name}: expected {dim} number(s), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must be finite, got {x!r}")
    return arr


class Objective:
    """A differentiable function to minimise, evaluated on a batch of K parameter vectors at once.

    Subclasses set ``name``, ``x0`` (the default start), ``variables`` (a name per coordinate) and implement
    :meth:`value_and_grad`. Optional knowledge that theory and diagnosis use:

    - ``minimum``: the optimal value when it is known exactly (``None`` otherwise);
    - ``minimizer``: a point where it is attained;
    - ``n_samples``: number of data rows, for objectives that are an average over samples (``None`` for functions);
    - :meth:`constant_hessian`: the Hessian when it does not depend on the point (quadratics, least squares).
    """

    name: str = "objective"
    x0: np.ndarray
    variables: tuple[str, ...]
    minimum: float | None = None
    minimizer: np.ndarray | None = None
    n_samples: int | None = None

    @property
    def dim(self) -> int:
        return int(self.x0.shape[0])

    # -- evaluation -------------------------------------------------------------------------------------------
    def value_and_grad(self, params: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Loss ``(K,)`` and gradient ``(K, d)`` at each row of ``params``; ``rows`` selects data samples."""
        raise NotImplementedError

    def value(self, params, rows=None) -> np.ndarray:
        """Loss ``(K,)`` at each row of ``params`` (a ``(d,)`` vector gives ``K = 1``)."""
        return self.value_and_grad(as_batch(params, self.dim), rows)[0]

    def grad(self, params, rows=None) -> np.ndarray:
        """Gradient ``(K, d)`` at each row of ``params``."""
        return self.value_and_grad(as_batch(params, self.dim), rows)[1]

    # -- curvature --------------------------------------------------------------------------------------------
    def constant_hessian(self) -> np.ndarray | None:
        """The Hessian if it is the same everywhere (then L and mu are exact and global), else ``None``."""
        return None

    def hessian(self, point: np.ndarray) -> np.ndarray | None:
        """The exact ``(d, d)`` Hessian at ``point`` when the objective knows it, else ``None``."""
        return self.constant_hessian()

    def hvp(self, point: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Hessian-vector product H(point) @ vector.

        Exact when a Hessian is known; otherwise a central difference of gradients,
        (g(x + hv) - g(x - hv)) / 2h, with h scaled to the point and the vector (error O(h^2)).
        """
        point = np.asarray(point, dtype=np.float64)
        vector = np.asarray(vector, dtype=np.float64)
        hess = self.hessian(point)
        if hess is not None:
            return hess @ vector
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            return np.zeros_like(vector)
        h = 1e-4 * max(1.0, float(np.linalg.norm(point))) / norm
        with np.errstate(all="ignore"):
            g = self.grad(np.stack([point + h * vector, point - h * vector]))
        return (g[0] - g[1]) / (2 * h)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} d={self.dim}>"
