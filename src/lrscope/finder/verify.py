"""The verification shared by ``ls.find`` and ``lrscope.torch.lr_find``: successive halving over the candidates, then
a margin check at the edge of stability (see :func:`verify_candidates`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

MAX_PROBES = 2              # doublings tried above the winner of the finalists' round
DOUBLE_NEAR = 2.5           # a rate above the pick and at most this many times it stands for the pick's double
EDGE_PROBES = 2             # runs of the edge search between a steady rate and its failing double
BACK_OFF_FLOOR = 4.0        # a back-off from the edge goes to between a quarter and half of the pick, never further
HORIZON_FLOOR = 2.0         # the best rate's trend carried on to the budget lowers the pick to half of it at most
EXTEND = 1.5                # a catapult's check: pick and double trained on to this many times the finalists' length
EDGE = 1.5                  # a run whose rate is this far above the bound 2/λ_max where it ended is blowing up
FAIL_RATIO = 3              # a double whose loss ends this many times the pick's has failed (losses near 0: a ratio)
TIE = 0.03                  # mini-batch verification losses within this fraction of each other are a tie (noise):
                            # the smaller rate wins
EXACT_TIE = 1e-3            # ... and full-batch ones (no noise: only differences too small to matter tie)
IMMATERIAL = 1e-3           # on mini-batches, losses closer than this fraction of the start loss tie as well, however
                            # near 0 they are (a separable validation split: a rate at 2e-4 and its double at 0 are
                            # the same to the user, and the double was 45x worse on test; docs/finder.md)
FITTED = 0.01               # judged on held-out data with noise, a loss below this fraction of the start's fits the
                            # split all but perfectly: no rate clearly beats it (the split can no longer tell them)
GIVE_BACK = 0.1             # a steady run never gives back more than this share of its gain in its second half
EDGE_RESOLUTION = 1.1       # the edge search stops when the steady and the failing rate are this close (a ratio)
NO_PROGRESS = 0.01          # a verification where no rate lowered the loss by 1% of its start has learned nothing yet
PLATEAU_DOUBLINGS = 3       # ... and its finalists are trained on, doubling their length, at most this many times
PIECES = 256                # a held-out set is cut into at most this many groups of examples to measure its noise

# The named steps of the margin check, each of which can be left out to measure what it does on the population of
# problems (benchmarks/finder_population/bench.py --without STEP; docs/finder.md, "What each step does"):
# plateau: where no rate has left the loss's plateau, train the finalists on; failed_early: on mini-batches, a double
# that failed in the first round stands for the double; catapult: a double above 2/λ_max that has not blown up is
# trained on before it is judged; edge_search: between a steady pick and its failing double (full batch); back_off:
# from a pick whose double fails, to about half of it; take_double: a double that does clearly better is taken;
# horizon: on held-out data, the best rate's fall from the first round to the finalists' carried on to the budget;
# above_a_failure: on mini-batches, no finalist at or above one that failed where a smaller one did not is picked;
# take_half: on mini-batches, where no rate below the pick was verified, its half is, and taken if it ties;
# standard_error: held-out losses that differ by less than the standard error of their paired difference tie (it
# replaces the relative tie where it was measured);
# past_best: where every finalist's held-out loss rose between the rounds, the pick reaches the first round's best at
# the budget's end.
STEPS = frozenset({"plateau", "failed_early", "catapult", "edge_search", "back_off", "take_double", "horizon",
                   "above_a_failure", "take_half", "standard_error", "past_best"})


@dataclass(frozen=True)
class Ties:
    """When two verification losses count as equal (the smaller rate then wins: it is further from the edge and
    less at the mercy of one batch order): within ``rel`` of the one compared with (``TIE`` on mini-batches, where
    runs differ by noise; ``EXACT_TIE`` on full batches), closer than ``floor`` (on mini-batches ``IMMATERIAL`` of
    the start loss: a difference no user would train for, however near 0 -- full batches keep telling 1e-12 from
    1e-6, as on a quadratic near 2/L), or the one compared with below ``fitted`` (judged on held-out data with
    noise, ``FITTED`` of the start loss: a split fitted all but perfectly no longer tells rates apart -- a linear
    model on 28 wine examples ranked 20 above 10 by 2.7e-3 against 9.3e-3 after a start of 1.45, and 20 was 23x
    worse on test; benchmarks/finder_population). Where the standard error of a held-out difference was measured
    (:meth:`better`), it takes the place of ``rel`` on noisy runs."""

    rel: float
    floor: float = 0.0
    fitted: float = -np.inf

    @classmethod
    def of(cls, tie: float, start_loss: float, held_out: bool = False) -> "Ties":
        """The ties for runs judged with the trainer's ``tie`` from ``start_loss`` (on ``held_out`` data or not)."""
        if not (noisy(tie) and np.isfinite(start_loss)):
            return cls(tie)
        scale = abs(float(start_loss))
        return cls(tie, IMMATERIAL * scale, FITTED * scale if held_out else -np.inf)

    def better(self, loss: float, than: float, error: float | None = None) -> bool:
        """Whether ``loss`` beats ``than`` by more than a tie (:func:`clearly_better`) and than ``error``, the
        standard error of their difference (:func:`standard_error`; None: not measured). On noisy runs a measured
        ``error`` replaces ``rel``: the 3% guesses how far noise moves a loss, the standard error measures what the
        held-out split can tell (3% of a text model's 2.3 nats is 0.07, its standard error over 250 pieces far
        less: the tie took rates 3-8x too low; docs/finder.md, "The tie on held-out data"). On exact runs ``rel``
        is what is too small to matter, and stays."""
        if error is not None and noisy(self.rel):
            return clearly_better(loss, than, 0.0, max(self.floor, error), self.fitted)
        return self.beyond(loss, than, error)

    def beyond(self, loss: float, than: float, error: float | None = None) -> bool:
        """Whether ``loss`` beats ``than`` by more than the tie and than ``error`` both (None: not measured)."""
        return clearly_better(loss, than, self.rel, max(self.floor, error or 0.0), self.fitted)

    def smallest_of_the_best(self, rates, losses, errors=None) -> float:
        """The smallest rate whose loss ties with the lowest (``errors``: each one's standard error of its
        difference from the lowest, or None): among rates that train equally well, the one furthest from the edge
        of stability (and the least at the mercy of one batch order)."""
        rates, losses = np.asarray(rates), np.asarray(losses, dtype=np.float64)
        best = float(np.min(losses))
        errors = [None] * losses.size if errors is None else errors
        return float(np.min(rates[~np.array([self.better(best, x, e) for x, e in zip(losses, errors)])]))


def standard_error(a, b) -> float | None:
    """The standard error of the difference between two held-out losses measured on the same examples (``a``,
    ``b``: each example's loss, or each piece's; None where a trainer gives none): the spread of the paired
    differences over √n. A difference within it is the luck of which examples were held out, not the rate (the
    one-standard-error rule of model selection): the smaller rate is taken. None where it cannot be measured (no
    pieces, not the same examples, one piece, a diverged run)."""
    if a is None or b is None:
        return None
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.size < 2:
        return None
    d = a - b
    if not np.all(np.isfinite(d)):
        return None
    return float(np.std(d, ddof=1) / math.sqrt(d.size))


@dataclass
class Verification:
    """What :func:`verify_candidates` found: the pick, the range that trained almost as well, both rounds, the
    compute (``spent``: steps per phase) and ``reason``, why the pick won."""

    suggestion: float
    interval: tuple
    first: np.ndarray
    finalists: np.ndarray
    final: np.ndarray
    steps_used: int
    notes: list
    finalist_steps: np.ndarray | None = None
    spent: dict = field(default_factory=dict)
    reason: str = ""
    verified: float | None = None       # the rate whose runs the suggestion rests on (lowered by :func:`horizon`)


def finalist_count(n_cands: int) -> int:
    """How many candidates go on to the second round: the best third, at least two."""
    return max(2, -(-n_cands // 3))


def verification_steps(n_cands: int, verify_steps: int, final_steps: int, probes: int = MAX_PROBES,
                       edge_probes: int = EDGE_PROBES) -> int:
    """The training steps :func:`verify_candidates` plans for (the probes, the edge search and the catapult check
    may not be needed; a trainer that goes on with its runs spends less)."""
    return n_cands * verify_steps + (min(n_cands, finalist_count(n_cands)) + probes + edge_probes) * final_steps + \
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

    def again(self):
        """Report the same progress again (work between training steps, such as a curvature measurement, lets the
        caller stop or pause it)."""
        self.at(self.done)

    def finish(self):
        """Done: the total becomes what was spent (probes not needed are dropped)."""
        self.total = self.done
        self.at(self.done)


def verify_candidates(cands, train, verify_steps: int, final_steps: int, start_loss: float,
                      probes: int = MAX_PROBES, subject: str = "objective", bound: float | None = None,
                      tie: float = TIE, edge_probes: int = EDGE_PROBES, allowance: int | None = None,
                      restarts: bool = False, budget: int | None = None, mini_batches: bool = False,
                      held_out: bool = False) -> Verification:
    """Successive halving with a margin check -- the verification shared by ``find`` and ``lrscope.torch.lr_find``.

    ``train(rates, steps, final_round)`` trains each rate for ``steps`` steps from the same start on the same batches
    (a trainer may go on with a run it already has: the steps spent are what it reports) and returns (losses, steps
    spent, capped), (losses, steps spent, capped, steady) or (..., steady, pieces): a loss is inf where the run
    diverged; ``pieces`` (optional) each run's held-out loss per example or group of them, or None; ``capped`` marks
    the runs that are unstable where they ended (far above the stability bound there: the sanity cap) -- never
    recommended; ``steady`` (optional, see :func:`steady`) the runs whose own curve shows no sign of the edge.
    ``subject`` names what is trained in the error raised when every candidate diverges; ``bound`` is the stability
    bound 2/λ_max at the start where it is known. Losses within ``tie`` (a fraction) of each other are equal, and
    the smaller rate wins: the difference is noise, and the smaller rate is further from the edge (``TIE`` for
    mini-batch runs, ``EXACT_TIE`` for full-batch ones; on mini-batches, differences below ``IMMATERIAL`` of
    the start loss tie too, and judged on held-out data, losses below ``FITTED`` of it: :class:`Ties`; where the
    trainer gives each run's held-out loss per example, differences within their standard error instead of ``tie``:
    the one-SE rule, :func:`standard_error`).
    ``allowance``: the most training steps the verification may spend (None: no limit); the margin check's runs
    (probes, the edge search, the catapult check) are left out where they would not fit, and the cautious choice
    is made without them. ``restarts``: the trainer trains every
    run from its start (a longer run costs all its steps again, not just the added ones). ``budget``: the steps
    the user will train for at a constant rate (None: unknown, or a schedule); ``mini_batches``: the runs see
    mini-batches, whose noise floor rises with the rate (the pick's half is checked); ``held_out``: the runs are
    judged on held-out data -- step 4 needs it and a budget.

    1. every candidate for ``verify_steps``; the best third (at least two) go on -- ranked by the lowest loss of
       their last third (:func:`run_score`), so a run caught in a spike that may settle is not thrown out;
    2. the finalists for ``final_steps`` (a short run flatters a rate that is fast at first and unstable later);
       on mini-batches none at or above a rate that failed where a smaller one did not is picked
       (:func:`above_a_failure`);
    3. the margin check (:func:`margin_check`), with at most ``probes`` extra runs: the pick's double (a finalist
       when one lies near it, else trained) -- if it fails and the pick's own run was steady, the edge lies between
       them, and the best rate may sit just below it (gradient descent on a quadratic for a finite budget: at ~0.99
       × 2/L): the edge search (:func:`search_the_edge`) bisects between them on the log scale, with at most
       ``edge_probes`` runs of its own (callers give none for adaptive optimizers: their rates do not fail at a
       sharp edge, and one that is steady but near failing at this length trains worse at the full budget -- Adam
       on Rosenbrock:
       0.83 ends at 8e-3 after 1,000 steps where the backed-off 0.42 reaches 1e-12). Only exact (full-batch) runs
       search the edge: a mini-batch run that was steady next to the edge had some luck with its batches, and the
       full run may not (an MLP on wine by SGD: 2.24 verified, 2.66 failed, then 2.24 diverged over the budget;
       benchmarks/finder_population). If it fails and the pick's run was mini-batch, not steady (or the trainer
       does not say), the pick sits at the edge of stability and longer training
       (sharpening) would push it over, so lrscope backs off to the best rate at or below half of it, and checks
       that rate the same way (its double may be the rate that just failed: back off again; with no run left, half
       the rate is taken unverified rather than a rate at the edge); if the double does better (and is not
       capped), it is taken and its own double looked at in turn (the first short round can eliminate a rate that
       overshoots at first and settles later). Before a double above ``bound`` is judged worse (failed or just not
       better), one more look: if it is still finite and not capped it may be in a catapult (it overshoots, the
       curvature falls, it settles and wins: Lewkowycz et al. 2020) and only look worse for now -- pick and double
       are trained on to ``EXTEND`` × ``final_steps`` (once), and every comparison from then on is made at that
       length; on ``mini_batches``, where the margin check left the pick where it was and no smaller rate was
       verified, the pick's half with the probes left (:func:`take_half`);
    4. with a ``budget`` longer than the finalists' round, judged on held-out data: where every finalist's held-out
       loss rose between the rounds (:func:`past_their_best`: all overfit within the round), the first round's best
       rate r₁ lowered to get as far in the budget as in the first round, r₁ h₁ / T (progress ∝ rate × steps);
       else the best rate's fall from the first round to the second, carried on to the budget
       (:func:`horizon`).
    """
    first, used, _, _, first_pieces = _trained(train(cands, verify_steps, False))
    spent = {"first round": used}
    if not np.any(np.isfinite(first)):
        raise ValueError(f"{subject}: every candidate learning rate diverged in verification; lower start or end")
    n_final = min(int(np.isfinite(first).sum()), finalist_count(cands.size))
    chosen = np.argsort(first)[:n_final]
    chosen = chosen[np.argsort(cands[chosen])]           # the finalists in order of rate
    finalists = cands[chosen]
    final, n, capped, steady_runs, pieces = _trained(train(finalists, final_steps, True))
    notes = []
    ties = Ties.of(tie, start_loss, held_out)
    live = np.isfinite(final) & ~capped
    all_past = bool(held_out and "past_best" in STEPS and np.any(live) and np.all(
        past_their_best(first[chosen], [first_pieces[k] for k in chosen], final, pieces, ties)[live]))
    if noisy(tie) and "above_a_failure" in STEPS:
        above = above_a_failure(finalists, final, start_loss, capped, bound)
        if np.any(above & ~capped):
            k = int(np.argmax(above))
            notes.append(f"{finalists[k]:.3g} failed where a smaller rate did not: on mini-batches a higher rate "
                         f"that did well was lucky, so no rate from {finalists[k]:.3g} up is picked")
            capped = capped | above
    used += n
    spent["second round"] = n
    if not np.any(np.isfinite(np.where(capped, np.inf, final))):   # every finalist failed: the first round decides
        pick = float(cands[int(np.argmin(first))])
        return Verification(pick, (pick, pick), first, finalists, np.where(capped, np.inf, final), used,
                            notes + ["every finalist failed the longer verification run; the pick is the first "
                                     "round's"],
                            np.full(finalists.size, final_steps), spent,
                            f"every finalist failed the longer run; {pick:.3g} was the best of the first round", pick)
    runs = _Verified(train, finalists, final, capped, final_steps, probes, steady_runs, edge_probes,
                     None if allowance is None else allowance - used, restarts, pieces)
    pick = _pick_after_a_plateau(runs, start_loss, notes, tie) if "plateau" in STEPS else None
    plateau = pick is not None
    if pick is None:
        pick = runs.smallest_of_the_best(ties)
    pick, moved = margin_check(runs, pick, cands, first, final_steps, start_loss, bound, ties, notes)
    if moved == Moved.KEPT and not plateau and mini_batches and "take_half" in STEPS:
        pick = take_half(runs, pick, ties, notes)
    usable = runs.usable()
    gain = start_loss - usable
    good = runs.rates[np.isfinite(usable) & (gain >= 0.9 * np.max(gain))] if np.max(gain) > 0 else np.array([pick])
    spent["margin check"] = runs.used
    if moved == Moved.BACKED_OFF:
        reason = f"{pick:.3g}: backed off from the edge of stability, where twice the rate already fails"
    elif plateau and pick == float(runs.rates[int(np.argmin(usable))]) and learned_nothing(usable, start_loss, tie):
        reason = (f"{pick:.3g}: no rate had left the loss's plateau after {runs.horizon} steps; it ended lowest "
                  f"(not verified beyond that: train longer to know more)")
    elif moved == Moved.EDGE_SEARCH:
        reason = (f"{pick:.3g}: the best of the rates tried between a steady run and one that fails (the edge "
                  f"search), {usable[int(np.searchsorted(runs.rates, pick))]:.4g} after {runs.horizon} steps")
    else:
        k, best = int(np.searchsorted(runs.rates, pick)), runs.best(pick)
        j = int(np.searchsorted(runs.rates, best))
        n = int(np.sum(np.isfinite(usable) & (runs.lengths == runs.lengths[k])))
        reason = (f"{pick:.3g} ended lowest ({usable[k]:.4g} after {runs.lengths[k]} steps) of the {n} rates "
                  f"verified at that length" if best == pick else
                  f"{pick:.3g} ({usable[k]:.4g} after {runs.lengths[k]} steps) tied with the lowest of the {n} rates "
                  f"verified at that length, {best:.3g}'s {usable[j]:.4g}, and ties go to the smaller rate")
        notes += split_noise(runs, pick, best, ties)
    verified = pick
    # the first round's best: r1 and r2 are read with the tie, not the standard error (which unsettles the trend
    # between them: docs/finder.md, "The tie on held-out data")
    r1 = ties.smallest_of_the_best(cands, first)
    if all_past and not plateau and budget is not None and r1 * verify_steps / budget < pick:
        pick = r1 * verify_steps / budget
        notes.append(f"every finalist's held-out loss rose between the rounds (past its best: overfitting "
                     f"within {final_steps} steps); {r1:.3g} was best after {verify_steps} steps, and {pick:.3g} "
                     f"takes the budget's {budget} steps to get as far (progress ∝ rate × steps) -- not verified: "
                     f"a run as long as the budget was not made")
        reason += f"; every finalist overfit: {pick:.3g}, to reach {r1:.3g}'s best at the budget's end"
    elif (budget is not None and held_out and "horizon" in STEPS and not plateau
            and moved != Moved.EDGE_SEARCH):
        r2 = ties.smallest_of_the_best(finalists, np.where(capped, np.inf, final))     # as the round judged them
        factor = horizon(r1, r2, verify_steps, final_steps, budget)
        if factor < 1:
            pick = verified * factor
            notes.append(f"the best rate fell from {r1:.3g} after {verify_steps} steps to {r2:.3g} after "
                         f"{final_steps}; that trend carried on to the budget's {budget} steps gives {pick:.3g} "
                         f"(× {factor:.2f} the verified {verified:.3g}; a run as long as the budget was not made)")
            reason += f"; carried on to the budget's {budget} steps: {pick:.3g} (× {factor:.2f}, the trend)"
    notes += fitted_held_out(runs.rates, usable, ties)
    return Verification(pick, (float(min(good.min(), pick)), float(max(good.max(), pick))), first, runs.rates,
                        usable, used + runs.used, notes, runs.lengths, spent, reason, verified)


def past_their_best(before, before_pieces, after, after_pieces, ties: Ties) -> np.ndarray:
    """Which runs' held-out loss rose from ``before`` (the first round) to ``after`` (the finalists' round, the
    same runs gone on) by more than a tie and than the standard error of the rise (``*_pieces``: per example, or
    None): such a run is past its best -- it overfits, and the longer it trains the worse it gets. Unlike a ranking
    of rates, a rise of one run counts however near 0 the held-out loss (``ties.fitted`` does not apply: on a
    separable split, 5e-5 to 9e-3 is overconfidence growing; and the tie stands beside the standard error, which
    measures the split's noise but not that of a run going on)."""
    rise = replace(ties, fitted=-np.inf)
    return np.array([np.isfinite(b) and np.isfinite(a) and rise.beyond(float(b), float(a), standard_error(bp, ap))
                     for b, a, bp, ap in zip(before, after, before_pieces, after_pieces)], dtype=bool)


def split_noise(runs: "_Verified", pick: float, best: float, ties: Ties) -> list:
    """The note (a list of at most one) where the pick tied with the best by the standard error of their held-out
    losses' difference: without it (0) the best was clearly better."""
    loss, best_loss = (float(runs.usable()[runs._index(r)]) for r in (pick, best))
    error = None if best == pick else runs.error(pick, best)
    if error is None or not ties.better(best_loss, loss, 0.0):
        return []
    return [f"{pick:.3g} ({loss:.4g}) and {best:.3g} ({best_loss:.4g}) differ by less than the standard error of "
            f"their held-out losses' difference ({error:.2g}): the held-out examples cannot tell them apart, and the "
            f"smaller rate was taken"]


def fitted_held_out(rates, losses, ties: Ties) -> list:
    """The note (a list of at most one) for verification runs of which two or more fit the held-out data all but
    perfectly (a loss below ``ties.fitted``): they tie, and the held-out data cannot say more -- their order may
    not carry over to new data (on the population, the worst picks were of this kind: a linear model on 28
    separable wine examples; docs/finder.md)."""
    losses = np.asarray(losses, dtype=np.float64)
    near_zero = np.isfinite(losses) & (losses < ties.fitted)
    count = int(np.sum(near_zero))
    if count < 2:
        return []
    named = ", ".join(f"{r:.3g}" for r in np.asarray(rates)[near_zero])
    return [f"the held-out loss of {count} rates ({named}) ended below {FITTED:.0%} of its value at "
            f"the start: the held-out data are fitted all but perfectly and barely tell them apart (a small or "
            f"separable validation split) -- of a tie the smaller rate was taken; more held-out data would say more"]


def horizon(first_best: float, final_best: float, verify_steps: int, final_steps: int, budget: int) -> float:
    """What the verified pick is multiplied by for a budget longer than the finalists' round: the best rate after
    h₁ = ``verify_steps`` (r₁) and after h₂ = ``final_steps`` (r₂), a power law in the horizon carried on to
    T = ``budget``: r(T) = r₂ (r₂/r₁)^(ln(T/h₂)/ln(h₂/h₁)) -- carried no further than the rounds measured it
    (an exponent of at most 1: a trend from short rounds flattens), never up (a higher rate needs its own run: the
    margin check), and never below 1/``HORIZON_FLOOR``. On held-out data a fast rate overfits sooner (and on
    mini-batches its noise floor is higher), and the longer the run, the more that counts against the speed: the best
    rate falls with the horizon, and the finalists' round (30% of the budget) still favours a rate too high for the
    whole of it (docs/finder.md, "The horizon"). Only where both rounds are judged alike, on held-out data: on the
    training loss the first round is read off its lowest point (:func:`run_score`), which flatters the fast,
    noisy rates, and the fall is partly that."""
    if not (final_steps > verify_steps and budget > final_steps and first_best > 0 and final_best < first_best):
        return 1.0
    reach = min(1.0, math.log(budget / final_steps) / math.log(final_steps / verify_steps))
    return max(1 / HORIZON_FLOOR, (final_best / first_best) ** reach)


class Moved(Enum):
    """How the margin check moved the pick: not at all, to a double that did clearly better, back from the edge of
    stability, or to the best rate the edge search found."""

    KEPT = "kept"
    DOUBLED = "doubled"
    BACKED_OFF = "backed off"
    EDGE_SEARCH = "edge search"


def margin_check(runs: "_Verified", pick: float, cands, first, final_steps: int, start_loss: float,
                 bound: float | None, ties: Ties, notes: list) -> tuple[float, Moved]:
    """Step 3 of :func:`verify_candidates`: look at the pick's double, and move the pick -- until the double
    neither does clearly better nor fails -- by the steps in ``STEPS``: the catapult check (train both on, once,
    then look again), the edge search (a steady pick: bisect towards the failing double, then stop), the back-off
    (to about half, then look at that rate's double: it may fail again; never doubled after), the double taken (and
    its own double looked at). Returns the pick and how it moved; ``notes`` get one line per move; ``ties`` say
    which losses are equal."""
    moved, tie = Moved.KEPT, ties.rel
    while True:
        best = runs.loss(pick)
        if best is None:            # the pick cannot be brought to the length compared within the compute
            return pick, moved
        double = runs.near(2 * pick, pick * 1.0001, DOUBLE_NEAR * pick)   # a verified rate near the double
        if double is None:
            double = 2 * pick if runs.probe(2 * pick) else None
        early = (None if double is not None or not noisy(tie) or "failed_early" not in STEPS
                 else failed_early(cands, first, pick))
        if double is None and early is None:
            return pick, moved
        double, double_loss = (early, math.inf) if early is not None else (double, runs.loss(double))
        if double_loss is None:
            return pick, moved
        if (early is None and "catapult" in STEPS and runs.horizon == final_steps
                and not ties.better(double_loss, best, runs.error(double, pick))
                and may_settle(double, double_loss, runs.is_capped(double), bound)
                and runs.extend(round(EXTEND * final_steps), [pick, double])):
            notes.append(f"after {final_steps} steps {double:.3g} (above 2/λ_max = {bound:.3g} at the start) had done "
                         f"no better than {pick:.3g}, but it had not blown up: both were trained on to {runs.horizon} "
                         f"steps before judging")
            continue
        if much_worse(double_loss, best, start_loss):
            if (runs.is_steady(pick) and moved != Moved.BACKED_OFF and runs.edge_probes_left > 0 and not noisy(tie)
                    and early is None and "edge_search" in STEPS):
                searched = search_the_edge(runs, pick, double, start_loss, tie, bound)
                if searched == pick:
                    return pick, moved
                notes.append(f"{double:.3g} fails while {pick:.3g} trained steadily: the edge search between them "
                             f"took {searched:.3g}")
                return searched, Moved.EDGE_SEARCH
            if "back_off" not in STEPS:
                return pick, moved
            # the pick sits at the edge of stability: back off to about half of it -- the best verified rate
            # between a quarter and half of it, else half of it trained now; never further (a finalist 100x lower
            # that happens to be verified is no back-off: the CNN with momentum that went 0.288 -> 0.00288)
            backed = runs.best_below(pick / 1.8, floor=pick / BACK_OFF_FLOOR)
            if backed is None and runs.probe(pick / 2):
                backed = pick / 2
            if backed is None:      # no run left to check it: half the rate, unverified, rather than the edge
                notes.append(f"backed off from {pick:.3g} to {pick / 2:.3g} without a verification run: "
                             f"{double:.3g} already fails")
                return pick / 2, Moved.BACKED_OFF
            notes.append(f"backed off from {pick:.3g} to {backed:.3g}: {double:.3g} already fails, so {pick:.3g} "
                         f"is at the edge of stability")
            pick, moved = backed, Moved.BACKED_OFF       # and look at the backed-off rate's double in turn
            continue
        if (moved == Moved.BACKED_OFF or not ties.better(double_loss, best, runs.error(double, pick))
                or runs.is_capped(double) or "take_double" not in STEPS):
            return pick, moved
        pick, moved = double, Moved.DOUBLED    # the double does better: take it, and look at its double in turn


class _Verified:
    """The rates verified in the second round and the margin check: each one's loss where its run ended, whether
    it is capped, and how long it ran (``lengths``); every comparison is made at ``horizon`` steps, and a rate that
    ran shorter is trained on to it. ``used`` counts the steps trained here."""

    def __init__(self, train, rates, losses, capped, final_steps: int, probes: int, steady=None,
                 edge_probes: int = 0, allowance: int | None = None, restarts: bool = False, pieces=None):
        self.train, self.rates, self.losses, self.capped = train, rates, losses, capped
        self.pieces = [None] * rates.size if pieces is None else list(pieces)   # held-out losses per example
        self.allowance = allowance          # the most steps the runs here may take (None: no limit)
        self.restarts = restarts            # a run trained on to a longer horizon costs all its steps again
        self.edge_probes_left = edge_probes
        self.steady = np.zeros(rates.size, dtype=bool) if steady is None else np.asarray(steady, dtype=bool)
        self.lengths = np.full(rates.size, final_steps)
        self.horizon, self.probes_left, self.used = final_steps, probes, 0

    def _index(self, rate) -> int:
        return int(np.searchsorted(self.rates, rate))

    def usable(self) -> np.ndarray:
        """The losses, inf for a capped run (never recommended)."""
        return np.where(self.capped, np.inf, self.losses)

    def error(self, rate, other) -> float | None:
        """The standard error of the difference between two verified rates' held-out losses (None where the
        trainer gave no pieces, or without the step ``standard_error``)."""
        if "standard_error" not in STEPS:
            return None
        return standard_error(self.pieces[self._index(rate)], self.pieces[self._index(other)])

    def best(self, rate) -> float:
        """The rate with the lowest loss among those verified at ``rate``'s length."""
        usable = np.where(self.lengths == self.lengths[self._index(rate)], self.usable(), np.inf)
        return float(self.rates[int(np.argmin(usable))])

    def smallest_of_the_best(self, ties: Ties, at_horizon: bool = False) -> float:
        """:meth:`Ties.smallest_of_the_best` of the verified rates (only those at the current horizon, if
        ``at_horizon``), each one's difference from the best judged with its standard error."""
        keep = (self.lengths == self.horizon) if at_horizon else np.ones(self.rates.size, dtype=bool)
        rates, losses = self.rates[keep], self.usable()[keep]
        best = rates[int(np.argmin(losses))]
        return ties.smallest_of_the_best(rates, losses, [self.error(r, best) for r in rates])

    def is_capped(self, rate) -> bool:
        return bool(self.capped[self._index(rate)])

    def is_steady(self, rate) -> bool:
        return bool(self.steady[self._index(rate)])

    def near(self, rate, lo, hi):
        """The verified rate in (lo, hi] nearest ``rate``, or None."""
        inside = np.flatnonzero((self.rates > lo) & (self.rates <= hi))
        if not inside.size:
            return None
        return float(self.rates[inside[int(np.argmin(np.abs(np.log(self.rates[inside] / rate))))]])

    def best_below(self, limit, floor=0.0):
        """The verified, finite, uncapped rate in [``floor``, ``limit``] with the lowest loss, or None."""
        below = np.flatnonzero((self.rates <= limit) & (self.rates >= floor) & np.isfinite(self.losses)
                               & ~self.capped)
        return float(self.rates[below[int(np.argmin(self.losses[below]))]]) if below.size else None

    def train_on(self, rates):
        """Train ``rates`` to the current horizon (a verified rate is updated, a new one added)."""
        losses, n, capped, steady, pieces = _trained(self.train(np.asarray(rates, dtype=float), self.horizon, True))
        self.used += n
        for rate, value, cap, calm, piece in zip(rates, losses, capped, steady, pieces):
            k = self._index(rate)
            if k < self.rates.size and self.rates[k] == rate:
                self.losses[k], self.capped[k], self.lengths[k], self.steady[k] = value, cap, self.horizon, calm
                self.pieces[k] = piece
            else:
                self.pieces.insert(k, piece)
                self.rates, self.losses = np.insert(self.rates, k, rate), np.insert(self.losses, k, value)
                self.capped, self.lengths = np.insert(self.capped, k, cap), np.insert(self.lengths, k, self.horizon)
                self.steady = np.insert(self.steady, k, calm)

    def probe(self, rate, edge: bool = False) -> bool:
        """Train ``rate`` to the current horizon if a probe is left (of the edge search's, if ``edge``): True if
        it was."""
        left = self.edge_probes_left if edge else self.probes_left
        if left <= 0 or not self.fits(self.horizon):
            return False
        if edge:
            self.edge_probes_left -= 1
        else:
            self.probes_left -= 1
        self.train_on([rate])
        return True

    def loss(self, rate) -> float | None:
        """``rate``'s loss at the current horizon (trained on to it if it ran shorter), or None where that would not
        fit the allowance: a loss after fewer steps is no comparison."""
        k = self._index(rate)
        if self.lengths[k] < self.horizon:
            if not self.fits(self._steps_to(rate, self.horizon)):
                return None
            self.train_on([rate])
        return float(self.losses[k])

    def _steps_to(self, rate, horizon: int) -> int:
        """The steps that bring a verified rate's run to ``horizon``: the added ones, or all of them again where the
        trainer restarts its runs."""
        return horizon if self.restarts else horizon - int(self.lengths[self._index(rate)])

    def fits(self, steps: int) -> bool:
        """Whether ``steps`` more training steps stay within the allowance."""
        return self.allowance is None or self.used + steps <= self.allowance

    def extend(self, horizon: int, rates) -> bool:
        """From now on compare at ``horizon`` steps, and train ``rates`` on to it -- if that fits the allowance
        (True if it did)."""
        if not self.fits(sum(self._steps_to(r, horizon) for r in rates)):
            return False
        self.horizon = horizon
        self.train_on(rates)
        return True


def take_half(runs: "_Verified", pick: float, ties: Ties, notes: list) -> float:
    """Where no rate below the pick was verified at its length (the first round, a few steps long, sends the fast
    rates on): its half is trained as its double was (a probe), and taken if it ties with the best verified loss
    (as everywhere, of rates that tie the smallest wins), then that rate's half in turn, while probes and compute
    last. The round then brackets the best rate from below as the double does from above."""
    while runs.near(pick / 2, pick / DOUBLE_NEAR, pick / 1.0001) is None and runs.probe(pick / 2):
        half = runs.smallest_of_the_best(ties, at_horizon=True)     # of the runs at the length compared
        if half >= pick:
            break
        notes.append(f"{half:.3g} trained as well as the best after {runs.horizon} steps (no smaller rate than "
                     f"{pick:.3g} had been verified): the smaller rate is taken")
        pick = half
    return pick


def above_a_failure(rates, losses, start_loss: float, capped, bound: float | None = None) -> np.ndarray:
    """Which of the sorted ``rates`` lie at or above the smallest one that failed next to a smaller rate's run that
    did not (:func:`gives_back_half`) and cannot be in a catapult (:func:`may_settle`): on mini-batches a
    rate's stability only falls as it rises, so a higher rate that did well had luck with its batches and
    validation split, which the user's run will not share (an MLP on wine by Adam: 0.0447 failed while 0.0049 did
    not; 0.0955 and 0.191 then reached 0 on a 28-example validation split, and were 45x worse on test;
    benchmarks/finder_population). Never picked."""
    losses = np.asarray(losses, dtype=np.float64)
    above = np.zeros(losses.size, dtype=bool)
    lowest = np.inf                         # the lowest finite loss of a smaller rate
    for j, loss in enumerate(losses):
        if (np.isfinite(lowest) and gives_back_half(loss, lowest, start_loss)
                and not may_settle(float(rates[j]), float(loss), bool(capped[j]), bound)):
            above[j:] = True
            break
        if np.isfinite(loss):
            lowest = min(lowest, float(loss))
    return above


def failed_early(cands, first, pick: float) -> float | None:
    """A candidate above ``pick`` and at most twice it that diverged in the first, shorter round, or None: the
    pick's double, higher still, fails too, and no run is needed to know it. On mini-batches this is the margin
    check's evidence where no probe fits the compute (an MLP on wine by SGD: 2.24 picked, 3.98 failed in the first
    round, no room to train 4.48 -- and 2.24 diverged over the budget; benchmarks/finder_population). A failure
    further up says nothing of the double (2.19x: a CNN's 0.219 backed off to 0.102, 2x worse on test)."""
    cands, first = np.asarray(cands, dtype=np.float64), np.asarray(first, dtype=np.float64)
    failed = cands[(cands > pick * 1.0001) & (cands <= 2.0001 * pick) & ~np.isfinite(first)]
    return float(failed.min()) if failed.size else None


def _trained(answer) -> tuple:
    """A trainer's answer as (losses, steps spent, capped, steady, pieces): ``steady`` is all False when not given,
    ``pieces`` (each run's held-out loss per example or group of them) all None."""
    losses, spent, capped = answer[:3]
    steady_runs = answer[3] if len(answer) > 3 else np.zeros(len(losses), dtype=bool)
    pieces = list(answer[4]) if len(answer) > 4 else [None] * len(losses)
    return (np.asarray(losses, dtype=np.float64), spent, np.asarray(capped, dtype=bool),
            np.asarray(steady_runs, bool), pieces)


def steady(losses, give_back: float = GIVE_BACK) -> bool:
    """Whether a run's own curve shows none of the edge of stability's signs (spikes, a loss that climbs back,
    oscillation growing): in its second half the loss never rises above its lowest value so far by more than
    ``give_back`` of what it gained. Such a rate is not about to be pushed over by a little more training."""
    h = np.asarray(losses, dtype=np.float64)
    if h.size < 4 or not np.all(np.isfinite(h)):
        return False
    gain = h[0] - np.min(h)
    if not gain > 0:
        return False
    rise = h - np.minimum.accumulate(h)
    return bool(np.max(rise[h.size // 2:]) <= give_back * gain)


def search_the_edge(runs: "_Verified", low: float, high: float, start_loss: float, tie: float,
                    bound: float | None = None) -> float:
    """Between ``low``, whose run was steady, and ``high``, which fails: bisection on the log scale (the first
    step is low·√2 -- or, where the optimizer's stability bound at the start lies between them, just inside it,
    0.99 × ``bound``: the best rate for a finite budget often sits there), verified by runs at the same length,
    while the search has a probe left. A rate that fails
    (or is capped) becomes the new ``high``; one that is clearly better and steady the new ``low``; a tie ends the
    search (the difference is within the tie rule), as do rates closer than ``EDGE_RESOLUTION``. Returns the new
    ``low``."""
    inside = None if bound is None else 0.99 * bound
    while high / low > EDGE_RESOLUTION and runs.edge_probes_left > 0:
        if inside is not None and low * EDGE_RESOLUTION ** 0.5 < inside < high / EDGE_RESOLUTION ** 0.5:
            mid, inside = inside, None
        else:
            mid = float(np.sqrt(low * high))
        if not runs.probe(mid, edge=True):      # no run of it fits the compute left
            break
        mid_loss, low_loss = runs.loss(mid), runs.loss(low)
        if low_loss is None:
            break
        if much_worse(mid_loss, low_loss, start_loss) or runs.is_capped(mid):
            high = mid
        elif clearly_better(mid_loss, low_loss, tie) and runs.is_steady(mid):
            low = mid
        else:
            break
    return low


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


def clearly_better(loss: float, than: float, tie: float = TIE, floor: float = 0.0, fitted: float = -np.inf) -> bool:
    """Whether ``loss`` beats ``than`` by more than a tie -- ``tie`` of its size (mini-batch runs differ by noise)
    and at least ``floor`` (a difference too small to matter) -- and ``than`` is not below ``fitted`` (it fits the
    data all but perfectly already); :class:`Ties` says which apply."""
    if not np.isfinite(than):
        return bool(np.isfinite(loss))
    return bool(than >= fitted and loss < than - max(tie * abs(than), floor))


def noisy(tie: float) -> bool:
    """Whether runs judged with ``tie`` differ by noise (``TIE``: mini-batch runs, and every PyTorch run, whose
    kernels and dropout need not repeat) rather than repeat exactly (``EXACT_TIE``: lrscope's own full-batch runs):
    the tie the trainer gives says which. Not the same as seeing mini-batches (``mini_batches`` of
    :func:`verify_candidates`): a PyTorch model on one full batch is noisy but has no batches' noise floor."""
    return tie >= TIE


def learned_nothing(losses, start_loss: float, tie: float = 0.0) -> bool:
    """Whether no run has yet lowered the loss by ``NO_PROGRESS`` of its start, nor by more than a ``tie`` (a
    plateau at the start, as a classifier's loss at log 2 before it finds the signal): the losses then say nothing
    about the rates -- each ties with the start, and the smallest of a tie would be the rate slowest to leave the
    plateau (a tiny BERT with AdamW: 0.69 -> 0.68 in 38 steps at 0.002, and 3.6e-4 was picked)."""
    finite = np.asarray(losses)[np.isfinite(losses)]
    return bool(finite.size and start_loss - finite.min() < max(NO_PROGRESS, tie) * abs(start_loss))


def _pick_after_a_plateau(runs: "_Verified", start_loss: float, notes: list, tie: float = 0.0) -> float | None:
    """When the finalists have learned nothing yet, train them on (doubling their length, ``PLATEAU_DOUBLINGS``
    times at most and as far as the allowance goes) until one has; if none has by then, the one that gained most
    -- not the smallest of a tie, which on a plateau is the rate slowest to leave it. None when the finalists had
    learned something (the usual rules)."""
    if not learned_nothing(runs.usable(), start_loss, tie):
        return None
    live = [float(r) for r, x in zip(runs.rates, runs.usable()) if np.isfinite(x)]
    before = runs.horizon
    for _ in range(PLATEAU_DOUBLINGS):
        if not learned_nothing(runs.usable(), start_loss, tie) or not runs.extend(2 * runs.horizon, live):
            break
    if not learned_nothing(runs.usable(), start_loss, tie):
        notes.append(f"after {before} steps no finalist had lowered the loss by {max(NO_PROGRESS, tie):.0%} (a "
                     f"plateau): they were trained on to {runs.horizon} steps before judging")
        return None
    usable = runs.usable()
    pick = float(runs.rates[int(np.argmin(usable))])
    gain = start_loss - float(np.min(usable))
    outcome = (f"{pick:.3g} had gained most ({gain:.3g})" if gain > 0 else
               f"none ended below the start's loss ({start_loss:.4g}), {pick:.3g} closest to it ({-gain:.3g} above)")
    notes.append(f"after {runs.horizon} steps no finalist had lowered the loss by {max(NO_PROGRESS, tie):.0%} "
                 f"(a plateau) and the budget allows no longer runs: {outcome}; train longer to know more")
    return pick


def gives_back_half(loss: float, best: float, start: float) -> bool:
    """Whether a run ending at ``loss`` failed next to one ending at ``best``: it diverged, or gave back half of the
    gain from ``start`` that ``best`` made."""
    return not np.isfinite(loss) or loss - best > 0.5 * max(start - best, 0.0)


def much_worse(doubled: float, best: float, start: float) -> bool:
    """Whether training at twice a rate fails: it diverges, gives back half the gain, or ends ``FAIL_RATIO`` (3)
    times higher -- where losses go towards 0 the ratio is what tells (Adam on a small CNN at 30% of its budget:
    0.049 reached 0.073 and its double 0.416; at the full budget 0.049 was 1.6× worse than half of it)."""
    return gives_back_half(doubled, best, start) or (best > 0 and doubled > FAIL_RATIO * best)
