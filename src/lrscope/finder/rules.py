"""Reading a range-test curve: the classic rules (steepest descent, the longest valley, the minimum over ten) and the
candidates the verification trains (the rules' picks and a log grid below the loss minimum)."""

from __future__ import annotations

import numpy as np

from ..diagnose import falls_without_limit

MERGE = 1.3                 # candidates closer than this factor are one candidate


def steepest(lrs, curve) -> float | None:
    """The rule of torch-lr-finder: where the smoothed loss falls fastest per log(α), before its minimum."""
    stop = int(np.nanargmin(curve)) + 1
    if stop < 3:
        return None
    slope = np.gradient(curve[:stop], np.log(lrs[:stop]))
    return float(lrs[int(np.nanargmin(slope))])


def valley(lrs, curve) -> float | None:
    """A fastai-style rule: the longest stretch over which the loss keeps going down, read at its middle."""
    n = curve.size
    if n < 3:
        return None
    run = np.ones(n, dtype=int)              # length of the longest decreasing subsequence ending at i
    origin = np.arange(n)                    # where that subsequence starts
    for i in range(1, n):
        smaller = np.flatnonzero(curve[:i] > curve[i])
        if smaller.size:
            j = smaller[np.argmax(run[smaller])]
            run[i], origin[i] = run[j] + 1, origin[j]
    end = int(np.argmax(run))
    begin = int(origin[end])
    return float(lrs[begin + (end - begin) // 2])


def min_over_ten(lrs, curve) -> float:
    """The rule of thumb: the learning rate at the lowest smoothed loss, divided by 10."""
    return float(lrs[int(np.nanargmin(curve))] / 10.0)


def read_curve(lrs, curve, start, end):
    """What a smoothed range-test curve says: each rule's pick, the candidates to verify (the picks and a log grid
    over the two decades below the loss minimum -- a grid point within ×1.3 of a pick left out --, unique to 2
    decimals of log10, within the tested range) and notes."""
    notes = []
    if falls_without_limit(np.asarray(curve, dtype=np.float64), ended_nonfinite=False):
        raise ValueError(f"objective: the loss fell without limit during the range test (from {curve[0]:.3g} to "
                         f"{curve[-1]:.3g}): it has no minimum, and no learning rate fixes that")
    # the start's level: the median of the test's first tenth (one mini-batch's first loss can be low by chance, and
    # the minimum of a curve that falls later would be its very first point: an MLP on diabetes by SGD got 1e-7,
    # benchmarks/finder_population); the minimum is looked for after that tenth
    head = max(3, curve.size // 10)
    level = float(np.median(curve[:head]))
    lowest = head + int(np.argmin(curve[head:])) if curve.size > head else int(np.argmin(curve))
    # never fell below the start's level: the curve says nothing about the rate; the candidates are a log grid over
    # the two decades below where the test ended, and verification decides
    never_fell = not curve[lowest] < level - 1e-3 * abs(level)        # (a loss may be negative: x² − 5)
    if never_fell:
        notes.append("the loss never fell during the test: start is too high, or the problem is not the "
                     "learning rate")
    elif lowest == curve.size - 1:
        notes.append(f"the loss was still falling at the top of the range ({lrs[-1]:.3g}): the picks may be too "
                     f"small; raise end")
    rest = slice(head, None) if curve.size > head else slice(None)          # the rules read it after its first tenth
    methods = {"steepest": steepest(lrs[rest], curve[rest]), "valley": valley(lrs[rest], curve[rest]),
               "min/10": min_over_ten(lrs[rest], curve[rest])}
    if never_fell:
        picks, grid = [], np.geomspace(float(lrs[-1]) / 300, float(lrs[-1]) / 3, 7)
    else:
        lr_at_min = float(lrs[lowest])
        picks = [v for v in methods.values() if v is not None and np.isfinite(v)]
        grid = np.geomspace(lr_at_min / 100, lr_at_min, 7)
        # a grid point within MERGE of a rule's pick adds nothing to verify: the pick stands for it
        grid = [g for g in grid if not any(abs(np.log(g / p)) < np.log(MERGE) for p in picks)]
    cands = 10.0 ** np.unique(np.round(np.log10(np.r_[picks, grid]), 2))
    return methods, cands[(cands >= start / 10) & (cands <= end)], notes
