"""lrscope inside a Lightning ``Trainer``: the convergence monitor on every training step, as a callback.

    import lightning as L
    from lrscope.lightning import LRScope

    trainer = L.Trainer(max_epochs=5, callbacks=[LRScope(on_alarm="stop")])
    trainer.fit(model, train_loader)

Every training step's loss goes to :class:`lrscope.torch.monitor.Monitor` (the same verdicts, reasons and advice as
the core). An alarm is printed once, logged through the Trainer's logger (``lrscope/alarm``: 1 diverged,
2 oscillating, 3 converged, 4 slow) and kept in ``callback.alarms``; the progress bar shows the monitor's latest
verdict code and, when tracked, λ_max against 2/α. ``on_alarm="stop"`` stops the Trainer cleanly at a divergence;
``"reduce"`` multiplies the learning rate of every optimizer (and the base rate of its scheduler, so the schedule
keeps the lower rate) by ``reduce_factor`` at a divergence or oscillation. With ``sharpness_every=N``, ``loss_fn``
and ``sharpness_data`` (a batch ``(x, y)``; the module's ``forward`` gives the predictions) λ_max is measured every N
steps: the edge of stability, λ_max rising towards 2/α.

With ``find_lr=True`` the verified finder (:func:`lrscope.torch.lr_find`) runs when training starts, sized from the
Trainer's own number of steps (or ``budget``), on the Trainer's training loader and first optimizer, judging the
module's own ``training_step`` loss (its ``self.log`` calls are silenced meanwhile) -- or, given ``loss_fn``,
``loss_fn(forward(x), y)`` on batches ``(x, y)``; the model, the optimizer and the random-number states are put back
exactly, then every param group's rate is set to the pick (keeping the groups' ratios, and the schedulers' base
rates with them). ``callback.found`` holds the result. As Lightning's ``Tuner.lr_find``: one line, but a verified
answer. Where the Trainer has a validation DataLoader, the finder reads its curve and verification off the loss on
it (``validation=None``, the default; ``True`` insists on one, ``False`` uses the training loss): a rate that
trains well but generalizes worse is not picked (docs/finder.md, the population benchmark).

Needs ``lightning`` (``pip install 'lrscope[lightning]'``).
"""

from __future__ import annotations

import contextlib
import math

try:
    import lightning as L
    import torch
except ImportError:                                             # pragma: no cover - the extra is not installed
    raise ImportError("lrscope.lightning needs Lightning: pip install 'lrscope[lightning]'") from None

from .torch.monitor import Alarm, Monitor
from .torch.optimizers import set_peak_rate

ALARM_CODES = {"diverged": 1, "oscillating": 2, "converged": 3, "slow": 4, "unbounded": 5}


def _training_step_loss(module, batch):
    """A LightningModule's own loss: what its ``training_step`` returns (a tensor, or a dict with ``"loss"``)."""
    out = module.training_step(batch, 0)
    loss = out.get("loss") if isinstance(out, dict) else out
    if not isinstance(loss, torch.Tensor):
        raise ValueError("find_lr: training_step returned no loss tensor (return the loss, or give loss_fn)")
    return loss


@contextlib.contextmanager
def _quiet_logging(module):
    """``self.log`` / ``self.log_dict`` do nothing while the finder calls ``training_step`` outside the loop."""
    module.log, module.log_dict = (lambda *a, **k: None), (lambda *a, **k: None)
    try:
        yield
    finally:
        del module.log, module.log_dict


class LRScope(L.Callback):
    """The convergence monitor on every training step of a Lightning ``Trainer`` (see the module docstring).
    ``check_every``, ``diverge_factor``, ``reduce_factor``, ``quiet_kinds`` are the monitor's; ``verbose`` prints
    each alarm once."""

    def __init__(self, *, on_alarm: str | None = None, check_every: int = 200, diverge_factor: float = 10.0,
                 reduce_factor: float = 0.1, sharpness_every: int | None = None, loss_fn=None, sharpness_data=None,
                 quiet_kinds=("slow",), verbose: bool = True, find_lr: bool = False, budget: int | None = None,
                 find_kw: dict | None = None, validation: bool | None = None):
        super().__init__()
        # the monitor checks its own arguments; built here once without an optimizer to fail early on bad input
        Monitor(None, check_every=check_every, diverge_factor=diverge_factor, reduce_factor=reduce_factor,
                sharpness_every=sharpness_every, loss_fn=loss_fn, sharpness_data=sharpness_data,
                on_alarm=None if on_alarm == "reduce" else on_alarm, quiet_kinds=quiet_kinds)
        self.options = {"check_every": check_every, "diverge_factor": diverge_factor, "on_alarm": on_alarm,
                        "reduce_factor": reduce_factor, "sharpness_every": sharpness_every, "loss_fn": loss_fn,
                        "sharpness_data": sharpness_data, "quiet_kinds": quiet_kinds}
        self.verbose = verbose
        self.find_lr, self.budget, self.find_kw = find_lr, budget, dict(find_kw or {})
        if validation not in (None, True, False):
            raise TypeError(f"validation: expected None, True or False, got {validation!r}")
        self.validation = validation
        self.monitor: Monitor | None = None
        self.found = None

    @property
    def alarms(self) -> list[Alarm]:
        return [] if self.monitor is None else self.monitor.alarms

    def on_train_start(self, trainer, pl_module) -> None:
        if self.find_lr:
            self._find(trainer, pl_module)
        optimizers = trainer.optimizers
        self.monitor = Monitor(optimizers[0] if optimizers else None, grad_norm_every=100,
                               schedulers=[c.scheduler for c in trainer.lr_scheduler_configs], **self.options)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None or self.monitor is None:
            return
        lr_before = [g["lr"] for opt in trainer.optimizers for g in opt.param_groups]
        alarm = self.monitor.update(loss.detach(), pl_module)
        if alarm is not None:
            if alarm.action and alarm.action.startswith("lr"):
                self._reduce_the_others(trainer, lr_before)
            pl_module.log("lrscope/alarm", float(ALARM_CODES.get(alarm.verdict.kind, 0)), on_step=True,
                          prog_bar=True)
            if self.verbose:
                print(f"lrscope: {alarm}")
        if self.monitor.sharpness:
            step, lam, lr = self.monitor.sharpness[-1]
            if step == self.monitor.step - 1 and math.isfinite(lam):
                pl_module.log("lrscope/lambda_max", lam, on_step=True, prog_bar=True)
                if lr and math.isfinite(lr):
                    pl_module.log("lrscope/lambda_max_x_lr_over_2", lam * lr / 2, on_step=True)
        if self.monitor.should_stop:
            trainer.should_stop = True

    def _find(self, trainer, pl_module) -> None:
        """The verified finder on the Trainer's loader and first optimizer; then the pick becomes the rate."""
        from .torch.finder import lr_find
        from .torch.whole_batches import OwnLoss, WholeBatches, found_message, the_loss
        loader = trainer.train_dataloader
        if not isinstance(loader, torch.utils.data.DataLoader):
            raise ValueError("find_lr: needs one training DataLoader (the Trainer has "
                             f"{type(loader).__name__})")
        optimizer = trainer.optimizers[0]
        budget = self.budget
        if budget is None:
            steps = trainer.estimated_stepping_batches
            budget = int(steps) if math.isfinite(steps) else None
        kw = dict(self.find_kw)
        val = None if "val_loader" in kw else self._validation_loader(trainer)
        if self.options["loss_fn"] is not None:
            res = lr_find(pl_module, self.options["loss_fn"], loader, optimizer, budget=budget,
                          **({"val_loader": val} if val is not None else {}), **kw)
        else:                           # the module's own loss: its training_step on the whole batch
            from lightning.fabric.utilities.apply_func import move_data_to_device
            prepare = lambda b: move_data_to_device(b, pl_module.device)         # noqa: E731
            if val is not None:
                kw["val_loader"] = WholeBatches(val, prepare)
            with _quiet_logging(pl_module):
                res = lr_find(OwnLoss(pl_module, _training_step_loss), the_loss, WholeBatches(loader, prepare),
                              optimizer, budget=budget, **kw)
        set_peak_rate(optimizer, res.suggestion, [c.scheduler for c in trainer.lr_scheduler_configs
                                                  if getattr(c.scheduler, "optimizer", None) is optimizer])
        self.found = res
        if self.verbose:
            print(found_message(res))

    def _validation_loader(self, trainer):
        """The Trainer's (first) validation DataLoader, unless ``validation=False``; None where it has none."""
        if self.validation is False:
            return None
        loaders = trainer.val_dataloaders
        if isinstance(loaders, (list, tuple)):
            loaders = loaders[0] if loaders else None
        if isinstance(loaders, dict):
            loaders = next(iter(loaders.values()), None)
        if not isinstance(loaders, torch.utils.data.DataLoader):
            if self.validation:
                raise ValueError("validation=True: the Trainer has no validation DataLoader (give val_dataloaders "
                                 "to fit, or validation=False)")
            return None
        return loaders

    def _reduce_the_others(self, trainer, lr_before) -> None:
        """The monitor lowered its own optimizer's rate (and every scheduler's base rates): lower every other
        optimizer's by the same factor."""
        factor = self.options["reduce_factor"]
        groups = [g for opt in trainer.optimizers for g in opt.param_groups]
        first = set(id(g) for g in trainer.optimizers[0].param_groups)
        for g, before in zip(groups, lr_before):
            if id(g) not in first:
                g["lr"] = before * factor
