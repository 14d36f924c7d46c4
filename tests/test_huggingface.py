"""The Hugging Face callback: the monitor inside a real transformers Trainer (CPU, a tiny model built from a config,
no downloads)."""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrscope.huggingface import LRScopeCallback  # noqa: E402
from tiny_bert import Rows, tiny_bert  # noqa: E402


def train(tmp_path, lr, callback, steps=60, optim="sgd", schedule="constant", probe=None):
    model = tiny_bert()
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=steps, per_device_train_batch_size=16,
                                          learning_rate=lr, optim=optim, lr_scheduler_type=schedule,
                                          report_to=[], save_strategy="no", logging_strategy="no",
                                          disable_tqdm=True, use_cpu=True, seed=0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Rows(),
                                   callbacks=[callback] + ([probe] if probe else []))
    trainer.train()
    return trainer


def test_a_diverging_run_is_stopped_within_a_few_steps_and_a_good_one_left_alone(tmp_path):
    bad = LRScopeCallback(on_alarm="stop", verbose=False)
    trainer = train(tmp_path, 200.0, bad)
    assert bad.alarms and bad.alarms[0].verdict.kind == "diverged" and bad.alarms[0].action == "stop"
    assert trainer.state.global_step <= 10
    good = LRScopeCallback(on_alarm="stop", check_every=20, verbose=False)
    trainer = train(tmp_path, 0.05, good)
    assert trainer.state.global_step == 60 and not any(a.verdict.kind == "diverged" for a in good.alarms)
    assert len(good.monitor.losses) == 60                       # one loss per optimizer step


def test_reduce_lowers_the_rate_and_the_scheduler_keeps_it(tmp_path):
    callback = LRScopeCallback(on_alarm="reduce", reduce_factor=0.1, verbose=False)
    trainer = train(tmp_path, 200.0, callback, steps=20)
    assert callback.alarms[0].action.startswith("lr × 0.1")
    groups = trainer.optimizer.param_groups                     # (with and without weight decay)
    assert [g["lr"] for g in groups] == [pytest.approx(20.0)] * len(groups)
    assert trainer.lr_scheduler.base_lrs == [pytest.approx(20.0)] * len(groups)    # the schedule keeps it


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="on_alarm"):
        LRScopeCallback(on_alarm="halt")


def test_a_model_without_a_loss_in_its_output_is_said_once(tmp_path):
    import warnings
    callback = LRScopeCallback(verbose=False)
    model = torch.nn.Linear(2, 1)
    callback.on_train_begin(None, None, None, model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    model(torch.ones(3, 2))                                   # a plain tensor out: no .loss
    with pytest.warns(UserWarning, match="no .loss"):
        callback.on_step_end(None, None, None)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        callback.on_step_end(None, None, None)
    assert not again                                          # not again
    callback.on_train_end(None, None, None)


class Probe(transformers.TrainerCallback):
    """What the Trainer holds when training begins (after lrscope's finder) and the rate of its first step."""

    def __init__(self):
        self.weights, self.first_lr = None, None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.weights = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        if self.first_lr is None:
            self.first_lr = [g["lr"] for g in optimizer.param_groups]


def test_the_verified_finder_sets_the_rate_before_train_and_leaves_the_weights_untouched(tmp_path):
    untouched = tiny_bert().state_dict()
    callback, probe = LRScopeCallback(find_lr=True, verbose=False), Probe()
    trainer = train(tmp_path, 1e-6, callback, steps=200, optim="adamw_torch", probe=probe)   # 1e-6: learns nothing
    pick = callback.found.suggestion
    assert 1e-3 <= pick <= 2e-2           # Adam on this task, 200 steps: 1e-3 → 0.015, 1e-2 → 0.028, 0.1 → 0.76
    assert callback.found.verified_with == "constant_lambda"     # the Trainer's schedule (constant here)
    assert probe.first_lr == [pytest.approx(pick)] * len(probe.first_lr)
    assert all(torch.equal(probe.weights[k], v) for k, v in untouched.items())       # put back exactly
    with torch.no_grad():
        rows = Rows()
        loss = float(trainer.model(input_ids=rows.ids, labels=rows.labels).loss)
    assert loss < 0.05                    # with the rate it was given (1e-6), it stays at 0.693


def test_the_finder_keeps_a_warmup_around_the_new_peak(tmp_path):
    callback, probe = LRScopeCallback(find_lr=True, verbose=False, budget=60), Probe()
    trainer = train(tmp_path, 1e-6, callback, steps=60, optim="adamw_torch", schedule="cosine", probe=probe)
    pick = callback.found.suggestion
    assert trainer.lr_scheduler.base_lrs == [pytest.approx(pick)] * len(trainer.lr_scheduler.base_lrs)
    assert probe.first_lr[0] == pytest.approx(pick)          # cosine starts at its peak
    assert callback.found.verified_with == "cosine_schedule_with_warmup"     # its peak verified with cosine


def test_the_finder_reads_held_out_data_when_given_the_trainers_eval_loader(tmp_path):
    model = tiny_bert()
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=60, per_device_train_batch_size=16,
                                          learning_rate=1e-6, optim="adamw_torch", report_to=[], save_strategy="no",
                                          logging_strategy="no", disable_tqdm=True, use_cpu=True, seed=0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Rows(), eval_dataset=Rows(64))
    callback = LRScopeCallback(find_lr=True, verbose=False, validation=trainer.get_eval_dataloader())
    trainer.add_callback(callback)
    trainer.train()
    assert any("held-out loss" in n for n in callback.found.notes) and callback.found.suggestion > 1e-4
    with pytest.raises(TypeError, match="validation: expected a DataLoader"):
        LRScopeCallback(find_lr=True, validation=Rows(64))
