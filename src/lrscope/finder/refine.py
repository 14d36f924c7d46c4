"""Step sizes from the curvature where the verified pick's run stands: gradient descent near a minimum.

Near a minimum a smooth loss is nearly quadratic, and what :mod:`.quadratic` does for a quadratic -- a cycle of step
sizes 1/θ that beats every constant rate -- can be done with the quadratic the remaining steps will see. At the
point x_h where the pick's verification run ended, k Lanczos steps with Hessian-vector products from the gradient
give that model: the Ritz values θ (the curvature along the directions the gradient reaches), the gradient's
weights on them, and so the error and the minimum of the model. The best cycle for the model's remaining steps
(:func:`.quadratic.best_cycle`, rounding counted) is then checked by real runs -- the cycle and the constant rate,
both going on from x_h for the same steps -- and recommended only where it ends clearly lower and the loss at the
end of every cycle falls (a cycle that leaves the region where the model holds shows at once). The answer is a
schedule: the constant rate for the first h steps, then the cycle (:func:`refine_the_pick`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import eigh_tridiagonal

from ..objectives.base import Objective
from ..run import run
from ..schedules import table
from .quadratic import MAX_CYCLE, GradientErrors, StepSizes, _lanczos, best_cycle, clearly_lower


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


def cycle_for_the_rest(model: LocalModel, lr: float, steps: int, check=None) -> StepSizes | None:
    """The best cycle for ``steps`` more steps on ``model`` -- None unless, on the model, it leaves at most half of
    what the constant ``lr`` leaves above the model's minimum (and they have not both converged to rounding);
    ``check()`` is called as cycles are scored."""
    sizes = best_cycle(model.theta, model.error, model.floor, steps, float(np.linalg.norm(model.point)), check)
    if sizes is None:
        return None
    with np.errstate(all="ignore"):
        constant = model.floor + 0.5 * float(np.sum(model.theta * (model.error * (1 - lr * model.theta) ** steps) ** 2))
    return sizes if clearly_lower(sizes.loss, constant, model.floor, model.loss) else None


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
    return clearly_lower(float(h[-1]), constant_loss, min(floor, float(h[-1]), constant_loss))


@dataclass(frozen=True)
class Refined:
    """What :func:`refine_the_pick` found: the rate of every step of the budget (None: keep the constant rate) and
    the loss their check reached, the compute per phase, the notes and the ending of the finder's reason."""

    step_sizes: np.ndarray | None = None
    loss: float | None = None
    spent: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    reason: str = ""


def refine_the_pick(objective, optimizer, runs, pick, horizon, allowance, tally) -> Refined:
    """Gradient descent on a full batch: step sizes from the curvature where the pick's run ended, checked by going
    on from there with them and with the constant rate, as far as the ``allowance`` (training steps, the
    Hessian-vector products counted in gradients) pays for both. ``runs`` are the verification's runs (the pick's
    goes on for the comparison); ``tally`` counts the steps for the progress bar."""
    start = runs.runs[pick]
    switch, rest = start.steps, horizon - start.steps
    if rest < 4 or allowance < 8:
        return Refined()
    try:
        model = local_model(objective, start.params, k=min(MAX_CYCLE, max(1, allowance // 4)))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, NotImplementedError):
        return Refined()
    if model is None:
        return Refined()
    spent = {"curvature where the pick ended": model.products}
    tally.add(model.products)
    sizes = cycle_for_the_rest(model, pick, rest, tally.again)
    steps = min(rest, (allowance - model.products) // 2)
    if sizes is None or steps < 2 * sizes.cycle:
        return Refined(spent=spent)
    tally.replan(2 * steps)
    base = tally.done
    check = run(GradientErrors(objective, sizes.curvature), lrs=[sizes.rates[0]], optimizer=optimizer, steps=steps,
                x0=start.params[None], schedule=table(sizes.rates[:steps] / sizes.rates[0]), keep_params=False,
                stop=lambda t, losses: not np.all(np.isfinite(losses)), progress=lambda d, t: tally.at(base + d))
    spent["step sizes' check"] = check.steps
    cycle_losses = check.losses[0]
    constant_loss = None
    if check.steps == steps and confirmed(cycle_losses, np.inf, model.floor, sizes.cycle):
        # the cycle held: the constant rate goes on from the same point for the same steps (its own run, resumed)
        histories, _, used = runs.train([pick], switch + steps, lambda d: tally.at(base + check.steps + d))
        spent["step sizes' check"] += used
        constant_loss = float(histories[0][-1])
    if constant_loss is None or not confirmed(cycle_losses, constant_loss, model.floor, sizes.cycle):
        against = "" if constant_loss is None else f" against the constant rate's {constant_loss:.6g}"
        return Refined(spent=spent, notes=[f"a cycle of {sizes.cycle} step sizes from the curvature at step {switch} "
                                           f"was tried from there for {check.steps} steps ({cycle_losses[-1]:.6g}"
                                           f"{against}): not clearly better, so not recommended"])
    loss = float(cycle_losses[-1])
    note = (f"near the end of its run the loss is nearly quadratic: from step {switch} a cycle of {sizes.cycle} step "
            f"sizes (1/θ for the Ritz values θ of the Hessian there, the largest {sizes.rates.max():.4g}) does better "
            f"than the constant rate -- {loss:.6g} against {constant_loss:.6g} after {steps} more steps (checked up to "
            f"step {switch + steps} of {horizon})")
    reason = (f"; better still, from step {switch} a cycle of {sizes.cycle} step sizes from the curvature there "
              f"reaches {loss:.6g} at step {switch + steps}, the constant rate {constant_loss:.6g}")
    return Refined(np.r_[np.full(switch, pick), sizes.rates], loss, spent, [note], reason)
