"""Parity with PyTorch: every optimizer and every schedule that torch has gives the same trajectory, to 1e-10 in
float64 over 150 steps with non-default hyperparameters (reference tests)."""

import math

import numpy as np
import pytest

import lrscope as ls

torch = pytest.importorskip("torch")
STEPS = 150


def _problems():
    quad = ls.objectives.quadratic([0.5, 2.0, 5.0], b=[1.0, -2.0, 0.5], x0=[3.0, -1.0, 2.0], rotate=7)
    logreg = ls.objectives.dataset("breast_cancer")
    return {"quadratic": quad, "logistic": logreg}


PROBLEMS = _problems()


def _torch_loss(obj, w):
    if isinstance(obj, ls.objectives.Quadratic):
        A = torch.tensor(obj.A)
        b = torch.tensor(obj.b)
        return 0.5 * w @ A @ w - b @ w
    X = torch.tensor(obj.X)
    y = torch.tensor(obj.y)
    return torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y)


def torch_run(obj, make_opt, lr, make_sched=None, plateau=False):
    """Parameters after each step and the lr of each step, from torch.optim on the same objective."""
    w = torch.tensor(obj.x0.copy(), dtype=torch.float64, requires_grad=True)
    opt = make_opt([w], lr)
    sched = make_sched(opt) if make_sched else None
    path, lrs = [w.detach().clone().numpy()], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = _torch_loss(obj, w)
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step(loss.item()) if plateau else sched.step()
        path.append(w.detach().clone().numpy())
    return np.array(path), np.array(lrs)


OPTIMIZERS = {
    # name: (lrscope optimizer for two configurations, torch optimizer for configuration k, two lrs)
    "gd": (lambda: ls.optim.gd(weight_decay=[0.01, 0.05]),
           lambda k: (lambda p, lr: torch.optim.SGD(p, lr=lr, weight_decay=[0.01, 0.05][k], foreach=False)),
           [0.05, 0.2]),
    "heavy_ball": (lambda: ls.optim.momentum(beta=[0.8, 0.95], form="heavy_ball", dampening=0.1,
                                             weight_decay=0.01),
                   lambda k: (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=[0.8, 0.95][k], dampening=0.1,
                                                            weight_decay=0.01, foreach=False)),
                   [0.02, 0.05]),
    "nesterov": (lambda: ls.optim.nesterov(beta=[0.7, 0.9], weight_decay=0.02),
                 lambda k: (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=[0.7, 0.9][k], nesterov=True,
                                                          weight_decay=0.02, foreach=False)),
                 [0.02, 0.05]),
    "adagrad": (lambda: ls.optim.adagrad(eps=1e-6, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01),
                lambda k: (lambda p, lr: torch.optim.Adagrad(p, lr=lr, eps=1e-6, lr_decay=0.01,
                                                             initial_accumulator_value=0.1, weight_decay=0.01,
                                                             foreach=False)),
                [0.1, 0.5]),
    "rmsprop": (lambda: ls.optim.rmsprop(alpha=0.98, eps=1e-4, weight_decay=0.01),
                lambda k: (lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.98, eps=1e-4, weight_decay=0.01,
                                                             foreach=False)),
                [0.003, 0.01]),
    "rmsprop_centered_momentum": (
        lambda: ls.optim.rmsprop(alpha=0.95, eps=1e-7, momentum=[0.5, 0.8], centered=True),
        lambda k: (lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.95, eps=1e-7, momentum=[0.5, 0.8][k],
                                                     centered=True, foreach=False)),
        [0.001, 0.004]),
    "adam": (lambda: ls.optim.adam(beta1=[0.8, 0.85], beta2=0.99, eps=1e-6, weight_decay=0.01),
             lambda k: (lambda p, lr: torch.optim.Adam(p, lr=lr, betas=([0.8, 0.85][k], 0.99), eps=1e-6,
                                                       weight_decay=0.01, foreach=False)),
             [0.01, 0.05]),
    "adam_amsgrad": (lambda: ls.optim.adam(beta1=0.85, beta2=[0.95, 0.999], amsgrad=True),
                     lambda k: (lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.85, [0.95, 0.999][k]),
                                                               amsgrad=True, foreach=False)),
                     [0.01, 0.03]),
    "adamw": (lambda: ls.optim.adamw(beta1=0.85, beta2=0.995, eps=1e-7, weight_decay=[0.05, 0.2]),
              lambda k: (lambda p, lr: torch.optim.AdamW(p, lr=lr, betas=(0.85, 0.995), eps=1e-7,
                                                         weight_decay=[0.05, 0.2][k], foreach=False)),
              [0.01, 0.05]),
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch(name, problem):
    obj = PROBLEMS[problem]
    make_ours, make_torch, lrs = OPTIMIZERS[name]
    res = ls.sweep(obj, lrs=lrs, optimizer=make_ours(), steps=STEPS, analyze=False)
    for k, lr in enumerate(lrs):
        path, _ = torch_run(obj, make_torch(k), lr)
        assert np.all(np.isfinite(path))
        np.testing.assert_allclose(res.params[k], path, rtol=0, atol=1e-10)
        assert np.max(np.abs(path[-1] - path[0])) > 1e-3      # it really moved


K_INV = 0.05
SCHEDULES = {
    "step": (lambda: ls.schedules.step_decay(7, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    "multi_step": (lambda: ls.schedules.multi_step([20, 50, 90], gamma=0.3),
                   lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[20, 50, 90], gamma=0.3)),
    "exponential_gamma": (lambda: ls.schedules.exponential(gamma=0.97),
                          lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.97)),
    "exponential_k": (lambda: ls.schedules.exponential(0.02),
                      lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-0.02))),
    "inverse_time": (lambda: ls.schedules.inverse_time(K_INV),
                     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1.0 / (1.0 + K_INV * t))),
    "cosine": (lambda: ls.schedules.cosine(t_max=60, eta_min=0.001),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=60, eta_min=0.001)),
    "warm_restarts": (lambda: ls.schedules.warm_restarts(10, t_mult=2, eta_min=0.001),
                      lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2,
                                                                                     eta_min=0.001)),
    "warm_restarts_mult1": (lambda: ls.schedules.warm_restarts(13),
                            lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=13)),
    "warmup": (lambda: ls.schedules.warmup(15, start_factor=0.2),
               lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=15)),
    "warmup_then_cosine": (
        lambda: ls.schedules.warmup(10, then=ls.schedules.cosine(t_max=STEPS - 10, eta_min=0.002), start_factor=0.1),
        lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
            torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=10),
            torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS - 10, eta_min=0.002)], milestones=[10])),
    "one_cycle": (lambda: ls.schedules.one_cycle(pct_start=0.25, div_factor=10, final_div_factor=100),
                  lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=o.param_groups[0]["lr"], total_steps=STEPS,
                                                                pct_start=0.25, div_factor=10, final_div_factor=100,
                                                                cycle_momentum=False)),
    "one_cycle_three_phase_linear": (
        lambda: ls.schedules.one_cycle(pct_start=0.3, anneal="linear", three_phase=True),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=o.param_groups[0]["lr"], total_steps=STEPS,
                                                      pct_start=0.3, anneal_strategy="linear", three_phase=True,
                                                      cycle_momentum=False)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name):
    obj = PROBLEMS["quadratic"]
    make_ours, make_torch = SCHEDULES[name]
    lrs = [0.05, 0.2]
    res = ls.sweep(obj, lrs=lrs, optimizer=ls.optim.momentum(beta=0.5, form="heavy_ball"), schedule=make_ours(),
                   steps=STEPS, analyze=False)
    for k, lr in enumerate(lrs):
        path, torch_lrs = torch_run(obj, lambda p, a: torch.optim.SGD(p, lr=a, momentum=0.5, foreach=False), lr,
                                    make_torch)
        np.testing.assert_allclose(res.lr_used[k], torch_lrs, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(res.params[k], path, rtol=0, atol=1e-10)


def test_reduce_on_plateau_matches_torch():
    obj = PROBLEMS["logistic"]
    lrs = [0.5, 2.0]
    sched = ls.schedules.reduce_on_plateau(factor=0.5, patience=2, threshold=1e-2, cooldown=2, min_lr=0.01)
    res = ls.sweep(obj, lrs=lrs, schedule=sched, steps=STEPS, analyze=False)
    for k, lr in enumerate(lrs):
        path, torch_lrs = torch_run(
            obj, lambda p, a: torch.optim.SGD(p, lr=a, foreach=False), lr,
            lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=1e-2,
                                                                 cooldown=2, min_lr=0.01), plateau=True)
        np.testing.assert_allclose(res.lr_used[k], torch_lrs, rtol=1e-12)
        np.testing.assert_allclose(res.params[k], path, rtol=0, atol=1e-10)
        assert torch_lrs[-1] < lr          # the plateau rule really fired
