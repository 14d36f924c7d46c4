"""The course's worked examples, reproduced exactly (reference tests)."""

import numpy as np
import pytest

import lrscope as ls


def test_x_squared_alpha_0_1_gives_8_then_6_4():
    obj = ls.objectives.formula("x**2", x0=[10.0])
    res = ls.sweep(obj, lrs=[0.001, 0.1, 1.0, 1.1], optimizer=ls.optim.gd(), steps=100)
    assert res.params[1, :3, 0].tolist() == [10.0, 8.0, 6.4]
    assert res.losses.shape == (4, 101)


def test_x_squared_alpha_1_1_overshoots_and_grows():
    obj = ls.objectives.formula("x**2", x0=[10.0])
    res = ls.sweep(obj, lrs=[1.1], steps=20)
    x = res.params[0, :, 0]
    assert x[1] == -12.0
    assert x[2] == pytest.approx(14.4, rel=1e-15)
    assert np.all(np.sign(x[1:]) == -np.sign(x[:-1]))          # crosses the minimum every step
    assert np.all(np.abs(x[1:]) > np.abs(x[:-1]))              # and |x| grows: oscillates outward
    assert res.verdicts[0].kind == "diverged"


def test_w_squared_from_4():
    obj = ls.objectives.square(x0=[4.0])
    res = ls.sweep(obj, lrs=[0.1, 1.5], steps=2)
    assert res.params[0, 1, 0] == pytest.approx(3.2, rel=1e-15)
    assert res.params[1, :3, 0].tolist() == [4.0, -8.0, 16.0]
    assert res.losses[1].tolist() == [16.0, 64.0, 256.0]


def test_builtin_square_and_formula_agree():
    a = ls.sweep(ls.objectives.square(), lrs=[0.1, 0.5, 1.1], steps=30)
    b = ls.sweep(ls.objectives.formula("x^2", x0=[10]), lrs=[0.1, 0.5, 1.1], steps=30)
    np.testing.assert_array_equal(a.params, b.params)
    assert [v.kind for v in a.verdicts] == [v.kind for v in b.verdicts] == ["converged", "converged", "diverged"]


def test_three_regimes_on_the_decades():
    obj = ls.objectives.square()
    res = ls.sweep(obj, lrs=[0.001, 0.1, 1.1], steps=100)
    kinds = [v.kind for v in res.verdicts]
    assert kinds == ["slow", "converged", "diverged"]
    assert res.verdicts[0].steps_needed is not None and res.verdicts[0].steps_needed > 500
    assert "2/L=1" in res.verdicts[2].advice and "lower" in res.verdicts[2].advice
    assert "raise" in res.verdicts[0].advice


def test_momentum_ema_form_of_the_course():
    # v_t = β v_{t−1} + (1−β) g_t ; θ ← θ − α v_t, from v = 0
    obj = ls.objectives.square()
    res = ls.sweep(obj, lrs=[0.1], optimizer=ls.optim.momentum(beta=0.9), steps=2)
    v1 = 0.1 * 20.0
    x1 = 10 - 0.1 * v1
    v2 = 0.9 * v1 + 0.1 * 2 * x1
    assert res.params[0, 1, 0] == pytest.approx(x1, rel=1e-15)
    assert res.params[0, 2, 0] == pytest.approx(x1 - 0.1 * v2, rel=1e-15)


def test_adam_defaults_match_the_course():
    opt = ls.optim.adam()
    assert opt.default_lr == 0.001
    assert float(opt.hyperparams["beta1"]) == 0.9
    assert float(opt.hyperparams["beta2"]) == 0.999
    assert float(opt.hyperparams["eps"]) == 1e-8
    # first Adam step is α·sign(g) (bias correction makes m̂/√v̂ = g/|g|)
    res = ls.sweep(ls.objectives.square(), lrs=[0.001], optimizer=opt, steps=1)
    assert res.params[0, 1, 0] == pytest.approx(10 - 0.001 * 20 / (20 + 1e-8), rel=1e-14)
