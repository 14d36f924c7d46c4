"""The finder on a framework's own loss: a batch passed whole (a dict for Hugging Face, whatever a Lightning
``training_step`` takes) and a loss computed by the framework's code, in the ``(inputs, targets)`` shape that
:func:`lrscope.torch.lr_find` trains on. The wrapped loss is what the "model" returns; the targets are ignored."""

from __future__ import annotations

import torch


class WholeBatch:
    """A batch as the finder's inputs: passed on whole, and it knows its number of rows (for weighted means)."""

    def __init__(self, batch):
        self.batch = batch
        values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (tuple, list)) else [batch]
        self.shape = (next((v.shape[0] for v in values if isinstance(v, torch.Tensor) and v.dim() > 0), 1),)

    def __len__(self) -> int:
        return self.shape[0]


class WholeBatches:
    """A loader's batches as (WholeBatch, rows): what the finder iterates. The loader's sampler, generator and
    worker count are its own, so its shuffling state is saved and put back with the model's."""

    def __init__(self, loader, prepare=None):
        self.loader, self.prepare = loader, prepare

    def __iter__(self):
        for batch in self.loader:
            whole = WholeBatch(batch if self.prepare is None else self.prepare(batch))
            yield whole, torch.zeros(len(whole))

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):
        if name in ("loader", "prepare"):
            raise AttributeError(name)
        return getattr(self.loader, name)


class OwnLoss(torch.nn.Module):
    """``module``'s own loss on a whole batch, ``loss_of(module, batch)``, as what the finder's model returns (the
    module is a submodule: its parameters are the ones trained, snapshotted and put back)."""

    def __init__(self, module: torch.nn.Module, loss_of):
        super().__init__()
        self.module, self.loss_of = module, loss_of

    def forward(self, inputs: WholeBatch):
        return self.loss_of(self.module, inputs.batch)


def found_message(res) -> str:
    """What a framework's callback prints once it has set the finder's pick: the rate and why -- and, where the
    finder also gave a rate for every step (a cooldown), that the trainer's own schedule is what stays in force."""
    kept = ("" if res.step_sizes is None else "; the Trainer's own schedule is kept (lrscope's rate for every step: "
            "callback.found.step_sizes)")
    return f"lrscope: learning rate set to {res.suggestion:.3g} (verified; {res.reason}){kept}"


def the_loss(loss, _rows):
    """The loss function of an :class:`OwnLoss`: its output already is the loss."""
    return loss
