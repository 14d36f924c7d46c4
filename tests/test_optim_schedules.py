"""Optimizer and schedule construction: ranges checked, names explained, schedules shaped (K configurations)."""

import numpy as np
import pytest

import lrscope as ls


@pytest.mark.parametrize("make, match", [
    (lambda: ls.optim.momentum(beta=1.0), "beta"),
    (lambda: ls.optim.momentum(beta=-0.1), "beta"),
    (lambda: ls.optim.momentum(form="nesterov"), "form"),
    (lambda: ls.optim.momentum(dampening=0.5), "dampening"),
    (lambda: ls.optim.adam(beta1=1.5), "beta1"),
    (lambda: ls.optim.adam(beta2=[0.9, 1.0]), "beta2"),
    (lambda: ls.optim.adam(eps=-1), "eps"),
    (lambda: ls.optim.rmsprop(alpha=float("nan")), "alpha"),
    (lambda: ls.optim.gd(weight_decay=[[0.1]]), "weight_decay"),
    (lambda: ls.optim.get("lion"), "optimizer"),
])
def test_optimizer_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_optimizer_type_errors_and_repr():
    with pytest.raises(TypeError, match="beta"):
        ls.optim.momentum(beta="high")
    with pytest.raises(TypeError, match="adam"):
        ls.optim.get("adam", momentum=0.9)
    assert repr(ls.optim.adam(beta1=[0.8, 0.9])) == "adam(beta1=[0.8, 0.9], beta2=0.999, eps=1e-08, weight_decay=0)"
    assert ls.optim.get("sgd").name == "gd"


@pytest.mark.parametrize("make", [ls.schedules.constant, lambda: ls.schedules.inverse_time(0.1),
                                  lambda: ls.schedules.step_decay(5), lambda: ls.schedules.exponential(0.1),
                                  ls.schedules.cosine, lambda: ls.schedules.warm_restarts(7, 2),
                                  lambda: ls.schedules.warmup(5, then=ls.schedules.cosine()),
                                  ls.schedules.one_cycle])
def test_schedules_are_tables_of_steps_by_configurations(make):
    table = make()(np.arange(50), [0.1, 1.0], 50)
    assert table.shape == (50, 2)
    np.testing.assert_allclose(table[:, 1], 10 * table[:, 0], rtol=1e-12)     # proportional to the base rate
    assert np.all(table >= 0)


def test_course_schedules_formulas():
    t = np.arange(20)
    np.testing.assert_allclose(ls.schedules.inverse_time(0.5)(t, [2.0])[:, 0], 2.0 / (1 + 0.5 * t))
    np.testing.assert_allclose(ls.schedules.exponential(0.1)(t, [2.0])[:, 0], 2.0 * np.exp(-0.1 * t))
    np.testing.assert_allclose(ls.schedules.step_decay(5, 0.5)(t, [1.0])[:, 0], 0.5 ** (t // 5))
    cos = ls.schedules.cosine()(t, [1.0], 20)[:, 0]
    assert cos[0] == 1.0 and cos[10] == pytest.approx(0.5) and np.all(np.diff(cos) < 0)
    sgdr = ls.schedules.warm_restarts(5, t_mult=2)(t, [1.0])[:, 0]
    assert sgdr[0] == sgdr[5] == sgdr[15] == 1.0 and sgdr[4] < 0.2     # restarts at 5 and 5 + 10
    wu = ls.schedules.warmup(4, start_factor=0.0)(t, [1.0])[:, 0]
    np.testing.assert_allclose(wu[:5], [0, 0.25, 0.5, 0.75, 1.0])


def test_decaying_too_fast_stalls_before_the_minimum():
    # the course's pitfall: a fast decay freezes progress; the verdict says it stalled, not converged
    q = ls.objectives.quadratic((1.0, 10.0))
    res = ls.sweep(q, lrs=[0.05, 0.05], schedule=None, steps=300)
    fast = ls.sweep(q, lrs=[0.05], schedule=ls.schedules.exponential(0.2), steps=300)
    assert res.verdicts[0].kind == "converged"
    assert fast.lr_used[0, -1] < 1e-20
    v = fast.verdicts[0]
    assert v.kind == "slow" and "stalled" in v.reason and "decay it more slowly" in v.advice


@pytest.mark.parametrize("make, match", [
    (lambda: ls.schedules.step_decay(0), "step_size"),
    (lambda: ls.schedules.exponential(gamma=0), "gamma"),
    (lambda: ls.schedules.exponential(0.1, gamma=0.9), "exponential"),
    (lambda: ls.schedules.inverse_time(-1), "k"),
    (lambda: ls.schedules.cosine(t_max=0), "t_max"),
    (lambda: ls.schedules.warmup(0), "steps"),
    (lambda: ls.schedules.warmup(5, start_factor=2.0), "start_factor"),
    (lambda: ls.schedules.one_cycle(pct_start=1.5), "pct_start"),
    (lambda: ls.schedules.one_cycle(anneal="exp"), "anneal"),
    (lambda: ls.schedules.reduce_on_plateau(factor=1.0), "factor"),
    (lambda: ls.schedules.reduce_on_plateau(threshold_mode="x"), "threshold_mode"),
    (lambda: ls.schedules.get("sawtooth"), "schedule"),
])
def test_schedule_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_warmup_cannot_wrap_plateau():
    with pytest.raises(TypeError, match="then"):
        ls.schedules.warmup(5, then=ls.schedules.reduce_on_plateau())


def test_weight_decay_is_its_own_piece_around_any_optimizer():
    obj = ls.objectives.rosenbrock()
    by_hand = ls.optim.add_weight_decay(ls.optim.nesterov(beta=0.8), 0.05)
    built_in = ls.optim.nesterov(beta=0.8, weight_decay=0.05)
    a = ls.sweep(obj, lrs=[1e-3], optimizer=by_hand, steps=40, analyze=False)
    b = ls.sweep(obj, lrs=[1e-3], optimizer=built_in, steps=40, analyze=False)
    np.testing.assert_array_equal(a.params, b.params)
    # decoupled (AdamW) is not the same as an L2 term (Adam)
    w = ls.sweep(obj, lrs=[1e-2], optimizer=ls.optim.adamw(weight_decay=0.5), steps=40, analyze=False)
    l2 = ls.sweep(obj, lrs=[1e-2], optimizer=ls.optim.adam(weight_decay=0.5), steps=40, analyze=False)
    assert np.abs(w.params - l2.params).max() > 1e-3


@pytest.mark.parametrize("make", [ls.optim.gd, ls.optim.momentum, ls.optim.nesterov, ls.optim.adagrad,
                                  ls.optim.rmsprop, ls.optim.adam])
def test_states_are_named_and_split_by_field(make):
    opt = make()
    params = np.arange(6.0).reshape(3, 2)
    _, state = opt.update(params + 1.0, opt.init(params), params, np.full(3, 0.1))
    assert isinstance(state, tuple) and all(isinstance(getattr(state, f), (np.ndarray, int))
                                            for f in getattr(state, "_fields", ()))
    parts = [ls.optim.select_state(state, k) for k in range(3)]
    again = ls.optim.stack_states(parts)
    assert type(again) is type(state)
    for x, y in zip(again, state):
        np.testing.assert_array_equal(x, y)


def test_an_optimizer_carries_its_family_and_variants_as_data():
    # what made it and the options that change its update are fields, never read back out of its display name
    opt = ls.optim.adamw(amsgrad=True, weight_decay=0.1)
    assert (opt.family, opt.variants, opt.name) == ("adamw", ("amsgrad",), "adamw[amsgrad]")
    assert ls.optim.rmsprop(centered=True).variants == ("centered",) and ls.optim.rmsprop().variants == ()
    assert (ls.optim.momentum(beta=0.9, form="ema").family, ls.optim.momentum(beta=0.9, form="ema").variants) \
        == ("momentum", ("ema",))
    assert ls.optim.gd().family == "gd" and ls.optim.nesterov(beta=0.9).family == "nesterov"
    torch = pytest.importorskip("torch")
    from lrscope.torch.optimizers import torch_optimizer
    t = torch_optimizer(opt, [torch.nn.Parameter(torch.zeros(2))], lr=0.01)
    assert isinstance(t, torch.optim.AdamW) and t.param_groups[0]["amsgrad"] is True
