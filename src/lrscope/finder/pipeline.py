"""One pipeline for the finder, whatever it trains: the range test's curve → the rules' candidates → verification
→ the answer over the budget.

``lrscope.find`` (lrscope's objectives, NumPy) and ``lrscope.torch.lr_find`` (your PyTorch model) differ only in how
they train: each runs its own range test (a :class:`Curve`), reads its candidates off it (:func:`.rules.read_curve`)
and implements :class:`Trainer` -- train some rates for some steps, keep the winner's run -- and both then call
:func:`recommend`, which verifies the candidates (:func:`.verify.verify_candidates`), adds what the budget asks for
(a cooldown, or the user's schedule) and builds the :class:`FindResult`. Settings are checked once, in
:func:`make_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Protocol

import numpy as np

from .cooldown import recommend as cooldown
from .refine import Refined
from .range_test import BUDGET_ALL, FindResult, check_compute, check_plan, fit_the_rounds, ramp_steps
from .schedule import check_schedule, name_of, with_schedule
from .schedule import factors as schedule_factors
from .verify import Tally, Verification, above_the_start_bound, finalist_count, verification_steps, verify_candidates


@dataclass(frozen=True)
class Plan:
    """The checked settings of one call: the ramp (``start`` … ``end`` over ``steps``, ``mode``), the stop rule
    (``beta``, ``diverge_factor``), the verification rounds (``verify_steps``, ``final_steps`` -- ``final_fixed``
    when the user gave it), the ``budget`` and ``max_compute``, the ``schedule`` to verify with (None: a constant
    rate) and whether to ``keep_winner``."""

    start: float
    end: float
    steps: int
    mode: str
    beta: float
    diverge_factor: float
    verify: bool
    verify_steps: int
    final_steps: int
    final_fixed: bool
    budget: int | None
    max_compute: float
    schedule: object
    keep_winner: bool


def make_plan(*, start, end, steps, mode, beta, diverge_factor, verify, verify_steps, final_steps, budget,
              max_compute=BUDGET_ALL, schedule=None, keep_winner=False, seeds: int = 1) -> Plan:
    """Every setting checked (a ``ValueError``/``TypeError`` naming the argument) and the defaults filled in; the
    ramp's length fits ``seeds`` sample orders (checked by the caller) into half of the call's compute
    (:func:`.range_test.ramp_steps`)."""
    final_fixed = final_steps is not None
    verify_steps, final_steps = check_plan(start, end, mode, steps, verify_steps, final_steps, beta, diverge_factor,
                                           budget)
    max_compute = check_compute(max_compute)
    shape = check_schedule(schedule)
    if keep_winner and shape not in (None, "constant"):
        raise ValueError("keep_winner: only with a constant rate -- the verification runs follow the schedule "
                         "compressed to the final round, not the start of your run's schedule")
    return Plan(float(start), float(end), ramp_steps(steps, budget, seeds, max_compute), mode, beta, diverge_factor,
                bool(verify), verify_steps, final_steps, final_fixed, None if budget is None else int(budget),
                max_compute, shape, bool(keep_winner))


@dataclass
class Curve:
    """A range test's result: ``lrs`` the rate of each step kept (up to the blow-up), ``losses`` (sample orders,
    steps) the raw loss of each, ``smoothed`` their debiased-EMA mean and ``band`` its spread, ``used`` the
    training steps it took, ``start_loss`` the loss the verification's gains are measured from."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    band: np.ndarray
    used: int
    start_loss: float


class Kept(NamedTuple):
    """The winner's verification run where it ended (``keep_winner``): its steps and, for lrscope's objectives, its
    parameters and optimizer state (a PyTorch model is left there instead); ``note`` says so."""

    steps: int
    note: str
    params: object = None
    state: object = None


class Trainer(Protocol):
    """What the pipeline needs of whatever trains: ``name`` (for the result), ``subject`` (what errors name),
    ``mini_batches`` (a cooldown applies), ``held_out`` (runs are judged on held-out data), the verification's
    ``tie``, ``probes`` and ``edge_probes`` (see
    :func:`.verify.verify_candidates`), ``restarts`` (a longer run starts again instead of going on)."""

    name: str
    subject: str
    mini_batches: bool
    held_out: bool
    tie: float
    probes: int
    edge_probes: int
    restarts: bool

    def prepare(self, final_steps: int, factors: np.ndarray | None) -> None:
        """Get ready for the rounds: ``factors``, the multipliers every run's rate follows by step (None: constant)."""

    def round(self, rates: np.ndarray, n_steps: int, final_round: bool) -> tuple:
        """Each rate trained for ``n_steps`` from the same start: (losses, steps spent, capped, steady)."""

    def keep(self, rate: float, going_on: float) -> Kept | None:
        """Keep ``rate``'s verification run, to go on at ``going_on`` (None: it has none)."""

    def close(self) -> None:
        """Release what ``prepare`` took (Ray actors)."""


def unverified(curve: Curve, name: str, methods: dict, cands: np.ndarray, bound, notes: list,
               tally: Tally) -> FindResult:
    """``verify=False``: the valley rule's pick (else min/10), as the classic range test gives it."""
    tally.finish()
    suggestion = float(methods["valley"] or methods["min/10"])
    methods["lrscope"] = suggestion
    return FindResult(lrs=curve.lrs, losses=curve.losses, smoothed=curve.smoothed, band=curve.band, methods=methods,
                      suggestion=suggestion, interval=(suggestion, suggestion), candidates=cands,
                      candidate_losses=np.full(cands.size, np.nan), bound=bound, steps_used=curve.used,
                      objective_name=name, notes=notes, compute={"range test": curve.used},
                      reason="the valley rule's pick (not verified)")


def recommend(trainer: Trainer, plan: Plan, curve: Curve, methods: dict, cands: np.ndarray, notes: list, bound,
              tally: Tally, refine: Callable[[float, int], Refined | None] | None = None) -> FindResult:
    """Verify the candidates with ``trainer`` and answer: the verified pick, its interval, the finalists, and --
    with a budget -- the rate of every step (the pick and a cooldown on mini-batches, or the verified peak times the
    user's schedule); ``refine(pick, allowance)`` may add step sizes of its own (constant rates only); with
    ``keep_winner`` the pick's run is kept."""
    final_steps = fit_the_rounds(curve.used, cands.size, finalist_count(cands.size), plan.verify_steps,
                                 plan.final_steps, plan.budget, fixed=plan.final_fixed, max_compute=plan.max_compute)
    tally.replan(verification_steps(cands.size, plan.verify_steps, final_steps, trainer.probes, trainer.edge_probes))
    trainer.prepare(final_steps, None if plan.schedule is None else schedule_factors(plan.schedule, final_steps,
                                                                                        plan.budget))
    try:
        v: Verification = verify_candidates(
            cands, trainer.round, plan.verify_steps, final_steps, curve.start_loss, probes=trainer.probes,
            subject=trainer.subject, bound=bound, tie=trainer.tie, edge_probes=trainer.edge_probes,
            allowance=None if plan.budget is None else max(0, round(plan.max_compute * plan.budget) - curve.used),
            restarts=trainer.restarts,
            budget=plan.budget if plan.schedule is None else None,
            mini_batches=trainer.mini_batches, held_out=trainer.held_out)
    finally:
        trainer.close()
    compute = {"range test": curve.used, **v.spent}
    used = curve.used + v.steps_used
    notes = notes + v.notes
    if plan.schedule is None:
        step_sizes, more, ending = cooldown(v.suggestion, plan.budget, trainer.mini_batches)
    else:
        step_sizes, more, ending = with_schedule(v.suggestion, plan.schedule, plan.budget, final_steps)
    notes += more
    reason = v.reason + ending
    schedule_loss = None
    if refine is not None and plan.budget is not None and plan.schedule is None:
        refined = refine(v.suggestion, round(plan.max_compute * plan.budget) - used)
        if refined is not None:
            for key, n in refined.spent.items():
                compute[key] = n
                used += n
            notes += refined.notes
            reason += refined.reason
            if refined.step_sizes is not None:
                step_sizes, schedule_loss = refined.step_sizes, refined.loss
    tally.finish()
    notes += above_the_start_bound(v.suggestion, bound)
    ran = v.verified                # the rate whose run lies behind the suggestion (above it where lowered)
    kept = trainer.keep(ran, v.suggestion) if plan.keep_winner else None
    if plan.keep_winner:
        notes.append(kept.note if kept is not None else
                     f"keep_winner: {ran:.3g} has no verification run to keep (it was taken without a run "
                     f"of its own, or its run could not be paused); the model is as before")
    if kept is not None and ran != v.suggestion and step_sizes is not None:
        step_sizes = np.array(step_sizes, dtype=np.float64)
        step_sizes[:kept.steps] = ran           # the kept steps were trained at the verified rate: say so
    methods["lrscope"] = v.suggestion
    return FindResult(lrs=curve.lrs, losses=curve.losses, smoothed=curve.smoothed, band=curve.band, methods=methods,
                      suggestion=v.suggestion, interval=v.interval, candidates=cands, candidate_losses=v.first,
                      bound=bound, steps_used=used, objective_name=trainer.name, notes=notes,
                      finalists=v.finalists, finalist_losses=v.final, finalist_steps=v.finalist_steps,
                      compute=compute, reason=reason, step_sizes=step_sizes, schedule_loss=schedule_loss,
                      verified_with=None if plan.schedule is None else name_of(plan.schedule),
                      trained_steps=0 if kept is None else kept.steps,
                      trained_params=None if kept is None else kept.params,
                      trained_state=None if kept is None else kept.state)
