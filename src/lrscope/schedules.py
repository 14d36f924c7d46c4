"""Learning-rate schedules as pure functions of the step.

A :class:`Schedule` maps ``(steps, base_lr, total)`` to learning rates: ``steps`` is an array of step indices
(0 = the first update), ``base_lr`` a ``(K,)`` array (one base rate per configuration) and ``total`` the run's length
(for schedules such as cosine that need it). The result is a ``(len(steps), K)`` table, computed once before a run.
The formulas are the closed forms of ``torch.optim.lr_scheduler`` stepped once per update.

:func:`reduce_on_plateau` is the one schedule that reads the loss, so it cannot be a function of the step alone. It is
a :class:`PlateauSchedule`: like an optimizer, ``init(base_lr) -> state``, ``lr(state)``, ``update(state, loss)``,
vectorized over K; the runner feeds it the loss of each step (the value the gradient was taken at).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

import numpy as np

from .checks import integer, positive


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: ``schedule(steps, base_lr, total) -> (len(steps), K)`` rates."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    params: dict = field(default_factory=dict)

    def __call__(self, steps, base_lr, total: int | None = None) -> np.ndarray:
        steps = np.atleast_1d(np.asarray(steps))
        base = np.atleast_1d(np.asarray(base_lr, dtype=np.float64))
        total = int(steps.max()) + 1 if total is None else int(total)
        out = self.fn(steps.astype(np.float64)[:, None], base[None, :], total)
        return np.broadcast_to(out, (steps.shape[0], base.shape[0])).astype(np.float64)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({args})"


def constant() -> Schedule:
    """α_t = α₀."""
    return Schedule("constant", lambda t, base, total: base + 0.0 * t)


def inverse_time(k: float = 0.01) -> Schedule:
    """α_t = α₀ / (1 + k·t): the course's inverse-time decay."""
    k = positive(k, "k", allow_zero=True)
    return Schedule("inverse_time", lambda t, base, total: base / (1.0 + k * t), {"k": k})


def step_decay(step_size: int = 100, gamma: float = 0.1) -> Schedule:
    """α_t = α₀·γ^⌊t / step_size⌋ (``torch.optim.lr_scheduler.StepLR``): drop by γ every ``step_size`` steps."""
    step_size = integer(step_size, "step_size")
    gamma = positive(gamma, "gamma")
    return Schedule("step_decay", lambda t, base, total: base * gamma ** np.floor(t / step_size),
                    {"step_size": step_size, "gamma": gamma})


def multi_step(milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """α_t = α₀·γ^(number of milestones ≤ t) (``MultiStepLR``)."""
    ms = np.sort(np.asarray([integer(m, "milestones") for m in milestones], dtype=np.float64))
    gamma = positive(gamma, "gamma")
    return Schedule("multi_step", lambda t, base, total: base * gamma ** np.searchsorted(ms, t, side="right"),
                    {"milestones": [int(m) for m in ms], "gamma": gamma})


def exponential(k: float | None = None, *, gamma: float | None = None) -> Schedule:
    """α_t = α₀·e^(−k·t) (the course's form; k = 0.01 when neither is given), or α₀·γ^t with ``gamma``
    (``ExponentialLR``); γ = e^(−k)."""
    if k is not None and gamma is not None:
        raise ValueError("exponential: give one of k (α₀·e^(-kt)) or gamma (α₀·γ^t), not both")
    if k is None and gamma is None:
        k = 0.01
    if gamma is not None:
        g = positive(gamma, "gamma")
        return Schedule("exponential", lambda t, base, total: base * g ** t, {"gamma": g})
    k = positive(k, "k", allow_zero=True)
    return Schedule("exponential", lambda t, base, total: base * np.exp(-k * t), {"k": k})


def cosine(t_max: int | None = None, eta_min: float = 0.0) -> Schedule:
    """α_t = η_min + (α₀ − η_min)(1 + cos(π t / T_max))/2 (``CosineAnnealingLR``); T_max defaults to the run."""
    t_max = None if t_max is None else integer(t_max, "t_max")
    eta_min = positive(eta_min, "eta_min", allow_zero=True)

    def fn(t, base, total):
        period = t_max if t_max is not None else max(total, 1)
        return eta_min + (base - eta_min) * (1.0 + np.cos(np.pi * t / period)) / 2.0

    return Schedule("cosine", fn, {"t_max": t_max, "eta_min": eta_min})


def warm_restarts(t_0: int = 100, t_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    """Cosine annealing with warm restarts (SGDR, ``CosineAnnealingWarmRestarts``): a cosine over T₀ steps,
    then α jumps back to α₀ and the next cycle lasts T_mult times longer."""
    t_0 = integer(t_0, "t_0")
    t_mult = integer(t_mult, "t_mult")
    eta_min = positive(eta_min, "eta_min", allow_zero=True)

    def fn(t, base, total):
        last = max(int(t.max()), 0) + 1
        starts, lengths, s, length = [], [], 0, t_0
        while s < last:                      # cycle boundaries (at most last/t_0 of them)
            starts.append(s)
            lengths.append(length)
            s += length
            length *= t_mult
        starts, lengths = np.asarray(starts, dtype=np.float64), np.asarray(lengths, dtype=np.float64)
        i = np.searchsorted(starts, t, side="right") - 1
        t_cur, t_i = t - starts[i], lengths[i]
        return eta_min + (base - eta_min) * (1.0 + np.cos(np.pi * t_cur / t_i)) / 2.0

    return Schedule("warm_restarts", fn, {"t_0": t_0, "t_mult": t_mult, "eta_min": eta_min})


def warmup(steps: int, then: Schedule | None = None, start_factor: float = 0.1) -> Schedule:
    """Linear warmup over ``steps`` steps from ``start_factor``·α₀ to α₀, then the schedule ``then``
    (restarted at step 0, as ``SequentialLR`` does; default constant). Alone, it is ``LinearLR``."""
    steps = integer(steps, "steps")
    start_factor = positive(start_factor, "start_factor", allow_zero=True)
    if start_factor > 1:
        raise ValueError(f"start_factor: must be <= 1, got {start_factor}")
    if then is not None and not isinstance(then, Schedule):
        raise TypeError("then: expected a Schedule (reduce_on_plateau cannot follow a warmup)")
    after = then or constant()

    def fn(t, base, total):
        ramp = base * (start_factor + (1.0 - start_factor) * np.minimum(t, steps) / steps)
        rest = after.fn(np.maximum(t - steps, 0.0), base, max(total - steps, 1))
        return np.where(t < steps, ramp, rest)

    name = "warmup" if then is None else f"warmup+{after.name}"
    return Schedule(name, fn, {"steps": steps, "start_factor": start_factor, **after.params})


def one_cycle(total_steps: int | None = None, pct_start: float = 0.3, anneal: Literal["cos", "linear"] = "cos",
              div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False) -> Schedule:
    """The one-cycle policy (``OneCycleLR`` with α₀ as max_lr): rise from α₀/div_factor to α₀ over
    ``pct_start`` of the run, then anneal to α₀/(div_factor·final_div_factor)."""
    total_steps = None if total_steps is None else integer(total_steps, "total_steps", 2)
    pct_start = positive(pct_start, "pct_start")
    if pct_start >= 1:
        raise ValueError(f"pct_start: must be in (0, 1), got {pct_start}")
    if anneal not in ("cos", "linear"):
        raise ValueError(f"anneal: expected 'cos' or 'linear', got {anneal!r}")
    div_factor = positive(div_factor, "div_factor")
    final_div_factor = positive(final_div_factor, "final_div_factor")

    def interp(start, end, pct):
        if anneal == "cos":
            return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1.0)
        return (end - start) * pct + start

    def fn(t, base, total):
        n = total_steps or total
        initial, peak = base / div_factor, base
        final = initial / final_div_factor
        if three_phase:
            phases = [(pct_start * n - 1, initial, peak), (2 * pct_start * n - 2, peak, initial),
                      (n - 1, initial, final)]
        else:
            phases = [(pct_start * n - 1, initial, peak), (n - 1, peak, final)]
        out = np.zeros(np.broadcast_shapes(t.shape, base.shape))
        done = np.zeros(t.shape, dtype=bool)
        start = 0.0
        for i, (end, lo, hi) in enumerate(phases):
            mask = ~done & ((t <= end) | (i == len(phases) - 1))
            pct = (t - start) / (end - start)
            out = np.where(mask, interp(lo, hi, pct), out)
            done |= mask
            start = end
        return out

    return Schedule("one_cycle", fn, {"total_steps": total_steps, "pct_start": pct_start, "anneal": anneal,
                                      "div_factor": div_factor, "final_div_factor": final_div_factor,
                                      "three_phase": three_phase})


def table(factors: Sequence[float], name: str = "table") -> Schedule:
    """α_t = α₀·factors[t] for the listed steps, then α₀: any step sizes, one per step (the best step sizes for a
    quadratic's budget, :func:`lrscope.finder.quadratic.best_step_sizes`, are such a table). In PyTorch the same
    is ``LambdaLR(optimizer, lambda t: factors[t] if t < len(factors) else 1.0)``."""
    f = np.asarray(factors, dtype=np.float64).ravel()
    if f.size == 0 or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError("factors: expected a non-empty list of finite, non-negative numbers")

    def fn(t, base, total):
        k = t.astype(np.int64)
        return base * np.where(k < f.size, f[np.minimum(k, f.size - 1)], 1.0)

    return Schedule(name, fn, {"steps": int(f.size)})


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlateauSchedule:
    """Reduce-on-plateau: lower α by ``factor`` when the loss has not improved for ``patience`` steps.

    It reads the loss, so it has state: ``init(base_lr)``, ``lr(state)``, ``update(state, loss)``, each vectorized
    over K configurations (each has its own best loss and counters), as ``ReduceLROnPlateau`` in min mode.
    """

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8
    name: str = "reduce_on_plateau"

    def init(self, base_lr):
        base = np.array(base_lr, dtype=np.float64)
        k = base.shape[0]
        return {"lr": base, "best": np.full(k, np.inf), "bad": np.zeros(k, dtype=np.int64),
                "cooldown": np.zeros(k, dtype=np.int64)}

    def lr(self, state) -> np.ndarray:
        return state["lr"]

    def update(self, state, loss):
        loss = np.asarray(loss, dtype=np.float64)
        best, bad, cool, lr = state["best"], state["bad"].copy(), state["cooldown"].copy(), state["lr"]
        if self.threshold_mode == "rel":
            better = loss < best * (1.0 - self.threshold)
        else:
            better = loss < best - self.threshold
        best = np.where(better, loss, best)
        bad = np.where(better, 0, bad + 1)
        in_cooldown = cool > 0
        cool = np.where(in_cooldown, cool - 1, cool)
        bad = np.where(in_cooldown, 0, bad)
        reduce = bad > self.patience
        new_lr = np.maximum(lr * self.factor, self.min_lr)
        lr = np.where(reduce & (lr - new_lr > self.eps), new_lr, lr)
        cool = np.where(reduce, self.cooldown, cool)
        bad = np.where(reduce, 0, bad)
        return {"lr": lr, "best": best, "bad": bad, "cooldown": cool}

    @property
    def params(self):
        return {"factor": self.factor, "patience": self.patience, "threshold": self.threshold}


def reduce_on_plateau(factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                      threshold_mode: Literal["rel", "abs"] = "rel",
                      cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8) -> PlateauSchedule:
    """Lower α by ``factor`` after ``patience`` steps without improvement (``ReduceLROnPlateau``, mode min)."""
    factor = positive(factor, "factor")
    if factor >= 1:
        raise ValueError(f"factor: must be < 1, got {factor}")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold_mode: expected 'rel' or 'abs', got {threshold_mode!r}")
    return PlateauSchedule(factor, integer(patience, "patience", 0), positive(threshold, "threshold", True),
                           threshold_mode, integer(cooldown, "cooldown", 0), positive(min_lr, "min_lr", True),
                           positive(eps, "eps", True))


SCHEDULES = {"constant": constant, "inverse_time": inverse_time, "step": step_decay, "step_decay": step_decay,
             "multi_step": multi_step, "exponential": exponential, "cosine": cosine, "warm_restarts": warm_restarts,
             "warmup": warmup, "one_cycle": one_cycle, "plateau": reduce_on_plateau,
             "reduce_on_plateau": reduce_on_plateau}


def get(name: str, **params):
    """A schedule by name (``constant``, ``inverse_time``, ``step``, ``exponential``, ``cosine``, ``warm_restarts``,
    ``warmup``, ``one_cycle``, ``plateau``)."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown {name!r}; choose one of {', '.join(SCHEDULES)}")
    try:
        return SCHEDULES[name](**params)
    except TypeError as exc:
        raise TypeError(f"schedule {name}: {exc}") from None
