"""Step sizes from the curvature where the verified pick's run stands: gradient descent near a minimum.

Near a minimum a smooth loss is nearly quadratic, and what :mod:`.quadratic` does for a quadratic -- a cycle of step
sizes 1/θ that beats every constant rate -- can be done with the quadratic the remaining steps will see. At the
point x_h where the pick's verification run ended, k Lanczos steps with Hessian-vector products from the gradient
give that model: the Ritz values θ (the curvature along the directions the gradient reaches), the gradient's
weights on them, and so the error and the minimum of the model. The best cycle for the model's remaining steps
(:func:`.quadratic.best_cycle`, rounding counted) is then checked by real runs -- the cycle and the constant rate,
both going on from x_h for the same steps -- and recommended only where it ends clearly lower and the loss at the
end of every cycle falls (a cycle that leaves the region where the model holds shows at once). The answer is a
schedule: the constant rate for the first h steps, then the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal

from ..objectives.base import Objective
from .quadratic import MAX_CYCLE, TIE, StepSizes, _lanczos, best_cycle


@dataclass(frozen=True)
class LocalModel:
    """The quadratic that k Lanczos steps see at ``point``: curvatures ``theta``, the error ``error`` along them
    (gradient weight / θ), its minimum ``floor`` and the loss ``loss`` there; ``products`` what the Hessian-vector
    products cost, in gradients (two each where they are a difference of gradients)."""

    point: np.ndarray
    loss: float
    theta: np.ndarray
    error: np.ndarray
    floor: float
    products: int


def local_model(objective: Objective, point: np.ndarray, k: int = MAX_CYCLE) -> LocalModel | None:
    """The local quadratic at ``point`` from up to ``k`` Lanczos steps (Hessian-vector products from the gradient
    there); None where it is not a bowl (a curvature ≤ 0 seen: gradient descent is not near a minimum) or the
    gradient vanishes."""
    with np.errstate(all="ignore"):
        f, g = objective.value_and_grad(point[None])
    g = np.asarray(g[0], dtype=np.float64)
    if not np.isfinite(f[0]) or not np.all(np.isfinite(g)) or not np.linalg.norm(g) > 0:
        return None
    count = [0]

    def hvp(v):
        count[0] += 1
        return objective.hvp(point, v)

    alphas, betas, _ = _lanczos(hvp, g, min(k, objective.dim))
    if alphas.size > 1:
        theta, S = eigh_tridiagonal(alphas, betas[:alphas.size - 1])
    else:
        theta, S = alphas.copy(), np.ones((1, 1))
    if not np.all(np.isfinite(theta)) or not theta.min() > 0:
        return None
    weights = np.linalg.norm(g) * S[0]          # the gradient in the Ritz basis
    error = weights / theta
    cost = count[0] * (1 if objective.hessian(point) is not None else 2)    # a difference of two gradients
    return LocalModel(point, float(f[0]), theta, error, float(f[0]) - 0.5 * float(np.sum(theta * error ** 2)), cost)


def cycle_for_the_rest(model: LocalModel, lr: float, steps: int) -> StepSizes | None:
    """The best cycle for ``steps`` more steps on ``model`` -- None unless, on the model, it leaves at most half of
    what the constant ``lr`` leaves above the model's minimum (and they have not both converged to rounding)."""
    sizes = best_cycle(model.theta, model.error, model.floor, steps, float(np.linalg.norm(model.point)))
    if sizes is None:
        return None
    with np.errstate(all="ignore"):
        constant = model.floor + 0.5 * float(np.sum(model.theta * (model.error * (1 - lr * model.theta) ** steps) ** 2))
    if not np.isfinite(constant) or not (sizes.loss - model.floor < 0.5 * (constant - model.floor)
                                         and constant - sizes.loss > TIE * (model.loss - model.floor)):
        return None
    return sizes


def confirmed(cycle_losses: np.ndarray, constant_loss: float, floor: float, cycle: int) -> bool:
    """Whether a real run of the cycle confirms it: finite, its loss at the end of every cycle no higher than at
    the end of the one before (a cycle that has left the region where the model holds climbs at once), and it ends
    leaving at most half of what the constant rate's run leaves above the lower of the model's minimum and both
    ends (``constant_loss`` inf: only the cycle's own curve is judged)."""
    h = np.asarray(cycle_losses, dtype=np.float64)
    if h.size == 0 or not np.all(np.isfinite(h)):
        return False
    ends = h[cycle::cycle] if h.size > cycle else h[-1:]
    if np.any(np.diff(np.r_[h[0], ends]) > 1e-12 * np.abs(h[0])):
        return False
    if not np.isfinite(constant_loss):         # no constant run to compare with (yet): the cycle's own curve
        return True
    low = min(floor, float(h[-1]), constant_loss)
    return bool(h[-1] - low < 0.5 * (constant_loss - low))
