"""lrscope inside a Hugging Face ``Trainer``: the convergence monitor on every optimizer step, as a callback.

    from transformers import Trainer
    from lrscope.huggingface import LRScopeCallback

    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[LRScopeCallback(on_alarm="stop")])
    trainer.train()

The loss of every training forward pass is read off the model's output (``outputs.loss``: a model given ``labels``
computes it), averaged over gradient-accumulation micro-batches, and given to
:class:`lrscope.torch.monitor.Monitor` after each optimizer step -- the same verdicts, reasons and advice as the core.
An alarm is printed once and kept in ``callback.alarms``. ``on_alarm="stop"`` sets
``control.should_training_stop`` at a divergence (the Trainer ends cleanly after that step); ``"reduce"`` multiplies
the optimizer's rates and its scheduler's base rates by ``reduce_factor`` at a divergence or oscillation.

With ``find_lr=True`` the verified finder (:func:`lrscope.torch.lr_find`) runs when training begins, on the
Trainer's own training loader, optimizer and gradient accumulation, judging the model's own loss
(``model(**batch).loss``), sized from the Trainer's number of optimizer steps (or ``budget``). The model, the
optimizer and the random-number states are put back exactly; then every param group's rate and the scheduler's base
rates are set to the pick (a warmup or decay keeps its shape around the new peak). ``callback.found`` holds the
result: as Lightning's ``Tuner.lr_find``, one line -- but a verified answer. With held-out data the finder reads its
curve and verification off the loss on them: ``validation=trainer.get_eval_dataloader()`` (the Trainer hands a
callback no evaluation data when training begins, unless it has evaluated before: that loader is then used;
``validation=False`` keeps the training loss). See docs/finder.md, the population benchmark.

Needs ``transformers`` (``pip install 'lrscope[huggingface]'``).
"""

from __future__ import annotations

import warnings

try:
    import torch
    from transformers import TrainerCallback
except ImportError:                                             # pragma: no cover - the extra is not installed
    raise ImportError("lrscope.huggingface needs transformers: pip install 'lrscope[huggingface]'") from None

from .torch.monitor import Alarm, Monitor
from .torch.optimizers import schedule_of, set_peak_rate
from .torch.whole_batches import OwnLoss, WholeBatches, found_message, the_loss


def _model_loss(model, batch):
    """A transformers model's own loss on a batch (a model given labels computes it)."""
    out = model(**batch)
    loss = out.get("loss") if isinstance(out, dict) else getattr(out, "loss", None)
    if loss is None:
        raise ValueError("find_lr: the model's output has no .loss (a model given labels computes it)")
    return loss


class LRScopeCallback(TrainerCallback):
    """The convergence monitor on every optimizer step of a Hugging Face ``Trainer`` (see the module docstring).
    ``check_every``, ``diverge_factor``, ``reduce_factor`` and ``quiet_kinds`` are the monitor's."""

    def __init__(self, *, on_alarm: str | None = None, check_every: int = 200, diverge_factor: float = 10.0,
                 reduce_factor: float = 0.1, quiet_kinds=("slow",), verbose: bool = True, find_lr: bool = False,
                 budget: int | None = None, find_kw: dict | None = None, validation=None):
        Monitor(None, check_every=check_every, diverge_factor=diverge_factor, reduce_factor=reduce_factor,
                on_alarm=None if on_alarm == "reduce" else on_alarm, quiet_kinds=quiet_kinds)   # checks the arguments
        self.options = {"check_every": check_every, "diverge_factor": diverge_factor, "on_alarm": on_alarm,
                        "reduce_factor": reduce_factor, "quiet_kinds": quiet_kinds}
        self.verbose = verbose
        self.find_lr, self.budget, self.find_kw = find_lr, budget, dict(find_kw or {})
        if validation not in (None, False) and not isinstance(validation, torch.utils.data.DataLoader):
            raise TypeError(f"validation: expected a DataLoader (trainer.get_eval_dataloader()), None or False, got "
                            f"{type(validation).__name__}")
        self.validation = validation
        self.found = None
        self.monitor: Monitor | None = None
        self._losses: list[float] = []
        self._hook = None
        self._warned = False

    @property
    def alarms(self) -> list[Alarm]:
        return [] if self.monitor is None else self.monitor.alarms

    def on_train_begin(self, args, state, control, model=None, optimizer=None, lr_scheduler=None,
                       train_dataloader=None, **kwargs):
        if self.find_lr:
            val = self.validation if self.validation is not None else kwargs.get("eval_dataloader")
            self._find(args, state, model, optimizer, lr_scheduler, train_dataloader,
                       val if isinstance(val, torch.utils.data.DataLoader) else None)
        self.monitor = Monitor(optimizer, grad_norm_every=None, schedulers=[lr_scheduler] if lr_scheduler else [],
                               **self.options)
        self._losses = []

        def keep_the_loss(module, inputs, outputs):     # every training forward pass of the model
            loss = getattr(outputs, "loss", None) if not isinstance(outputs, dict) else outputs.get("loss")
            if module.training and loss is not None:
                self._losses.append(float(loss.detach()))
        self._hook = model.register_forward_hook(keep_the_loss)

    def _find(self, args, state, model, optimizer, scheduler, loader, val=None) -> None:
        """The verified finder on the Trainer's loader, optimizer and accumulation; then the pick becomes the rate
        of every param group and the scheduler's base rate (the schedule's factor at this step kept)."""
        from .torch.finder import lr_find
        if model is None or optimizer is None or loader is None:
            raise ValueError("find_lr: the Trainer gave no model, optimizer or training loader to the callback")
        budget = self.budget
        if budget is None and state.max_steps and state.max_steps > 0:
            budget = int(state.max_steps)
        kw = dict(self.find_kw)
        if val is not None and "val_loader" not in kw:
            kw["val_loader"] = WholeBatches(val)
        if "schedule" not in kw and scheduler is not None:       # verify the peak with the Trainer's own schedule
            kw["schedule"] = schedule_of(scheduler, budget)
        res = lr_find(OwnLoss(model, _model_loss), the_loss, WholeBatches(loader), optimizer, budget=budget,
                      accumulation_steps=args.gradient_accumulation_steps, **kw)
        set_peak_rate(optimizer, res.suggestion, [scheduler] if scheduler is not None else [])
        self.found = res
        if self.verbose:
            print(found_message(res))

    def on_step_end(self, args, state, control, **kwargs):
        if self.monitor is None:
            return
        if not self._losses:
            if not self.monitor.losses and not self._warned:       # said once: it would watch nothing
                self._warned = True
                warnings.warn("LRScopeCallback: the model's output has no .loss (a model given labels computes it; "
                              "a custom compute_loss is not seen), so there is nothing to monitor", stacklevel=2)
            return
        loss = sum(self._losses) / len(self._losses)        # the micro-batches of this optimizer step
        self._losses = []
        alarm = self.monitor.update(loss)
        if alarm is not None and self.verbose:
            print(f"lrscope: {alarm}")
        if self.monitor.should_stop:
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
