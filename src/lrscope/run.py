"""The runner: many learning rates (and hyperparameters) trained at once, with traces of every step -- and nothing else.

``run(objective, lrs, optimizer, steps)`` runs K configurations as one NumPy computation on ``(K, d)`` arrays:
batch gradient descent by default, stochastic (``batch_size=1``) or mini-batch on data-set objectives, with the same
sample order for every configuration (common random numbers, from ``seed``). Overflow and NaN never raise: a
configuration that leaves the finite numbers is marked diverged at that step and its trace ends there (NaN after);
the others run on. The result carries the curves; verdicts and theory are read from it by :mod:`lrscope.diagnose`
and :mod:`lrscope.theory` (``ls.sweep`` does all three).

Reproducibility: the same configurations with the same seed give bit-identical results. A configuration run in a
different group (alone, or beside others) gives the same numbers to rounding only: BLAS kernels may sum a row of a
(K, d) product in another order depending on K, so its results can differ by ~1e-16 relative per step.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .checks import integer
from .jsonable import numbers
from .objectives.base import Objective, as_batch
from .optim import Optimizer, gd
from .schedules import PlateauSchedule, Schedule

MAX_KEPT_PARAMS = 50_000_000     # parameter history kept by default up to this many numbers (400 MB)
CHEAP_EVALUATION = 500_000       # samples × dimension × configurations below which the full loss is taken every step


@dataclass
class SweepResult:
    """Traces of a sweep, one row per configuration.

    ``losses`` (K, T+1): the full objective at every iterate (the start included); ``params`` (K, T+1, d) the
    iterates (``None`` if not kept); ``lr_used`` (K, T) the learning rate of each update; ``grad_norms`` (K, T) the
    norm of the gradient each update used; ``batch_losses`` (K, T) the mini-batch losses (stochastic runs only);
    ``diverged_at`` (K,) the first step with a non-finite value, −1 if none; ``verdicts`` one
    :class:`~lrscope.diagnose.Verdict` each and ``analysis`` the theory (L, μ, 2/L, ...), once judged
    (:func:`lrscope.diagnose.judge`; ``ls.sweep`` does it); ``notes`` what the reader should know besides (e.g.
    that the curvature analysis gave up).
    ``final_params`` and ``final_state`` (the optimizer's) are where the run ended: pass them back to
    :func:`sweep` as ``x0`` and ``state`` with ``start_step=steps`` to go on with the same run.
    """

    objective: Objective
    optimizer: Optimizer
    schedule: object
    lrs: np.ndarray
    hyperparams: dict
    losses: np.ndarray
    params: np.ndarray | None
    lr_used: np.ndarray
    grad_norms: np.ndarray
    batch_losses: np.ndarray | None
    diverged_at: np.ndarray
    steps: int
    batch_size: int | None
    seed: int
    eval_every: int = 1
    analysis: object = None
    verdicts: list = field(default_factory=list)
    final_params: np.ndarray | None = None
    final_state: object = None
    notes: list = field(default_factory=list)

    @classmethod
    def from_traces(cls, objective, optimizer, lrs, losses, lr_used, grad_norms, *, params=None, batch_losses=None,
                    final_params=None, final_state=None, schedule=None, batch_size=None, seed=0,
                    eval_every=1) -> "SweepResult":
        """A result from traces recorded elsewhere (the torch adapter's, or a run of one's own): ``losses`` (K, T+1),
        ``lr_used`` and ``grad_norms`` (K, T), optionally ``params`` (K, T+1, d) and ``batch_losses`` (K, T). Each
        configuration's first non-finite step is found and its traces are blanked (NaN) from there: it is frozen
        where it diverged, as in :func:`run`. The arrays are modified in place."""
        lrs = np.asarray(lrs, dtype=np.float64)
        K = lrs.shape[0]
        final = np.zeros((K, 0)) if final_params is None else final_params
        diverged_at = _freeze_diverged(losses, params, batch_losses, grad_norms, final)
        return cls(objective, optimizer, schedule, lrs, optimizer.per_config(K), losses, params, lr_used,
                   grad_norms, batch_losses, diverged_at, int(lr_used.shape[1]), batch_size, seed, eval_every,
                   final_params=final_params, final_state=final_state)

    @property
    def K(self) -> int:
        return int(self.lrs.shape[0])

    @property
    def final_losses(self) -> np.ndarray:
        """Loss at the last finite iterate of each configuration (inf for one that diverged at the start)."""
        finite = np.isfinite(self.losses)
        last = self.losses.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)
        return np.where(finite.any(axis=1), np.take_along_axis(self.losses, last[:, None], axis=1)[:, 0], np.inf)

    @property
    def best_losses(self) -> np.ndarray:
        """The lowest finite loss of each configuration (inf where none is finite)."""
        return np.min(np.where(np.isfinite(self.losses), self.losses, np.inf), axis=1)

    def best(self) -> int:
        """Index of the configuration with the lowest final loss among those that did not diverge (nor fall without
        limit, once judged)."""
        out = self.diverged_at >= 0
        if self.verdicts:
            out |= np.array([v.kind == "unbounded" for v in self.verdicts])
        final = np.where(out, np.inf, self.final_losses)
        return int(np.argmin(final))

    def config(self, k: int) -> dict:
        """Hyperparameters of configuration ``k``: the learning rate and every optimizer setting."""
        return {"lr": float(self.lrs[k]), **{name: float(v[k]) for name, v in self.hyperparams.items()}}

    def _repr_html_(self) -> str:
        """In Jupyter: the loss curves as an interactive chart, the verdict table beside them."""
        from .notebook import sweep_html
        return sweep_html(self)

    def to_dict(self, include_params: bool = True) -> dict:
        """Everything as plain Python (for JSON): per configuration the hyperparameters, losses, LR and parameters
        per step, and the verdict."""

        configs = []
        for k in range(self.K):
            entry = {"hyperparams": self.config(k), "losses": numbers(self.losses[k]), "lr": numbers(self.lr_used[k]),
                     "grad_norms": numbers(self.grad_norms[k]),
                     "diverged_at": None if self.diverged_at[k] < 0 else int(self.diverged_at[k]),
                     "verdict": self.verdicts[k].to_dict() if self.verdicts else None}
            if include_params and self.params is not None:
                entry["params"] = [numbers(p) for p in self.params[k]]
            configs.append(entry)
        return {"objective": self.objective.name, "variables": list(self.objective.variables),
                "optimizer": repr(self.optimizer), "schedule": repr(self.schedule) if self.schedule else "constant",
                "steps": self.steps, "batch_size": self.batch_size, "seed": self.seed,
                "theory": self.analysis.to_dict() if self.analysis else None, "notes": self.notes,
                "configs": configs}


def _check_lrs(lrs, default) -> np.ndarray:
    if lrs is None:
        lrs = [default]
    try:
        arr = np.atleast_1d(np.asarray(lrs, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"lrs: expected a list of numbers, got {lrs!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lrs: expected a non-empty 1-D list of learning rates, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"lrs: every learning rate must be a finite number > 0, got {lrs!r}")
    return arr


def full_loss_every(objective: Objective, K: int, steps: int, batch_size: int | None,
                    at_most: int | None = None) -> int:
    """How often a stochastic run records the full loss: every step where that is cheap (small data), else about
    50 times an epoch -- and, given ``at_most``, no more than that many times in the run (an interactive caller
    whose picture has a few hundred points)."""
    n = objective.n_samples
    if not _stochastic(objective, batch_size) or n * objective.dim * K <= CHEAP_EVALUATION:
        return 1
    every = max(1, math.ceil(n / batch_size) // 50)
    return every if at_most is None else max(every, math.ceil(steps / at_most))


def _stochastic(objective: Objective, batch_size: int | None) -> bool:
    """Whether a run takes mini-batches (fewer rows per step than the data set has)."""
    n = objective.n_samples
    return batch_size is not None and n is not None and batch_size < n


def count_steps(objective: Objective, steps: int | None, epochs: int | None, batch_size: int | None) -> int:
    """The updates a run makes: ``steps`` (default 100), or ``epochs`` passes over the data in batches."""
    if epochs is None:
        return 100 if steps is None else integer(steps, "steps")
    if steps is not None:
        raise ValueError("steps, epochs: give one or the other")
    n = objective.n_samples
    if n is None:
        raise ValueError(f"epochs: objective {objective.name!r} has no data samples; use steps")
    return integer(epochs, "epochs") * math.ceil(n / (batch_size or n))


def check_fits(objective: Objective, K: int, steps: int, batch_size: int | None = None,
               keep_params: bool | None = None) -> bool:
    """Refuse, before anything is allocated, a run whose traces would not fit in memory (:func:`check_memory`);
    return whether its parameters are kept (by default: while they take at most ``MAX_KEPT_PARAMS`` numbers)."""
    if keep_params is None:
        keep_params = K * (steps + 1) * objective.dim <= MAX_KEPT_PARAMS
    check_memory(trace_bytes(K, steps, objective.dim, keep_params, _stochastic(objective, batch_size)), K, steps)
    return keep_params


def trace_bytes(K: int, steps: int, d: int, keep_params: bool, stochastic: bool) -> int:
    """Memory a run's traces take at their peak: loss, learning rate and gradient norm per step and configuration
    (and the mini-batch loss), with the iterates and gradients when the parameters are kept -- twice, as the traces
    are turned into their final (K, T) layout at the end."""
    per_step = K * 8 * (4 if stochastic else 3) + (2 * K * d * 8 if keep_params else 0)
    return 2 * per_step * (steps + 1)


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(needed: int, K: int, steps: int) -> None:
    """Refuse, before anything is allocated, a run whose traces would not fit in memory (a ValueError that says by
    how much, not a MemoryError half way)."""
    free = available_memory()
    if free is not None and needed > 0.8 * free:
        raise ValueError(f"steps: {K} configurations × {steps} steps need about {needed / 1e9:.3g} GB for their "
                         f"traces, more than the {free / 1e9:.3g} GB this machine has free: use fewer steps or "
                         f"learning rates")


def seconds_per_step(objective: Objective, K: int, batch_size: int | None = None) -> float:
    """What one step of ``K`` configurations costs on this machine, measured (best of two) in this thread's CPU time
    -- the same on a busy machine as on an idle one: the loss and gradient on a batch of rows (all rows without
    ``batch_size``), the full loss where a stochastic run records it every step, and the update's arithmetic -- what a
    bound on the work of a run should count."""
    x = np.broadcast_to(objective.x0, (K, objective.dim)).copy()
    n = objective.n_samples
    stochastic = _stochastic(objective, batch_size)
    rows = np.arange(batch_size) if stochastic else None

    def one():
        start = time.thread_time()
        with np.errstate(all="ignore"):
            objective.value_and_grad(x, rows)
            if stochastic and n * objective.dim * K <= CHEAP_EVALUATION:
                objective.value(x)
        return time.thread_time() - start

    return min(one(), one()) + 20e-6 + 1e-8 * K * objective.dim     # + the loop and the update's arithmetic


def _batches(n: int, batch_size: int, rng: np.random.Generator):
    """Endless mini-batches: a fresh permutation of the n rows each epoch, cut into batches (last one smaller)."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def run(objective: Objective, lrs=None, optimizer: Optimizer | None = None, steps: int | None = None, *,
        schedule: Schedule | PlateauSchedule | None = None, batch_size: int | None = None,
        epochs: int | None = None, seed: int = 0, x0=None, state=None, start_step: int = 0,
        eval_every: int | None = None, keep_params: bool | None = None,
        progress: Callable[[int, int], None] | None = None,
        stop: Callable[[int, np.ndarray], bool] | None = None) -> SweepResult:
    """Run ``optimizer`` from the same start with every learning rate in ``lrs`` at once; return the traces.

    ``steps`` updates (default 100), or ``epochs`` passes over the data with ``batch_size`` rows per step (data-set
    objectives; ``batch_size=1`` is SGD, omitted is full-batch GD). ``schedule`` scales each configuration's α over the
    steps. In stochastic runs the full loss is recorded every ``eval_every`` steps (default: about 50 times an epoch;
    values in between repeat the last one). ``progress(done, total)`` is called as the run advances;
    ``stop(t, losses_t)``, called after each update with the losses that step used, ends the run early when it
    returns True (the result then has fewer steps). To go on with an earlier run of the same configurations, pass
    its ``final_params`` as ``x0``, its ``final_state`` as ``state`` and the steps it ran as ``start_step``: the
    batch order continues where it stopped, so two pieces give exactly the numbers of one long run (without a
    schedule, which would restart).
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective: expected an lrscope Objective, got {type(objective).__name__}")
    optimizer = gd() if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an lrscope optimizer such as ls.optim.adam(), got {optimizer!r}")
    if schedule is not None and not isinstance(schedule, (Schedule, PlateauSchedule)):
        raise TypeError(f"schedule: expected an lrscope schedule such as ls.schedules.cosine(), got {schedule!r}")
    lrs = _check_lrs(lrs, optimizer.default_lr)
    K, d = lrs.shape[0], objective.dim
    seed = integer(seed, "seed", 0)
    start_step = integer(start_step, "start_step", 0)

    n = objective.n_samples
    if batch_size is not None:
        if n is None:
            raise ValueError(f"batch_size: objective {objective.name!r} has no data samples; "
                             f"mini-batches need a data set (ls.objectives.dataset)")
        batch_size = integer(batch_size, "batch_size")
        if batch_size > n:
            raise ValueError(f"batch_size: {batch_size} is larger than the data set ({n} samples)")
    steps = count_steps(objective, steps, epochs, batch_size)
    stochastic = _stochastic(objective, batch_size)
    if eval_every is None:
        eval_every = full_loss_every(objective, K, steps, batch_size)
    eval_every = integer(eval_every, "eval_every")

    start = np.broadcast_to(objective.x0 if x0 is None else as_batch(x0, d, "x0"), (K, d)).astype(np.float64)
    if not np.all(np.isfinite(start)):
        raise ValueError("x0: must be finite")
    optimizer.per_config(K)          # the hyperparameter lists must match K: say so before running
    keep_params = check_fits(objective, K, steps, batch_size, keep_params)

    # learning rate of every step: a table for pure schedules, state for reduce-on-plateau
    plateau = schedule if isinstance(schedule, PlateauSchedule) else None
    table = schedule(np.arange(steps), lrs, steps) if isinstance(schedule, Schedule) else None
    if table is not None and (not np.all(np.isfinite(table)) or np.any(table < 0)):
        raise ValueError(f"schedule: {schedule!r} gives negative or non-finite learning rates")
    plateau_state = plateau.init(lrs) if plateau else None

    losses = np.empty((steps + 1, K))
    lr_used = np.empty((steps, K))
    # gradients are stored and their norms taken at the end (one vectorized pass) when that fits in memory
    grads = np.empty((steps, K, d)) if keep_params else None
    gnorm = np.empty((steps, K))
    kept = np.empty((steps + 1, K, d)) if keep_params else None
    batch_losses = np.empty((steps, K)) if stochastic else None

    vg, update = objective.value_and_grad, optimizer.update
    batches = _batches(n, batch_size, np.random.default_rng(seed)) if stochastic else None
    for _ in range(start_step if stochastic else 0):       # a resumed run: the batches it already used
        next(batches)
    report = max(1, steps // 100)
    p = start.copy()
    with np.errstate(all="ignore"):
        state = optimizer.init(p) if state is None else state
        for t in range(steps):
            lr_t = table[t] if table is not None else (plateau.lr(plateau_state) if plateau else lrs)
            if stochastic:
                loss, g = vg(p, next(batches))
                batch_losses[t] = loss
                losses[t] = objective.value(p) if t % eval_every == 0 else losses[t - 1]
            else:
                loss, g = vg(p)
                losses[t] = loss
            if grads is not None:
                grads[t] = g
            else:
                gnorm[t] = np.sqrt(np.einsum("kd,kd->k", g, g))
            lr_used[t] = lr_t
            if kept is not None:
                kept[t] = p
            step, state = update(g, state, p, lr_t)
            p = p + step
            if plateau:
                plateau_state = plateau.update(plateau_state, loss)
            if progress is not None and (t + 1) % report == 0:
                progress(t + 1, steps)
            if stop is not None and stop(t, loss):
                steps = t + 1
                break
        losses[steps] = objective.value(p)
        if kept is not None:
            kept[steps] = p
    if steps < lr_used.shape[0]:          # stopped early: keep what ran
        losses, lr_used, gnorm = losses[:steps + 1], lr_used[:steps], gnorm[:steps]
        grads = None if grads is None else grads[:steps]
        kept = None if kept is None else kept[:steps + 1]
        batch_losses = None if batch_losses is None else batch_losses[:steps]

    if grads is not None:
        with np.errstate(all="ignore"):
            gnorm = np.sqrt(np.einsum("tkd,tkd->tk", grads, grads))
        del grads
    losses, lr_used, gnorm = losses.T.copy(), lr_used.T.copy(), gnorm.T.copy()
    batch_losses = None if batch_losses is None else batch_losses.T.copy()
    params = None if kept is None else kept.transpose(1, 0, 2).copy()
    return SweepResult.from_traces(objective, optimizer, lrs, losses, lr_used, gnorm, params=params,
                                   batch_losses=batch_losses, final_params=p, final_state=state, schedule=schedule,
                                   batch_size=batch_size, seed=seed, eval_every=eval_every)


def _freeze_diverged(losses, params, batch_losses, gnorm, final_params) -> np.ndarray:
    """Find each configuration's first non-finite step and blank its trace from there (NaN): it is frozen."""
    K, T1 = losses.shape
    bad = ~np.isfinite(losses)
    if batch_losses is not None:
        bad[:, :-1] |= ~np.isfinite(batch_losses)
    if params is not None:
        bad |= ~np.all(np.isfinite(params), axis=2)
    bad[:, -1] |= ~np.all(np.isfinite(final_params), axis=1)
    diverged_at = np.where(bad.any(axis=1), bad.argmax(axis=1), -1)
    for k in np.flatnonzero(diverged_at >= 0):
        t = diverged_at[k]
        losses[k, t:] = np.nan
        gnorm[k, t:] = np.nan
        if params is not None:
            params[k, t:] = np.nan
        if batch_losses is not None:
            batch_losses[k, t:] = np.nan
    return diverged_at
