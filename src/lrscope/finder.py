"""The LR range test, with a suggestion that is checked before it is given.

The classic test (Smith 2015; torch-lr-finder, fastai's ``lr_find``) raises α exponentially from tiny to huge over
a few hundred steps and reads a learning rate off the loss curve: the steepest descent, the middle of the longest
valley, or the minimum divided by 10. Each rule reads one noisy curve, so each can be far off. lrscope does three
things more:

1. **a band, not one curve** -- on data sets the test runs with several sample orders (seeds) and the curves are
   smoothed (debiased EMA) and averaged, so a lucky or unlucky batch does not move the pick;
2. **verification** -- the rules' picks and a log grid below the loss minimum are then trained for a short budget,
   all at once in one vectorized sweep with the same batches; the best third -- ranked by the lowest loss of the
   last third of their run, so a run caught in a spike it may recover from is not thrown out -- go on 4× as long
   (successive halving: a short run flatters a rate that is fast at first and unstable later; ``budget``, the steps
   you will train for, sizes both rounds; runs go on from where they stopped rather than start again), and the one
   that lowers the loss most is recommended (of rates that tie, the smallest: within 3% on mini-batches, where the
   difference is noise, 0.1% on full batches) -- unless twice that rate already fails, in which case it sits at the
   edge of stability and lrscope backs off to half of it, and checks that rate the same way; a double that does
   clearly better is taken instead. The double is read off a finalist near it where there is one; otherwise it is
   trained (two probes at most, skipped where theory gives the exact bound: GD on quadratics). A double above
   2/λ_max at the start that did no better but has not blown up may be in a catapult (it overshoots while the
   curvature falls, then settles and wins: raw logistic regression): the two are trained on to 1.5× the length
   before lrscope judges. The finalists whose result is close to the best give the interval. The same
   :func:`verify_candidates` serves ``lrscope.torch.lr_find``;
3. **a sanity cap** -- for gradient descent and momentum, a candidate above the stability bound 2/λ_max at the start
   is recommended only if it is not clearly above (×1.5) the bound measured where its own verification run ended:
   the curvature often falls along the path (logistic regression), and gradient descent that sits at the edge of
   stability there (local 2/λ_max ≈ α, Cohen et al. 2021) keeps training; one far above it is blowing up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from . import theory as _theory
from .checks import integer
from .diagnose import smooth
from .objectives.base import Objective
from .optim import Optimizer, gd
from .run import run
from .schedules import Schedule

FINAL_FACTOR = 4            # the finalists' verification runs are this many times longer than the first round
BUDGET_FIRST = 0.04         # with a training budget: the first round's length, as a share of it
BUDGET_FINAL = 0.3          # ... and the finalists' (the rate that wins 30% of the way usually wins at the end)
MAX_PROBES = 2              # doublings tried above the winner of the finalists' round
EXTEND = 1.5                # a catapult's check: pick and double trained on to this many times the finalists' length
MERGE = 1.3                 # candidates closer than this factor are one candidate
EDGE = 1.5                  # a run whose rate is this far above the bound 2/λ_max where it ended is blowing up
FAIL_RATIO = 3              # a double whose loss ends this many times the pick's has failed (losses near 0: a ratio)
TIE = 0.03                  # mini-batch verification losses within this fraction of each other are a tie (noise):
                            # the smaller rate wins
EXACT_TIE = 1e-3            # ... and full-batch ones (no noise: only differences too small to matter tie)


@dataclass
class FindResult:
    """The range test and the recommendation.

    ``lrs`` the learning rate of each step of the test; ``losses`` (seeds, steps) the raw loss of each step;
    ``smoothed`` the debiased-EMA curve averaged over seeds (``band`` its spread: min and max over seeds);
    ``methods`` what each rule suggests; ``suggestion`` the verified pick and ``interval`` the range of learning rates
    that trained almost as well; ``candidates`` and ``candidate_losses`` the first verification round (the lowest
    loss of each run's last third), ``finalists``, ``finalist_losses`` (where each run ended) and ``finalist_steps``
    (how long each was trained) the second, longer round among the best third and the margin check's runs;
    ``bound`` the stability bound used as a cap (None if not applicable); ``steps_used`` the compute in training
    steps.
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

    def to_dict(self) -> dict:
        def clean(a):
            return [None if not np.isfinite(x) else float(x) for x in np.ravel(a)]
        return {"objective": self.objective_name, "lrs": clean(self.lrs), "smoothed": clean(self.smoothed),
                "losses": [clean(r) for r in self.losses], "methods": {k: _float(v) for k, v in self.methods.items()},
                "suggestion": self.suggestion, "interval": list(self.interval), "bound": self.bound,
                "candidates": clean(self.candidates), "candidate_losses": clean(self.candidate_losses),
                "finalists": None if self.finalists is None else clean(self.finalists),
                "finalist_losses": None if self.finalist_losses is None else clean(self.finalist_losses),
                "finalist_steps": None if self.finalist_steps is None else [int(n) for n in self.finalist_steps],
                "steps_used": self.steps_used, "notes": self.notes}

    def plot(self, ax=None, path: str | None = None):
        """The range-test curve with its band, each rule's pick, the 2/L bound when known and the verified pick."""
        from .plots import plot_range_test
        return plot_range_test(self, ax=ax, path=path)


def _float(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _ramp(start: float, end: float, steps: int, mode: str) -> Schedule:
    """The test's schedule: α_t from ``start`` to ``end`` over ``steps`` steps, exponentially or linearly."""
    ratio = end / start

    def fn(t, base, total):
        frac = t / max(steps - 1, 1)
        if mode == "exp":
            return base * ratio ** frac
        return base * (1.0 + (ratio - 1.0) * frac)

    return Schedule(f"range_test[{mode}]", fn, {"start": start, "end": end, "steps": steps})


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


def find(objective: Objective, optimizer: Optimizer | None = None, *, start: float = 1e-7, end: float = 10.0,
         steps: int = 100, mode: str = "exp", batch_size: int | None = None, seeds: int = 3, beta: float = 0.9,
         diverge_factor: float = 4.0, verify: bool = True, verify_steps: int | None = None,
         final_steps: int | None = None, budget: int | None = None, validation: Objective | None = None,
         seed: int = 0, progress=None) -> FindResult:
    """Run the LR range test on ``objective`` and recommend a learning rate that a short training run confirms.

    ``start``/``end``/``steps``/``mode``: the ramp (exponential by default). The test stops once the smoothed loss
    exceeds ``diverge_factor`` × its best. On data sets ``batch_size`` rows per step and ``seeds`` sample orders;
    ``verify_steps`` (default: a quarter of ``steps``) is the length of the first verification round; the best
    third of the candidates then run ``final_steps`` (default 4 × ``verify_steps``). Which rate is best depends on
    how long you train (a short run flatters rates that are fast at first and unstable later, and can miss one that
    overshoots at first and wins later): give ``budget``, the number of steps you will train for, and the rounds
    are sized from it (4% and 30% of it); the whole call then costs about twice the budget plus the range test.
    ``validation``: an objective on held-out data with the same parameters (``ls.objectives.train_test``) -- the
    curve and the verification are then read off its loss, so the pick is the rate that generalizes best.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective: expected an lrscope Objective, got {type(objective).__name__}")
    optimizer = gd() if optimizer is None else optimizer
    verify_steps, final_steps = check_plan(start, end, mode, steps, verify_steps, final_steps, beta, diverge_factor,
                                           budget)
    integer(seeds, "seeds")
    if validation is not None:
        if not isinstance(validation, Objective):
            raise TypeError(f"validation: expected an lrscope Objective, got {type(validation).__name__}")
        if validation.dim != objective.dim:
            raise ValueError(f"validation: {validation.name!r} has {validation.dim} parameters, the objective "
                             f"{objective.dim}: it must be the same model on other data")
    score = objective if validation is None else validation
    if batch_size is not None and objective.n_samples is None:
        raise ValueError(f"batch_size: objective {objective.name!r} has no data samples")
    stochastic = batch_size is not None and objective.n_samples is not None and batch_size < objective.n_samples
    n_seeds = seeds if stochastic else 1
    ramp = _ramp(float(start), float(end), steps, mode)

    tally = Tally(progress, n_seeds * steps)       # the verification is planned once the candidates are known

    # 1. the range test, once per sample order (seed), each stopped when its smoothed loss blows up
    curves, used = [], 0
    for s in range(n_seeds):
        tracker = _DivergenceStop(beta, diverge_factor)
        res = run(objective, lrs=[start], optimizer=optimizer, steps=steps, schedule=ramp, batch_size=batch_size,
                    seed=seed + s, eval_every=steps + 1, keep_params=validation is not None,
                    stop=tracker, progress=lambda d, t, base=used: tally.at(base + d))
        raw = res.batch_losses[0] if res.batch_losses is not None else res.losses[0, :-1]
        if validation is not None:          # the held-out loss where each step started
            with np.errstate(all="ignore"):
                raw = np.asarray(validation.value(res.params[0, :-1]), dtype=np.float64)
        used += res.steps
        if not np.isfinite(raw[0]):
            raise ValueError("objective: the loss is not finite at the start: the problem is not the learning rate")
        curves.append(np.r_[raw, np.full(steps - raw.size, np.nan)])
    losses = np.array(curves)
    lrs = ramp(np.arange(steps), [start], steps)[:, 0]
    smooths = np.array([smooth(np.where(np.isfinite(c), c, np.nan), beta) for c in losses])
    # the band: average over seeds where all seeds are finite and below the blow-up
    valid = np.all(np.isfinite(smooths), axis=0)
    cut = int(np.argmin(valid)) if not valid.all() else steps
    if cut < 5:
        raise ValueError(f"start: the loss blows up within {cut} steps of the test; lower start (now {start:g})")
    lrs_v, mean = lrs[:cut], smooths[:, :cut].mean(axis=0)
    band = np.vstack([smooths[:, :cut].min(axis=0), smooths[:, :cut].max(axis=0)])
    methods, cands, notes = read_curve(lrs_v, mean, start, end)
    if validation is not None:
        notes.append(f"the curve and the verification are read off the held-out loss ({validation.name})")

    # 2. the sanity cap for optimizers whose stability theory is known
    bound = None
    if optimizer.kind != "adaptive":
        try:
            with np.errstate(all="ignore"):
                limit = _theory.analyze(objective).stability_limit(optimizer)
            bound = None if limit is None else float(np.min(limit))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
            bound = None

    # 3. verification: the candidates trained at once on the same batches
    if not verify:
        tally.finish()
        suggestion = float(methods["valley"] or methods["min/10"])
        methods["lrscope"] = suggestion
        return FindResult(lrs_v, losses[:, :cut], mean, band, methods, suggestion, (suggestion, suggestion), cands,
                          np.full(cands.size, np.nan), bound, used, objective.name, notes)
    exact = objective.constant_hessian() is not None and optimizer.kind != "adaptive"
    probes = 0 if exact else MAX_PROBES
    tally.at(used)
    tally.replan(verification_steps(cands.size, verify_steps, final_steps, probes))

    runs = _Runs(objective, optimizer, batch_size, seed)

    def train(rates, n_steps, final_round):
        base = tally.done
        histories, ends, spent = runs.train(rates, n_steps, lambda d: tally.at(base + d))
        losses = np.array([run_score(h, not final_round) for h in histories])
        if validation is not None:          # held-out loss where each run ended
            with np.errstate(all="ignore"):
                held_out = np.asarray(validation.value(ends), dtype=np.float64)
            losses = np.where(np.isfinite(losses) & np.isfinite(held_out), held_out, np.inf)
        tally.at(base + spent)
        capped = np.zeros(rates.size, dtype=bool)
        if final_round and bound is not None:
            for k in np.flatnonzero(np.isfinite(losses) & (rates >= 0.99 * bound)):
                limit = _limit_at(objective, optimizer, ends[k])
                capped[k] = limit is None or rates[k] >= EDGE * limit    # blowing up where its run ended
        return losses, spent, capped

    with np.errstate(all="ignore"):
        f0 = float(score.value(objective.x0)[0])
    v = verify_candidates(cands, train, verify_steps, final_steps, f0, probes=probes, subject="objective",
                          bound=bound, tie=TIE if stochastic else EXACT_TIE)
    used += v.steps_used
    notes += v.notes
    tally.finish()
    notes += above_the_start_bound(v.suggestion, bound)
    methods["lrscope"] = v.suggestion
    return FindResult(lrs_v, losses[:, :cut], mean, band, methods, v.suggestion, v.interval, cands, v.first, bound,
                      used, objective.name, notes, v.finalists, v.final, v.finalist_steps)


@dataclass
class Verification:
    """What :func:`verify_candidates` found: the pick, the range that trained almost as well, both rounds, the
    compute."""

    suggestion: float
    interval: tuple
    first: np.ndarray
    finalists: np.ndarray
    final: np.ndarray
    steps_used: int
    notes: list
    finalist_steps: np.ndarray | None = None


def finalist_count(n_cands: int) -> int:
    """How many candidates go on to the second round: the best third, at least two."""
    return max(2, -(-n_cands // 3))


def verification_steps(n_cands: int, verify_steps: int, final_steps: int, probes: int = MAX_PROBES) -> int:
    """The training steps :func:`verify_candidates` plans for (the probes and the catapult check may not be
    needed; a trainer that goes on with its runs spends less)."""
    return n_cands * verify_steps + (min(n_cands, finalist_count(n_cands)) + probes) * final_steps + \
        round(2 * EXTEND * final_steps)


class Tally:
    """Training steps done against the planned total, reported to ``progress(done, total)`` (None: silent)."""

    def __init__(self, progress, total: int):
        self.progress, self.done, self.total = progress, 0, total

    def replan(self, more: int):
        """From here on, ``more`` steps at most (what was planned but not done so far is dropped)."""
        self.total = self.done + more

    def at(self, done: int):
        self.done = max(self.done, done)
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))

    def add(self, n: int = 1):
        self.at(self.done + n)

    def finish(self):
        """Done: the total becomes what was spent (probes not needed are dropped)."""
        self.total = self.done
        self.at(self.done)


def verify_candidates(cands, train, verify_steps: int, final_steps: int, start_loss: float,
                      probes: int = MAX_PROBES, subject: str = "objective", bound: float | None = None,
                      tie: float = TIE) -> Verification:
    """Successive halving with a margin check -- the verification shared by ``find`` and ``lrscope.torch.lr_find``.

    ``train(rates, steps, final_round)`` trains each rate for ``steps`` steps from the same start on the same batches
    (a trainer may go on with a run it already has: the steps spent are what it reports) and returns (losses, steps
    spent, capped): a loss is inf where the run diverged; ``capped`` marks the runs that are unstable where they
    ended (far above the stability bound there: the sanity cap) -- never recommended. ``subject`` names what is
    trained in the error raised when every candidate diverges; ``bound`` is the stability bound 2/λ_max at the
    start where it is known. Losses within ``tie`` (a fraction) of each other are equal, and the smaller rate wins:
    the difference is noise, and the smaller rate is further from the edge (``TIE`` for mini-batch runs,
    ``EXACT_TIE`` for full-batch ones).

    1. every candidate for ``verify_steps``; the best third (at least two) go on -- ranked by the lowest loss of
       their last third (:func:`run_score`), so a run caught in a spike that may settle is not thrown out;
    2. the finalists for ``final_steps`` (a short run flatters a rate that is fast at first and unstable later);
    3. the margin check, with at most ``probes`` extra runs: the pick's double (a finalist when one lies near it,
       else trained) -- if it fails, the pick sits at the edge of stability and longer training (sharpening) would
       push it over, so lrscope backs off to the best rate at or below half of it, and checks that rate the same
       way (its double may be the rate that just failed: back off again; with no run left, half the rate is taken
       unverified rather than a rate at the edge); if the double does better (and is not capped), it is taken and
       its own double looked at in turn (the first short round can eliminate a rate that overshoots at first and
       settles later). Before a double above ``bound`` is judged worse (failed or just not better), one more look:
       if it is still finite and not capped it may be in a catapult (it overshoots, the curvature falls, it
       settles and wins: Lewkowycz et al. 2020) and only look worse for now -- pick and double are trained on to
       ``EXTEND`` × ``final_steps`` (once), and every comparison from then on is made at that length.
    """
    first, used, _ = train(cands, verify_steps, False)
    if not np.any(np.isfinite(first)):
        raise ValueError(f"{subject}: every candidate learning rate diverged in verification; lower start or end")
    n_final = min(int(np.isfinite(first).sum()), finalist_count(cands.size))
    finalists = np.sort(cands[np.argsort(first)[:n_final]])
    final, n, capped = train(finalists, final_steps, True)
    used += n
    usable = np.where(capped, np.inf, final)
    if not np.any(np.isfinite(usable)):       # every finalist failed the longer run: fall back on the first round
        pick = float(cands[int(np.argmin(first))])
        return Verification(pick, (pick, pick), first, finalists, usable, used,
                            ["every finalist failed the longer verification run; the pick is the first round's"],
                            np.full(finalists.size, final_steps))
    lengths = np.full(finalists.size, final_steps)     # how long each verified rate has been trained
    pick, notes, runs, backing, horizon = _smallest_of_the_best(finalists, usable, tie), [], 0, False, final_steps

    def at(rate):
        return int(np.searchsorted(finalists, rate))

    def near(rate, lo, hi):
        """The verified rate in (lo, hi] nearest ``rate``, or None."""
        inside = np.flatnonzero((finalists > lo) & (finalists <= hi))
        return float(finalists[inside[int(np.argmin(np.abs(np.log(finalists[inside] / rate))))]]) if inside.size \
            else None

    def train_on(rates):
        """Train ``rates`` to the current horizon (a verified rate is updated, a new one added)."""
        nonlocal finalists, final, capped, lengths, used
        loss, n, cap = train(np.asarray(rates, dtype=float), horizon, True)
        used += n
        for rate, value, c in zip(rates, loss, cap):
            k = at(rate)
            if k < finalists.size and finalists[k] == rate:
                final[k], capped[k], lengths[k] = value, c, horizon
            else:
                finalists, final, capped, lengths = (np.insert(finalists, k, rate), np.insert(final, k, value),
                                                     np.insert(capped, k, c), np.insert(lengths, k, horizon))

    def probe(rate):
        """Train ``rate`` to the current horizon if a probe is left: True if it was."""
        nonlocal runs
        if runs >= probes:
            return False
        runs += 1
        train_on([rate])
        return True

    def current(rate):
        """``rate``'s loss at the current horizon (trained on to it if it ran shorter)."""
        if lengths[at(rate)] < horizon:
            train_on([rate])
        return float(final[at(rate)])

    while True:
        best = current(pick)
        double = near(2 * pick, pick * 1.0001, 2.5 * pick)     # a verified rate near the double: no new run needed
        if double is None:
            double = 2 * pick if probe(2 * pick) else None
        if double is None:
            break
        double_loss = current(double)
        if (horizon == final_steps and not clearly_better(double_loss, best, tie)
                and may_settle(double, double_loss, bool(capped[at(double)]), bound)):
            horizon = round(EXTEND * final_steps)
            train_on([pick, double])
            notes.append(f"{double:.3g} is above 2/λ_max = {bound:.3g} at the start and did no better than "
                         f"{pick:.3g}, but it did not blow up: both trained on to {horizon} steps before judging")
            continue
        if much_worse(double_loss, best, start_loss):
            # the pick sits at the edge of stability: back off to the best verified rate at or below half of it
            below = np.flatnonzero((finalists <= pick / 1.8) & np.isfinite(final) & ~capped)
            if below.size:
                backed = float(finalists[below[int(np.argmin(final[below]))]])
            elif probe(pick / 2):
                backed = pick / 2
            else:        # no run left to check it: half the rate, unverified, rather than the edge
                notes.append(f"backed off from {pick:.3g} to {pick / 2:.3g} without a verification run: "
                             f"{double:.3g} already fails")
                pick = pick / 2
                break
            notes.append(f"backed off from {pick:.3g} to {backed:.3g}: {double:.3g} already fails, so {pick:.3g} "
                         f"is at the edge of stability")
            pick, backing = backed, True       # and look at the backed-off rate's double in turn
            continue
        if backing or not clearly_better(double_loss, best, tie) or capped[at(double)]:
            break
        pick = double           # the double does better: take it, and look at its double in turn
    usable = np.where(capped, np.inf, final)
    gain = start_loss - usable
    good = finalists[np.isfinite(usable) & (gain >= 0.9 * np.max(gain))] if np.max(gain) > 0 else np.array([pick])
    return Verification(pick, (float(min(good.min(), pick)), float(max(good.max(), pick))), first, finalists, usable,
                        used, notes, lengths)


def may_settle(rate: float, loss: float, capped: bool, bound: float | None) -> bool:
    """Whether a run that did worse may only be in a catapult: above the start's 2/λ_max (it had to overshoot),
    yet finite and not blowing up where it ended (the curvature fell under it)."""
    return bound is not None and rate > bound and bool(np.isfinite(loss)) and not capped


def run_score(losses, first_round: bool) -> float:
    """What a verification run is judged by (inf if it diverged). After the short first round: the lowest loss of
    its last third -- a run caught in a spike (a catapult, an oscillation at the edge of stability) that already
    reached a low loss may well settle, and the longer round will tell. After a longer round: the mean of its last
    tenth (robust to noise): where it ends is what counts."""
    losses = np.asarray(losses, dtype=np.float64)
    if losses.size == 0 or not np.all(np.isfinite(losses)):
        return np.inf
    if first_round:
        return float(np.min(losses[-max(1, losses.size // 3):]))
    return float(np.mean(losses[-max(1, losses.size // 10):]))


def above_the_start_bound(pick: float, bound: float | None) -> list:
    """The note (a list of at most one) for a pick above 2/λ_max at the start -- one that passed the sanity cap."""
    if bound is None or not pick > bound:
        return []
    return [f"the pick {pick:.3g} is above 2/λ_max = {bound:.3g} at the start, but its verification run settled: "
            f"the curvature fell along the path, and it trains at (not past) the edge of stability there"]


def clearly_better(loss: float, than: float, tie: float = TIE) -> bool:
    """Whether ``loss`` beats ``than`` by more than a tie (``tie`` of its size): mini-batch runs differ by noise."""
    if not np.isfinite(than):
        return bool(np.isfinite(loss))
    return bool(loss < than - tie * abs(than))


def _smallest_of_the_best(rates, losses, tie: float = TIE) -> float:
    """The smallest rate whose loss ties with the lowest: among rates that train equally well, the one furthest
    from the edge of stability (and the least at the mercy of one batch order)."""
    best = float(np.min(losses))
    return float(np.min(rates[~np.array([clearly_better(best, x, tie) for x in losses])]))


def much_worse(doubled: float, best: float, start: float) -> bool:
    """Whether training at twice a rate fails: it diverges, gives back half the gain, or ends ``FAIL_RATIO`` (3)
    times higher -- where losses go towards 0 the ratio is what tells (Adam on a small CNN at 30% of its budget:
    0.049 reached 0.073 and its double 0.416; at the full budget 0.049 was 1.6× worse than half of it)."""
    if not np.isfinite(doubled):
        return True
    return doubled - best > 0.5 * max(start - best, 0.0) or (best > 0 and doubled > FAIL_RATIO * best)


def check_plan(start, end, mode, steps, verify_steps, final_steps, beta=0.9, diverge_factor=4.0, budget=None):
    """Check the range test's settings (shared by ``find`` and ``lrscope.torch.lr_find``); fill in the defaults of
    the verification rounds: from ``budget`` (the steps the user will train for) when given -- 4% of it (at least
    5), then 30% of it for the finalists --, else a quarter of ``steps`` (at least 10), then 4× that."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name}: must be a number > 0, got {value!r}")
    if start >= end:
        raise ValueError(f"start, end: start ({start:g}) must be below end ({end:g})")
    if mode not in ("exp", "linear"):
        raise ValueError(f"mode: expected 'exp' or 'linear', got {mode!r}")
    steps = integer(steps, "steps", 5)
    if not 0 <= beta < 1:
        raise ValueError(f"beta: must be in [0, 1), got {beta!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor: must be > 1, got {diverge_factor!r}")
    budget = None if budget is None else integer(budget, "budget", 1)
    if verify_steps is None:
        verify_steps = max(10, steps // 4) if budget is None else max(5, round(BUDGET_FIRST * budget))
    verify_steps = integer(verify_steps, "verify_steps", 1)
    if final_steps is None:
        final_steps = FINAL_FACTOR * verify_steps if budget is None else max(verify_steps,
                                                                             round(BUDGET_FINAL * budget))
    final_steps = integer(final_steps, "final_steps", 1)
    return verify_steps, final_steps


def read_curve(lrs, curve, start, end):
    """What a smoothed range-test curve says: each rule's pick, the candidates to verify (the picks and a log grid
    over the two decades below the loss minimum -- a grid point within ×1.3 of a pick left out --, unique to 2
    decimals of log10, within the tested range) and notes."""
    notes = []
    if np.min(curve) >= curve[0] * (1 - 1e-3):
        notes.append("the loss never fell during the test: start is too high, or the problem is not the "
                     "learning rate")
    methods = {"steepest": steepest(lrs, curve), "valley": valley(lrs, curve), "min/10": min_over_ten(lrs, curve)}
    lr_at_min = float(lrs[int(np.argmin(curve))])
    picks = [v for v in methods.values() if v is not None and np.isfinite(v)]
    grid = np.geomspace(lr_at_min / 100, lr_at_min, 7)
    # a grid point within MERGE of a rule's pick adds nothing to verify: the pick stands for it
    grid = [g for g in grid if not any(abs(np.log(g / p)) < np.log(MERGE) for p in picks)]
    cands = 10.0 ** np.unique(np.round(np.log10(np.r_[picks, grid]), 2))
    return methods, cands[(cands >= start / 10) & (cands <= end)], notes


class _Run(NamedTuple):
    """One verification run so far: its steps, where it is, the optimizer's state there, its loss at every step."""

    steps: int
    params: np.ndarray
    state: object
    losses: np.ndarray


class _Runs:
    """The verification's training runs, each of which can go on: asked for a rate after ``steps`` steps, a run
    that already went part of the way continues from where it stopped (its parameters, optimizer state and place
    in the batch order: the numbers of one long run) instead of starting again, so a longer round costs only the
    steps it adds. Runs that start from the same step go in one vectorized sweep with the same batches."""

    def __init__(self, objective, optimizer, batch_size, seed):
        self.objective, self.optimizer, self.batch_size, self.seed = objective, optimizer, batch_size, seed
        self.runs = {}         # rate -> _Run

    def train(self, rates, steps, progress=None):
        """Each rate's losses over its first ``steps`` steps, its parameters there, and the steps spent."""
        rates = np.asarray(rates, dtype=np.float64)
        done = np.array([self.runs[r].steps if r in self.runs and self.runs[r].steps <= steps else 0 for r in rates])
        spent = 0
        for start in np.unique(done):
            group = rates[done == start]
            if start == steps:
                continue
            if start == 0:
                x0, state = None, None
            else:
                x0 = np.array([self.runs[r].params for r in group])
                state = _stack([self.runs[r].state for r in group])
            res = run(self.objective, lrs=group, optimizer=self.optimizer, steps=steps - start,
                        batch_size=self.batch_size, seed=self.seed, x0=x0, state=state, start_step=start,
                        keep_params=False,
                        progress=None if progress is None else
                        lambda d, t, base=spent, k=group.size: progress(base + d * k))
            spent += int(steps - start) * group.size
            for k, r in enumerate(group):
                before = self.runs[r].losses[:-1] if start else np.empty(0)
                self.runs[r] = _Run(steps, res.final_params[k], _select(res.final_state, k, group.size),
                                    np.r_[before, res.losses[k]])
        return [self.runs[r].losses for r in rates], np.array([self.runs[r].params for r in rates]), spent


def _select(state, k: int, K: int):
    """Configuration ``k``'s part of an optimizer state (arrays with one row per configuration; counters shared)."""
    if isinstance(state, (tuple, list)):
        return type(state)(_select(s, k, K) for s in state)
    if isinstance(state, np.ndarray) and state.ndim >= 1 and state.shape[0] == K:
        return state[k]
    return state


def _stack(states):
    """The inverse of :func:`_select`: one state for several configurations (the counters must agree)."""
    first = states[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_stack(list(parts)) for parts in zip(*states))
    if isinstance(first, np.ndarray) and first.ndim >= 1:
        return np.stack(states)
    return first


def _limit_at(objective, optimizer, point) -> float | None:
    """The optimizer's stability bound from the curvature at ``point`` (None if it cannot be measured)."""
    if not np.all(np.isfinite(point)):
        return None
    try:
        with np.errstate(all="ignore"):
            limit = _theory.analyze(objective, at=point).stability_limit(optimizer)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return None
    return None if limit is None else float(np.min(limit))


class _DivergenceStop:
    """Stop the ramp once the smoothed loss exceeds ``factor`` × its best so far (or is not finite)."""

    def __init__(self, beta: float, factor: float):
        self.beta, self.factor, self.avg, self.best, self.first, self.t = beta, factor, 0.0, np.inf, None, 0

    def __call__(self, t: int, loss) -> bool:
        x = float(np.asarray(loss).ravel()[0])
        if not np.isfinite(x):
            return True
        self.t += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * x
        s = self.avg / (1 - self.beta ** self.t)
        self.first = s if self.first is None else self.first
        self.best = min(self.best, s)
        if self.t <= 5:
            return False
        if self.best > 0:          # as torch-lr-finder: a multiple of the best loss
            return s > self.factor * self.best
        return s - self.best > (self.factor - 1) * max(self.first - self.best, 1e-12)
