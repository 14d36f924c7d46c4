"""What actually happened to a run after its cut -- the truth verdicts are scored against (docs/diagnose.md,
"How the verdicts are proven"). Labels come from the run's own continuation to 4T and from the other rates of its
grid, never from lrscope's rules. A run in a band between two labels is ``None`` (not scored).

Outcome at the cut T (what happened next):
- ``diverged``: the loss left the finite numbers by 4T, or the mean of its last tenth at 4T is at or above its
  grid's starting level (training went backwards) -- the first loss, or the mean of the first tenth of the smallest
  rate's run where that is higher (``starting_level``: one mini-batch's loss can be low by chance, and all rates of
  a grid share it);
- ``improving``: training on pays -- at least ``GAIN`` of all the progress the run made by 4T came after T, or the
  continuation removed at least half of what separated it at T from the lowest loss any rate of its grid reached
  by 4T, where that gap was visible (at least ``NEAR`` of the way down from the start to that loss); in both cases
  by more than the batches' noise;
- ``stopped``: at most ``STILL`` of its progress came after T and the continuation removed at most a quarter of
  that gap (or less than the noise) -- but never a run whose measured gain after T, within the noise or not, is
  ``GAIN`` of its progress or more (that run is not scored).

Direction at the cut (which rate of the grid ended lowest at T, the last tenth's mean; diverged runs end at inf):
- ``right``: within ``NEAR`` of the way from the start down to the best rate's loss at T;
- ``low`` / ``high``: at least ``FAR`` of that way above it, at a lower / higher rate than the best (a run that
  diverged by 4T at a higher rate is ``high``).
"""

from __future__ import annotations

import numpy as np

GAIN, STILL = 0.10, 0.02          # share of a run's progress by 4T that came after T: improving / stopped
NEAR, FAR = 0.05, 0.15            # distance from the grid's best at T, as a share of the way down: right / wrong


def window_mean(y: np.ndarray, end: int, T: int) -> tuple[float, float]:
    """The mean of the last tenth of T steps before ``end`` (inclusive) and its standard error."""
    w = max(1, T // 10)
    seg = y[max(0, end - w + 1):end + 1]
    if not np.all(np.isfinite(seg)):
        return np.inf, 0.0
    with np.errstate(over="ignore"):            # a run on its way up: its spread may pass float64's range
        return float(np.mean(seg)), float(np.std(seg) / np.sqrt(seg.size))


def starting_level(runs: list) -> float:
    """The loss at the start of one problem's grid (same weights, same first batch): the first logged loss, or the
    mean of the first tenth of its smallest rate's steps where that is higher -- one mini-batch's loss can be low by
    chance, and every rate shares it; the smallest rate has hardly moved in its first tenth, nor blown up."""
    slowest = min(runs, key=lambda r: r["lr"])
    T = slowest["T"]
    return max(float(slowest["loss"][0]), window_mean(slowest["loss"], max(1, T // 10), T)[0])


def outcome(y: np.ndarray, T: int, best_4T: float, start: float) -> str | None:
    """The run's outcome at its cut T (see the module's docstring); ``best_4T`` is the lowest end any rate of its
    grid reached at 4T, ``start`` the grid's starting level."""
    y = np.asarray(y, dtype=np.float64)
    end = y.size - 1
    if not np.all(np.isfinite(y)):
        return "diverged"
    at_cut, se_cut = window_mean(y, T, T)
    at_end, se_end = window_mean(y, end, T)
    if at_end >= start:
        return "diverged"
    noise = 3 * np.hypot(se_cut, se_end)
    measured = at_cut - at_end
    gain = measured if measured > noise else 0.0
    progress = start - at_end
    if progress <= noise:
        return None                       # nothing learned by 4T: no outcome to read
    share = gain / progress
    gap = at_cut - best_4T
    # the gap counts only where it is visible: at least NEAR of the way down from the start to the best (the run
    # that sets the best would otherwise close its own 'gap' whenever it gains anything at all)
    visible = gap > noise and gap >= NEAR * (start - best_4T)
    closed = gain / gap if visible else 0.0
    if share >= GAIN or closed >= 0.5:
        return "improving"
    # stopped: no gain beyond the noise -- and not a measured gain of GAIN or more that the noise swamps (a slow,
    # noisy run at a tiny rate: "stopped" would claim what the measurement does not show)
    if share <= STILL and closed <= 0.25 and measured < GAIN * progress:
        return "stopped"
    return None


def directions(runs: list) -> list:
    """The direction label of every run of one problem's grid (same start, same batches): 'low', 'right', 'high'
    or None."""
    ends = np.array([window_mean(r["loss"], r["T"], r["T"])[0] for r in runs])
    start = starting_level(runs)
    lrs = np.array([r["lr"] for r in runs])
    finite = np.isfinite(ends)
    if not finite.any():
        return [None] * len(runs)
    b = int(np.argmin(np.where(finite, ends, np.inf)))
    way = start - ends[b]
    if not way > 0:
        return [None] * len(runs)
    out = []
    for k, r in enumerate(runs):
        blew = (not np.all(np.isfinite(r["loss"]))
                or window_mean(r["loss"], r["loss"].size - 1, r["T"])[0] >= start)
        e = (ends[k] - ends[b]) / way
        if e <= NEAR and not blew:
            out.append("right")
        elif lrs[k] > lrs[b] and (e >= FAR or blew):
            out.append("high")
        elif lrs[k] < lrs[b] and e >= FAR:
            out.append("low")
        else:
            out.append(None)
    return out


def label(corpus: list) -> list:
    """Each run of the corpus with its ``outcome`` and ``direction`` added."""
    by_problem: dict = {}
    for r in corpus:
        by_problem.setdefault(r["problem"], []).append(r)
    out = []
    for runs in by_problem.values():
        ends = [window_mean(r["loss"], r["loss"].size - 1, r["T"])[0] for r in runs]
        best = float(np.min(ends)) if np.isfinite(ends).any() else np.inf
        start = starting_level(runs)
        for r, d in zip(runs, directions(runs)):
            out.append({**r, "outcome": outcome(r["loss"], r["T"], best, start), "direction": d})
    return out
