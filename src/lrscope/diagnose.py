"""Verdicts: is a run converged, slow, oscillating or diverged (or is the loss unbounded) -- why, and what to do.

A pure function of a loss curve (and, when known, the parameter path, the learning rate and the stability bound).
The tests, in order:

0. **unbounded** -- the loss fell without limit (more than 10 times its starting size, and at the end still
   faster and faster, or until it left the finite numbers), or theory says it curves downward everywhere: the loss
   has no minimum, no learning rate helps; and a start where the gradient is zero is named as such (no rate moves
   it: a verdict about the start, not the rate);
1. **diverged** -- the loss or the parameters left the finite numbers, or the loss ended far above its start
   (more than ``start + 10·m``, with m the scale of the loss);
2. **converged** -- the cost stopped decreasing significantly over the last tenth of the run (by less than
   ``tol``·m), the parameters settled (full-batch runs), and the point reached is a minimum: the loss is as low as
   the best known value, or the gradient has shrunk by 10,000×. The step reported is the first from which the loss
   stays within ``10·tol``·m of its final value and the parameters within 1% of their total travel;
3. **oscillating** -- not converged, and the steps keep reversing direction (consecutive parameter steps point
   against each other) or the loss goes up and down, without settling;
4. **slow** -- anything else: still decreasing at the end of the budget (with an estimate of the steps still
   needed), or stalled well above what other learning rates reached.

m is ``max(|start − best|, 1e-12·|start|)``, where *best* is the lowest loss known: the objective's exact minimum,
or the best value any configuration of the sweep reached. Each test is a small function below (``_TESTS``, in this
order) reading a :class:`_Curve`; a sweep's runs are then compared with each other (:func:`compare_rates`), and a
noisy curve's verdict is corrected by where it is heading (:mod:`lrscope.outlook`).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from enum import Enum
from typing import NamedTuple

import numpy as np

from . import theory as _theory

STOCHASTIC_TOL = 1e-3      # stochastic runs: a window-mean decrease below 0.1% of the scale (or the noise) is flat


class _Named(str, Enum):
    """A kind that is also its name as a string (compares, prints and serialises as ``"converged"``)."""

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:         # in a printed list or tuple: 'slow', as the string it is
        return repr(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Kind(_Named):
    """What happened to a run."""

    CONVERGED = "converged"
    SLOW = "slow"
    OSCILLATING = "oscillating"
    DIVERGED = "diverged"
    UNBOUNDED = "unbounded"          # the loss has no minimum along the path


class Direction(_Named):
    """What the advice does with the learning rate."""

    LOWER = "lower"
    RAISE = "raise"
    KEEP = "keep"
    UNKNOWN = "unknown"              # the evidence cannot tell (one run alone: no other rate to compare with)
    NONE = "none"                    # not a learning-rate problem (no minimum, a non-finite start)


class Advice(NamedTuple):
    """Advice as data: the ``text`` a person reads, the ``direction`` for the rate and a ``rate`` to try (or None)."""

    text: str
    direction: Direction = Direction.UNKNOWN
    rate: float | None = None


@dataclass(frozen=True)
class Verdict:
    """What happened to one configuration: its ``kind``, the ``step`` where it converged or diverged (None
    otherwise), a one-line ``reason`` and one line of ``advice``; ``direction`` and ``try_lr`` are the advice as
    data (lower / raise / keep the rate, or unknown; a rate to try); ``steps_needed`` estimates the extra steps a
    slow run needs."""

    kind: Kind
    step: int | None
    reason: str
    advice: str
    steps_needed: int | None = None
    direction: Direction = Direction.UNKNOWN
    try_lr: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "direction", Direction(self.direction))

    @classmethod
    def of(cls, kind, step, reason, advice: Advice, steps_needed=None) -> "Verdict":
        """A verdict whose advice is an :class:`Advice` (text, direction and rate together)."""
        return cls(kind, step, reason, advice.text, steps_needed, advice.direction, advice.rate)

    def with_advice(self, advice: Advice) -> "Verdict":
        return replace(self, advice=advice.text, direction=advice.direction, try_lr=advice.rate)

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": self.kind.value, "direction": self.direction.value}


def _g(x: float) -> str:
    return f"{x:.3g}"


def _times(ratio: float) -> str:
    """A ratio as people say it: 1000×, 48×, 2.7×."""
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def _first_nonfinite(losses: np.ndarray, params: np.ndarray | None) -> int | None:
    bad = ~np.isfinite(losses)
    if params is not None:
        bad |= ~np.all(np.isfinite(params), axis=tuple(range(1, params.ndim)))
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else None


def diagnose_curve(losses, params=None, *, lr: float | None = None, best: float | None = None,
                   grad_norms=None, bound: float | None = None, optimal: float | None = None,
                   bound_name: str = "2/L", stochastic: bool = False, final_lr: float | None = None,
                   steps=None, tol: float = 1e-4, bounded: bool = False, concave: bool = False) -> Verdict:
    """The verdict for one run from its loss curve ``losses`` (T+1 values, one per iterate).

    Optional evidence sharpens it: ``params`` (T+1, d) the path, ``grad_norms`` per step, ``final_lr`` the rate at
    the end (a schedule may have shrunk it), ``best`` the lowest loss known (exact minimum or best of a sweep),
    ``lr`` the learning rate and ``bound``/``optimal`` from theory (the largest stable α and the best constant α) for
    advice such as "α=1.1 > 2/L=1.0: lower it". ``steps``: the step number of each point when the curve was recorded
    every few steps (the verdict then speaks in those steps). ``bounded``: the loss is known to have a minimum
    (then it is never judged unbounded below); ``concave``: the loss curves downward in every direction everywhere
    (theory: a constant Hessian with L < 0), so a run that falls falls without limit.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size < 2:
        raise ValueError("losses: need a 1-D curve of at least 2 values")
    if steps is not None and len(steps) != losses.size:
        raise ValueError(f"steps: need one step number per loss ({losses.size}), got {len(steps)}")
    stride = 1.0 if steps is None else (float(steps[-1]) - float(steps[0])) / (losses.size - 1)
    curve = _Curve(losses, params, grad_norms, best, stochastic=stochastic, tol=tol, stride=stride, bounded=bounded,
                   concave=concave)
    verdict = _diagnose_points(curve, _Advice(lr, bound, optimal, bound_name, stochastic, final_lr))
    if steps is None:
        return verdict
    return _in_steps(verdict, np.asarray(steps), losses.size - 1)


def _in_steps(verdict: Verdict, steps: np.ndarray, last: int) -> Verdict:
    """A verdict computed on a thinned curve, told in the run's own step numbers (its step, and 'step N' /
    'in N steps' in the reason)."""

    def real(match):
        i = int(match.group(2))
        return f"{match.group(1)}{int(steps[min(i, last)])}{match.group(3)}"

    reason = re.sub(r"(step )(\d+)()", real, verdict.reason)
    reason = re.sub(r"(in )(\d+)( steps)", real, reason)
    step = None if verdict.step is None else int(steps[min(verdict.step, last)])
    return replace(verdict, step=step, reason=reason)


class _Curve:
    """One run's curve and what the verdict's tests read from it, each quantity computed once when first asked.

    Positions count points of ``losses`` (``stride`` steps apart); ``best`` is the lowest loss known (the objective's
    minimum or a sweep's best; None: this curve's own lowest) and ``m`` the scale of the loss (module docstring)."""

    def __init__(self, losses, params, grad_norms, best, *, stochastic, tol, stride, bounded, concave):
        self.losses = losses
        self.params = None if params is None else np.asarray(params, dtype=np.float64)
        self.grad_norms = None if grad_norms is None else np.asarray(grad_norms, dtype=np.float64)
        self.known_best, self.stochastic, self.tol, self.stride = best, stochastic, tol, stride
        self.bounded, self.concave = bounded, concave
        self.bad = _first_nonfinite(losses, self.params)          # the first non-finite point, or None
        self.f0, self.fT, self.T = float(losses[0]), float(losses[-1]), losses.size - 1

    @cached_property
    def best(self) -> float:
        own = float(np.min(self.losses))
        known = self.known_best
        return own if known is None or not np.isfinite(known) else min(float(known), own)

    @cached_property
    def m(self) -> float:
        return max(abs(self.f0 - self.best), 1e-12 * abs(self.f0), 1e-300)

    @cached_property
    def w(self) -> int:
        """The window of the end: a tenth of the run (at least 2 points)."""
        return min(self.T, max(2, self.T // 10))

    @cached_property
    def noise(self) -> float:
        """Stochastic runs: the spread of the loss over the last window (0 for exact losses)."""
        return float(np.std(self.losses[-self.w:])) if self.stochastic else 0.0

    @cached_property
    def flat(self) -> bool:
        """The loss stopped decreasing over the last window: by less than ``tol``·m (exact), or, between the means
        of the last two windows, by less than ``STOCHASTIC_TOL``·m or ``FLAT_SIGMAS`` times the noise."""
        losses, w = self.losses, self.w
        if self.stochastic:
            previous = losses[-2 * w - 1:-w - 1] if losses.size > 2 * w else losses[:1]
            decrease = float(np.mean(previous) - np.mean(losses[-w:]))
            return decrease <= max(STOCHASTIC_TOL * self.m, FLAT_SIGMAS * self.noise)
        return abs(float(losses[-w - 1] - losses[-1])) <= self.tol * self.m

    @cached_property
    def settled(self) -> bool:
        """Exact runs with a known path: the parameters moved less than ``SETTLED`` of their travel over the last
        window."""
        if self.params is None or self.stochastic:
            return True
        travel = float(np.linalg.norm(self.params[-1] - self.params[0]))
        moved = float(np.linalg.norm(self.params[-1] - self.params[-self.w - 1]))
        return moved <= SETTLED * max(travel, 1e-12)

    @cached_property
    def near_best(self) -> bool:
        return self.fT - self.best <= (NEAR_BEST_NOISY if self.stochastic else self.tol) * self.m

    @cached_property
    def grad_shrunk(self) -> bool:
        gn = self.grad_norms
        return bool(gn is not None and gn.size > 1 and np.isfinite(gn[-1])
                    and gn[-1] <= GRADIENT_SHRUNK * max(gn[0], 1e-300))


# The verdict's tests, in order (the module docstring says each in words); the first that answers decides. Their
# thresholds were set on the course's examples and are pinned by the reference tests
# (tests/test_reference_course_examples.py, tests/test_diagnose.py); what a noisy run's outlook adds is proven on the
# corpus of real runs instead (lrscope.outlook, benchmarks/verdicts).
FAR_ABOVE = 10.0           # diverged: ended more than 10·m above its start
GAVE_BACK = 0.5            # diverged: gave back more than half of what it had gained
FLAT_SIGMAS = 2.0          # stochastic: a decrease within 2 standard deviations of the last window is flat
SETTLED = 1e-2             # exact: the parameters moved less than 1% of their travel over the last window
NEAR_BEST_NOISY = 0.05     # stochastic: within 5% of the scale of the best known is "at the best"
GRADIENT_SHRUNK = 1e-4     # a gradient shrunk 10,000x from the start marks a minimum
ZIGZAG = -0.5              # oscillating: consecutive parameter steps point against each other (mean cosine)
FLIPS = 0.4                # oscillating: the loss changes direction at more than 40% of the last steps


def _no_minimum(c: _Curve, advice: _Advice) -> Verdict | None:
    """0. unbounded: the loss falls without limit along the path, or theory says it curves downward everywhere."""
    if c.bad != 0 and not c.bounded:
        seen = c.losses if c.bad is None else c.losses[:c.bad]
        if falls_without_limit(seen, ended_nonfinite=c.bad is not None):
            where = (f"then left the finite numbers at step {c.bad}" if c.bad is not None
                     else f"and still falls faster and faster at step {seen.size - 1}")
            return Verdict.of(Kind.UNBOUNDED, c.bad, f"the loss fell without limit, from {_g(seen[0])} to "
                              f"{_g(seen[-1])}, {where}: it has no minimum along this path", advice.unbounded())
    if c.concave and c.bad is None and c.fT < c.f0:
        return Verdict.of(Kind.UNBOUNDED, None, f"the loss curves downward in every direction (its largest curvature "
                          f"is negative everywhere): it has no minimum, and this run fell from {_g(c.f0)} to "
                          f"{_g(c.fT)}", advice.unbounded())
    return None


def _stationary_start(c: _Curve, advice: _Advice) -> Verdict | None:
    """The start is a stationary point: the gradient is zero there and no step moves it -- a verdict about the
    start, not the rate (a minimum where the objective's minimum is known and reached; else it cannot tell)."""
    gn = c.grad_norms
    if c.bad is not None or gn is None or not gn.size or float(gn[0]) != 0 or not np.all(c.losses == c.f0):
        return None
    lowest = c.bounded and c.known_best is not None and np.isfinite(c.known_best) and c.f0 <= c.known_best
    what = "a minimum" if lowest else "a stationary point (a minimum, a saddle or a maximum)"
    return Verdict.of(Kind.CONVERGED, 0, f"the start is already {what}: the gradient is zero there, so no step "
                      f"moves it (the loss stays {_g(c.f0)})",
                      Advice("start somewhere else to see what the learning rate does: no rate moves it from here",
                             Direction.NONE))


def _not_finite(c: _Curve, advice: _Advice) -> Verdict | None:
    """1. diverged: the loss or the parameters left the finite numbers."""
    if c.bad is None:
        return None
    if c.bad == 0:
        return Verdict.of(Kind.DIVERGED, 0, "the loss is not finite at the start point",
                          Advice("check the objective and the start point: the problem is not the learning rate",
                                 Direction.NONE))
    return Verdict.of(Kind.DIVERGED, c.bad, f"the loss left the finite numbers at step {c.bad} (it was "
                      f"{_g(c.losses[c.bad - 1])} the step before)", advice.diverged())


def _went_up(c: _Curve, advice: _Advice) -> Verdict | None:
    """1a. diverged: far above the start (or above it and still rising); 1b. ended above its start after rising
    past it (training went backwards; in a noisy run, by more than 5% of the scale)."""
    f0, fT, m, losses = c.f0, c.fT, c.m, c.losses
    if fT > f0 + FAR_ABOVE * m or (fT > f0 + m and _rising(losses)):
        below = np.flatnonzero(losses <= f0)
        step = int(below[-1] + 1) if below.size else 0      # from here on the loss stays above its start
        return Verdict.of(Kind.DIVERGED, step, f"the loss rose above its start at step {step} and grew from "
                          f"{_g(f0)} to {_g(fT)}", advice.diverged())
    if fT > f0 + c.tol * m and np.max(losses) > f0 + c.tol * m and not _noise_only(losses, c.stochastic, m):
        return Verdict.of(Kind.DIVERGED, int(np.argmax(losses > f0 + c.tol * m)), f"the loss ended above its start "
                          f"({_g(f0)} → {_g(fT)}) while the best known is {_g(c.best)}: training went backwards",
                          advice.diverged())
    return None


def _gave_back(c: _Curve, advice: _Advice) -> Verdict | None:
    """1c. diverged: it gave back more than ``GAVE_BACK`` of what it had gained. A noisy run is read off a centred
    moving average, and its gain must stand out of the step-to-step noise (a flat noisy curve has a lowest point
    too, and it means nothing)."""
    losses, curve = c.losses, c.losses
    if c.stochastic and losses.size >= 8:
        w = max(3, losses.size // 20)
        curve = np.convolve(losses, np.ones(w) / w, mode="same")
        curve[: w // 2], curve[losses.size - (w - 1) // 2:] = losses[: w // 2], np.mean(losses[-w:])
    low_at = int(np.argmin(curve))
    gained = c.f0 - curve[low_at]
    noise = float(np.std(np.diff(losses)) / np.sqrt(2)) if c.stochastic and losses.size > 2 else 0.0
    if gained > c.tol * c.m and gained > 3 * noise and curve[-1] - curve[low_at] > GAVE_BACK * gained:
        words = " (averaged)" if c.stochastic else ""
        return Verdict.of(Kind.DIVERGED, low_at, f"the loss{words} rose again after step {low_at}, from its low "
                          f"{_g(curve[low_at])} to {_g(curve[-1])} (start {_g(c.f0)})", advice.diverged())
    return None


def _converged(c: _Curve, advice: _Advice) -> Verdict | None:
    """2. converged: flat, settled, and at a minimum (as low as the best known, or the gradient shrunk); the step is
    the first from which it stays there."""
    if not (c.flat and c.settled and (c.near_best or c.grad_shrunk)):
        return None
    if c.stochastic:     # settle on the trend, not on the noise: a moving average over half a window
        span = max(1, c.w // 2)
        trend = np.convolve(c.losses, np.ones(span) / span, mode="valid")
        step = _settling_step(trend, None, STOCHASTIC_TOL * 10 * c.m + FLAT_SIGMAS * c.noise) + span - 1
        return Verdict.of(Kind.CONVERGED, step, f"the loss fell from {_g(c.f0)} to {_g(c.fT)} and stopped "
                          f"decreasing beyond its noise by step {step}", advice.converged())
    step = _settling_step(c.losses, c.params, 10 * c.tol * c.m)
    rate = _shrinking(c.losses, step)
    return Verdict.of(Kind.CONVERGED, step, _converged_words(c.losses, step, c.m, rate) +
                      ("; the parameters settled" if c.params is not None else ""),
                      advice.converged(None if rate is None else c.fT))


def _oscillating(c: _Curve, advice: _Advice) -> Verdict | None:
    """3. oscillating: the steps keep reversing direction, or the loss keeps going up and down without settling."""
    zigzag = _zigzag(c.params[-c.w - 1:]) if c.params is not None else 0.0
    flips = _sign_flips(np.diff(c.losses[-c.w - 1:]))
    if not (zigzag < ZIGZAG or (flips > FLIPS and (c.flat or c.stochastic) and not c.near_best)):
        return None
    what = ("the steps keep reversing direction (the iterates jump across the valley)" if zigzag < ZIGZAG
            else "the loss keeps going up and down")
    level = f"; loss {_g(c.fT)} vs best {_g(c.best)}" if not c.near_best else ""
    return Verdict.of(Kind.OSCILLATING, None, what + level, advice.oscillating())


def _slow(c: _Curve, advice: _Advice) -> Verdict:
    """4. slow: anything else -- stalled well above the best, or still falling (with the steps still needed)."""
    f0, fT, m = c.f0, c.fT, c.m
    if c.flat and not c.near_best:
        where = "the noise floor of this α" if c.stochastic else f"{100 * (f0 - fT) / m:.3g}% of the way down"
        return Verdict.of(Kind.SLOW, None, f"the loss stalled at {_g(fT)} ({where}), well above the best "
                          f"{_g(c.best)}", advice.stalled())
    if c.flat:
        return Verdict.of(Kind.SLOW, None, f"the loss has almost stopped falling ({_g(fT)}) but the parameters are "
                          f"still moving", advice.slow(None))
    decayed = advice.final_lr is not None and advice.lr is not None and advice.final_lr < 0.1 * advice.lr
    needed = None if c.stochastic or decayed else _steps_needed(c.losses, c.w, c.tol * m)
    needed = None if needed is None else math.ceil(needed * c.stride)
    more = f"; about {needed} more steps needed" if needed else ""
    return Verdict.of(Kind.SLOW, None, f"the loss is still falling at the end ({_g(f0)} → {_g(fT)} in {c.T} "
                      f"steps){more}", advice.slow(needed), steps_needed=needed or None)


_TESTS = (_no_minimum, _stationary_start, _not_finite, _went_up, _gave_back, _converged, _oscillating, _slow)


def _diagnose_points(c: _Curve, advice: _Advice) -> Verdict:
    """The verdict: the first of the tests that answers (``_slow`` always does)."""
    for test in _TESTS:
        verdict = test(c, advice)
        if verdict is not None:
            return verdict
    raise AssertionError("unreachable: _slow always answers")


def _shrinking(losses: np.ndarray, step: int) -> float | None:
    """The factor by which the loss's decreases still shrink a step after ``step`` (geometric, as gradient descent near
    a minimum shrinks them), or None when it is not falling at every step of its last ten."""
    fall = -np.diff(losses[step:])[-10:]
    if fall.size < 3 or not np.all(fall > 0):
        return None
    rate = float(np.exp(np.mean(np.diff(np.log(fall)))))
    return rate if rate < 0.999 else None


def _converged_words(losses: np.ndarray, step: int, m: float, rate: float | None) -> str:
    """A converged full-batch run in the terms its chart shows: how far down it had come by its settling step, and,
    if it is still shrinking geometrically, by how much a step."""
    f0, fT = float(losses[0]), float(losses[-1])
    down = (f0 - float(losses[step])) / m
    words = f"the loss fell from {_g(f0)} to {_g(fT)}: {_share(down)} of the way down by step {step}"
    return words + (f", and it keeps shrinking ×{rate:.2g} a step" if rate is not None else "")


def _share(x: float) -> str:
    """99.9%, 99.99999%: as many nines as the share has (a share of the way down, close to all of it)."""
    if x >= 1:
        return "all"
    digits = next((d for d in range(13) if round(100 * x, d) < 100), 12)
    return f"{100 * x:.{digits}f}%"


def falls_without_limit(losses: np.ndarray, ended_nonfinite: bool) -> bool:
    """Whether a curve looks unbounded below: it fell by more than 10 times its starting size (at least 10) and,
    at the end, either left the finite numbers while still falling, or falls faster and faster (a loss with a
    floor must slow down as it nears it: its decreases shrink)."""
    if losses.size < 4:
        return False
    f0, fT = float(losses[0]), float(losses[-1])
    if not fT < f0 - 10 * max(abs(f0), 1.0):
        return False
    if ended_nonfinite:
        return bool(np.all(np.diff(losses[-3:]) < 0))
    w = max(2, (losses.size - 1) // 10)
    if losses.size <= 2 * w:
        return False
    d_now, d_before = losses[-w - 1] - losses[-1], losses[-2 * w - 1] - losses[-w - 1]
    return bool(d_before > 0 and d_now > 1.2 * d_before)


def _noise_only(losses: np.ndarray, stochastic: bool, m: float) -> bool:
    """In a stochastic run, an end slightly above the start can be noise: only more than 5% of the scale counts."""
    return stochastic and losses[-1] - losses[0] <= 0.05 * m


class DebiasedAverage:
    """An exponential moving average with Adam's bias correction, one value at a time: a_t = β·a_{t−1} + (1−β)·x_t,
    reported as a_t/(1 − β^t), so the first values are not pulled towards zero."""

    def __init__(self, beta: float = 0.9):
        self.beta, self.avg, self.count = beta, 0.0, 0

    def add(self, x: float) -> float:
        """Take in ``x``; return the debiased average so far."""
        self.count += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * x
        return self.avg / (1 - self.beta ** self.count)


def smooth(losses, beta: float = 0.9) -> np.ndarray:
    """A whole curve through :class:`DebiasedAverage` (the range test's curves, noisy mini-batch losses)."""
    average = DebiasedAverage(beta)
    return np.array([average.add(x) for x in np.asarray(losses, dtype=np.float64)])


def _rising(losses: np.ndarray) -> bool:
    """The loss grows over the last third of the run in most steps."""
    tail = np.diff(losses[-max(3, losses.size // 3):])
    return tail.size > 0 and np.mean(tail > 0) > 0.6


def _zigzag(path: np.ndarray) -> float:
    """Mean cosine between consecutive parameter steps (−1: every step reverses the last)."""
    steps = np.diff(path, axis=0)
    norms = np.linalg.norm(steps, axis=1)
    a, b, na, nb = steps[1:], steps[:-1], norms[1:], norms[:-1]
    ok = (na > 0) & (nb > 0)
    if not np.any(ok):
        return 0.0
    return float(np.mean(np.einsum("ij,ij->i", a[ok], b[ok]) / (na[ok] * nb[ok])))


def _sign_flips(diffs: np.ndarray) -> float:
    s = np.sign(diffs[diffs != 0])
    return float(np.mean(s[1:] != s[:-1])) if s.size > 2 else 0.0


def _settling_step(losses, params, loss_tol) -> int:
    """First step from which the loss stays within ``loss_tol`` of its final value and, if known, the parameters
    within 1% of their total travel of their final value."""
    ok = np.abs(losses - losses[-1]) <= loss_tol
    if params is not None:
        dist = np.linalg.norm(params - params[-1], axis=1)
        ok &= dist <= 1e-2 * max(float(np.linalg.norm(params[0] - params[-1])), 1e-300)
    not_ok = np.flatnonzero(~ok)
    return int(not_ok[-1] + 1) if not_ok.size else 0


def _steps_needed(losses, w, target_decrease) -> int | None:
    """Extra steps until the convergence test would pass, if the loss keeps approaching its limit geometrically.

    The tail is modelled as f(t) = c + A·ρᵗ, with ρ from the decreases over the last two windows (ρʷ = D_now/D_before);
    the answer is the first n at which the decrease over the test's window (a tenth of the longer run) is below
    ``target_decrease``. ``None`` when the loss is not shrinking geometrically (no basis for an estimate).
    """
    T = losses.size - 1
    if T < 2 * w:
        return None
    d_now = losses[-w - 1] - losses[-1]
    d_before = losses[-2 * w - 1] - losses[-w - 1]
    if d_now <= 0 or d_before <= 0 or d_now >= d_before:
        return None
    rho = (d_now / d_before) ** (1.0 / w)
    amplitude = d_now / (rho ** -w - 1.0)          # A·ρᵀ: what is left to fall

    def window_decrease(n):
        w_future = min(T + n, max(2, (T + n) // 10))
        return amplitude * rho ** n * (rho ** -w_future - 1.0)

    if window_decrease(0) <= target_decrease:
        return 0
    hi = 1
    while window_decrease(hi) > target_decrease:
        hi *= 2
        if hi > 10**12:
            return None
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if window_decrease(mid) > target_decrease else (lo, mid)
    return hi


class _Advice:
    """One :class:`Advice` per verdict, tied to the stability bound when theory knows it."""

    def __init__(self, lr, bound, optimal, bound_name, stochastic, final_lr=None):
        self.lr, self.bound, self.optimal, self.name, self.stochastic = lr, bound, optimal, bound_name, stochastic
        self.final_lr = final_lr

    def decayed(self) -> bool:
        """Whether a schedule already lowered the rate to a third of its peak or less by the end."""
        return self.lr is not None and self.final_lr is not None and self.final_lr < self.lr / 3

    def _a(self):
        return f"α={self.lr:g}"

    def _known(self):
        return self.lr is not None and self.bound is not None and np.isfinite(self.bound)

    def _target(self):
        return f" (the best constant α is about {self.optimal:.3g})" if self.optimal is not None else ""

    def _lower(self, text: str, rate: float | None) -> Advice:
        return Advice(text, Direction.LOWER, rate)

    def diverged(self) -> Advice:
        if self._known() and self.lr >= self.bound:
            rate = self.optimal if self.optimal is not None and self.optimal < self.bound else 0.5 * self.bound
            return self._lower(f"{self._a()} > {self.name}={self.bound:.3g}: lower it below {self.bound:.3g}"
                               f"{self._target()}", rate)
        if self._known():
            return self._lower(f"{self._a()} is below {self.name}={self.bound:.3g} at the start, but the curvature "
                               f"grows along the path: lower α (try {self.lr / 10:.3g})", self.lr / 10)
        if self.lr is not None:
            return self._lower(f"lower the learning rate: try {self.lr / 10:.3g} (10× smaller)", self.lr / 10)
        return self._lower("lower the learning rate by 10×", None)

    def unbounded(self) -> Advice:
        return Advice("no learning rate fixes this: the loss has no minimum (check its sign, or add a term that "
                      "bounds it below, such as a penalty l2·‖x‖²)", Direction.NONE)

    def oscillating(self) -> Advice:
        if self._known() and self.lr >= self.bound:
            rate = self.optimal if self.optimal is not None and self.optimal < self.bound else 0.5 * self.bound
            return self._lower(f"{self._a()} ≥ {self.name}={self.bound:.3g}: the iterates cannot settle; lower it "
                               f"below {self.bound:.3g}{self._target()}", rate)
        if self.stochastic:
            return self._lower("gradient noise keeps it bouncing: lower α, use a decaying schedule, or a larger "
                               "batch", None)
        if self._known():
            share = self.lr / self.bound
            toward = self.optimal is not None and self.optimal < self.lr
            return self._lower(f"{self._a()} is {share:.0%} of {self.name}={self.bound:.3g}: it overshoots; lower it"
                               + (f" toward {self.optimal:.3g}" if toward else ""),
                               self.optimal if toward else self.lr / 3)
        if self.lr is not None:
            return self._lower(f"lower α (try {self.lr / 3:.3g}) or damp it with a decaying schedule", self.lr / 3)
        return self._lower("lower the learning rate", None)

    def _higher(self) -> float | None:
        """A larger rate to try: 3× this one, but never past the stability bound (at most 90% of it); None when
        this one is already that close to the bound."""
        target = 3 * self.lr
        if self._known():
            target = min(target, 0.9 * self.bound)
        return target if target > 1.05 * self.lr else None

    def _at_the_bound(self) -> Advice:
        return Advice(f"{self._a()} is already near or above {self.name}={self.bound:.3g} at the start: a larger α "
                      f"risks divergence; train longer, or use momentum or Adam", Direction.KEEP)

    def slow(self, needed) -> Advice:
        if self.lr is not None and self._higher() is None:
            return self._at_the_bound()
        if self.stochastic and self.lr is not None:
            limit = f"; full-batch theory allows up to {self.name}={self.bound:.3g}" if self._known() else ""
            return Advice(f"raise α (try {self._higher():.3g}) or train longer{limit}", Direction.RAISE,
                          self._higher())
        if self._known() and self.optimal is not None and self.lr < 0.5 * self.optimal:
            return Advice(f"{self._a()} is {_times(self.bound / self.lr)} below {self.name}={self.bound:.3g}: "
                          f"raise it toward {self.optimal:.3g}", Direction.RAISE, self.optimal)
        if self.lr is not None:
            more = f"about {needed} " if needed else ""
            return Advice(f"raise α (try {self._higher():.3g}) or run {more}more steps", Direction.RAISE,
                          self._higher())
        return Advice("raise the learning rate or run longer", Direction.RAISE)

    def stalled(self) -> Advice:
        if self.lr is not None and self.final_lr is not None and self.final_lr < 0.01 * self.lr:
            return Advice(f"the schedule shrank α from {self.lr:.3g} to {self.final_lr:.3g} before the minimum: "
                          f"decay it more slowly", Direction.KEEP)
        if self._known() and self.optimal is not None and self.lr < 0.5 * self.optimal:
            return Advice(f"{self._a()} is far below {self.name}={self.bound:.3g}: raise it toward "
                          f"{self.optimal:.3g}", Direction.RAISE, self.optimal)
        if self.lr is not None and self._higher() is None:
            return self._at_the_bound()
        if self.lr is not None:
            return Advice("progress stopped early: raise α, or decay it more slowly if a schedule is shrinking it",
                          Direction.RAISE, self._higher())
        return Advice("raise the learning rate", Direction.RAISE)

    def converged(self, still_falling_at: float | None = None) -> Advice:
        """``still_falling_at``: the last loss of a run whose loss still shrinks geometrically (more steps would
        take it further down: not 'nothing to change')."""
        if self.stochastic:
            if self.decayed():
                return Advice(f"good choice; the schedule already lowered α to {self.final_lr:.3g}: a larger batch "
                              f"would lower the noise floor further", Direction.KEEP)
            return Advice("good choice; a decaying schedule (or a larger batch) would lower the noise floor further",
                          Direction.KEEP)
        if self._known() and self.optimal is not None and self.lr < 0.3 * self.optimal:
            return Advice(f"fine; α≈{self.optimal:.3g} would get there in fewer steps", Direction.RAISE, self.optimal)
        if still_falling_at is not None:
            return Advice(f"a good rate; the loss ({still_falling_at:.3g}) still shrinks every step: more steps take "
                          f"it further down if you need it lower", Direction.KEEP)
        return Advice("good choice: nothing to change", Direction.KEEP)


def _tried_worse(k: int, v: Verdict, ends, lrs, usable) -> int | None:
    """A rate of the sweep on the way to the one ``v`` advises (up to 1.5× past it) that was tried and ended higher
    than run ``k``: advice must not send a user there (it would loop: each raised rate told to raise again)."""
    if v.direction not in (Direction.RAISE, Direction.LOWER):
        return None
    rate = v.try_lr if v.try_lr is not None else (3 * lrs[k] if v.direction == Direction.RAISE else lrs[k] / 3)
    for j in usable:
        between = (lrs[k] < lrs[j] <= 1.5 * rate) if v.direction == Direction.RAISE else (rate / 1.5 <= lrs[j] < lrs[k])
        if between and ends[j] > ends[k]:
            return j
    return None


def judge(result, curve: str = "losses") -> list:
    """A :class:`Verdict` per configuration of a sweep's ``result`` (its traces), with advice tied to its theory
    (``result.analysis``: the stability bound of its optimizer, and for gradient descent the optimal constant α).

    ``curve="batch"`` judges the per-step mini-batch losses instead of the full loss (for runs where the full loss
    was evaluated only a few times, as ``lrscope.torch.sweep`` does by default to stay fast).
    """
    best = result.objective.minimum
    # the lowest loss any run reached sets the scale of 'far from the best' -- but not a run that fell without
    # limit (its loss says nothing about where the others stand)
    bounded = result.objective.minimum is not None
    rows = [r[np.isfinite(r)] for r in result.losses]
    kept = [r for r in rows if bounded or not falls_without_limit(r, ended_nonfinite=r.size < result.losses.shape[1])]
    finite = np.concatenate(kept) if kept else np.empty(0)
    sweep_best = float(finite.min()) if finite.size else None
    if best is None:
        best = sweep_best
    elif sweep_best is not None:
        best = min(best, sweep_best)
    analysis, kind = result.analysis, result.optimizer.kind
    limits = analysis.stability_limit(result.optimizer) if analysis else None
    optimal = analysis.optimal if analysis and kind == "gd" and np.isfinite(analysis.optimal) else None
    stochastic = result.batch_losses is not None
    concave = bool(analysis is not None and analysis.exact and analysis.L < 0)      # no minimum anywhere
    if curve == "batch":
        if result.batch_losses is None:
            raise ValueError("curve: this result has no mini-batch losses")
        # per-batch losses differ from batch to batch: judge their debiased moving average (β = 0.9)
        curves = np.array([smooth(row) if np.all(np.isfinite(row)) else row for row in result.batch_losses])
        seen, paths = np.arange(result.steps), None
    elif curve == "losses":
        # only the steps where the full loss was evaluated are evidence (the rest repeat it)
        seen = np.unique(np.r_[np.arange(0, result.steps + 1, result.eval_every), result.steps])
        curves, paths = result.losses[:, seen], None if result.params is None else result.params[:, seen]
    else:
        raise ValueError(f"curve: expected 'losses' or 'batch', got {curve!r}")
    bounds = None if limits is None else np.broadcast_to(np.asarray(limits, dtype=np.float64), (result.K,))
    if stochastic:        # mini-batch runs: corrected by where each is heading, as a logged run is
        from .outlook import TRAIN_LONGER, heading, nearly_stopped      # (outlook builds on this module)
    out = []
    for k in range(result.K):
        bound = None if bounds is None else float(bounds[k])
        lr = float(result.lrs[k])
        verdict = diagnose_curve(
            curves[k], None if paths is None else paths[k],
            lr=lr, best=best, grad_norms=result.grad_norms[k], bound=bound, optimal=optimal,
            bound_name=_theory.bound_name(kind), stochastic=stochastic, final_lr=float(result.lr_used[k, -1]),
            steps=seen, bounded=result.objective.minimum is not None, concave=concave)
        if stochastic and np.all(np.isfinite(curves[k])):
            advice = _Advice(lr, bound, optimal, _theory.bound_name(kind), True, float(result.lr_used[k, -1]))
            verdict = heading(verdict, seen, curves[k], slow=TRAIN_LONGER,
                              stopped=nearly_stopped(advice.final_lr if advice.decayed() else None),
                              diverged=advice.diverged())
        out.append(verdict)
    ends = np.array([row[np.isfinite(row)][-1] if np.isfinite(row).any() else np.inf for row in curves])
    return compare_rates(out, ends, result.lrs, float(curves[0][0]), bounds=bounds)


# Runs of one task at several rates, judged together. A run is 'as low as the best' when its end is within NEAR of the
# way down from the start to the best end (what a linear chart shows); exact losses (a sweep, drawn on a log axis)
# must also be within LOWER_BY of it; noisy ones count as low as the best when the difference is within 3 standard
# errors.
# benchmarks/verdicts: on the held-back problems, the direction judged per folder of runs agrees with what the grid
# did at the cut for the share given in docs/diagnose.md ("How the verdicts are proven").
NEAR = 0.05
LOWER_BY = 1.5


def compare_rates(verdicts: list, ends, lrs, start: float, errors=None, bounds=None,
                  where: str = "in this sweep") -> list:
    """The verdicts of runs of one task at several rates ``lrs`` (a sweep, a folder of logs), each told whether
    another rate did better: its ``ends`` (loss at a common step; inf for a run that failed) against the lowest.

    A run clearly above the best gets the best's rate as its advice (raise or lower toward it: the evidence of a run
    beats any single-run guess, so advice cannot send a user past a rate that was already tried and did worse). A
    run as low as the best keeps a rate-changing advice only when theory gave it (``bounds``: each run's stability
    bound, or None); one-run guesses become 'keep'. ``errors``: the standard error of each end (noisy logs), or None.
    """
    ends = np.asarray(ends, dtype=np.float64)
    lrs = np.asarray(lrs, dtype=np.float64)
    usable = [k for k, v in enumerate(verdicts) if v.kind in (Kind.CONVERGED, Kind.SLOW, Kind.OSCILLATING)
              and v.direction != Direction.NONE and np.isfinite(ends[k]) and np.isfinite(lrs[k])]
    if len(usable) < 2:
        return list(verdicts)
    best = min(usable, key=lambda k: ends[k])
    low = float(ends[best])
    way = max(float(start) - low, 1e-300)
    out = list(verdicts)
    for k in usable:
        v, end = verdicts[k], float(ends[k])
        gap = end - low
        if errors is None:         # exact losses, drawn on a log axis: a visible gap there counts too
            above = gap > NEAR * way or end > LOWER_BY * low > 0
        else:                      # noisy logs, read on a linear axis: a visible gap beyond the noise
            above = gap > NEAR * way and gap > 3 * math.hypot(errors[k], errors[best])
        theory = bounds is not None and np.isfinite(bounds[k])
        if k != best and above and lrs[k] == lrs[best]:
            out[k] = v.with_advice(Advice(f"another configuration {where} at the same α ends lower ({low:.3g} vs "
                                          f"{end:.3g}): its other settings do better", Direction.KEEP))
        elif k != best and above:
            toward = Direction.RAISE if lrs[best] > lrs[k] else Direction.LOWER
            evidence = f"α={lrs[best]:.3g} {where} ends lower ({low:.3g} vs {end:.3g})"
            text = (f"{v.advice}; {evidence}" if v.direction == toward and v.try_lr is None   # its why, and the rate
                    else f"{evidence}: {toward.value} α toward it")
            out[k] = v.with_advice(Advice(text, toward, float(lrs[best])))
        elif (j := _tried_worse(k, v, ends, lrs, usable)) is not None:
            out[k] = v.with_advice(Advice(f"α={lrs[j]:.3g} {where} was tried and ends higher ({ends[j]:.3g} vs "
                                          f"{end:.3g}): keep α" + ("; still falling: train longer"
                                                                   if v.kind == Kind.SLOW else ""), Direction.KEEP))
        elif not (theory and v.direction in (Direction.RAISE, Direction.LOWER)):
            what = (f"the lowest end of the rates {where}" if k == best
                    else f"as low as the best rate {where} (α={lrs[best]:.3g}: {low:.3g} vs {end:.3g})")
            more = "; still falling: train longer" if v.kind == Kind.SLOW else ""
            out[k] = v.with_advice(Advice(f"{what}: keep α{more}", Direction.KEEP))
    return out

