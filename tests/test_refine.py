"""Step sizes from the curvature where the verified pick's run ended (``lrscope.finder.refine``): gradient descent
on a full batch near a minimum."""

import numpy as np
import pytest

import lrscope as ls
from lrscope.finder.refine import confirmed, cycle_for_the_rest, local_model


def test_the_local_model_of_a_quadratic_is_the_quadratic():
    # on a quadratic the model is exact: its curvatures are the Hessian's eigenvalues the gradient reaches, its
    # minimum the quadratic's
    obj = ls.objectives.quadratic(condition=50, dim=4, rotate=True)
    point = obj.x0 + 0.3
    model = local_model(obj, point)
    np.testing.assert_allclose(np.sort(model.theta), np.linalg.eigvalsh(obj.constant_hessian()), rtol=1e-8)
    x_star = np.linalg.solve(obj.constant_hessian(), -obj.grad(np.zeros((1, 4)))[0])
    assert model.floor == pytest.approx(float(obj.value(x_star[None])[0]), abs=1e-9 * model.loss)
    assert model.products == 4


def test_no_model_where_it_is_not_a_bowl():
    saddle = ls.objectives.formula("x**2 - y**2", x0=[1, 1])
    assert local_model(saddle, np.array([1.0, 1.0])) is None
    assert local_model(saddle, np.array([0.0, 0.0])) is None          # no gradient: nothing to go on


def test_the_cycle_is_only_offered_where_the_model_expects_a_clear_gain():
    obj = ls.objectives.formula("x**2 + 50*y**2", x0=[1, 1])
    model = local_model(obj, obj.x0)
    assert cycle_for_the_rest(model, 0.0199, 200) is not None        # near the edge: x shrinks by 0.96 a step
    assert cycle_for_the_rest(model, 0.0199, 2000) is None           # the constant rate gets there too


@pytest.mark.parametrize("losses, constant, expected", [
    ([1.0, 0.5, 0.2, 0.1, 0.01], 0.5, True),             # clearly lower
    ([1.0, 1.5, 0.2, 0.4, 0.01], 0.5, True),             # within a cycle it may rise: only cycle ends are judged
    ([1.0, 0.5, 0.2, 0.3, 0.4], 0.5, False),             # a cycle end climbs: it has left the model's region
    ([1.0, 0.5, np.nan, 0.1, 0.01], 0.5, False),         # not finite
    ([1.0, 0.5, 0.45, 0.42, 0.41], 0.43, False),         # lower, but not half of what the constant leaves
])
def test_a_real_run_confirms_a_cycle_only_when_it_ends_clearly_lower_and_never_climbs(losses, constant, expected):
    assert confirmed(np.array(losses), constant, floor=0.0, cycle=2) is expected


def test_near_the_edge_the_finder_switches_to_a_cycle_and_it_trains_to_the_minimum():
    # x² + 50y² + x⁴ + y⁴: the best constant rate sits at the edge (y) and x shrinks by 4% a step; near the
    # minimum the loss is nearly quadratic, and two step sizes from the curvature there finish the job
    obj = ls.objectives.formula("x**2 + 50*y**2 + x**4 + y**4", x0=[2, 1])
    res = ls.find(obj, steps=100, budget=400, max_compute=1.95)      # the check needs more than the default 1.5×
    assert res.step_sizes is not None and res.step_sizes.size == 400
    switch = int(np.argmax(res.step_sizes != res.suggestion))
    assert np.all(res.step_sizes[:switch] == res.suggestion) and 0 < switch < 400
    constant = ls.sweep(obj, lrs=[res.suggestion], steps=400, analyze=False).final_losses[0]
    scheduled = ls.sweep(obj, lrs=[res.suggestion], schedule=res.schedule, steps=400, analyze=False)
    assert scheduled.final_losses[0] <= 1e-6 * constant
    assert res.steps_used == sum(res.compute.values()) <= 1.95 * 400
    assert "step sizes' check" in res.compute and "cycle" in res.reason
    assert res.schedule_summary().startswith(f"Better still: {res.suggestion:.4g} for steps 0–{switch - 1}, then")


@pytest.mark.parametrize("objective, budget", [
    (ls.objectives.rosenbrock(), 1000),                                             # the cycle blows up
    (ls.objectives.dataset("breast_cancer", standardize=False), 500),               # far from quadratic
])
def test_a_cycle_the_real_run_refutes_is_not_recommended(objective, budget):
    res = ls.find(objective, steps=100, budget=budget)
    assert res.step_sizes is None and res.schedule is None
    assert any("not recommended" in n for n in res.notes)
    assert res.steps_used == sum(res.compute.values()) <= 1.5 * budget


def test_mini_batches_and_adaptive_optimizers_are_left_alone():
    obj = ls.objectives.formula("x**2 + 50*y**2 + x**4 + y**4", x0=[2, 1])
    res = ls.find(obj, optimizer=ls.optim.adam(), steps=100, budget=400)
    assert res.step_sizes is None and "curvature where the pick ended" not in res.compute
    res = ls.find(ls.objectives.dataset("wine"), batch_size=16, budget=200)
    assert "curvature where the pick ended" not in res.compute
    assert res.schedule_loss is None            # mini-batches get a cooldown instead (test_cooldown.py)
