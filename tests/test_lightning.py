"""The Lightning callback: the monitor inside a real Trainer (CPU, a tiny model, no downloads)."""

import importlib.util

import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("lightning") is None:
    pytest.skip("needs lightning", allow_module_level=True)


pytestmark = pytest.mark.xdist_group("lightning")   # on the worker that imports lightning for the logs' tests


@pytest.fixture(scope="module")
def lit():
    """The models, the Trainer helpers and lightning itself (tests/lightning_models.py), imported on first use."""
    import lightning_models
    return lightning_models


def test_a_diverging_run_is_stopped_within_a_few_steps_and_a_good_one_left_alone(lit):
    bad = lit.LRScope(on_alarm="stop", verbose=False)
    trainer = lit.fit(lit.Regression(lr=0.5), bad)                 # far above 2/λ_max for these features
    assert bad.alarms and bad.alarms[0].verdict.kind == "diverged" and bad.alarms[0].action == "stop"
    assert trainer.global_step <= 10 and bad.alarms[0].step <= 10
    assert trainer.logged_metrics["lrscope/alarm"] == 1.0   # through the Trainer's logging
    good = lit.LRScope(on_alarm="stop", check_every=20, verbose=False)
    trainer = lit.fit(lit.Regression(lr=0.01), good)
    assert trainer.global_step == 160 and not any(a.verdict.kind == "diverged" for a in good.alarms)
    assert len(good.monitor.losses) == 160 and good.monitor.losses[-1] < good.monitor.losses[0] / 10


def test_reduce_lowers_the_rate_and_the_schedule_keeps_it_lower(lit):
    callback = lit.LRScope(on_alarm="reduce", reduce_factor=0.1, verbose=False)
    model = lit.Regression(lr=0.5, schedule=True)
    trainer = lit.fit(model, callback, max_steps=60)
    assert callback.alarms[0].action.startswith("lr × 0.1")
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05)      # not reset by the scheduler
    assert trainer.lr_scheduler_configs[0].scheduler.base_lrs == [pytest.approx(0.05)]


def test_bad_arguments_are_refused_before_training(lit):
    with pytest.raises(ValueError, match="on_alarm"):
        lit.LRScope(on_alarm="halt")
    with pytest.raises(ValueError, match="sharpness_every"):
        lit.LRScope(sharpness_every=10)                           # needs loss_fn and a batch


def test_sharpness_is_tracked_against_two_over_alpha(lit):
    x, y = next(iter(lit.data()))
    callback = lit.LRScope(sharpness_every=20, loss_fn=torch.nn.functional.mse_loss, sharpness_data=(x, y),
                       verbose=False)
    lit.fit(lit.Regression(lr=0.01), callback, max_steps=60)
    steps = [s for s, _, _ in callback.monitor.sharpness]
    assert steps == [0, 20, 40] and all(lam > 0 for _, lam, _ in callback.monitor.sharpness)


def test_the_verified_finder_sets_the_rate_before_fit_and_leaves_the_weights_untouched(lit):
    model = lit.Regression(lr=1e-6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = {}

    class Look(lit.L.Callback):                                 # runs after LRScope's on_train_start
        def on_train_start(self, trainer, pl_module):
            seen["weights"] = {k: v.clone() for k, v in pl_module.state_dict().items()}
            seen["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
            seen["state"] = dict(trainer.optimizers[0].state)

    callback = lit.LRScope(find_lr=True, loss_fn=torch.nn.functional.mse_loss, verbose=False,
                       find_kw={"steps": 40})
    trainer = lit.L.Trainer(max_steps=80, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[callback, Look()])
    trainer.fit(model, lit.data())
    assert all(torch.equal(before[k], seen["weights"][k]) for k in before)     # the finder put everything back
    assert seen["state"] == {} and seen["lr"] == pytest.approx(callback.found.suggestion)
    assert 1e-4 < callback.found.suggestion < 0.5 and callback.found.steps_used <= 40 + 1.5 * 80
    assert callback.monitor.losses[-1] < callback.monitor.losses[0] / 10    # and the run trains at that rate


def test_the_finder_needs_no_loss_fn_when_training_step_computes_the_loss(lit):
    model = lit.LoggingRegression(lr=1e-6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    callback = lit.LRScope(find_lr=True, verbose=False, find_kw={"steps": 40})
    with_fn = lit.LRScope(find_lr=True, loss_fn=torch.nn.functional.mse_loss, verbose=False, find_kw={"steps": 40})
    seen = {}

    class Look(lit.L.Callback):
        def on_train_start(self, trainer, pl_module):
            seen["weights"] = {k: v.clone() for k, v in pl_module.state_dict().items()}

    for cb in (callback, with_fn):
        trainer = lit.L.Trainer(max_steps=80, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, callbacks=[cb, Look()])
        trainer.fit(lit.LoggingRegression(lr=1e-6) if cb is with_fn else model, lit.data())
    assert all(torch.equal(before[k], seen["weights"][k]) for k in before)
    # training_step's loss is the loss_fn's: the same runs, the same pick
    assert callback.found.suggestion == pytest.approx(with_fn.found.suggestion, rel=1e-6)
    assert callback.monitor.losses[-1] < callback.monitor.losses[0] / 10
    assert "log" not in vars(model)                          # self.log is the module's own again


def test_the_finder_reads_the_trainers_validation_loader_by_default(lit):
    """Held-out data where the Trainer has it: the finder's curve and verification are read off the validation
    loss, for the module's own loss and for a loss_fn alike; validation=False keeps the training loss, and
    validation=True without a validation loader is refused by name."""
    def fit(callback):
        trainer = lit.L.Trainer(max_steps=60, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False, callbacks=[callback],
                                num_sanity_val_steps=0)
        trainer.fit(lit.ValidatedRegression(lr=1e-6), lit.data(), lit.data(64))
        return callback.found

    held_out = "read off the held-out loss"
    own, with_fn = (fit(lit.LRScope(find_lr=True, verbose=False, find_kw={"steps": 30}, loss_fn=fn))
                    for fn in (None, torch.nn.functional.mse_loss))
    assert any(held_out in n for n in own.notes) and any(held_out in n for n in with_fn.notes)
    assert own.suggestion == pytest.approx(with_fn.suggestion, rel=1e-6)
    train_only = fit(lit.LRScope(find_lr=True, verbose=False, find_kw={"steps": 30}, validation=False))
    assert not any(held_out in n for n in train_only.notes)
    with pytest.raises(ValueError, match="validation=True: the Trainer has no validation DataLoader"):
        lit.fit(lit.LoggingRegression(lr=1e-6), lit.LRScope(find_lr=True, verbose=False, validation=True,
                                                            find_kw={"steps": 30}))
    with pytest.raises(TypeError, match="validation"):
        lit.LRScope(validation="yes")
