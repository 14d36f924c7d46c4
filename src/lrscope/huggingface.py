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

Needs ``transformers`` (``pip install 'lrscope[huggingface]'``).
"""

from __future__ import annotations

import warnings

try:
    from transformers import TrainerCallback
except ImportError:                                             # pragma: no cover - the extra is not installed
    raise ImportError("lrscope.huggingface needs transformers: pip install 'lrscope[huggingface]'") from None

from .torch.monitor import Alarm, Monitor


class LRScopeCallback(TrainerCallback):
    """The convergence monitor on every optimizer step of a Hugging Face ``Trainer`` (see the module docstring).
    ``check_every``, ``diverge_factor``, ``reduce_factor`` and ``quiet_kinds`` are the monitor's."""

    def __init__(self, *, on_alarm: str | None = None, check_every: int = 200, diverge_factor: float = 10.0,
                 reduce_factor: float = 0.1, quiet_kinds=("slow",), verbose: bool = True):
        Monitor(None, check_every=check_every, diverge_factor=diverge_factor, reduce_factor=reduce_factor,
                on_alarm=None if on_alarm == "reduce" else on_alarm, quiet_kinds=quiet_kinds)   # checks the arguments
        self.options = {"check_every": check_every, "diverge_factor": diverge_factor, "on_alarm": on_alarm,
                        "reduce_factor": reduce_factor, "quiet_kinds": quiet_kinds}
        self.verbose = verbose
        self.monitor: Monitor | None = None
        self._losses: list[float] = []
        self._hook = None
        self._warned = False

    @property
    def alarms(self) -> list[Alarm]:
        return [] if self.monitor is None else self.monitor.alarms

    def on_train_begin(self, args, state, control, model=None, optimizer=None, lr_scheduler=None, **kwargs):
        self.monitor = Monitor(optimizer, grad_norm_every=None, schedulers=[lr_scheduler] if lr_scheduler else [],
                               **self.options)
        self._losses = []

        def keep_the_loss(module, inputs, outputs):     # every training forward pass of the model
            loss = getattr(outputs, "loss", None) if not isinstance(outputs, dict) else outputs.get("loss")
            if module.training and loss is not None:
                self._losses.append(float(loss.detach()))
        self._hook = model.register_forward_hook(keep_the_loss)

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
