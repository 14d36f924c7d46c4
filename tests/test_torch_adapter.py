"""lrscope.torch: sharpness against a dense Hessian, the monitor's alarms, the vectorized sweep against torch.optim."""

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.func import functional_call  # noqa: E402

import lrscope as ls  # noqa: E402
import lrscope.torch as lt  # noqa: E402
from lrscope.torch.optimizers import torch_optimizer  # noqa: E402

loss_mse = torch.nn.functional.mse_loss


def small_mlp(seed=0, dtype=torch.float64, d_in=5, hidden=8):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)).to(dtype)


def data(n=64, d_in=5, seed=1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d_in, generator=g, dtype=dtype)
    y = torch.sin(X[:, :1]) + 0.1 * torch.randn(n, 1, generator=g, dtype=dtype)
    return X, y


def dense_eigs(model, loss_fn, X, y):
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def f(flat):
        out, i = {}, 0
        for n, sh in zip(names, shapes):
            k = int(np.prod(sh))
            out[n] = flat[i:i + k].reshape(sh)
            i += k
        return loss_fn(functional_call(model, out, (X,)), y)

    H = torch.autograd.functional.hessian(f, flat0)
    return torch.linalg.eigvalsh(H), torch.trace(H)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharpness_matches_dense_hessian_within_1_percent_in_50_hvps(seed):
    m = small_mlp(seed)
    X, y = data(seed=seed)
    s = lt.sharpness(m, loss_mse, (X, y), smallest=True, trace=True, trace_samples=200)
    ev, tr = dense_eigs(m, loss_mse, X, y)
    assert s.lambda_max == pytest.approx(float(ev[-1]), rel=1e-2)
    assert s.hvps - 200 <= 50
    assert s.lambda_min == pytest.approx(float(ev[0]), rel=2e-2, abs=1e-3)
    assert s.trace == pytest.approx(float(tr), rel=0.3)


def test_sharpness_on_a_small_cnn_and_a_data_loader():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                            torch.nn.Linear(3 * 4 * 4, 3)).double()
    X = torch.randn(40, 1, 6, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=10)
    s = lt.sharpness(m, torch.nn.functional.cross_entropy, loader)
    ev, _ = dense_eigs(m, torch.nn.functional.cross_entropy, X, y)
    assert s.lambda_max == pytest.approx(float(ev[-1]), rel=1e-2)


def test_sharpness_leaves_model_optimizer_and_rng_untouched():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                            torch.nn.Linear(8, 1)).double()
    X, y = data()
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    loss_mse(m(X), y).backward()
    opt.step()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    grads = [p.grad.clone() for p in m.parameters()]
    m.train()
    rng, np_rng, py_rng = torch.get_rng_state(), np.random.get_state(), random.getstate()
    s = lt.sharpness(m, loss_mse, (X, y), optimizer=opt)
    assert s.lr == 0.05 and s.ratio == pytest.approx(0.05 * s.lambda_max / 2)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(torch.equal(p.grad, g) for p, g in zip(m.parameters(), grads))
    assert m.training
    assert torch.equal(torch.get_rng_state(), rng)
    assert np.random.get_state()[1].tolist() == np_rng[1].tolist() and random.getstate() == py_rng


def test_sharpness_bad_input():
    with pytest.raises(ValueError, match="no trainable parameters"):
        lt.sharpness(torch.nn.ReLU(), loss_mse, data())
    with pytest.raises(TypeError, match="model"):
        lt.sharpness("model", loss_mse, data())
    with pytest.raises(ValueError, match="lr"):
        lt.sharpness(small_mlp(), loss_mse, data(), lr=-1.0)
    with pytest.raises(ValueError, match="empty"):
        lt.sharpness(small_mlp(), loss_mse, [])


# --------------------------------------------------------------------------------------------------------------
def _train(m, X, y, lr, steps, monitor, batch=None):
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    monitor.optimizer = opt if monitor.optimizer is None else monitor.optimizer
    first = None
    for t in range(steps):
        opt.zero_grad()
        loss = loss_mse(m(X), y)
        loss.backward()
        opt.step()
        alarm = monitor.update(loss, m)
        if alarm is not None and first is None:
            first = alarm
        if monitor.should_stop:
            break
    return first


def test_monitor_flags_a_run_far_above_the_bound_within_a_few_steps():
    m = small_mlp()
    X, y = data()
    lam = lt.sharpness(m, loss_mse, (X, y)).lambda_max
    mon = lt.Monitor(on_alarm="stop")
    alarm = _train(m, X, y, lr=10 * 2 / lam, steps=200, monitor=mon)
    assert alarm is not None and alarm.verdict.kind == "diverged" and alarm.step <= 8
    assert mon.should_stop and alarm.action == "stop"
    assert "lower the learning rate" in alarm.verdict.advice


def test_monitor_leaves_a_good_run_alone_and_sees_the_plateau():
    m = small_mlp()
    X, y = data()
    lam = lt.sharpness(m, loss_mse, (X, y)).lambda_max
    mon = lt.Monitor(check_every=25)
    _train(m, X, y, lr=0.5 * 2 / lam, steps=1500, monitor=mon)
    kinds = [a.verdict.kind for a in mon.alarms]
    assert "diverged" not in kinds and "oscillating" not in kinds
    assert mon.verdict.kind in ("converged", "slow")
    assert len(mon.losses) == 1500 and len(mon.grad_norms) == 15 and mon.grad_norm_steps[:2] == [0, 100]


def test_monitor_nan_is_immediate_and_reduce_lowers_every_param_group():
    m = small_mlp()
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.1}, {"params": m[2].parameters(), "lr": 0.01}])
    mon = lt.Monitor(opt, on_alarm="reduce", reduce_factor=0.5)
    for v in (1.0, 0.9, 0.8):
        assert mon.update(v) is None
    alarm = mon.update(float("nan"))
    assert alarm.verdict.kind == "diverged" and alarm.step == 3
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.005]


def test_a_reduced_rate_survives_the_schedulers_next_step():
    m = small_mlp()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0)     # recomputes the rate from base_lrs
    mon = lt.Monitor(opt, on_alarm="reduce", reduce_factor=0.5, schedulers=[scheduler])
    mon.update(1.0)
    mon.update(float("nan"))
    opt.step()
    scheduler.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05) and scheduler.base_lrs == [pytest.approx(0.05)]


def test_monitor_tracks_sharpness_for_the_edge_of_stability(tmp_path):
    m = small_mlp()
    X, y = data()
    mon = lt.Monitor(sharpness_every=20, loss_fn=loss_mse, sharpness_data=(X, y))
    _train(m, X, y, lr=0.3, steps=100, monitor=mon)
    assert len(mon.sharpness) == 5 and all(lam > 0 for _, lam, _ in mon.sharpness)
    mon.plot(path=str(tmp_path / "eos.png"))
    assert (tmp_path / "eos.png").read_bytes()[:4] == b"\x89PNG"


def test_monitor_bad_input():
    with pytest.raises(ValueError, match="on_alarm"):
        lt.Monitor(on_alarm="panic")
    with pytest.raises(ValueError, match="optimizer"):
        lt.Monitor(on_alarm="reduce")
    with pytest.raises(ValueError, match="sharpness_every"):
        lt.Monitor(sharpness_every=10)


# --------------------------------------------------------------------------------------------------------------
def reference_runs(model, X, y, lrs, make_opt, batches):
    """K separate torch.optim runs, written the ordinary way."""
    out = []
    for lr in lrs:
        m = small_mlp() if model is None else __import__("copy").deepcopy(model)
        opt = make_opt(m.parameters(), lr)
        losses = []
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_mse(m(xb), yb)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        out.append((torch.cat([p.detach().reshape(-1) for p in m.parameters()]).numpy(), losses))
    return out


@pytest.mark.parametrize("name, kwargs, make", [
    ("sgd", {}, lambda p, lr: torch.optim.SGD(p, lr=lr)),
    ("momentum", {"beta": 0.8, "form": "heavy_ball", "weight_decay": 0.01},
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.8, weight_decay=0.01)),
    ("momentum", {"beta": 0.8, "form": "heavy_ball", "dampening": 0.3},
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.8, dampening=0.3)),
    ("nesterov", {"beta": 0.7, "weight_decay": 0.01},
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.7, nesterov=True, weight_decay=0.01)),
    ("adam", {"beta1": 0.85, "beta2": 0.99}, lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.85, 0.99))),
    ("adamw", {"weight_decay": 0.05}, lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.05)),
])
def test_vectorized_sweep_equals_separate_torch_optim_runs(name, kwargs, make):
    model = small_mlp()
    X, y = data(n=96)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16, shuffle=False)
    lrs = [0.003, 0.03, 0.1]
    res = lt.sweep(model, loss_mse, loader, lrs, optimizer=name, epochs=3, **kwargs)
    batches = [b for _ in range(3) for b in loader]
    for k, (final, losses) in enumerate(reference_runs(model, X, y, lrs, make, batches)):
        np.testing.assert_allclose(res.final_params[k], final, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.batch_losses[k], losses, rtol=1e-12)
    assert res.losses.shape == (3, res.steps + 1) and len(res.verdicts) == 3
    assert torch.equal(next(model.parameters()), next(small_mlp().parameters()))     # the model is untouched


def test_same_batches_for_every_copy_with_tensor_data():
    model = small_mlp()
    X, y = data(n=50)
    a = lt.sweep(model, loss_mse, (X, y), [0.05, 0.05], batch_size=8, epochs=2, seed=3)
    # two copies in one stacked computation: equal to rounding (their rows may fall in different BLAS tiles)
    np.testing.assert_allclose(a.batch_losses[0], a.batch_losses[1], rtol=1e-13)
    b = lt.sweep(model, loss_mse, (X, y), [0.05], batch_size=8, epochs=2, seed=3)
    np.testing.assert_allclose(a.batch_losses[0], b.batch_losses[0], rtol=1e-13)


def test_divergent_copy_is_marked_and_others_are_intact():
    model = small_mlp()
    X, y = data()
    res = lt.sweep(model, loss_mse, (X, y), [0.05, 1e4], batch_size=16, epochs=5)
    assert res.verdicts[1].kind == "diverged" and res.verdicts[1].step > 0
    assert res.diverged_at[0] == -1 and np.all(np.isfinite(res.losses[0]))


def test_batchnorm_in_training_mode_is_vectorized_and_matches_torch_optim():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 1)).double()
    X, y = data()
    a = lt.sweep(model, loss_mse, (X, y), [0.01, 0.1], batch_size=16, vectorize=True)
    b = lt.sweep(model, loss_mse, (X, y), [0.01, 0.1], batch_size=16, vectorize=False)
    np.testing.assert_allclose(a.final_params, b.final_params, rtol=0, atol=1e-12)


class DataDependent(torch.nn.Module):
    """A forward pass with Python control flow on a tensor's value: vmap cannot trace it."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(5, 1).double()

    def forward(self, x):
        out = self.lin(x)
        return out if out.sum().item() > -1e9 else -out


def test_a_model_vmap_cannot_handle_falls_back_with_a_warning():
    torch.manual_seed(0)
    X, y = data()
    with pytest.warns(RuntimeWarning, match="one after another"):
        res = lt.sweep(DataDependent(), loss_mse, (X, y), [0.01, 0.1], batch_size=16)
    assert res.losses.shape[0] == 2 and np.all(np.isfinite(res.losses))


@pytest.mark.parametrize("args, kwargs, match", [
    ((torch.nn.ReLU(), loss_mse, data(), [0.1]), {}, "no trainable parameters"),
    ((small_mlp(), loss_mse, data(), []), {}, "lrs"),
    ((small_mlp(), loss_mse, data(), [-0.1]), {}, "lrs"),
    ((small_mlp(), loss_mse, (data()[0], data()[1][:10]), [0.1]), {}, "data"),
    ((small_mlp(), loss_mse, data(), [0.1]), {"optimizer": "lion"}, "optimizer"),
    ((small_mlp(), loss_mse, data(), [0.1]), {"beta1": 0.9}, "beta1"),
    ((small_mlp(), loss_mse, data(), [0.1]), {"optimizer": "momentum", "beta": 1.0}, "beta"),
    ((small_mlp(), loss_mse, data(), [0.1]), {"optimizer": "adam", "beta2": 1.5}, "beta2"),
    ((small_mlp(), loss_mse, data(), [0.1]), {"optimizer": "rmsprop"}, "optimizer"),
    ((small_mlp(), loss_mse, data(), [0.1]), {"epochs": 0}, "epochs"),
])
def test_sweep_bad_input(args, kwargs, match):
    # the same checks as the core's (a β of 1 or more is refused on both paths)
    with pytest.raises((ValueError, TypeError), match=match):
        lt.sweep(*args, **kwargs)


@pytest.mark.parametrize("loss_fn, target", [
    (torch.nn.functional.cross_entropy, "classes"),
    (torch.nn.CrossEntropyLoss(), "classes"),
    (torch.nn.CrossEntropyLoss(ignore_index=2), "classes"),
    (torch.nn.functional.cross_entropy, "ignored"),
    (torch.nn.functional.cross_entropy, "probabilities"),
    (torch.nn.functional.mse_loss, "values"),
    (torch.nn.MSELoss(), "values"),
])
def test_the_copies_loss_in_one_call_equals_one_call_per_copy(loss_fn, target):
    from lrscope.torch.sweep import _copies_loss
    g = torch.Generator().manual_seed(0)
    out = torch.randn(4, 12, 5, generator=g, dtype=torch.float64)
    y = {"classes": torch.randint(0, 5, (12,), generator=g),
         "ignored": torch.tensor([0, 1, -100, 3, 4, -100, 0, 1, 2, 3, 4, 0]),
         "probabilities": torch.softmax(torch.randn(12, 5, generator=g, dtype=torch.float64), dim=1),
         "values": torch.randn(12, 5, generator=g, dtype=torch.float64)}[target]
    together = _copies_loss(loss_fn)(out, y)
    one_by_one = torch.stack([loss_fn(out[k], y) for k in range(4)])
    torch.testing.assert_close(together, one_by_one, rtol=1e-12, atol=1e-12)


def test_other_losses_are_called_once_per_copy():
    from lrscope.torch.sweep import _copies_loss
    assert _copies_loss(lambda out, y: torch.nn.functional.cross_entropy(out, y)) is None
    assert _copies_loss(torch.nn.CrossEntropyLoss(label_smoothing=0.1)) is None
    assert _copies_loss(torch.nn.MSELoss(reduction="sum")) is None
    # a shape the one-call form does not cover (targets broadcast against the outputs): per copy
    assert _copies_loss(torch.nn.functional.mse_loss)(torch.zeros(2, 3, 1), torch.zeros(3)) is None


def test_momentum_means_the_course_form_in_torch_too():
    # one name, one update: 'momentum' is v = βv + (1-β)g from v = 0 on every path (torch's SGD starts at v = g)
    obj = ls.objectives.quadratic((1.0, 10.0), rotate=True)
    core = ls.sweep(obj, lrs=[0.05], optimizer=ls.optim.momentum(0.9), steps=30, analyze=False)
    w = torch.nn.Parameter(torch.tensor(obj.x0, dtype=torch.float64))
    opt = torch_optimizer(ls.optim.momentum(0.9), [w], 0.05)
    path = [w.detach().numpy().copy()]
    for _ in range(30):
        opt.zero_grad()
        w.grad = torch.as_tensor(obj.grad(w.detach().numpy()[None])[0])
        opt.step()
        path.append(w.detach().numpy().copy())
    np.testing.assert_allclose(np.array(path), core.params[0], rtol=1e-12, atol=1e-14)
    # and the stacked sweep runs the same form as that optimizer (its one-by-one path), not torch's heavy ball
    model = small_mlp()
    X, y = data(n=64)
    kw = dict(optimizer="momentum", batch_size=16, epochs=2)
    ema = lt.sweep(model, loss_mse, (X, y), [0.05, 0.1], vectorize=True, **kw)
    one_by_one = lt.sweep(model, loss_mse, (X, y), [0.05, 0.1], vectorize=False, **kw)
    hb = lt.sweep(model, loss_mse, (X, y), [0.05, 0.1], form="heavy_ball", **kw)
    np.testing.assert_allclose(ema.final_params, one_by_one.final_params, rtol=0, atol=1e-12)
    assert np.abs(ema.final_params - hb.final_params).max() > 1e-3
    assert "ema" in repr(ema.optimizer) and "heavy_ball" in repr(hb.optimizer)      # the output names the form
