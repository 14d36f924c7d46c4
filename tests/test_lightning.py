"""The Lightning callback: the monitor inside a real Trainer (CPU, a tiny model, no downloads)."""

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")

from lrscope.lightning import LRScope  # noqa: E402


class Regression(L.LightningModule):
    """Least squares on a fixed random problem, plain SGD (with an optional schedule)."""

    def __init__(self, lr: float, schedule: bool = False):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(8, 1)
        self.lr, self.schedule = lr, schedule

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        if not self.schedule:
            return opt
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0)}


def data(n=256):
    g = torch.Generator().manual_seed(1)
    x = 3 * torch.randn(n, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True,
                                       generator=torch.Generator().manual_seed(2))


def fit(model, callback, max_steps=160):
    trainer = L.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
    trainer.fit(model, data())
    return trainer


def test_a_diverging_run_is_stopped_within_a_few_steps_and_a_good_one_left_alone():
    bad = LRScope(on_alarm="stop", verbose=False)
    trainer = fit(Regression(lr=0.5), bad)                 # far above 2/λ_max for these features
    assert bad.alarms and bad.alarms[0].verdict.kind == "diverged" and bad.alarms[0].action == "stop"
    assert trainer.global_step <= 10 and bad.alarms[0].step <= 10
    assert trainer.logged_metrics["lrscope/alarm"] == 1.0   # through the Trainer's logging
    good = LRScope(on_alarm="stop", check_every=20, verbose=False)
    trainer = fit(Regression(lr=0.01), good)
    assert trainer.global_step == 160 and not any(a.verdict.kind == "diverged" for a in good.alarms)
    assert len(good.monitor.losses) == 160 and good.monitor.losses[-1] < good.monitor.losses[0] / 10


def test_reduce_lowers_the_rate_and_the_schedule_keeps_it_lower():
    callback = LRScope(on_alarm="reduce", reduce_factor=0.1, verbose=False)
    model = Regression(lr=0.5, schedule=True)
    trainer = fit(model, callback, max_steps=60)
    assert callback.alarms[0].action.startswith("lr × 0.1")
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05)      # not reset by the scheduler
    assert trainer.lr_scheduler_configs[0].scheduler.base_lrs == [pytest.approx(0.05)]


def test_bad_arguments_are_refused_before_training():
    with pytest.raises(ValueError, match="on_alarm"):
        LRScope(on_alarm="halt")
    with pytest.raises(ValueError, match="sharpness_every"):
        LRScope(sharpness_every=10)                           # needs loss_fn and a batch


def test_sharpness_is_tracked_against_two_over_alpha():
    x, y = next(iter(data()))
    callback = LRScope(sharpness_every=20, loss_fn=torch.nn.functional.mse_loss, sharpness_data=(x, y),
                       verbose=False)
    fit(Regression(lr=0.01), callback, max_steps=60)
    steps = [s for s, _, _ in callback.monitor.sharpness]
    assert steps == [0, 20, 40] and all(lam > 0 for _, lam, _ in callback.monitor.sharpness)


def test_the_verified_finder_sets_the_rate_before_fit_and_leaves_the_weights_untouched():
    model = Regression(lr=1e-6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = {}

    class Look(L.Callback):                                 # runs after LRScope's on_train_start
        def on_train_start(self, trainer, pl_module):
            seen["weights"] = {k: v.clone() for k, v in pl_module.state_dict().items()}
            seen["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
            seen["state"] = dict(trainer.optimizers[0].state)

    callback = LRScope(find_lr=True, loss_fn=torch.nn.functional.mse_loss, verbose=False,
                       find_kw={"steps": 40})
    trainer = L.Trainer(max_steps=80, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[callback, Look()])
    trainer.fit(model, data())
    assert all(torch.equal(before[k], seen["weights"][k]) for k in before)     # the finder put everything back
    assert seen["state"] == {} and seen["lr"] == pytest.approx(callback.found.suggestion)
    assert 1e-4 < callback.found.suggestion < 0.5 and callback.found.steps_used <= 40 + 1.95 * 80
    assert callback.monitor.losses[-1] < callback.monitor.losses[0] / 10    # and the run trains at that rate


class LoggingRegression(Regression):
    """The loss only in training_step (no loss_fn to give), logged there, as most LightningModules do."""

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.log("train_loss", loss)
        return {"loss": loss}


def test_the_finder_needs_no_loss_fn_when_training_step_computes_the_loss():
    model = LoggingRegression(lr=1e-6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    callback = LRScope(find_lr=True, verbose=False, find_kw={"steps": 40})
    with_fn = LRScope(find_lr=True, loss_fn=torch.nn.functional.mse_loss, verbose=False, find_kw={"steps": 40})
    seen = {}

    class Look(L.Callback):
        def on_train_start(self, trainer, pl_module):
            seen["weights"] = {k: v.clone() for k, v in pl_module.state_dict().items()}

    for cb in (callback, with_fn):
        trainer = L.Trainer(max_steps=80, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, callbacks=[cb, Look()])
        trainer.fit(LoggingRegression(lr=1e-6) if cb is with_fn else model, data())
    assert all(torch.equal(before[k], seen["weights"][k]) for k in before)
    # training_step's loss is the loss_fn's: the same runs, the same pick
    assert callback.found.suggestion == pytest.approx(with_fn.found.suggestion, rel=1e-6)
    assert callback.monitor.losses[-1] < callback.monitor.losses[0] / 10
    assert "log" not in vars(model)                          # self.log is the module's own again
