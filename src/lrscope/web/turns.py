"""Fair turns at the server's numerical work, for a class on one machine.

One request computes at a time (numerical loops hold the GIL: a second one at once would share the core, not add
one); the next is the one that has computed least so far (least attained service), its user's recent computing
counted too (``user_weight``: a tenth by default). A running request looks at its turn at every progress report
(``Job.check``) and hands it over when a waiting one is ahead by more than ``SWITCH``: a light request waits behind
a heavy one for one report at most, and heavy requests take turns instead of queueing first-come. A request's time
limit counts its own computing, never its waiting. A client's newest request supersedes its oldest beyond
``PER_USER`` (a dragged slider); a request that cannot be taken or start soon gets :class:`Busy` -- the server's
state and when to retry, not blame for its size.
"""

from __future__ import annotations

import itertools
import math
import threading
import time

SWITCH = 0.02           # s: a waiting request must be this far ahead to take the turn (no thrashing between equals)
HALF_LIFE = 30.0        # s: a user's computing counts half after this long
MAX_JOBS = 32           # requests admitted at once (each holds a worker thread while it waits)
MAX_STARTED = 6         # requests begun and unfinished (their arrays stay in memory while they wait)
PER_USER = 3            # a user's requests admitted at once (a newer one supersedes the oldest)
WAIT_SECONDS = 30.0     # a request that waits longer than this in all is given up, with Busy


class Aborted(Exception):
    """A request's work was stopped: its time ran out, or its client went away."""


class Busy(Aborted):
    """The server could not take or finish a request because of the others, not because of its size:
    ``retry_after`` seconds is when trying again is likely to work."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class Heavy(Exception):
    """The request is estimated heavier than this queue takes (``Job.expect``): it belongs elsewhere."""


class Job:
    """One request's work: its user, the compute time it has used, its time limit and its cancellation.

    ``check`` is a progress callback: it stops the work once the client has gone or ``seconds`` of computing are
    spent, and waits there while another request has the turn."""

    def __init__(self, turns: "Turns", user: str, seconds: float, number: int, light: float | None = None):
        self.turns, self.user, self.seconds, self.number, self.light = turns, user, seconds, number, light
        self.used = 0.0                 # s of computing so far
        self.waited = 0.0               # s spent waiting for a turn
        self.since = None               # when its current turn began (None: not computing)
        self.started = False
        self.cancelled: str | None = None
        self.granted = threading.Event()

    def left(self) -> float:
        """Seconds of computing this request may still use."""
        running = 0.0 if self.since is None else time.monotonic() - self.since
        return max(0.0, self.seconds - self.used - running)

    def expect(self, estimate: float) -> None:
        """The request's work is estimated at ``estimate`` seconds: :class:`Heavy` if that is more than this queue
        takes (``light``)."""
        if self.light is not None and estimate > self.light:
            raise Heavy(f"estimated at {estimate:.2g} s")

    def check(self, *_) -> None:
        if self.cancelled:
            raise Aborted(self.cancelled)
        if self.left() <= 0:
            raise Aborted(f"work: the request computed for {self.seconds:g} s and was stopped; use fewer steps or "
                          f"learning rates")
        self.turns.maybe_yield(self)

    def wait_turn(self) -> None:
        """Block until this job has the turn (the client gone or the waiting too long: an exception)."""
        t0 = time.monotonic()
        try:
            while not self.granted.wait(0.1):
                if self.cancelled:
                    raise Aborted(self.cancelled)
                if self.waited + time.monotonic() - t0 > WAIT_SECONDS:
                    raise self.turns.busy(f"busy: the server has been answering other requests for "
                                          f"{WAIT_SECONDS:g} s while yours waited")
        finally:
            self.waited += time.monotonic() - t0


class Turns:
    """The queue of the server's numerical work (thread-safe; independent of any event loop)."""

    def __init__(self, user_weight: float = 0.1):
        self.user_weight = user_weight                      # a user's recent computing, in a request's priority
        self.lock = threading.Lock()
        self.usage: dict[str, tuple[float, float]] = {}     # user -> (decayed seconds, when last updated)
        self.jobs: list[Job] = []                          # admitted and unfinished, in arrival order
        self.running: Job | None = None                    # the one that has the turn
        self.numbers = itertools.count()
        self.recent = 0.5                                  # s: a request's compute time, moving average

    def _usage(self, user: str, now: float) -> float:
        seconds, when = self.usage.get(user, (0.0, now))
        return seconds * 0.5 ** ((now - when) / HALF_LIFE)

    def _charge(self, job: Job, now: float) -> None:
        if job.since is not None:
            spent = now - job.since
            job.used += spent
            self.usage[job.user] = (self._usage(job.user, now) + spent, now)
            job.since = now

    def _priority(self, job: Job, now: float) -> tuple[float, int]:
        return job.used + self.user_weight * self._usage(job.user, now), job.number

    def busy(self, why: str) -> Busy:
        ahead = max(1, len(self.jobs) - 1)
        retry = min(WAIT_SECONDS, ahead * self.recent)
        return Busy(f"{why}; try again in about {math.ceil(retry):g} s", retry)

    def admit(self, user: str, seconds: float, light: float | None = None) -> Job:
        """A job for ``user``'s request (superseding the user's oldest beyond PER_USER), or :class:`Busy` when
        the server has too many; ``seconds``: its computing time limit; ``light``: see :meth:`Job.expect`."""
        with self.lock:
            mine = [j for j in self.jobs if j.user == user and not j.cancelled]
            if len(mine) >= PER_USER:
                mine[0].cancelled = "superseded: a newer request from the same page came in"
            if len(self.jobs) >= MAX_JOBS:
                raise self.busy(f"busy: the server is answering {len(self.jobs)} requests")
            job = Job(self, user, seconds, next(self.numbers), light)
            self.jobs.append(job)
            self._schedule(time.monotonic())
            return job

    def _next(self, now: float) -> Job | None:
        """The waiting job that comes first (lock held); one not begun only while fewer than MAX_STARTED are."""
        begun = sum(j.started for j in self.jobs)
        waiting = [j for j in self.jobs
                   if j is not self.running and not j.cancelled and (j.started or begun < MAX_STARTED)]
        return min(waiting, key=lambda j: self._priority(j, now), default=None)

    def _schedule(self, now: float) -> None:
        """Give a free turn to the waiting job that comes first (lock held)."""
        if self.running is None and (first := self._next(now)) is not None:
            self._grant(first, now)

    def _grant(self, job: Job, now: float) -> None:
        job.started, job.since = True, now
        self.running = job
        job.granted.set()

    def maybe_yield(self, job: Job) -> None:
        """At a progress report: hand the turn to a waiting job that is ahead by more than SWITCH, and wait for it
        to come back."""
        with self.lock:
            now = time.monotonic()
            self._charge(job, now)
            best = self._next(now) if self.running is job else None
            if best is None or self._priority(best, now)[0] + SWITCH >= self._priority(job, now)[0]:
                return
            job.since = None
            job.granted.clear()
            self._grant(best, now)
        job.wait_turn()

    def done(self, job: Job) -> None:
        """The job finished or failed: give its turn to the next."""
        with self.lock:
            now = time.monotonic()
            self._charge(job, now)
            if self.running is job:
                self.running = None
            if job in self.jobs:
                self.jobs.remove(job)
            if job.started:
                self.recent = 0.8 * self.recent + 0.2 * job.used
            self._schedule(now)

    def run(self, job: Job, compute):
        """``compute()`` once ``job`` has the turn (call in a worker thread); the turn is given back at the end."""
        try:
            job.wait_turn()
            return compute()
        finally:
            self.done(job)
