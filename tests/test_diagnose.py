"""Verdicts on hand-made curves: each kind, its step, its reason and its advice."""

import numpy as np
import pytest

import lrscope as ls
from lrscope.diagnose import diagnose_curve


def test_geometric_decrease_converges_with_the_step():
    losses = 100 * 0.5 ** np.arange(60)
    v = diagnose_curve(losses, best=0.0)
    assert v.kind == "converged"
    assert v.step == int(np.ceil(np.log2(100 / (10 * 1e-4 * 100))))    # within 10·tol·m of the end


def test_nan_is_diverged_at_its_step():
    losses = np.array([1.0, 2.0, 4.0, np.inf, np.nan])
    v = diagnose_curve(losses, lr=2.0, bound=1.0, optimal=0.5)
    assert (v.kind, v.step) == ("diverged", 3)
    assert "α=2 > 2/L=1" in v.advice


def test_growth_is_diverged():
    v = diagnose_curve(np.geomspace(1, 1e4, 50), best=0.0)
    assert v.kind == "diverged" and v.step == 1


def test_linear_decrease_is_slow_with_no_geometric_estimate():
    losses = 100 - 0.1 * np.arange(101)
    v = diagnose_curve(losses, best=0.0, lr=0.01)
    assert v.kind == "slow" and "still falling" in v.reason


def test_slow_geometric_decrease_estimates_the_steps_needed():
    rate = 0.99
    losses = 100 * rate ** np.arange(201)
    v = diagnose_curve(losses, best=0.0)
    assert v.kind == "slow"
    # check the estimate: after that many more steps the curve would pass the convergence test
    more = v.steps_needed
    longer = 100 * rate ** np.arange(201 + more + 2)
    assert diagnose_curve(longer, best=0.0).kind == "converged"
    shorter = 100 * rate ** np.arange(201 + more - 10)
    assert diagnose_curve(shorter, best=0.0).kind == "slow"


def test_bouncing_iterates_are_oscillating():
    t = np.arange(101)
    params = (10.0 * (-1.0) ** t)[:, None]
    losses = params[:, 0] ** 2
    v = diagnose_curve(losses, params, best=0.0, lr=1.0, bound=1.0, optimal=0.5)
    assert v.kind == "oscillating" and "reversing" in v.reason
    assert "lower it below 1" in v.advice


def test_stall_far_above_the_best_is_slow():
    losses = np.r_[np.linspace(100, 60, 20), np.full(81, 60.0)]
    v = diagnose_curve(losses, best=0.0, lr=0.1)
    assert v.kind == "slow" and "stalled" in v.reason


def test_stationary_point_with_tiny_gradient_is_converged_even_above_best():
    # a run that settles at a local minimum / saddle: loss flat, gradient gone
    losses = np.r_[np.linspace(5, 1, 30), np.full(71, 1.0)]
    grads = np.r_[np.linspace(3, 1e-5, 30), np.full(70, 1e-9)]
    v = diagnose_curve(losses, best=0.0, grad_norms=grads)
    assert v.kind == "converged"


def test_input_checks():
    with pytest.raises(ValueError, match="losses"):
        diagnose_curve([1.0])


def test_verdict_kinds_over_a_decade_sweep_on_an_ill_conditioned_bowl():
    q = ls.objectives.quadratic(condition=100, dim=2)
    res = ls.sweep(q, lrs=[1e-4, 1e-2, 1.5e-2, 0.0199, 0.021], steps=100)
    kinds = [v.kind for v in res.verdicts]
    assert kinds[0] == "slow" and kinds[-1] == "diverged"
    assert kinds[3] == "oscillating"
    assert "2/L=0.02" in res.verdicts[-1].advice


@pytest.mark.parametrize("lr", [0.001, 0.01])
def test_steps_needed_estimate_is_right_on_x_squared(lr):
    obj = ls.objectives.square()
    first = ls.sweep(obj, lrs=[lr, 0.5], steps=100)
    more = first.verdicts[0].steps_needed
    assert first.verdicts[0].kind == "slow" and more > 0
    assert ls.sweep(obj, lrs=[lr, 0.5], steps=100 + more).verdicts[0].kind == "converged"
    assert ls.sweep(obj, lrs=[lr, 0.5], steps=100 + int(0.95 * more)).verdicts[0].kind == "slow"


def test_a_thinned_curve_speaks_in_the_run_s_own_steps():
    losses = 100 * 0.9995 ** np.arange(0, 2001, 100)        # recorded every 100 steps, still falling
    steps = np.arange(0, 2001, 100)
    v = diagnose_curve(losses, best=0.0, stochastic=True, steps=steps)
    assert "in 2000 steps" in v.reason
    with pytest.raises(ValueError, match="steps"):
        diagnose_curve(losses, steps=steps[:-1])


def test_flat_direction_is_mu_zero_not_negative():
    a = ls.theory.analyze(ls.objectives.dataset("wine"))
    assert a.mu == 0.0 and not a.strongly_convex and "not strongly convex" in a.summary()


def test_steps_needed_is_counted_in_steps_when_the_curve_is_thinned():
    # a curve recorded every 10 steps: 'about N more steps' must still be steps, not recorded points
    every = ls.sweep(ls.objectives.square(), lrs=[0.001], steps=200, eval_every=1).verdicts[0]
    thinned = ls.sweep(ls.objectives.square(), lrs=[0.001], steps=200, eval_every=10).verdicts[0]
    assert every.steps_needed > 2000
    assert thinned.steps_needed == pytest.approx(every.steps_needed, rel=0.15)
    assert f"about {thinned.steps_needed} more steps" in thinned.reason


def test_a_flat_noisy_mini_batch_curve_is_not_called_diverged():
    # nothing learned yet (cross-entropy near ln 2) and batch noise of ±0.004: its lowest point and its last point
    # are noise, and "it gave back half of its gain" would be a false alarm (a transformers run at lr 0.05 raised it)
    rng = np.random.default_rng(0)
    flat = 0.6935 + 0.003 * rng.standard_normal(60)
    assert diagnose_curve(flat, stochastic=True, lr=0.05).kind != "diverged"
    # a real give-back through the noise still is: down from 2.3 to 0.5, then back up to 1.8
    curve = np.r_[np.linspace(2.3, 0.5, 40), np.linspace(0.5, 1.8, 40)] + 0.01 * rng.standard_normal(80)
    v = diagnose_curve(curve, stochastic=True, lr=0.5)
    assert v.kind == "diverged" and "rose again" in v.reason and 30 <= v.step <= 50


def test_advice_never_sends_a_rate_past_one_the_sweep_tried_and_found_worse():
    """The momentum ravine (β = 0.99): each rate alone is 'slow → raise α', and raising from 0.06 to 0.2 makes it
    worse (11 → 44.5). In one sweep the best rate is told to keep, the others to move toward it -- no loop."""
    res = ls.sweep(ls.objectives.formula("x**2 + 100*y**2", x0=[10, 1]), lrs=[0.02, 0.06, 0.2],
                   optimizer=ls.optim.momentum(beta=0.99), steps=150)
    directions = [v.direction for v in res.verdicts]
    assert directions == ["raise", "keep", "lower"]
    assert res.verdicts[0].try_lr == res.verdicts[2].try_lr == 0.06
    assert "α=0.2 in this sweep was tried and ends higher" in res.verdicts[1].advice
    for v, lr in zip(res.verdicts, res.lrs):                       # advice as data agrees with its words
        assert (v.try_lr is None) == (v.direction == "keep")
        assert v.direction != "raise" or v.try_lr > lr


# ---------------------------------------------------------------- words that agree with the picture (issue 26's cases)
def test_a_converged_run_that_keeps_shrinking_says_so_instead_of_stopped_decreasing():
    # the course's first example: the α = 0.1 curve falls in a straight line on the log axis through 1e-4
    res = ls.sweep(ls.objectives.formula("x**2", x0=[10]), lrs=[0.1, 1.1], steps=30)
    v = res.verdicts[0]
    assert v.kind == "converged" and v.step == 21
    assert "stopped decreasing" not in v.reason
    assert "99.99% of the way down by step 21" in v.reason and "keeps shrinking ×0.64 a step" in v.reason
    assert res.verdicts[1].kind == "diverged" and res.verdicts[1].direction == "lower"


def test_no_good_choice_far_above_the_minimum():
    # a quadratic started at 1e9: the loss is still 3.5e8 (minimum 0), shrinking 0.81x a step
    obj = ls.objectives.get("quadratic", x0=[1e9, 1e9])
    alone = ls.sweep(obj, lrs=[0.1], steps=100).verdicts[0]
    assert alone.kind == "converged" and "good choice" not in alone.advice
    assert "keeps shrinking ×0.81" in alone.reason and "more steps take it further down" in alone.advice
    # beside a rate that gets 1e8x lower, it is told to move toward it
    swept = ls.sweep(obj, lrs=[0.1, 0.18], steps=100).verdicts[0]
    assert swept.direction == "raise" and swept.try_lr == 0.18


def test_no_raise_alpha_on_a_loss_without_a_minimum():
    # -x²: even a rate so small that the loss has fallen only 1.5x is told no rate fixes it, never 'raise α'
    res = ls.sweep(ls.objectives.formula("-x**2", x0=[1]), lrs=[0.001, 0.1], steps=100)
    assert [v.kind for v in res.verdicts] == ["unbounded", "unbounded"]
    assert all(v.direction == "none" and "raise" not in v.advice for v in res.verdicts)


def test_a_start_at_a_stationary_point_is_named_not_called_a_good_choice():
    # a typed Rosenbrock started at its minimum (1, 1): the gradient is exactly zero, no rate moves it -- even 1.1,
    # 550x past 2/L there
    res = ls.sweep(ls.objectives.formula("100*(y-x**2)**2 + (1-x)**2", x0=[1, 1]), lrs=[0.001, 1.1], steps=50)
    for v in res.verdicts:
        assert v.kind == "converged" and v.step == 0 and "the start is already a stationary point" in v.reason
        assert v.direction == "none" and "good choice" not in v.advice and v.try_lr is None
    # the built-in Rosenbrock knows its minimum: there it says so
    v = ls.sweep(ls.objectives.get("rosenbrock", x0=[1, 1]), lrs=[0.001], steps=50).verdicts[0]
    assert "the start is already a minimum" in v.reason


def test_the_outlook_gives_each_kind_it_decides_the_callers_advice():
    # a noisy run that falls, then climbs back over its last 150 steps: the curve's shape reads 'oscillating', its
    # outlook 'going back up' -- the verdict carries the caller's advice for a divergence, never an empty one
    from lrscope.diagnose import Advice, Direction
    from lrscope.outlook import heading
    rng = np.random.default_rng(0)
    t = np.arange(400)
    y = 2 * np.exp(-t / 20) + 0.01 * rng.standard_normal(t.size)
    y[250:] += np.linspace(0, 1.0, 150)
    shape = diagnose_curve(y, stochastic=True, lr=0.1)
    lower, longer, stop = (Advice("lower it", Direction.LOWER, 0.03), Advice("longer", Direction.KEEP),
                           Advice("stop", Direction.KEEP))
    v = heading(shape, t, y, slow=longer, stopped=stop, diverged=lower)
    assert shape.kind == "oscillating" and v.kind == "diverged"
    assert (v.advice, v.direction, v.try_lr) == ("lower it", "lower", 0.03) and "went back up" in v.reason


def test_a_noisy_run_below_its_tasks_starting_level_has_learned_something():
    """Batches of 8: one loss spreads ±0.2, and the run's first loss (0.45) was low by chance. From the task's
    starting level (0.87, the mean of the slowest run's first tenth) the levels fell to 0.52: a fall of 0.35 is
    four losses' spreads, but many standard errors of a level -- it learned, then stopped. The core, reading the
    curve's first point, says 'ended above its start'; the outlook, reading levels from the task's start, overrules
    it (benchmarks/verdicts: linear regression by SGD, 12 tune problems 93% -> 99%)."""
    from lrscope.diagnose import Advice, Direction, Kind
    from lrscope.outlook import heading, outlook
    rng = np.random.default_rng(1)
    t = np.arange(401)
    y = 0.5 + 0.37 * np.exp(-t / 30) + 0.2 * rng.standard_normal(t.size)
    y[0] = 0.45
    assert outlook(t, y).kind == Kind.SLOW                       # alone: within 4 spreads of its first loss
    ahead = outlook(t, y, start=0.87)
    assert ahead.kind == Kind.CONVERGED and "learned nothing" not in ahead.why
    core = ls.diagnose.Verdict(Kind.DIVERGED, 300, "the loss ended above its start", "")
    stop = Advice("stop", Direction.KEEP)
    v = heading(core, t, y, slow=Advice("longer", Direction.KEEP), stopped=stop,
                diverged=Advice("lower", Direction.LOWER), start=0.87)
    assert v.kind == Kind.CONVERGED and v.advice == "stop"


def test_a_first_loss_high_by_chance_does_not_hide_what_a_noisy_run_learned():
    """Batches of 8: one loss spreads ±0.3 and this run's first loss (1.5) was high by chance. Against it, a fall
    to 0.5 is barely three losses' spreads -- "nothing learned" -- but the task's starting level (1.0, a mean) is
    many standard errors of a level above the end: it learned, then stopped (benchmarks/verdicts: linear regression
    by SGD, 16 more problems, 10 misses -> 2)."""
    from lrscope.diagnose import Kind
    from lrscope.outlook import outlook
    rng = np.random.default_rng(2)
    t = np.arange(401)
    y = 0.5 + 0.5 * np.exp(-t / 20) + 0.3 * rng.standard_normal(t.size)
    y[0] = 1.5
    assert "learned nothing" in outlook(t, y).why                # alone: within 4 spreads of its first loss
    ahead = outlook(t, y, start=1.0)
    assert ahead.kind == Kind.CONVERGED and "learned nothing" not in ahead.why
    assert "learned nothing" in outlook(t, y, start=0.55).why  # a level it did not clearly get below


def test_a_loss_near_zero_cannot_pay_more_than_its_level_however_fast_it_falls():
    """From 2,400 to 10 in 100 steps, its level still falling at a steady pace (45 at half way): at that pace
    training on would add 2.6% to the progress, but a loss never below 0 has at most its level (10) left to lose --
    0.4% of its progress: it has stopped paying (benchmarks/verdicts: 16 extra heavy-ball problems, 25 misses -> 4);
    the same curve lifted far above zero, where the bound says nothing, stays slow."""
    from lrscope.diagnose import Kind
    from lrscope.outlook import PAYS, outlook
    t = np.arange(101)
    y = 2400 * np.exp(-t / 2) + 80 * (1 - t / 110)
    ahead = outlook(t, y)
    assert ahead.kind == Kind.CONVERGED and ahead.share < PAYS and "never went below 0" in ahead.why
    assert outlook(t, y - 1000).kind == Kind.SLOW          # negative values: no floor known, the pace decides


def test_a_run_whose_schedule_already_decayed_is_not_told_to_decay():
    """Issue 28: runs under cosine decay were told "a decaying schedule would lower the noise floor"."""
    digits = ls.objectives.dataset("digits")
    decayed = ls.sweep(digits, lrs=[1.0], batch_size=32, steps=600, schedule=ls.schedules.cosine()).verdicts[0]
    assert decayed.kind == "converged" and "decaying schedule" not in decayed.advice
    assert "already lowered α" in decayed.advice and decayed.direction == "keep"
    constant = ls.sweep(digits, lrs=[1.0], batch_size=32, steps=600).verdicts[0]
    assert constant.kind == "converged" and "a decaying schedule" in constant.advice
