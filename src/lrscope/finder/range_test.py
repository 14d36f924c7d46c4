"""What the range test is, for core objectives and torch models alike: its settings (:func:`check_plan`), the ramp,
the stop rule (:class:`DivergenceStop`) and the result (:class:`FindResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import integer
from ..diagnose import DebiasedAverage
from ..jsonable import number, numbers
from ..schedules import Schedule

RAMP_STEPS = 100            # the range test's default length (fewer with a short budget: ramp_steps)
FINAL_FACTOR = 4            # the finalists' verification runs are this many times longer than the first round
BUDGET_FIRST = 0.04         # with a training budget: the first round's length, as a share of it
BUDGET_FINAL = 0.3          # ... and the finalists' (the rate that wins 30% of the way usually wins at the end)
SHORTEST_ROUNDS = 16        # first-round runs the verification needs at the least (~10 candidates, 3 finalists × 2)
BUDGET_ALL = 1.5            # ... and the whole call trains at most this many times it (12% of a 13-point grid)


@dataclass(kw_only=True)
class FindResult:
    """The range test and the recommendation.

    ``lrs`` the learning rate of each step of the test; ``losses`` (seeds, steps) the raw loss of each step;
    ``smoothed`` the debiased-EMA curve averaged over seeds (``band`` its spread: min and max over seeds);
    ``methods`` what each rule suggests; ``suggestion`` the verified pick and ``interval`` the range of learning rates
    that trained almost as well; ``candidates`` and ``candidate_losses`` the first verification round (the lowest
    loss of each run's last third), ``finalists``, ``finalist_losses`` (where each run ended) and ``finalist_steps``
    (how long each was trained) the second, longer round among the best third and the margin check's runs;
    ``bound`` the stability bound used as a cap (None if not applicable); ``steps_used`` the compute in training
    steps, ``compute`` the same per phase (range test, first round, second round, margin check -- or the one
    checking run of a quadratic); ``reason`` why the pick won, in a sentence. ``step_sizes``: with a budget, the
    rate to train each of its steps with, where lrscope recommends more than the constant pick -- on mini-batches a
    cooldown (the pick, then a linear fall to 0 over the last 20%); for gradient descent on a quadratic the best
    step sizes for the budget, and near a minimum the pick, then step sizes from the curvature there (both where a
    run confirmed them: ``schedule_loss`` is the loss it reached); ``schedule`` gives them as a schedule.
    ``verified_with``: the schedule the verification runs followed (``find(schedule=)``), None for a constant rate;
    ``suggestion`` is then that schedule's peak and ``step_sizes`` the peak times the schedule over the budget.
    ``trained_steps``: with ``keep_winner=True``, the steps of the suggestion's verification run that were kept (0:
    none) -- in PyTorch the model is left there; for lrscope's objectives ``trained_params`` and ``trained_state``
    are where it ended, ready for ``lrscope.run.run(obj, lrs=[res.suggestion], x0=res.trained_params,
    state=res.trained_state, start_step=res.trained_steps, ...)`` to go on with it (same ``seed`` and ``batch_size``:
    the same batches).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    band: np.ndarray
    methods: dict
    suggestion: float
    interval: tuple
    candidates: np.ndarray
    candidate_losses: np.ndarray
    bound: float | None
    steps_used: int
    objective_name: str = ""
    notes: list = field(default_factory=list)
    finalists: np.ndarray | None = None
    finalist_losses: np.ndarray | None = None
    finalist_steps: np.ndarray | None = None
    compute: dict = field(default_factory=dict)
    reason: str = ""
    step_sizes: np.ndarray | None = None
    schedule_loss: float | None = None
    verified_with: str | None = None
    trained_steps: int = 0
    trained_params: np.ndarray | None = None
    trained_state: object = None

    @property
    def schedule(self):
        """The recommended rates (``step_sizes``) as a schedule relative to ``suggestion``:
        ``ls.sweep(obj, lrs=[res.suggestion], schedule=res.schedule)`` trains them; None where the constant pick is
        the whole answer."""
        if self.step_sizes is None:
            return None
        from ..schedules import table
        return table(np.asarray(self.step_sizes) / self.suggestion, name="recommended")

    def schedule_summary(self) -> str | None:
        """The recommended rates over the budget in a sentence (a cooldown, step sizes from the start, or a switch
        to them later); None where the constant pick is the whole answer."""
        if self.step_sizes is None:
            return None
        rates, n = np.asarray(self.step_sizes), len(self.step_sizes)
        if self.verified_with is not None:
            return (f"Schedule: {self.verified_with} over {n} steps, peak {self.suggestion:.4g} (verified with "
                    f"it), ending at {rates[-1]:.3g}")
        switch = int(np.argmax(rates != self.suggestion)) if np.any(rates != self.suggestion) else n
        if self.schedule_loss is None:          # a cooldown: its first step is still at the full rate
            return (f"Schedule: {self.suggestion:.4g}, from step {switch - 1} falling linearly to 0 at step {n} "
                    f"(a cooldown)")
        cycle = ", ".join(f"{a:.4g}" for a in rates[switch:switch + 6]) + (", …" if n - switch > 6 else "")
        if switch == 0:
            return (f"Better than any constant rate: the step sizes {cycle} reach {self.schedule_loss:.6g} in {n} "
                    f"steps")
        return f"Better still: {self.suggestion:.4g} for steps 0–{switch - 1}, then the step sizes {cycle}"

    def to_dict(self) -> dict:
        return {"objective": self.objective_name, "lrs": numbers(self.lrs), "smoothed": numbers(self.smoothed),
                "losses": [numbers(r) for r in self.losses], "methods": {k: number(v) for k, v in self.methods.items()},
                "suggestion": self.suggestion, "interval": list(self.interval), "bound": self.bound,
                "candidates": numbers(self.candidates), "candidate_losses": numbers(self.candidate_losses),
                "finalists": None if self.finalists is None else numbers(self.finalists),
                "finalist_losses": None if self.finalist_losses is None else numbers(self.finalist_losses),
                "finalist_steps": None if self.finalist_steps is None else [int(n) for n in self.finalist_steps],
                "steps_used": self.steps_used, "compute": {k: int(v) for k, v in self.compute.items()},
                "reason": self.reason, "notes": self.notes,
                "step_sizes": None if self.step_sizes is None else numbers(self.step_sizes),
                "schedule_loss": self.schedule_loss, "verified_with": self.verified_with,
                "trained_steps": self.trained_steps}

    def _repr_html_(self) -> str:
        """In Jupyter: the range test as an interactive chart, the pick, why, and the compute beside it."""
        from ..notebook import find_html
        return find_html(self)

    def plot(self, ax=None, path: str | None = None):
        """The range-test curve with its band, each rule's pick, the 2/L bound when known and the verified pick."""
        from ..plots import plot_range_test
        return plot_range_test(self, ax=ax, path=path)


def ramp(start: float, end: float, steps: int, mode: str) -> Schedule:
    """The test's schedule: α_t from ``start`` to ``end`` over ``steps`` steps, exponentially or linearly."""
    ratio = end / start

    def fn(t, base, total):
        frac = t / max(steps - 1, 1)
        if mode == "exp":
            return base * ratio ** frac
        return base * (1.0 + (ratio - 1.0) * frac)

    return Schedule(f"range_test[{mode}]", fn, {"start": start, "end": end, "steps": steps})


def check_plan(start, end, mode, steps, verify_steps, final_steps, beta=0.9, diverge_factor=4.0, budget=None):
    """Check the range test's settings (shared by ``find`` and ``lrscope.torch.lr_find``); fill in the defaults of
    the verification rounds: from ``budget`` (the steps the user will train for) when given -- 4% of it (at least
    5), then 30% of it for the finalists --, else a quarter of ``steps`` (at least 10), then 4× that."""
    for name, value in (("start", start), ("end", end)):
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))
                or not np.isfinite(value) or value <= 0):
            raise ValueError(f"{name}: must be a number > 0, got {value!r}")
    if start >= end:
        raise ValueError(f"start, end: start ({start:g}) must be below end ({end:g})")
    if mode not in ("exp", "linear"):
        raise ValueError(f"mode: expected 'exp' or 'linear', got {mode!r}")
    budget = None if budget is None else integer(budget, "budget", 1)
    steps = ramp_steps(steps, budget)
    if not 0 <= beta < 1:
        raise ValueError(f"beta: must be in [0, 1), got {beta!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor: must be > 1, got {diverge_factor!r}")
    if verify_steps is None:
        verify_steps = max(10, steps // 4) if budget is None else max(5, round(BUDGET_FIRST * budget))
    verify_steps = integer(verify_steps, "verify_steps", 1)
    if final_steps is None:
        final_steps = FINAL_FACTOR * verify_steps if budget is None else max(verify_steps,
                                                                             round(BUDGET_FINAL * budget))
    final_steps = integer(final_steps, "final_steps", 1)
    return verify_steps, final_steps


def ramp_steps(steps: int | None, budget: int | None, seeds: int = 1, max_compute: float = BUDGET_ALL) -> int:
    """The range test's length: ``steps`` when given; by default ``RAMP_STEPS`` (100), or fewer where the budget
    is short -- over all ``seeds`` sample orders, at most half of what the whole call may spend (``max_compute`` ×
    ``budget``), and no more than leaves room for the shortest verification (``SHORTEST_ROUNDS`` runs of the first
    round's length: a 60-step budget has 5-step runs, so 20 steps of ramp, not 100); never below 20."""
    if steps is not None:
        return integer(steps, "steps", 5)
    if budget is None:
        return RAMP_STEPS
    allowance = max_compute * budget
    room = min(allowance / 2, allowance - SHORTEST_ROUNDS * max(5, round(BUDGET_FIRST * budget)))
    return int(min(RAMP_STEPS, max(20, round(room / seeds))))


def check_compute(max_compute) -> float:
    """``max_compute``, the most the whole call may train as a multiple of the budget: a number ≥ 0.5."""
    if (isinstance(max_compute, (bool, np.bool_)) or not isinstance(max_compute, (int, float, np.integer, np.floating))
            or not max_compute >= 0.5 or not np.isfinite(max_compute)):
        raise ValueError(f"max_compute: must be a number >= 0.5 (times the budget), got {max_compute!r}")
    return float(max_compute)


def fit_the_rounds(used: int, n_cands: int, n_final: int, verify_steps: int, final_steps: int,
                   budget: int | None, fixed: bool = False, max_compute: float = BUDGET_ALL) -> int:
    """The finalists' round length that keeps the whole call within ``max_compute`` × ``budget`` after ``used``
    steps of range test, with room for one more run of that length (the margin check's first probe): shortened
    when the range test took much of the budget (never below twice the first round's); unchanged without a budget
    or when the user fixed it (``fixed``)."""
    if budget is None or fixed:
        return final_steps
    room = round(max_compute * budget) - used - n_cands * verify_steps
    return int(max(min(final_steps, room // (max(n_final, 1) + 1)), min(final_steps, 2 * verify_steps)))


class DivergenceStop:
    """The range test's stop rule (core and torch alike): stop once the smoothed loss (:class:`DebiasedAverage`)
    exceeds ``factor`` × its best so far -- for losses that can be negative, once it rose ``factor − 1`` times the
    distance from the first smoothed value to the best -- or a loss is not finite; never in the first 5 steps."""

    def __init__(self, beta: float, factor: float):
        self.average, self.factor, self.best, self.first = DebiasedAverage(beta), factor, np.inf, None

    def __call__(self, t: int, loss) -> bool:
        x = float(np.asarray(loss).ravel()[0])
        if not np.isfinite(x):
            return True
        s = self.average.add(x)
        self.first = s if self.first is None else self.first
        self.best = min(self.best, s)
        if self.average.count <= 5:
            return False
        if self.best > 0:          # as torch-lr-finder: a multiple of the best loss
            return s > self.factor * self.best
        return s - self.best > (self.factor - 1) * max(self.first - self.best, 1e-12)
