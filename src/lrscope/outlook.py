"""Where a noisy training curve is heading: still improving, stopped, or going back up -- read off the levels of the
loss (means of a tenth of its steps), so that a verdict on a mini-batch loss says what training on would do.

Used by every judge of noisy per-step losses: logged runs (:mod:`lrscope.logs`) and the live
:class:`lrscope.torch.monitor.Monitor` (and so the Lightning and Hugging Face callbacks).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .diagnose import Advice, Direction, Kind, Verdict

# Would training on pay? The outlook of a logged run (``outlook``): its level (the mean of a tenth of its steps) at a
# quarter, half and all of the steps logged; the fall over the last doubling of the steps, shrinking from one
# doubling to the next as it did over the one before (at most as fast as it was), extrapolated over the doublings to
# HORIZON× the steps. A run whose outlook adds at least PAYS of its progress so far is slow (training on pays), one
# that adds less has stopped. benchmarks/verdicts (docs/diagnose.md, "How the verdicts are proven"): this one rule
# replaced a test of the trend's slope against its standard error (agreement on the tune problems 69% -> 91%).
# A level is compared with the first logged loss (one loss, one noise unit: the spread of a single loss) at SIGMAS
# noise units -- "back at its start", "learned nothing yet"; on the tune problems 2: 90%, 3: 91%, 4: 92%, 5: 91%
# agreement. Levels compared with each other use 3 standard errors of their means.
HORIZON = 4
PAYS = 0.02
SIGMAS = 4.0

# what to do, for a caller that knows no more than the curve (a sweep or the Monitor: the rate is kept either way)
TRAIN_LONGER = Advice("train longer: the loss is still improving", Direction.KEEP)
NEARLY_STOPPED = Advice("more steps add little now; a decaying schedule or a larger batch would lower the noise "
                        "floor", Direction.KEEP)


def nearly_stopped(decayed_to: float | None = None) -> Advice:
    """What to do when more steps add little: ``NEARLY_STOPPED``, or -- where a schedule already lowered the rate to
    ``decayed_to`` -- a larger batch (telling a decayed run to decay would be advice it already followed)."""
    if decayed_to is None:
        return NEARLY_STOPPED
    return Advice(f"more steps add little now; the schedule already lowered α to {decayed_to:.3g}: a larger batch "
                  f"would lower the noise floor", Direction.KEEP)


def _g(x: float) -> str:
    return f"{x:.3g}"


def _level(t: np.ndarray, y: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The mean of the losses logged at steps in (lo, hi] and its standard error."""
    seg = y[(t > lo) & (t <= hi)]
    if seg.size == 0:
        return math.nan, 0.0
    return float(np.mean(seg)), float(np.std(seg) / math.sqrt(seg.size))


class Outlook(NamedTuple):
    """Where a logged run is heading, from the levels of its loss (means of a tenth of its steps): ``kind`` slow
    (training on pays), converged (it will hardly improve) or diverged (it went back up); ``share``, what training on
    to ``HORIZON``× the steps is expected to add to its progress so far; ``why`` in words; ``step`` where a
    divergence began."""

    kind: Kind
    share: float
    why: str
    step: int | None = None


def outlook(steps: np.ndarray, values: np.ndarray, start: float | None = None) -> Outlook | None:
    """The outlook of a finite logged loss (see :class:`Outlook`), in this order:

    1. went backwards -- its last level is back at its first loss or above (within ``SIGMAS`` noise units of a
       loss), after a tenth's level rose above the first loss or fell clearly below the last: diverged;
    2. nothing learned yet -- its last level within ``SIGMAS`` noise units of the first loss, or not clearly below
       ``start`` (a level: 3 standard errors of two levels) where that is given, and no such excursion: slow;
    3. rising -- its last level is above the level at half the steps by 3 standard errors and a tenth of its gain:
       diverged;
    4. else the fall over the last doubling of the steps (half → all), shrinking from one doubling to the next as
       it did over the one before (at most as fast), summed over the doublings to ``HORIZON``×: a share of the
       progress so far of at least ``PAYS`` is slow, less is converged -- and converged whatever the pace where the
       loss was never below 0 and its level is under ``PAYS`` of its progress (it cannot lose more than its level).

    ``start``: the starting level of runs of the same task (``lrscope.logs.starting_levels``), the evidence of
    learning where it is given -- one mini-batch's first loss can be high or low by chance; the first loss, or
    ``start`` where that is higher, is the start progress is measured from.

    None for a log too short to tell (fewer than 20 points)."""
    if values.size < 20:
        return None
    t = steps.astype(np.float64) - float(steps[0])
    T = float(t[-1])
    w = max(T / 10, 1.0)
    at = lambda a, b: _level(t, values, a, b)                         # noqa: E731
    (q, _), (h, e_h), (end, e_end) = at(T / 4 - w / 2, T / 4 + w / 2), at(T / 2 - w / 2, T / 2 + w / 2), at(T - w, T)
    tenths = np.arange(-1.0, T - w, w)
    levels = np.array([at(a, a + w)[0] for a in tenths])
    if not np.all(np.isfinite(levels)) or not all(np.isfinite([q, h, end])):
        return None
    # the start is one loss (its noise: a loss's spread) or the folder's starting level, a mean whose noise is a
    # level's (3 standard errors of a difference of two levels): with batches of 8, four losses' spreads hid a fall
    # from 0.87 to 0.52 -- linear regression by SGD, 12 tune problems: 93% -> 99% (with heading's converged
    # overruling the core's diverged, below); the tune half unchanged at 94%. The folder's level is that evidence
    # also where this run's first loss is higher (high by chance: 1.49 -> 0.49 with batches of 8 was "nothing
    # learned"): linear regression, 16 more problems (seeds 8-23), 10 misses -> 2; the tune half unchanged at 95%
    level = start
    start = float(values[0]) if start is None else max(float(values[0]), start)
    # the noise of one logged loss: at the end or over the first tenth, the smaller (a blow-up is not noise)
    spread = min(float(np.std(values[t > T - w])), float(np.std(values[t <= w])))
    half_way, last = int(steps[0] + T / 2), int(steps[-1])
    n = max(1, int(np.sum(t > T - w)))
    blew_up = float(np.max(levels)) - start > SIGMAS * spread                 # a tenth above the first loss
    gave_back = end - float(np.min(levels)) > 3 * math.sqrt(2 / n) * spread    # a tenth below the end
    if end >= start - SIGMAS * spread and (blew_up or gave_back):
        turn = int(np.argmax(levels)) if blew_up else int(np.argmin(levels))
        return Outlook(Kind.DIVERGED, 0.0, f"no net progress: its level is back at {_g(end)} by step {last} (first "
                                           f"loss {_g(start)}; {_g(levels[turn])} around step "
                                           f"{int(steps[0] + tenths[turn] + w)})",
                       int(steps[0] + min(tenths[turn] + w, T)))
    if (end > level - 3 * math.sqrt(2 / n) * spread if level is not None
            else abs(end - start) <= SIGMAS * spread):
        return Outlook(Kind.SLOW, math.inf, f"it has learned nothing beyond its noise yet in {last - int(steps[0])} "
                                            f"steps (level {_g(end)} at the end, first loss {_g(start)})")
    lowest = float(np.min(levels))
    fall, before = h - end, q - h
    if -fall > 3 * math.hypot(e_h, e_end) and -fall > 0.1 * (start - lowest):
        turn = int(np.argmin(levels))
        return Outlook(Kind.DIVERGED, 0.0, f"its level rose from {_g(h)} at step {half_way} to {_g(end)} at step "
                                           f"{last} (its lowest was {_g(lowest)})",
                       int(steps[0] + min(tenths[turn] + w, T)))
    progress = start - end
    if not fall > 3 * math.hypot(e_h, e_end):
        return Outlook(Kind.CONVERGED, 0.0, f"its level hardly moved over the second half of the log ({_g(h)} at "
                                            f"step {half_way}, {_g(end)} at the end)")
    shrink = min(fall / before, 1.0) if before > 0 else 1.0
    gain = fall * sum(shrink ** i for i in range(1, int(round(math.log2(HORIZON))) + 1))
    fell = f"its level fell from {_g(h)} at step {half_way} to {_g(end)} at step {last}"
    if float(np.min(values)) >= 0 and end / (progress + end) < PAYS <= gain / (progress + gain):
        # a loss never logged below zero has at most its level left to lose: where that is under PAYS of the
        # progress, no pace can make training on pay (heavy-ball quadratics near zero, falling fast in log scale)
        return Outlook(Kind.CONVERGED, end / (progress + end),
                       f"{fell}; a loss that never went below 0 can add at most {100 * end / (progress + end):.2g}% "
                       f"to its progress so far")
    share = gain / (progress + gain)
    return Outlook(Kind.SLOW if share >= PAYS else Kind.CONVERGED, share,
                   f"{fell}; at that pace, training to {HORIZON}× the steps would add about {100 * share:.2g}% to "
                   f"its progress so far")


def heading(verdict: Verdict, steps: np.ndarray, values: np.ndarray, *, slow: Advice, stopped: Advice,
            diverged: Advice, start: float | None = None) -> Verdict:
    """``verdict`` (the core's, on the curve's shape) corrected by where the finite, noisy ``values`` are heading:
    going back up → diverged; training on pays → slow; a 'slow' run that will hardly improve, or a 'diverged' one
    whose levels show net progress from the task's start (the core reads its curve's first point, one mini-batch's
    loss that can be low by chance), → converged -- each with the caller's advice for that kind (``slow``,
    ``stopped``, ``diverged``: what to do depends on what the caller knows, a sweep's theory or a log's rates).
    Other verdicts stay where the outlook agrees or cannot tell."""
    if verdict.kind == Kind.UNBOUNDED:
        return verdict
    with np.errstate(over="ignore", invalid="ignore"):        # a finite blow-up's spread may pass float64's range
        ahead = outlook(np.asarray(steps), np.asarray(values, dtype=np.float64), start)
    if ahead is None:
        return verdict
    if ahead.kind == Kind.DIVERGED and verdict.kind != Kind.DIVERGED:
        return Verdict.of(Kind.DIVERGED, ahead.step, f"the loss went back up: {ahead.why}", diverged)
    if ahead.kind == Kind.SLOW and verdict.kind != Kind.SLOW:
        head = "no progress yet" if math.isinf(ahead.share) else "still improving"     # learned nothing: not improving
        return Verdict.of(Kind.SLOW, None, f"{head}: {ahead.why}", slow)
    if ahead.kind == Kind.CONVERGED and verdict.kind in (Kind.SLOW, Kind.DIVERGED):
        return Verdict.of(Kind.CONVERGED, None, f"it has nearly stopped improving: {ahead.why}", stopped)
    return verdict
