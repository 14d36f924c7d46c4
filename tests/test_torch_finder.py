"""lrscope.torch.lr_find: a verified suggestion, and the model, optimizer and RNG exactly as before."""

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lrscope as ls  # noqa: E402
from lrscope import FindResult  # noqa: E402
from lrscope.torch import lr_find  # noqa: E402


def setup(seed=0, bn=False):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(8, 16)] + ([torch.nn.BatchNorm1d(16)] if bn else []) + [torch.nn.ReLU(),
                                                                                        torch.nn.Linear(16, 3)]
    model = torch.nn.Sequential(*layers)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(256, 8, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True)
    return model, loader


def snapshot(model, opt):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [(k, {kk: (vv.clone() if torch.is_tensor(vv) else vv) for kk, vv in st.items()})
             for k, st in opt.state_dict()["state"].items()],
            [dict(g) for g in opt.state_dict()["param_groups"]],
            torch.get_rng_state().clone(), np.random.get_state()[1].copy(), random.getstate())


def assert_same(a, b):
    for k in a[0]:
        assert torch.equal(a[0][k], b[0][k]), k
    assert len(a[1]) == len(b[1])
    for (k1, s1), (k2, s2) in zip(a[1], b[1]):
        for key in s1:
            v1, v2 = s1[key], s2[key]
            assert torch.equal(v1, v2) if torch.is_tensor(v1) else v1 == v2
    assert a[2] == b[2]
    assert torch.equal(a[3], b[3]) and np.array_equal(a[4], b[4]) and a[5] == b[5]


def test_suggestion_is_verified_and_everything_is_restored():
    model, loader = setup(bn=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = next(iter(loader))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()                                          # some optimizer state to keep
    before = snapshot(model, opt)
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=60, verify_steps=30)
    assert_same(before, snapshot(model, opt))
    assert isinstance(res, FindResult)
    assert res.suggestion in res.finalists
    # the best finalist, unless the margin check backed off from it (and then a note says so)
    best = res.finalist_losses[list(res.finalists).index(res.suggestion)] == np.min(res.finalist_losses)
    assert best or any("backed off" in note for note in res.notes)
    assert res.interval[0] <= res.suggestion <= res.interval[1]
    assert set(res.methods) == {"steepest", "valley", "min/10", "lrscope"}
    assert res.bound is not None and res.steps_used > 60


def test_a_loader_with_its_own_generator_gives_every_run_the_same_batches_and_is_left_as_it_was():
    model, loader = setup()
    loader = torch.utils.data.DataLoader(loader.dataset, batch_size=32, shuffle=True,
                                         generator=torch.Generator().manual_seed(5))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    state = loader.generator.get_state().clone()
    first = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, budget=60)
    assert torch.equal(loader.generator.get_state(), state)       # the user's next epoch is unchanged
    again = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, budget=60)
    assert again.suggestion == first.suggestion                   # reproducible: the same batches each time
    assert np.array_equal(again.candidate_losses, first.candidate_losses)


def test_state_is_restored_when_the_call_fails_half_way():
    model, loader = setup()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = snapshot(model, opt)
    calls = {"n": 0}

    def flaky_loss(out, y):
        calls["n"] += 1
        if calls["n"] == 20:
            raise RuntimeError("disk on fire")
        return torch.nn.functional.cross_entropy(out, y)

    with pytest.raises(RuntimeError, match="disk on fire"):
        lr_find(model, flaky_loss, loader, opt, steps=50)
    assert_same(before, snapshot(model, opt))


def test_param_groups_are_scaled_together_and_adam_works():
    model, loader = setup()
    opt = torch.optim.Adam([{"params": model[0].parameters(), "lr": 1e-3},
                            {"params": model[2].parameters(), "lr": 1e-4}])
    seen = []
    original_step = opt.step

    def spy(*a, **k):
        seen.append([g["lr"] for g in opt.param_groups])
        return original_step(*a, **k)

    opt.step = spy
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, verify_steps=10)
    opt.step = original_step
    assert all(abs(b / a - 0.1) < 1e-12 for a, b in seen)
    assert res.bound is None                     # no curvature bound for an adaptive optimizer
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-4]


def test_validation_loss_and_accumulation():
    model, loader = setup()
    g = torch.Generator().manual_seed(7)
    Xv = torch.randn(64, 8, generator=g)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xv, torch.zeros(64, dtype=torch.long)),
                                             batch_size=64)
    with torch.no_grad():
        held_out = float(torch.nn.functional.cross_entropy(model(Xv), torch.zeros(64, dtype=torch.long)))
        training = float(torch.nn.functional.cross_entropy(model(loader.dataset.tensors[0]),
                                                           loader.dataset.tensors[1]))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=30, verify_steps=10,
                  val_loader=val_loader, accumulation_steps=2)
    assert res.steps_used >= 2 * 30 and np.isfinite(res.suggestion)
    # the curve is the held-out loss (the first step's α = 1e-7 barely moves the model), not the training loss
    assert res.losses[0, 0] == pytest.approx(held_out, rel=1e-4) and abs(held_out - training) > 0.05
    assert any("held-out" in note for note in res.notes)


def test_progress_reports_every_step_and_ends_complete():
    model, loader = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=30, verify_steps=5,
                  progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert done == sorted(done) and all(d <= t for d, t in calls)
    assert calls[-1][0] == calls[-1][1] == res.steps_used          # one tick per optimizer step, complete at the end


@pytest.mark.parametrize("kwargs, match", [
    (dict(start=1.0, end=0.5), "start"),
    (dict(start=-1.0), "start"),
    (dict(end=0), "end"),
    (dict(steps=3), "steps"),
    (dict(mode="cubic"), "mode"),
    (dict(accumulation_steps=0), "accumulation_steps"),
])
def test_bad_arguments(kwargs, match):
    model, loader = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=match):
        lr_find(model, torch.nn.functional.cross_entropy, loader, opt, **kwargs)


def test_empty_loader_no_parameters_and_nan_loss():
    model, loader = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    empty = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(0, 8), torch.zeros(0).long()))
    with pytest.raises(ValueError, match="empty"):
        lr_find(model, torch.nn.functional.cross_entropy, empty, opt)
    frozen = torch.nn.Sequential(torch.nn.ReLU())
    with pytest.raises(ValueError, match="no trainable parameters"):
        lr_find(frozen, torch.nn.functional.cross_entropy, loader, torch.optim.SGD(model.parameters(), lr=0.1))
    before = snapshot(model, opt)
    with pytest.raises(ValueError, match="not the learning rate"):
        lr_find(model, lambda out, y: torch.nn.functional.cross_entropy(out, y) * float("nan"), loader, opt)
    assert_same(before, snapshot(model, opt))


def test_held_out_tensors_use_the_cores_split_and_the_training_rows_statistics():
    from lrscope.torch.models import dataset_tensors
    train, test = ls.objectives.held_out_rows("wine", 0.3, seed=2)
    X, y = dataset_tensors("wine", fit_rows=train)
    assert torch.allclose(X[train].mean(0), torch.zeros(X.shape[1]), atol=1e-5)
    assert not torch.allclose(X[test].mean(0), torch.zeros(X.shape[1]), atol=1e-3)
    core_train, _ = ls.objectives.train_test("wine", test_size=0.3, seed=2)
    assert np.allclose(X[train].numpy(), core_train.X[:, :-1], atol=1e-5)     # the same rows, the same z-scores


def test_a_paused_verification_run_goes_on_as_one_long_run():
    """The verification's runs continue from where they stopped (parameters, optimizer state, random numbers and
    the batch stream): 10 steps, paused, then 15 more give the numbers of 25 steps in one go (same CPU, same
    operations in the same order)."""
    from lrscope.torch._state import preserved_state
    from lrscope.torch.finder import _Paused, _Trainer
    model, _ = setup()
    g = torch.Generator().manual_seed(3)
    X = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    y = (X[:, 0] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True,
                                         generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.functional.cross_entropy

    def fresh(n):
        with preserved_state(model, opt, (loader,)):
            torch.manual_seed(0)
            t = _Trainer(model, loss, loader, opt, 1, False)
            t.set_lr(0.01)
            history = [t.step() for _ in range(n)]
            return history, [p.detach().clone() for p in model.parameters()], t

    straight, params, _ = fresh(25)
    with preserved_state(model, opt, (loader,)):
        torch.manual_seed(0)
        t = _Trainer(model, loss, loader, opt, 1, False)
        t.set_lr(0.01)
        first = [t.step() for _ in range(10)]
        paused = _Paused(model, opt, (loader,), t, first)
    before = snapshot(model, opt)
    with preserved_state(model, opt, (loader,)):
        t, history = paused.resume(model, opt)
        history += [t.step() for _ in range(15)]
        resumed = [p.detach().clone() for p in model.parameters()]
    assert_same(before, snapshot(model, opt))             # the user's model and optimizer are left as they were
    np.testing.assert_allclose(history, straight, rtol=1e-6)
    for a, b in zip(resumed, params):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_the_finder_stays_within_twice_the_budget_and_reuses_its_runs():
    model, loader = setup()
    opt = torch.optim.SGD(model.parameters(), lr=1e-7, momentum=0.9)
    ticks = []
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, steps=40, budget=120,
                  progress=lambda d, t: ticks.append(d))
    from lrscope.finder.range_test import BUDGET_ALL
    assert res.steps_used <= BUDGET_ALL * 120 and res.steps_used == ticks[-1] == sum(res.compute.values())
    # the finalists went on from their first-round runs: the second round costs less than training them afresh
    assert res.compute["second round"] < len(res.finalists) * 36


def test_setting_the_found_rate_keeps_the_schedule_and_the_groups_ratios():
    """A warmup half way (λ = 0.5) and two groups at 1 : 0.1: the new peak scales every rate, base and initial rate
    by one factor, so the warmup goes on from where it is and the groups keep their ratio."""
    from lrscope.torch import set_peak_rate as public          # the docs' example uses it (not a group-wide lr =)
    from lrscope.torch.optimizers import scale_rates, set_peak_rate
    assert public is set_peak_rate
    w1, w2 = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([{"params": [w1], "lr": 1e-6}, {"params": [w2], "lr": 1e-7}])
    warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / 2))     # λ(0) = 0.5
    set_peak_rate(opt, 0.2, [warmup])
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(0.1), pytest.approx(0.01)]
    assert warmup.base_lrs == [pytest.approx(0.2), pytest.approx(0.02)] and warmup.get_last_lr()[0] == \
        pytest.approx(0.1)
    opt.step()
    warmup.step()                                       # λ(1) = 1: the peak, not the old 1e-6
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(0.2), pytest.approx(0.02)]
    scale_rates(opt, 0.5, [warmup])
    warmup.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)      # the schedule keeps the lowered rate


def test_a_loss_fn_that_is_not_one_number_per_batch_is_named():
    """A per-example vector (torch: 'grad can be implicitly created only for scalar outputs') or a Python float
    (torch: 'isfinite(): argument must be Tensor') is the user's loss_fn, named, with what to do."""
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(64, 3), torch.randn(64, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=16)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"loss_fn: must return one number per batch, got a tensor of shape \(16, 1\)"):
        lr_find(model, lambda p, t: (p - t) ** 2, loader, opt, steps=20)
    with pytest.raises(TypeError, match="loss_fn: must return the batch's loss as a tensor, got float"):
        lr_find(model, lambda p, t: float(((p - t) ** 2).mean().detach()), loader, opt, steps=20)
    with pytest.raises(TypeError, match="loss_fn: expected a function"):
        lr_find(model, "mse", loader, opt, steps=20)


def test_an_optimizer_over_another_models_parameters_is_refused():
    """It trained nothing, and the finder answered 4.8e-08 as if it had: now one error naming the optimizer."""
    data = torch.utils.data.TensorDataset(torch.randn(64, 3), torch.randn(64, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=16)
    model, other = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    with pytest.raises(ValueError, match="optimizer: none of its parameters is the model's"):
        lr_find(model, torch.nn.functional.mse_loss, loader, torch.optim.SGD(other.parameters(), lr=0.1), steps=20)


def test_lr_find_for_a_schedule_verifies_its_peak_and_restores_everything():
    """``schedule="one_cycle"``: the verification runs follow the one-cycle shape, the answer is its peak and
    ``step_sizes`` the peak × the shape over the budget; the model and optimizer are as before."""
    from lrscope.finder.schedule import factors
    model, loader = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before = snapshot(model, opt)
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, budget=200, schedule="one_cycle")
    assert_same(before, snapshot(model, opt))
    assert res.verified_with == "one_cycle"
    np.testing.assert_allclose(res.step_sizes, res.suggestion * factors("one_cycle", 200), rtol=1e-12)
    assert max(res.step_sizes) == pytest.approx(res.suggestion, rel=0.01)
    with pytest.raises(ValueError, match="schedule: unknown"):
        lr_find(model, torch.nn.functional.cross_entropy, loader, opt, budget=200, schedule="cosin")


def test_keep_winner_leaves_the_model_where_the_winners_verification_run_ended():
    """``keep_winner=True``: the model and optimizer hold the suggestion's verification run -- the same parameters
    as ``trained_steps`` steps of plain SGD at that run's rate (``res.step_sizes`` up to there) on the same batches
    (to float rounding: the same updates, taken in a resumed run) -- so those steps of the budget are not lost; the
    optimizer's rate is the suggestion's, to go on with."""
    model, loader = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    res = lr_find(model, torch.nn.functional.cross_entropy, loader, opt, budget=200, keep_winner=True)
    assert res.trained_steps > 0 and any(n.startswith("keep_winner") for n in res.notes)
    assert res.to_dict()["trained_steps"] == res.trained_steps
    kept = {k: v.clone() for k, v in model.state_dict().items()}

    again, _ = setup()
    again.load_state_dict(start)
    opt2 = torch.optim.SGD(again.parameters(), lr=res.step_sizes[0], momentum=0.9)   # the kept run's rate
    torch.manual_seed(0)
    batches = iter(loader)
    for _ in range(res.trained_steps):
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        opt2.zero_grad()
        torch.nn.functional.cross_entropy(again(x), y).backward()
        opt2.step()
    for k, v in again.state_dict().items():
        torch.testing.assert_close(kept[k], v, rtol=1e-5, atol=1e-6)
    assert opt.param_groups[0]["lr"] == pytest.approx(res.suggestion)
    with pytest.raises(ValueError, match="keep_winner: only with a constant rate"):
        lr_find(model, torch.nn.functional.cross_entropy, loader, opt, budget=200, keep_winner=True,
                schedule="cosine")


def test_a_lambda_schedulers_shape_is_the_finders_schedule_at_the_same_fraction_of_the_run():
    from lrscope.finder.schedule import factors
    from lrscope.torch.optimizers import schedule_of
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(p, lr=0.1)
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / 1000)
    np.testing.assert_allclose(factors(schedule_of(decay, 1000), 10), 1 - np.arange(10) / 10)
    assert schedule_of(decay, None) is None
    assert schedule_of(torch.optim.lr_scheduler.StepLR(opt, 10), 1000) is None          # not a LambdaLR
    two = torch.optim.SGD([{"params": [p[0]]}, {"params": [torch.nn.Parameter(torch.zeros(1))]}], lr=0.1)
    assert schedule_of(torch.optim.lr_scheduler.LambdaLR(two, [lambda t: 1.0, lambda t: 0.5]), 100) is None


def test_a_held_out_split_fitted_all_but_perfectly_is_said_to_barely_rank_the_rates():
    """Two clusters far apart and 16 held-out points: every finalist's held-out loss ends at 0 (the population's
    worst picks were of this kind, 28 separable wine examples): the result says the split cannot rank them."""
    from lrscope.finder.verify import TIE, Ties, fitted_held_out
    torch.manual_seed(0)
    x = torch.cat([torch.randn(64, 2) + 4, torch.randn(64, 2) - 4])
    y = torch.cat([torch.zeros(64), torch.ones(64)]).long()
    xv = torch.cat([torch.randn(8, 2) + 4, torch.randn(8, 2) - 4])
    yv = torch.cat([torch.zeros(8), torch.ones(8)]).long()
    train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xv, yv), batch_size=16)
    model = torch.nn.Linear(2, 2)
    res = lr_find(model, torch.nn.functional.cross_entropy, train, torch.optim.SGD(model.parameters(), lr=0.1),
                  budget=200, val_loader=val)
    assert any("barely tell them apart" in n for n in res.notes)
    # the note needs two such runs, finite ones, below 1% of the start's loss (the linear model on wine: 3 of 4)
    ties = Ties.of(TIE, 1.1, held_out=True)
    notes = fitted_held_out(np.array([2.14, 4.68, 10.0, 20.0]), np.array([0.0174, 0.0078, 0.0093, 0.0027]), ties)
    assert len(notes) == 1 and "3 rates (4.68, 10, 20)" in notes[0]
    assert fitted_held_out(np.array([0.1, 0.2]), np.array([0.3, 0.005]), ties) == []
    assert fitted_held_out(np.array([0.1, 0.2]), np.array([np.inf, 0.0]), ties) == []


def test_held_out_data_are_judged_piece_by_piece_where_their_order_is_fixed():
    """The held-out loss per example (or per group of examples in a large set: at most PIECES) -- the verification
    reads the split's noise from them -- averages to the held-out loss; a shuffling loader, whose examples come in
    another order each time, and an output without a batch axis give none."""
    from lrscope.finder.verify import PIECES
    from lrscope.torch.finder import _Trainer
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = _Trainer(model, torch.nn.functional.cross_entropy, None, opt, 1, False)
    for n, batch in ((40, 16), (1000, 128)):
        data = torch.utils.data.TensorDataset(torch.randn(n, 3), torch.randint(0, 2, (n,)))
        mean, pieces = trainer.evaluate(torch.utils.data.DataLoader(data, batch_size=batch), pieces=True)
        assert len(pieces) == n if n <= PIECES else PIECES // 2 < len(pieces) <= PIECES
        with torch.no_grad():
            whole = float(torch.nn.functional.cross_entropy(model(data.tensors[0]), data.tensors[1]))
        assert mean == pytest.approx(whole, rel=1e-6)
        if n <= PIECES:
            assert float(np.mean(pieces)) == pytest.approx(whole, rel=1e-6)
    shuffled = torch.utils.data.DataLoader(data, batch_size=128, shuffle=True)
    assert trainer.evaluate(shuffled, pieces=True)[1] is None
    assert trainer.evaluate(shuffled) == pytest.approx(whole, rel=1e-6)
    spread = torch.utils.data.distributed.DistributedSampler(data, num_replicas=1, rank=0, shuffle=True)
    assert trainer.evaluate(torch.utils.data.DataLoader(data, batch_size=128, sampler=spread), pieces=True)[1] is None
