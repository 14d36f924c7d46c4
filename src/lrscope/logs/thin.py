"""A log's series kept in bounded memory while it is read: past ``MAX_POINTS`` points a series keeps every 3rd point
(then every 9th, 27th ...), as if it had been logged every few steps -- what Lightning's ``log_every_n_steps`` writes.

Why thinning and not bin means: a kept point is a real logged loss, so the judge's noise level, trend, spikes that
last longer than the stride, and the step-to-step alternation of an overshooting run (an odd stride keeps a period
of two) mean the same as on a log written that way; a mean of 2 or 4 points would hide the noise and flatten an
alternation into a constant. Two points are always kept: the first that is not finite (where a run diverged) and
the last (where it ended).

A :class:`Pool` holds the series of one read: each at most ``MAX_POINTS``, all together at most ``POOL_POINTS``
(the longest is thinned first), so the memory of reading a log does not grow with its length. Logs within both
limits are kept whole (every log of benchmarks/verdicts; a 10⁶-step run logged every step).
"""

from __future__ import annotations

import numpy as np

from .series import Series

MAX_POINTS = 1 << 20         # points of one series (a 10⁶-step run logged every step is kept whole)
POOL_POINTS = 1 << 22        # points of all series of one read (24 bytes each: step, value, position)
FACTOR = 3                   # odd: thinning keeps a loss that alternates at every step alternating
BUFFER = 1 << 12             # points appended one at a time, handed over together (a few per tag of a log)


class Thinned:
    """One series as it is read: :meth:`add` its points in the order the log holds them (chunks of any size), or
    :meth:`append` them one at a time; :meth:`series` gives them sorted by step (a step logged twice: the later
    entry wins), every ``stride``-th."""

    def __init__(self, pool: "Pool | None" = None):
        self.pool = pool
        self.limit = MAX_POINTS if pool is None else pool.per_series
        self.waiting: tuple = ([], [])         # steps and values appended, not yet added
        self.stride = 1
        self.count = 0                         # points added
        self.kept = 0                          # points held
        self.chunks: list = []                 # (positions, steps, values) of the points held
        self.first_bad: int | None = None      # position of the first non-finite value
        self.last: tuple | None = None         # (position, step, value) of the last point added

    def append(self, step: int, value: float) -> None:
        """One point (a reader of records or entries); they are added ``BUFFER`` at a time."""
        steps, values = self.waiting
        steps.append(step)
        values.append(value)
        if len(steps) >= BUFFER:
            self.flush()

    def flush(self) -> None:
        """Add the points appended so far."""
        steps, values = self.waiting
        if steps:
            self.waiting = ([], [])
            self.add(steps, values)

    def add(self, steps, values) -> None:
        steps = np.asarray(steps, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        if steps.size == 0:
            return
        at = np.arange(self.count, self.count + steps.size, dtype=np.int64)
        keep = at % self.stride == 0
        if self.first_bad is None:
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                self.first_bad = int(at[bad[0]])
                keep[bad[0]] = True
        self.last = (int(at[-1]), int(steps[-1]), float(values[-1]))
        self.count += steps.size
        if np.any(keep):
            self.chunks.append((at[keep], steps[keep], values[keep]))
            self._held_now(self.kept + int(np.count_nonzero(keep)))
        while self.kept > self.limit:
            self.thin()
        if self.pool is not None:
            self.pool.settle()

    def _held_now(self, kept: int) -> None:
        if self.pool is not None:
            self.pool.total += kept - self.kept
        self.kept = kept

    def thin(self) -> None:
        """Keep every ``FACTOR``-th of the points held (and the first non-finite one)."""
        self.stride *= FACTOR
        at, steps, values = self._held()
        keep = (at % self.stride == 0) | (at == (-1 if self.first_bad is None else self.first_bad))
        self.chunks = [(at[keep], steps[keep], values[keep])]
        self._held_now(int(np.count_nonzero(keep)))

    def _held(self):
        if not self.chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        if len(self.chunks) > 1:
            self.chunks = [tuple(np.concatenate(parts) for parts in zip(*self.chunks))]
        return self.chunks[0]

    def series(self) -> Series:
        """The points held, and the last one added, as a :class:`Series` sorted by step (``every`` = the stride)."""
        self.flush()
        at, steps, values = self._held()
        if self.last is not None and (not at.size or at[-1] != self.last[0]):
            steps, values = np.r_[steps, self.last[1]], np.r_[values, self.last[2]]
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
        if steps.size > 1:                     # a step logged twice (a resumed run): the later entry wins
            keep = np.r_[steps[1:] != steps[:-1], True]
            steps, values = steps[keep], values[keep]
        return Series(steps, values, every=self.stride, logged=self.count)


class Pool:
    """The series of one read, at most ``per_series`` points each and ``points`` in all: when there are more, the
    series holding most is thinned (its stride ×3)."""

    def __init__(self, points: int | None = None, per_series: int | None = None):
        self.points = POOL_POINTS if points is None else points
        self.per_series = MAX_POINTS if per_series is None else per_series
        self.members: list = []
        self.total = 0                         # points held by all members

    def series(self) -> Thinned:
        member = Thinned(self)
        self.members.append(member)
        return member

    def drop(self, member: Thinned) -> None:
        """Free a series' room (a tag that is not wanted, a file that could not be read)."""
        self.total -= member.kept
        member.chunks, member.kept, member.waiting = [], 0, ([], [])
        self.members.remove(member)

    def settle(self) -> None:
        while self.total > self.points:
            max(self.members, key=lambda m: m.kept).thin()

