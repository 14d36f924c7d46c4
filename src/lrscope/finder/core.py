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
   difference is noise -- on held-out rows, one standard error of the difference instead --, or 0.1% of the start
   loss; 0.1% on full batches; on mini-batches never one at or above a rate that failed where a smaller one did
   not) -- unless twice that rate already fails: then, if the rate's own run
   was steady (it never gave back more than 10% of its gain in its second half), the edge lies between the two and
   lrscope searches there (log-scale bisection, first step ×√2, until a tie or two runs are spent; gradient
   descent and momentum only: adaptive rates do not fail at a sharp edge); if it was not, the rate sits at the
   edge of stability and lrscope backs off to half of it, and checks that rate the same way; a double that does
   clearly better is taken instead. The double is read off a finalist near it where there is one; otherwise it is
   trained (two probes at most; these and the edge search are skipped where theory gives the exact answer: GD on
   quadratics). On mini-batches, where no rate below the pick was verified, its half is trained too, and taken
   if it ties with the best (the first round sends the fast rates on; the half brackets the pick from below). A
   double above
   2/λ_max at the start that did no better but has not blown up may be in a catapult (it overshoots while the
   curvature falls, then settles and wins: raw logistic regression): the two are trained on to 1.5× the length
   before lrscope judges. The finalists whose result is close to the best give the interval. The same
   :func:`verify_candidates` serves ``lrscope.torch.lr_find``;
3. **a sanity cap** -- for gradient descent and momentum, a candidate above the stability bound 2/λ_max at the start
   is recommended only if it is not clearly above (×1.5) the bound measured where its own verification run ended:
   the curvature often falls along the path (logistic regression), and gradient descent that sits at the edge of
   stability there (local 2/λ_max ≈ α, Cohen et al. 2021) keeps training; one far above it is blowing up.

With a ``budget`` the answer can be more than one rate (``step_sizes``, ``schedule``): on mini-batches the pick and
then a cooldown over the budget's last 20% (:mod:`.cooldown`); for gradient descent on a quadratic the best step
sizes for the budget (:mod:`.quadratic`), and on any full-batch loss near a minimum the pick, then step sizes from
the curvature where its run ended (:mod:`.refine`) -- these two only where a real run confirms them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import theory as _theory
from ..checks import integer
from ..diagnose import smooth
from ..objectives.base import Objective
from ..optim import Optimizer, gd, select_state, stack_states
from ..run import run
from ..schedules import Schedule, table
from .pipeline import Curve, Kept, make_plan, recommend, unverified
from .range_test import BUDGET_ALL, DivergenceStop, FindResult, ramp
from .rules import read_curve
from .quadratic import MARGIN, GradientErrors, best_step_sizes, clearly_lower, quadratic_pick
from .refine import refine_the_pick
from .verify import EDGE, EDGE_PROBES, EXACT_TIE, MAX_PROBES, PIECES, TIE, Tally, run_score, steady


def find(objective: Objective, optimizer: Optimizer | None = None, *, start: float = 1e-7, end: float = 10.0,
         steps: int | None = None, mode: str = "exp", batch_size: int | None = None, seeds: int = 3,
         beta: float = 0.9, diverge_factor: float = 4.0, verify: bool = True, verify_steps: int | None = None,
         final_steps: int | None = None, budget: int | None = None, validation: Objective | None = None,
         seed: int = 0, progress=None, analysis_seconds: float | None = None,
         max_compute: float = BUDGET_ALL, schedule=None, keep_winner: bool = False) -> FindResult:
    """Run the LR range test on ``objective`` and recommend a learning rate that a short training run confirms.

    ``start``/``end``/``steps``/``mode``: the ramp (exponential by default; ``steps`` 100, or fewer with a short
    ``budget``: at most half of the whole call's compute, :func:`.range_test.ramp_steps`). The test stops once the
    smoothed loss exceeds ``diverge_factor`` × its best. On data sets ``batch_size`` rows per step and ``seeds``
    sample orders;
    ``verify_steps`` (default: a quarter of ``steps``) is the length of the first verification round; the best
    third of the candidates then run ``final_steps`` (default 4 × ``verify_steps``). Which rate is best depends on
    how long you train (a short run flatters rates that are fast at first and unstable later, and can miss one that
    overshoots at first and wins later): give ``budget``, the number of steps you will train for, and the rounds
    are sized from it (4% and 30% of it), and the whole call stays within ``max_compute`` × the budget (1.5): the
    finalists' round is shortened when the range test took much of it (unless ``final_steps`` is given), and the
    margin check leaves out what would not fit.
    ``validation``: an objective on held-out data with the same parameters (``ls.objectives.train_test``) -- the
    curve and the verification are then read off its loss, so the pick is the rate that generalizes best.
    ``analysis_seconds``: a time budget for each curvature measurement of the sanity cap (past it, no cap).
    ``schedule``: the schedule you will train with (``"cosine"``, ``"warmup_cosine"``, ``"linear"``,
    ``"one_cycle"``, ``"constant"``, a function ``f(step, total)`` or a Schedule; :mod:`.schedule`): every
    verification run follows it over the finalists' horizon, the suggestion is the peak rate that trained best with
    it, and ``step_sizes`` (with a budget) are that peak times the schedule -- no cooldown is added.
    ``keep_winner``: keep where the suggestion's verification run ended (``trained_steps``, ``trained_params``,
    ``trained_state``), to go on from there instead of training those steps again (constant rates only).
    ``progress(done, total)`` is called as the steps go; an exception raised from it stops the call.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective: expected an lrscope Objective, got {type(objective).__name__}")
    optimizer = gd() if optimizer is None else optimizer
    if validation is not None:
        if not isinstance(validation, Objective):
            raise TypeError(f"validation: expected an lrscope Objective, got {type(validation).__name__}")
        if validation.dim != objective.dim:
            raise ValueError(f"validation: {validation.name!r} has {validation.dim} parameters, the objective "
                             f"{objective.dim}: it must be the same model on other data")
    if batch_size is not None and objective.n_samples is None:
        raise ValueError(f"batch_size: objective {objective.name!r} has no data samples")
    stochastic = batch_size is not None and objective.n_samples is not None and batch_size < objective.n_samples
    integer(seeds, "seeds")
    n_seeds = seeds if stochastic else 1
    plan = make_plan(start=start, end=end, steps=steps, mode=mode, beta=beta, diverge_factor=diverge_factor,
                     verify=verify, verify_steps=verify_steps, final_steps=final_steps, budget=budget,
                     max_compute=max_compute, schedule=schedule, keep_winner=keep_winner, seeds=n_seeds)
    tally = Tally(progress, n_seeds * plan.steps)    # the verification is planned once the candidates are known
    curve = _range_test(objective, optimizer, plan, batch_size, n_seeds, validation, seed, tally)
    methods, cands, notes = read_curve(curve.lrs, curve.smoothed, plan.start, plan.end)
    if validation is not None:
        notes.append(f"the curve and the verification are read off the held-out loss ({validation.name})")
    bound = _bound(objective, optimizer, analysis_seconds, tally.again)
    if not plan.verify:
        return unverified(curve, objective.name, methods, cands, bound, notes, tally)
    horizon = plan.final_steps if plan.budget is None else plan.budget
    known = (None if stochastic or validation is not None or plan.schedule is not None
             else quadratic_pick(objective, optimizer, horizon))
    if known is not None:       # a quadratic: the loss after the horizon is known for every α; one run checks it
        return _quadratic_answer(objective, optimizer, known, horizon, curve.used, tally, curve.lrs, curve.losses,
                                 curve.smoothed, curve.band, methods, bound, notes)
    tally.at(curve.used)
    trainer = _ObjectiveTrainer(objective, optimizer, batch_size, seed, validation, bound, analysis_seconds, tally,
                                stochastic)

    def refine(pick, allowance):            # gradient descent on a full-batch loss: step sizes near the minimum
        if pick not in trainer.runs.runs:
            return None
        return refine_the_pick(objective, optimizer, trainer.runs, pick, plan.budget, allowance, tally)

    exact_gd = not stochastic and validation is None and optimizer.kind == "gd"
    return recommend(trainer, plan, curve, methods, cands, notes, bound, tally, refine if exact_gd else None)


def _range_test(objective, optimizer, plan, batch_size, n_seeds, validation, seed, tally) -> Curve:
    """The range test, once per sample order (seed), each stopped when its smoothed loss blows up; the curves
    smoothed and averaged where every seed is finite and below the blow-up."""
    schedule = ramp(plan.start, plan.end, plan.steps, plan.mode)
    steps = plan.steps
    curves, used = [], 0
    for s in range(n_seeds):
        tracker = DivergenceStop(plan.beta, plan.diverge_factor)
        res = run(objective, lrs=[plan.start], optimizer=optimizer, steps=steps, schedule=schedule,
                  batch_size=batch_size, seed=seed + s, eval_every=steps + 1, keep_params=validation is not None,
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
    lrs = schedule(np.arange(steps), [plan.start], steps)[:, 0]
    smooths = np.array([smooth(np.where(np.isfinite(c), c, np.nan), plan.beta) for c in losses])
    valid = np.all(np.isfinite(smooths), axis=0)
    cut = int(np.argmin(valid)) if not valid.all() else steps
    if cut < 5:
        raise ValueError(f"start: the loss blows up within {cut} steps of the test; lower start (now {plan.start:g})")
    score = objective if validation is None else validation
    with np.errstate(all="ignore"):
        f0 = float(score.value(objective.x0)[0])
    return Curve(lrs[:cut], losses[:, :cut], smooths[:, :cut].mean(axis=0),
                 np.vstack([smooths[:, :cut].min(axis=0), smooths[:, :cut].max(axis=0)]), used, f0)


def _bound(objective, optimizer, analysis_seconds, check=None) -> float | None:
    """The stability bound 2/λ_max at the start, for optimizers whose stability theory is known (the sanity cap);
    ``check()`` is called as the curvature is measured."""
    if optimizer.kind == "adaptive":
        return None
    try:
        with np.errstate(all="ignore"):
            limit = _theory.analyze(objective, seconds=analysis_seconds, check=check).stability_limit(optimizer)
        return None if limit is None else float(np.min(limit))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return None


class _ObjectiveTrainer:
    """The pipeline's :class:`.pipeline.Trainer` for lrscope's objectives: every rate of a round in one vectorized
    sweep on the same batches (:class:`_Runs`); on full batches no noise (``EXACT_TIE``) and, where the Hessian is
    constant, neither probes nor the edge search (theory gives the exact answer); a final run above the bound is
    capped when it is far past the bound measured where it ended."""

    subject, restarts = "objective", False

    def __init__(self, objective, optimizer, batch_size, seed, validation, bound, analysis_seconds, tally,
                 stochastic):
        self.objective, self.optimizer, self.validation, self.bound = objective, optimizer, validation, bound
        self.analysis_seconds, self.tally, self.batch_size, self.seed = analysis_seconds, tally, batch_size, seed
        self.name, self.mini_batches, self.held_out = objective.name, stochastic, validation is not None
        self.tie = TIE if stochastic else EXACT_TIE
        exact = objective.constant_hessian() is not None and optimizer.kind != "adaptive"
        self.probes = 0 if exact else MAX_PROBES
        self.edge_probes = 0 if exact or optimizer.kind == "adaptive" else EDGE_PROBES   # a sharp edge: GD, momentum
        self.runs = None

    def prepare(self, final_steps, factors):
        self.runs = _Runs(self.objective, self.optimizer, self.batch_size, self.seed, factors)

    def round(self, rates, n_steps, final_round):
        base = self.tally.done
        histories, ends, spent = self.runs.train(rates, n_steps, lambda d: self.tally.at(base + d))
        losses = np.array([run_score(h, not final_round) for h in histories])
        pieces = [None] * rates.size
        if self.validation is not None:          # held-out loss where each run ended
            with np.errstate(all="ignore"):
                held_out = np.asarray(self.validation.value(ends), dtype=np.float64)
                pieces = _pieces(self.validation, ends)
            losses = np.where(np.isfinite(losses) & np.isfinite(held_out), held_out, np.inf)
        self.tally.at(base + spent)
        capped = np.zeros(rates.size, dtype=bool)
        if final_round and self.bound is not None:
            for k in np.flatnonzero(np.isfinite(losses) & (rates >= 0.99 * self.bound)):
                limit = _limit_at(self.objective, self.optimizer, ends[k], self.analysis_seconds, self.tally.again)
                capped[k] = limit is None or rates[k] >= EDGE * limit    # blowing up where its run ended
        return losses, spent, capped, np.array([steady(h) for h in histories], dtype=bool), pieces

    def keep(self, rate, going_on):
        kept = self.runs.runs.get(rate)
        if kept is None:
            return None
        return Kept(kept.steps, f"keep_winner: trained_params and trained_state are where {rate:.3g}'s verification "
                                f"run ended, {kept.steps} steps into training at that rate"
                                + (f" -- go on at {going_on:.3g} (res.step_sizes)" if going_on != rate else ""),
                    kept.params[None], stack_states([kept.state]))

    def close(self):
        pass


def _pieces(validation, ends) -> list:
    """Each run's held-out loss on each piece of a data objective's rows (single rows, or ``PIECES`` groups of
    them) -- what :func:`lrscope.finder.verify.standard_error` reads the split's noise from; None for each run of
    an objective without rows (a formula)."""
    n = getattr(validation, "n_samples", None)
    if not isinstance(n, int) or n < 2:
        return [None] * len(ends)
    pieces = np.array_split(np.arange(n), min(n, PIECES))
    return list(np.stack([np.asarray(validation.value(ends, rows=rows), dtype=np.float64) for rows in pieces],
                         axis=1))


def _quadratic_answer(objective, optimizer, known, horizon, used, tally, lrs, losses, mean, band, methods, bound,
                      notes) -> FindResult:
    """The answer on a quadratic: the best constant rate for ``horizon`` steps, and for gradient descent the best
    step sizes where they do clearly better -- each confirmed by one real run (the step sizes first: when their
    run confirms them, the constant's closed-form loss needs no run of its own)."""
    tally.replan(horizon)
    compute = {"range test": used}
    sizes = best_step_sizes(objective, optimizer, horizon, known)
    step_sizes = schedule_loss = None
    if sizes is not None:
        check = run(GradientErrors(objective, sizes.curvature), lrs=[known.lr], optimizer=optimizer,
                    steps=horizon, keep_params=False, schedule=table(sizes.rates / known.lr),
                    progress=lambda d, t, base=used: tally.at(base + d))
        used += check.steps
        compute["step sizes' run"] = check.steps
        real = float(check.losses[0, -1])
        if clearly_lower(real, known.loss, sizes.floor):
            step_sizes, schedule_loss = sizes.rates, real
        else:
            tally.replan(horizon)
            notes.append(f"step sizes that theory expected to reach {sizes.loss:.6g} ended at {real:.6g} in a real "
                         f"run with gradient errors of {MARGIN:g} × L‖x‖: the constant rate is recommended")
    verified = known.loss
    if step_sizes is None:
        check = run(objective, lrs=[known.lr], optimizer=optimizer, steps=horizon, keep_params=False,
                    progress=lambda d, t, base=used: tally.at(base + d))
        used += check.steps
        compute["checking run"] = check.steps
        verified = float(check.losses[0, -1])
    tally.finish()
    notes.append(f"the loss is quadratic: its value after {horizon} steps is known for every α, and the best "
                 f"constant α for that budget is {known.lr:.4g} ("
                 + (f"one run confirms it: {verified:.6g})" if step_sizes is None else f"it reaches {verified:.6g})"))
    if known.asymptotic is not None:
        notes.append(f"2/(L+μ) = {known.asymptotic:.4g}, the best α for an endless run, would end at "
                     f"{known.asymptotic_loss:.6g} after {horizon} steps")
    methods["lrscope"] = known.lr
    reason = (f"{known.lr:.4g} minimizes the loss after {horizon} steps, computed for every α (the loss is "
              f"quadratic)")
    if step_sizes is not None:
        notes.append(f"varying step sizes do better than any constant rate: a cycle of {sizes.cycle} (1/θ for the "
                     f"Ritz values θ of the Hessian, the conjugate-gradient polynomial's roots; the largest "
                     f"{step_sizes.max():.4g}, {step_sizes.max() / known.limit:.3g} × 2/L) repeated, reach "
                     f"{schedule_loss:.6g} after {horizon} steps (one run confirms it with an error of {MARGIN:g} "
                     f"× L‖x‖ in every gradient, far above any CPU's rounding)")
        reason += (f"; better still, varying step sizes (a cycle of {sizes.cycle}, some above 2/L for one step) "
                   f"reach {schedule_loss:.6g}, the constant {verified:.6g}")
    return FindResult(lrs=lrs, losses=losses, smoothed=mean, band=band, methods=methods, suggestion=known.lr,
                      interval=known.interval, candidates=np.empty(0), candidate_losses=np.empty(0), bound=bound,
                      steps_used=used, objective_name=objective.name, notes=notes, finalists=np.array([known.lr]),
                      finalist_losses=np.array([verified]), finalist_steps=np.array([horizon]), compute=compute,
                      reason=reason, step_sizes=step_sizes, schedule_loss=schedule_loss)


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

    def __init__(self, objective, optimizer, batch_size, seed, factors=None):
        self.objective, self.optimizer, self.batch_size, self.seed = objective, optimizer, batch_size, seed
        self.factors = factors      # the schedule every run follows: multipliers of its rate by step (None: constant)
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
                state = stack_states([self.runs[r].state for r in group])
            res = run(self.objective, lrs=group, optimizer=self.optimizer, steps=steps - start,
                      schedule=self._schedule(start),
                      batch_size=self.batch_size, seed=self.seed, x0=x0, state=state, start_step=start,
                      keep_params=False, stop=_all_diverged,
                      progress=None if progress is None else
                      lambda d, t, base=spent, k=group.size: progress(base + d * k))
            spent += int(res.steps) * group.size       # a group that all diverged stopped there: no steps wasted
            for k, r in enumerate(group):
                before = self.runs[r].losses[:-1] if start else np.empty(0)
                self.runs[r] = _Run(steps, res.final_params[k], select_state(res.final_state, k),
                                    np.r_[before, res.losses[k]])
        return [self.runs[r].losses for r in rates], np.array([self.runs[r].params for r in rates]), spent

    def _schedule(self, start: int):
        """The runs' schedule from step ``start`` on (past its end, its last multiplier)."""
        if self.factors is None:
            return None
        f = self.factors
        return Schedule("verified", lambda t, base, total: base * f[np.minimum(t + start, f.size - 1).astype(int)])


def _all_diverged(t, losses) -> bool:
    """Stop a verification run once every rate in it has diverged (the rest of its steps would be wasted)."""
    return not np.any(np.isfinite(losses))


def _limit_at(objective, optimizer, point, seconds: float | None = None, check=None) -> float | None:
    """The optimizer's stability bound from the curvature at ``point`` (None if it cannot be measured); ``check()``
    is called as it is measured."""
    if not np.all(np.isfinite(point)):
        return None
    try:
        with np.errstate(all="ignore"):
            L = _theory.largest_curvature_at(objective, point, seconds=seconds, check=check)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return None
    limit = _theory.optimizer_limit(optimizer, L)
    return None if limit is None else float(np.min(limit))
