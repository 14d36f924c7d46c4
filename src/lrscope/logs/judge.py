"""Verdicts on a logged run: the same converged / slow / oscillating / diverged as for lrscope's own sweeps
(:func:`lrscope.diagnose.diagnose_curve` on the loss curve), plus what only a real log shows -- the noise around the
trend (mini-batch noise is not failure), spikes and whether they recovered, plateaus that a drop of the learning rate
ended, the validation loss turning up while the training loss falls (overfitting), and where the logged rate changed.

Long logs are judged at a working resolution of at most ``RESOLUTION`` points (the mean of each bin of steps); the
trend is a running median over those points, so a short spike does not move it, and spikes are found on every raw
point against that trend.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy.ndimage import median_filter

from ..diagnose import Advice, Direction, Kind, Verdict, compare_rates, diagnose_curve
from ..jsonable import number
from ..outlook import heading
from .read import LoggedRun, LogError, Series

RESOLUTION = 10_000          # points the verdict is computed on (bin means of a longer log)
NOISY = 1e-3                 # noise above 0.1% of the loss's drop: judged as a stochastic (mini-batch) run
SPIKE_SIGMAS = 6.0           # a spike stands this many noise levels above the trend ...
SPIKE_SHARE = 0.05           # ... and this share of the loss's drop
JUMP = 1.5                   # a logged rate that changes by this factor from one entry to the next, alone: a drop
MAX_SPIKES_SHOWN = 3
# A loss that goes up and down at every step is oscillating, not noisy: in the last half, consecutive changes point
# against each other at least ALTERNATES of the time (independent mini-batch noise: 2/3 of the time, ±0.04 over 150
# steps) by at least SWING of its level; a loss that has not moved at all over MIN_FLAT steps did not learn (x² at
# α = 1 is 100 at every step). Neither occurs in benchmarks/verdicts' 1,048 real runs (agreement unchanged); both
# are issue 29's hostile logs (tests/test_logs.py).
ALTERNATES = 0.95
SWING = 0.05
MIN_FLAT = 20


@dataclass(frozen=True)
class Finding:
    """Something the log shows besides the verdict: ``kind`` is one of noise, spike, plateau, overfitting, lr,
    grad_norm, diverged, thinned (a log too long to hold whole, judged on every few points); ``step`` where it
    happened (None for the whole run); ``text`` says it in one line."""

    kind: str
    step: int | None
    text: str


@dataclass
class LogDiagnosis:
    """The judgement of one logged run: the ``verdict`` on its training loss (its advice weighs everything the log
    shows), the ``findings``, the ``noise`` (robust standard deviation of the loss around its trend) and whether
    it was judged as a ``noisy`` (mini-batch) run -- one whose scatter is noise, not an every-step alternation."""

    run: LoggedRun
    verdict: Verdict
    findings: list = field(default_factory=list)
    noise: float = 0.0
    trend: Series | None = None          # the working curve's running median (for plots)
    noisy: bool = False

    @property
    def advice(self) -> str:
        return self.verdict.advice

    @property
    def direction(self) -> Direction:
        return self.verdict.direction

    @property
    def final_loss(self) -> float:
        finite = self.run.loss.value[np.isfinite(self.run.loss.value)]
        return float(finite[-1]) if finite.size else math.nan

    def to_dict(self) -> dict:
        lr = self.run.lr
        return {"run": self.run.name, "source": self.run.source, "columns": dict(self.run.names),
                "steps": self.run.steps, "points": self.run.loss.logged or len(self.run.loss),
                "points_judged": len(self.run.loss), "final_loss": number(self.final_loss),
                "verdict": self.verdict.to_dict(), "noise": number(self.noise),
                "findings": [asdict(f) for f in self.findings], "advice": self.advice,
                "direction": self.direction.value, "try_lr": number(self.verdict.try_lr),
                "lr": None if lr is None else {"first": number(lr.value[0]), "peak": number(np.nanmax(lr.value)),
                                               "last": number(lr.value[-1])}}


def _g(x: float) -> str:
    return f"{x:.3g}"


def _ordinal(n: int) -> str:
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _bins(step: np.ndarray, value: np.ndarray, resolution: int):
    """(steps, means, medians) of ``value`` in at most ``resolution`` bins of consecutive points (each bin at its
    last step); the points themselves when there are few enough."""
    n = value.size
    per = math.ceil(n / resolution)
    if per <= 1:
        return step, value, value
    cut = (n // per) * per
    blocks = value[:cut].reshape(-1, per)
    steps, means, medians = step[per - 1:cut:per], blocks.mean(axis=1), np.median(blocks, axis=1)
    if cut < n:
        steps = np.r_[steps, step[-1]]
        means, medians = np.r_[means, value[cut:].mean()], np.r_[medians, np.median(value[cut:])]
    return steps, means, medians


def _running_median(values: np.ndarray) -> np.ndarray:
    size = int(np.clip(values.size // 50, 5, 201)) | 1
    if values.size < size:
        return values.copy()
    return median_filter(values, size=size, mode="nearest")


def _robust_std(x: np.ndarray) -> float:
    if x.size < 3:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def lr_changes(lr: Series | None) -> list:
    """(step, before, after) for every sudden change of a logged rate: a factor of ``JUMP`` or more from one
    entry to the next while the entries around it hardly move (a step decay, not the ramp of a warmup or the
    slope of a cosine)."""
    if lr is None or len(lr) < 2:
        return []
    v = lr.value
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((v[:-1] > 0) & (v[1:] > 0), v[1:] / v[:-1], np.where(v[1:] == v[:-1], 1.0, np.inf))
    big = (ratio >= JUMP) | (ratio <= 1 / JUMP)
    calm = np.abs(np.log(np.where(np.isfinite(ratio) & (ratio > 0), ratio, 10.0))) < math.log(1.1)
    out = []
    for i in np.flatnonzero(big):
        before_calm = i == 0 or calm[i - 1]
        after_calm = i == ratio.size - 1 or calm[i + 1]
        if before_calm and after_calm:
            out.append((int(lr.step[i + 1]), float(v[i]), float(v[i + 1])))
    return out


def describe_lr(lr: Series | None) -> str | None:
    """The logged rate in a few words: warmup, its peak, sudden changes, where it ended."""
    if lr is None or len(lr) == 0:
        return None
    v = lr.value[np.isfinite(lr.value)]
    if v.size == 0:
        return None
    first, peak, last = float(v[0]), float(v.max()), float(v[-1])
    if peak <= 0:
        return f"α = {_g(first)}"
    if np.allclose(v, first, rtol=1e-6, atol=0):
        return f"α = {_g(first)} throughout"
    parts = []
    peak_at = int(lr.step[np.flatnonzero(lr.value == peak)[0]])
    if first < peak / 3 and peak_at > lr.step[0]:
        rising_all_run = peak_at >= lr.step[-1]
        parts.append(f"rises from {_g(first)} to {_g(peak)} by step {peak_at}" if rising_all_run
                     else f"warmup to {_g(peak)} by step {peak_at}")
    else:
        parts.append(f"α from {_g(first)}")
    jumps = lr_changes(lr)
    if jumps:
        parts.append(", ".join(f"{_g(a)} → {_g(b)} at step {s}" for s, a, b in jumps[:4])
                     + (f" (+{len(jumps) - 4} more)" if len(jumps) > 4 else ""))
    if not math.isclose(last, peak, rel_tol=1e-6):
        parts.append(f"ends at {_g(last)}")
    return "; ".join(parts)


def diagnose_run(run: LoggedRun, *, resolution: int = RESOLUTION, start: float | None = None) -> LogDiagnosis:
    """The verdict, findings and advice for one logged run; ``start``: the starting level of runs of the same task
    where it is known (see :func:`starting_levels`)."""
    s, y = run.loss.step, run.loss.value
    if y.size < 3:
        raise LogError(f"{run.name}: only {y.size} loss value{'s' if y.size != 1 else ''} logged: nothing to judge "
                       f"(log the loss more often, e.g. every step)")
    bad = np.flatnonzero(~np.isfinite(y))
    end = int(bad[0]) if bad.size else y.size
    findings: list = []
    lr = run.lr if run.lr is not None and np.any(np.isfinite(run.lr.value)) else None
    if lr is not None:
        finite = np.isfinite(lr.value)
        lr = Series(lr.step[finite], lr.value[finite])
    peak_lr = float(np.max(lr.value)) if lr is not None else None
    final_lr = float(lr.value[-1]) if lr is not None else None

    if end < 3:
        what = "nan" if np.isnan(y[end]) else "inf"
        advice = (Advice("the loss is not finite from the first logged step: check the data, the model and the loss "
                         "function -- the problem is not the learning rate", Direction.NONE) if end == 0
                  else _diverged_advice(lr, int(s[end]), None))
        verdict = Verdict.of(Kind.DIVERGED, int(s[end]), f"the loss was {what} at step {int(s[end])}, right at the "
                             f"start", advice)
        return LogDiagnosis(run, verdict, [Finding("diverged", int(s[end]), verdict.reason)], 0.0)

    fs, fy = s[:end], y[:end]
    ws, wmean, wmed = _bins(fs, fy, resolution)
    trend_w = _running_median(wmed)
    trend_raw = np.interp(fs, ws, trend_w)
    residual = fy - trend_raw
    floor = float(np.min(trend_w))
    scale = max(abs(float(trend_w[0]) - floor), 1e-12 * abs(float(trend_w[0])), 1e-300)
    tail = slice(3 * fy.size // 4, None)              # mini-batch noise matters where the loss has come down to
    noise = _robust_std(residual[tail])
    level = abs(float(np.median(trend_raw[tail])))
    noisy = noise > NOISY * scale or noise > NOISY * level

    # the verdict on the training loss, as lrscope judges its own runs (in the log's step numbers)
    # a noisy curve is judged on its trend (a single noisy point must not decide 'ended above its start')
    verdict = diagnose_curve(trend_w if noisy else wmean, steps=ws, stochastic=noisy, lr=peak_lr,
                             final_lr=final_lr, bounded=True)
    stopped = _stopped(noisy, peak_lr, final_lr)
    if not bad.size:      # where the run is heading decides whether it is still improving, stopped or went back up
        verdict = heading(verdict, fs, fy, slow=_train_longer(peak_lr, None), stopped=stopped,
                          diverged=_diverged_advice(lr, None, trend_w, ws), start=start)
        alternates = _alternating(fs, fy, lr)
        verdict = _never_moved(fs, fy) or alternates or verdict
    else:
        what = "nan" if np.isnan(y[end]) else "inf"
        verdict = Verdict(Kind.DIVERGED, int(s[end]), f"the loss became {what} at step {int(s[end])} (it was "
                          f"{_g(fy[-1])} at step {int(fs[-1])})", "")
        alternates = None
    if verdict.kind == Kind.DIVERGED:
        verdict = verdict.with_advice(_diverged_advice(lr, verdict.step, trend_w, ws))
        findings.append(Finding("diverged", verdict.step, verdict.reason))

    noisy = noisy and not alternates                                       # an alternation is not noise
    if noisy and verdict.kind != Kind.DIVERGED:
        share = f"{100 * noise / level:.2g}% of the loss there" if level > 0 else f"{_g(noise)}"
        findings.append(Finding("noise", None, f"noise ±{_g(noise)} around the trend at the end ({share}): "
                                               f"mini-batch noise is not failure; judged on the trend"))
    findings += [f for f in _spikes(fs, fy, residual, noise, scale)      # after a divergence: not spikes
                 if verdict.kind != Kind.DIVERGED or (f.step is not None and f.step < verdict.step)]
    changes = lr_changes(lr)
    plateaus = _plateaus(changes, fs, fy, scale, noisy)
    findings += plateaus
    for step, before, after in changes:
        if any(p.step == step for p in plateaus):
            continue
        word = "dropped" if after < before else "rose"
        findings.append(Finding("lr", step, f"the logged rate {word} from {_g(before)} to {_g(after)} at step {step}"))
    grown = _gradient_growth(run.grad_norm, verdict)
    if grown is not None:
        findings.append(grown)
    over = _overfitting(run, fs, trend_raw)
    if run.loss.every > 1:
        findings.append(Finding("thinned", None, f"judged on every {_ordinal(run.loss.every)} of the "
                                                 f"{run.loss.logged:,} logged losses (a log this long is not held "
                                                 f"whole); a spike shorter than {run.loss.every} steps may not show"))
    timed = sorted((f for f in findings if f.step is not None and f.kind not in ("diverged",)), key=lambda f: f.step)
    findings = ([f for f in findings if f.kind == "diverged"] + [f for f in findings if f.kind == "noise"] + timed
                + [f for f in findings if f.step is None and f.kind != "noise"] + ([over] if over else []))
    # one log alone has no stability bound and no other rate to compare with: a run that is still falling is told to
    # train longer, one that stopped cannot be called a good choice (compare_runs names the better rate of a folder)
    if verdict.kind == Kind.SLOW and peak_lr is not None and verdict.direction == Direction.RAISE:
        verdict = verdict.with_advice(_train_longer(peak_lr, verdict.steps_needed))
    if verdict.kind == Kind.CONVERGED:
        verdict = verdict.with_advice(stopped)
    if over is not None and verdict.kind != Kind.DIVERGED:
        verdict = verdict.with_advice(Advice(
            f"overfitting, not a learning-rate problem: keep the weights of step {over.step} (early stopping), or add "
            f"regularization (weight decay, dropout) or data", Direction.NONE))
    return LogDiagnosis(run, verdict, findings, noise, Series(ws, trend_w), noisy)


SAME_TASK = 2.0        # runs whose first losses lie within this factor of their median are runs of one task


def _one_task(firsts) -> np.ndarray:
    """The indices of the runs of one task: those whose first level lies within ``SAME_TASK`` times of the median
    (empty when fewer than two do)."""
    firsts = np.asarray(firsts, dtype=np.float64)
    centre = float(np.median(firsts)) if firsts.size else math.nan
    if not centre > 0:
        return np.array([], dtype=int)
    same = np.flatnonzero((firsts >= centre / SAME_TASK) & (firsts <= centre * SAME_TASK))
    return same if same.size >= 2 else np.array([], dtype=int)


def starting_levels(runs: list) -> list:
    """Each logged run's task starting level -- to judge the runs of one task at several rates by
    (``diagnose_run(start=)``): the mean of the first tenth of the smallest rate's run, which has hardly moved yet.
    One mini-batch's loss can be low or high by chance, and a run that learned in its first few steps then reads as
    having learned nothing (benchmarks/verdicts: linear regression on diabetes with batches of 8-32). Runs without a
    logged rate, and runs of another task, get None."""
    out: list = [None] * len(runs)
    levels = [_starting_level(r) if r.lr is not None and np.any(np.isfinite(r.lr.value)) else None for r in runs]
    rated = [k for k, level in enumerate(levels) if level is not None]
    same = [rated[i] for i in _one_task([levels[k] for k in rated])]
    if not same:
        return out
    start = levels[min(same, key=lambda k: float(np.nanmax(runs[k].lr.value)))]
    for k in same:
        out[k] = start
    return out


def compare_runs(diagnoses: list) -> list:
    """Logged runs of one task at several rates (a folder of runs of one model), judged together as a sweep is: at
    the last step all of them reached, each run's mean loss over the last tenth of those steps (and its standard
    error) against the lowest; a run clearly above it is told the rate that did better
    (:func:`lrscope.diagnose.compare_rates`). Runs without a logged rate, or whose first losses differ by more than
    ``SAME_TASK`` times from the others' (another task), keep their own verdicts. Returns the diagnoses, updated.
    (Judge such runs from their task's starting level first: :func:`starting_levels`.)"""
    out = list(diagnoses)
    rated = [k for k, d in enumerate(diagnoses) if d.run.lr is not None and np.any(np.isfinite(d.run.lr.value))
             and d.trend is not None and len(d.trend) > 0]
    firsts = [float(diagnoses[k].trend.value[0]) for k in rated]
    same = [rated[i] for i in _one_task(firsts)]
    if not same:
        return out
    centre = float(np.median(firsts))
    alive = [k for k in same if diagnoses[k].verdict.kind != Kind.DIVERGED]
    common = min((int(diagnoses[k].run.loss.step[np.isfinite(diagnoses[k].run.loss.value)][-1]) for k in alive),
                 default=None)
    ends, errors, lrs = [], [], []
    for k in same:
        d = diagnoses[k]
        s, y = d.run.loss.step, d.run.loss.value
        ends_here = np.inf
        error = 0.0
        if common is not None and d.verdict.kind != Kind.DIVERGED:
            first = int(s[0])
            window = y[(s <= common) & (s > common - max(1, (common - first) // 10))]
            window = window[np.isfinite(window)]
            if window.size:
                ends_here = float(np.mean(window))
                error = float(np.std(window) / math.sqrt(window.size))
        ends.append(ends_here)
        errors.append(error)
        lrs.append(float(np.nanmax(d.run.lr.value)))
    verdicts = compare_rates([diagnoses[k].verdict for k in same], ends, lrs, centre, errors=errors,
                             where="among these runs")
    for i, (k, v) in enumerate(zip(same, verdicts)):
        better = ends[lrs.index(v.try_lr)] if v.try_lr in lrs else min(ends)       # the end of the rate it names
        out[k] = replace(out[k], verdict=_not_at_its_floor(v, diagnoses[k].noisy, diagnoses[k].run.lr, ends[i], better))
    return out


def _not_at_its_floor(verdict: Verdict, noisy: bool, lr: Series, end: float, low: float) -> Verdict:
    """A run judged stopped (converged, oscillating) that a higher rate of its folder clearly beat (advice: raise
    toward it), at a rate its schedule has not lowered, is still on its way down: a stochastic run's floor grows with
    its rate, so a lower rate's floor lies below the level the higher one reached -- the run has not stopped, it is
    slow. benchmarks/verdicts: linear regression by SGD, 12 tune problems, 89% -> 93%; the tune half 94% (recall
    improving 93% -> 94%). Not for exact runs: full-batch gradient descent on an ill-conditioned problem at a low rate
    does stall above a higher rate's level (raw diabetes: 10 tune runs would have been wrongly called slow)."""
    if not noisy or verdict.kind not in (Kind.CONVERGED, Kind.OSCILLATING) or verdict.direction != Direction.RAISE:
        return verdict
    value = lr.value[np.isfinite(lr.value)]
    if not value.size or float(value[-1]) < 0.9 * float(np.max(value)):      # a schedule lowered it: it may stop
        return verdict
    return replace(verdict, kind=Kind.SLOW, step=None,
                   reason=f"still on its way down: α={_g(verdict.try_lr)} among these runs reached {_g(low)} where "
                          f"this one is at {_g(end)}; with mini-batch noise a lower rate settles lower, not higher")


def _starting_level(run: LoggedRun) -> float | None:
    """The mean of the first tenth of a run's finite losses after the first (None when it has fewer than 20)."""
    y = run.loss.value[np.isfinite(run.loss.value)]
    return float(np.mean(y[1:1 + y.size // 10])) if y.size >= 20 else None


def _never_moved(s: np.ndarray, y: np.ndarray) -> Verdict | None:
    """A loss that has the same value at every logged step did not learn, and training on will not move it: its
    gradient is zero where it is, or the parameters jump between points of equal loss (x² at α = 1)."""
    if y.size < MIN_FLAT or float(np.ptp(y)) > 1e-12 * max(abs(float(y[0])), 1e-300):
        return None
    return Verdict.of(Kind.SLOW, None, f"the loss has not moved at all in {int(s[-1] - s[0])} steps ({_g(float(y[0]))} "
                      f"at every step): it has learned nothing",
                      Advice("training longer will not move it: the gradient is zero where it is, or the parameters "
                             "jump back and forth between points of equal loss (α at exactly 2/L on a quadratic) -- "
                             "try a few other rates, and check that the optimizer updates the model's parameters",
                             Direction.UNKNOWN))


def _alternating(s: np.ndarray, y: np.ndarray, lr) -> Verdict | None:
    """A loss that goes up and down at every step over the last half of the log, by ``SWING`` of its level or
    more: the steps overshoot back and forth (oscillating), whatever its trend does."""
    half = y[y.size // 2:]
    d = np.diff(half)
    if d.size < 10 or not np.all(d != 0):
        return None
    flips = float(np.mean(np.sign(d[1:]) != np.sign(d[:-1])))
    swing = float(np.median(np.abs(d)))
    level = float(np.median(np.abs(half)))
    if flips < ALTERNATES or not swing >= SWING * level:
        return None
    lower = f" (it reached {_g(float(lr.value[-1]))} at the end)" if lr is not None else ""
    return Verdict.of(Kind.OSCILLATING, None, f"the loss goes up and down at every step: over the last "
                      f"{int(s[-1] - s[s.size // 2])} steps it changed direction {100 * flips:.0f}% of the time, by "
                      f"{_g(swing)} a step ({100 * swing / level:.2g}% of its level) -- the steps overshoot back and "
                      f"forth", Advice(f"lower α{lower}: each step jumps past the minimum it aims at",
                                       Direction.LOWER))


def _train_longer(peak_lr: float | None, steps_needed: int | None) -> Advice:
    """The advice for a slow logged run: train longer. Whether another rate would do better one log cannot tell (no
    stability bound, no other rate): a rate 3× higher may be past the edge (0.099 with 2/L = 0.1), and a run still
    falling at its cut is as often the grid's best rate as a too-low one (benchmarks/verdicts)."""
    more = f"about {steps_needed} more steps" if steps_needed else "longer"
    if peak_lr is None:
        return Advice(f"train {more}: the loss is still falling (log the learning rate too, and lrscope can compare "
                      f"runs at several rates)")
    return Advice(f"train {more}: the loss is still falling; whether another rate than {_g(peak_lr)} would do better, "
                  f"one run cannot tell -- compare runs at other rates (lrscope diagnose on their folder), or run "
                  f"lrscope's finder on the model")


def _stopped(noisy: bool, peak_lr: float | None, final_lr: float | None) -> Advice:
    """The advice for a logged run that stopped improving: one run cannot tell whether another rate ends lower."""
    if noisy and final_lr is not None and peak_lr and final_lr < peak_lr / 3:
        return Advice(f"the schedule already lowered the rate to {_g(final_lr)}; a lower end rate (or a larger batch) "
                      f"would lower the noise floor further; whether another peak rate ends lower, one run cannot "
                      f"tell -- compare runs at other rates")
    floor = "; a decaying schedule or a larger batch would lower the noise floor" if noisy else ""
    return Advice("it stopped improving; whether another rate would end lower, one run cannot tell -- compare runs "
                  "at other rates (lrscope diagnose on their folder)" + floor)


def _diverged_advice(lr: Series | None, step: int | None, trend_w, ws=None) -> Advice:
    """A rate to try, from the logged rate where the run failed: below the rate at which it was still improving."""
    if lr is None:
        return Advice("lower the learning rate (try 3-10× smaller); log the learning rate too, and lrscope can name "
                      "the rate to try", Direction.LOWER)
    at = lr.at(step) if step is not None else None
    at = float(lr.value[0]) if at is None else at
    changing = float(np.max(lr.value)) > 1.5 * float(np.min(lr.value[lr.value > 0])) if np.any(lr.value > 0) \
        else False
    if changing and trend_w is not None and ws is not None and trend_w.size > 2:
        low = int(np.argmin(trend_w))
        low_step = int(ws[low])
        good = lr.at(low_step)
        if low == 0 or good is None or good <= 0:
            return Advice(f"it diverged at step {step} when the schedule had reached α={_g(at)}, before it made "
                          f"any progress: keep the peak rate well below it (try {_g(at / 10)})", Direction.LOWER,
                          at / 10)
        if good < at:
            return Advice(f"it diverged at step {step} when the schedule had reached α={_g(at)}; it was still "
                          f"improving at α={_g(good)} (step {low_step}): keep the rate below {_g(good)} (e.g. a peak "
                          f"of {_g(good / 2)})", Direction.LOWER, good / 2)
        return Advice(f"it diverged at step {step} at α={_g(at)}: try below it ({_g(at / 3)})", Direction.LOWER,
                      at / 3)
    return Advice(f"α={_g(at)} diverged at step {step}: try {_g(at / 3)} (3× smaller), or clip the gradients",
                  Direction.LOWER, at / 3)


def _local_noise(residual: np.ndarray, window: int = 200) -> np.ndarray:
    """The robust standard deviation of ``residual`` in consecutive windows (the median over each window and its
    two neighbours on either side, so that a spike filling one window does not hide itself), one value per point:
    mini-batch noise is often larger early in a run (it scales with the loss), and a spike is judged against the
    noise of its own part of the run."""
    n = residual.size
    window = max(window, n // 1000)
    count = -(-n // window)
    padded = np.full(count * window, np.nan)
    padded[:n] = residual
    blocks = padded.reshape(count, window)
    centre = np.nanmedian(blocks, axis=1, keepdims=True)
    spread = 1.4826 * np.nanmedian(np.abs(blocks - centre), axis=1)
    if spread.size >= 5:
        spread = median_filter(spread, size=5, mode="nearest")
    return np.repeat(spread, window)[:n]


def _spikes(fs, fy, residual, noise, scale) -> list:
    """Short jumps of the loss above its trend (several levels of the noise around them, and a share of the drop),
    each with whether and how soon it came back; the largest few are told one by one, the rest counted."""
    threshold = np.maximum(SPIKE_SIGMAS * np.maximum(_local_noise(residual), noise), SPIKE_SHARE * scale)
    above = np.flatnonzero(residual > threshold)
    if above.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(above) > 3)
    starts, ends = np.r_[above[0], above[breaks + 1]], np.r_[above[breaks], above[-1]]
    episodes = []
    for a, b in zip(starts, ends):
        peak = a + int(np.argmax(fy[a:b + 1]))
        back = b + 1 < fy.size
        episodes.append((float(residual[peak]), int(fs[a]), float(fy[peak]), back,
                         int(fs[b + 1] - fs[a]) if back else None))
    episodes.sort(reverse=True)
    out = []
    for height, step, value, back, took in episodes[:MAX_SPIKES_SHOWN]:
        tail = f"recovered within {took} step{'s' if took != 1 else ''}" if back else "the log ends before it recovered"
        out.append(Finding("spike", step, f"a spike at step {step}: the loss jumped to {_g(value)} "
                                          f"({_g(height)} above its trend); {tail}"))
    if len(episodes) > MAX_SPIKES_SHOWN:
        more = len(episodes) - MAX_SPIKES_SHOWN
        out.append(Finding("spike", None, f"{more} smaller spike{'s' if more != 1 else ''}; "
                                          f"{sum(e[3] for e in episodes)} of {len(episodes)} recovered"))
    return out


def _plateaus(changes, fs, fy, scale, noisy) -> list:
    """A plateau that a drop of the learning rate ended: the loss over the half-span before the drop (its median:
    spikes do not move it) is hardly lower than over the half-span before that, and over the second half-span after
    the drop it is clearly lower (more than twice as much, 2% of the whole drop, and three standard errors of the
    noise)."""
    out = []
    drops = [c for c in changes if c[2] < c[1]]
    edges = [int(fs[0])] + [c[0] for c in changes] + [int(fs[-1])]

    def median_between(a, b):
        inside = (fs >= a) & (fs < b)
        return (float(np.median(fy[inside])), int(np.sum(inside))) if np.any(inside) else (math.nan, 0)

    for step, before, after in drops:
        k = edges.index(step)
        span = min(step - edges[k - 1], edges[k + 1] - step, max(4, (int(fs[-1]) - int(fs[0])) // 4))
        half = span // 2
        if half < 2:
            continue
        earlier, _ = median_between(step - span, step - half)
        at, n_at = median_between(step - half, step)
        later, n_later = median_between(step + half, step + span)
        if not (np.isfinite(earlier) and np.isfinite(at) and np.isfinite(later)):
            continue
        fell_before, fell_after = earlier - at, at - later
        spread = _robust_std(fy[(fs >= step - half) & (fs < step)])
        significant = fell_after > 3 * spread * math.sqrt(1 / max(n_at, 1) + 1 / max(n_later, 1))
        if fell_after > 2 * max(fell_before, 0.0) and fell_after > 0.02 * scale and significant:
            level = "the noise floor of that rate" if noisy else "a plateau"
            out.append(Finding("plateau", step, f"the loss sat at {_g(at)} ({level}) until step {step}, when the "
                                                f"rate dropped from {_g(before)} to {_g(after)}: then it fell to "
                                                f"{_g(later)} (steps {step + half}-{step + span})"))
    return out


def _gradient_growth(grad: Series | None, verdict: Verdict) -> Finding | None:
    """Before a divergence, how much the logged gradient norm had grown (from its median over the first half of
    the steps before it to the last finite value): the instability announcing itself."""
    if grad is None or verdict.kind != Kind.DIVERGED or verdict.step is None:
        return None
    before = (grad.step <= verdict.step) & np.isfinite(grad.value)
    steps, values = grad.step[before], grad.value[before]
    if values.size < 4:
        return None
    early = float(np.median(values[: values.size // 2]))
    last = float(values[-1])
    if not (early > 0 and last > 3 * early):
        return None
    return Finding("grad_norm", int(steps[-1]), f"the gradient norm grew {last / early:,.0f}× before it diverged "
                                                f"({_g(early)} → {_g(last)} at step {int(steps[-1])})")


def _overfitting(run: LoggedRun, fs, trend_raw) -> Finding | None:
    """The validation loss turned up while the training loss went on falling."""
    val = run.val_loss
    if val is None:
        return None
    ok = np.isfinite(val.value)
    vs, vv = val.step[ok], val.value[ok]
    if vv.size < 3:
        return None
    i = int(np.argmin(vv))
    if vv.size - i < 2:
        return None
    low, last, high = float(vv[i]), float(vv[-1]), float(np.max(vv[i:]))
    rise = last - low
    gained = float(vv[0]) - low
    # a rise of 2% of its level (1e-4 of what it had gained, for a level near 0), at the end still more than half
    if not (rise > max(0.02 * abs(low), 1e-4 * gained, 1e-12) and rise >= 0.5 * (high - low)):
        return None
    train_then = float(np.interp(vs[i], fs, trend_raw))
    train_end = float(trend_raw[-1])
    if not train_end < train_then:
        return None
    return Finding("overfitting", int(vs[i]), f"the validation loss was lowest at step {int(vs[i])} ({_g(low)}) and "
                                              f"rose to {_g(last)} by step {int(vs[-1])} while the training loss "
                                              f"kept falling ({_g(train_then)} → {_g(train_end)}): overfitting")
