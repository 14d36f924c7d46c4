"""The schedule you will train with: the finder verifies the peak rate under it.

The best constant rate is not the best peak of a cosine: a decaying rate tolerates a higher start. With
``schedule=``, every verification run follows the schedule's shape over the finalists' horizon (the first round is
its beginning, the finalists run it to the end), so the rate recommended is the **peak** that trained best with that
schedule, and ``step_sizes`` are that peak times the schedule over the budget.

A shape is the multiplier of the peak rate at step t of a run of n steps, m(t, n) in [0, 1]:

- ``constant``: 1;
- ``cosine``: (1 + cos(π t / n)) / 2 -- to 0 at the end (``CosineAnnealingLR`` with T_max = n);
- ``warmup_cosine``: a linear rise from 0 over the first ``WARMUP`` (5%) of the steps, then cosine to 0;
- ``linear``: 1 − t / n (``LinearLR`` to 0, ``get_linear_schedule_with_warmup`` without warmup);
- ``one_cycle``: ``OneCycleLR`` -- from peak/25 up to the peak at 30%, then cosine down to peak/25·10⁻⁴;
- a callable ``f(t, n) -> multiplier`` of your own (called with ints), or an :class:`lrscope.schedules.Schedule`
  (its rates for a base rate of 1).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..schedules import Schedule, one_cycle

WARMUP = 0.05            # warmup_cosine: the share of the run the rate rises over
SHAPES = ("constant", "cosine", "warmup_cosine", "linear", "one_cycle")


def _named(name: str) -> Callable[[np.ndarray, int], np.ndarray]:
    if name == "constant":
        return lambda t, n: np.ones_like(t)
    if name == "cosine":
        return lambda t, n: 0.5 * (1 + np.cos(np.pi * t / n))
    if name == "linear":
        return lambda t, n: 1 - t / n
    if name == "warmup_cosine":
        def warm(t, n):
            w = max(1.0, WARMUP * n)
            return np.where(t < w, (t + 1) / w, 0.5 * (1 + np.cos(np.pi * (t - w) / max(n - w, 1.0))))
        return warm
    cycle = one_cycle()
    return lambda t, n: cycle(t, [1.0], n)[:, 0]


def check_schedule(schedule) -> str | Callable | Schedule | None:
    """``schedule`` as given when it is one the finder can verify (None: the classic answer, a constant pick); a
    ``ValueError`` / ``TypeError`` naming ``schedule`` otherwise."""
    if schedule is None or isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        if schedule not in SHAPES:
            raise ValueError(f"schedule: unknown {schedule!r}; choose one of {', '.join(SHAPES)}, or give a "
                             f"function f(step, total) -> multiplier of the peak rate")
        return schedule
    if callable(schedule):
        return schedule
    raise TypeError(f"schedule: expected a name ({', '.join(SHAPES)}), a function f(step, total) or an lrscope "
                    f"Schedule, got {type(schedule).__name__}")


def name_of(schedule) -> str:
    """How the schedule is named in notes: its name, or what kind of thing it is."""
    if isinstance(schedule, str):
        return schedule
    if isinstance(schedule, Schedule):
        return schedule.name
    return getattr(schedule, "__name__", "your schedule")


def factors(schedule, n: int, total: int | None = None) -> np.ndarray:
    """The multipliers of the peak rate over the n steps of a run, m(0, n) … m(n−1, n); a ``ValueError`` naming
    ``schedule`` where a schedule of your own gives a value that is not a finite number >= 0, or only zeros. An
    lrscope ``Schedule`` counts in steps (a step decay every 100): it is taken over the ``total`` steps you will
    train for and read at the same fractions of the run (default: over the n steps)."""
    t = np.arange(n, dtype=np.float64)
    if isinstance(schedule, str):
        out = np.asarray(_named(schedule)(t, n), dtype=np.float64)
    elif isinstance(schedule, Schedule):
        total = n if total is None else int(total)
        out = schedule(np.floor(t * total / n).astype(int), [1.0], total)[:, 0]
    else:
        try:
            out = np.array([float(schedule(int(k), n)) for k in range(n)])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"schedule: f(step, total) must return a number, failed with: {exc}") from None
    if not np.all(np.isfinite(out)) or np.any(out < 0) or not np.any(out > 0):
        raise ValueError(f"schedule: its multipliers of the peak rate must be finite numbers >= 0, not all 0; "
                         f"{name_of(schedule)} gives {out.min():g} to {out.max():g} over {n} steps")
    return out


def step_sizes(peak: float, schedule, budget: int) -> np.ndarray:
    """The rate of every step of the budget: the verified ``peak`` times the schedule's multipliers."""
    return peak * factors(schedule, budget)


def with_schedule(peak: float, schedule, budget: int | None, horizon: int) -> tuple[np.ndarray | None, list, str]:
    """What the finder adds to a peak verified with ``schedule`` over ``horizon`` steps: (the rate of every step of
    the budget or None without one, the notes that say how it was verified, the ending of its reason)."""
    name = name_of(schedule)
    note = (f"verified with the {name} schedule: every verification run followed it over the {horizon} steps of the "
            f"final round, so {peak:.3g} is the peak rate that trained best with it")
    if budget is None:
        return None, [note + "; give budget= (the steps you will train for) to get the rate of every step"], \
            f"; verified as the peak of a {name} schedule"
    return (step_sizes(peak, schedule, budget),
            [note + f"; the rate of every step (step_sizes) is that peak times the schedule over the {budget} steps "
                    f"of the budget"],
            f"; verified as the peak of a {name} schedule")
