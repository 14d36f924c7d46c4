"""Leaving a user's model exactly as it was: parameters, buffers, gradients, mode, optimizer state and RNG states."""

from __future__ import annotations

import contextlib
import copy
import random

import numpy as np
import torch


def trainable_parameters(model: torch.nn.Module) -> list:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model: has no trainable parameters")
    return params


def loader_generators(loader) -> list:
    """The random-number generators a DataLoader shuffles with when it was given its own (``generator=``): on the
    loader, its sampler, its batch sampler's sampler -- each once."""
    found = []
    for owner in (loader, getattr(loader, "sampler", None),
                  getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        gen = getattr(owner, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found


class RandomNumbers:
    """The process's random-number states -- torch's (CPU and CUDA), NumPy's and Python's -- taken now and put back
    with :meth:`restore`."""

    def __init__(self):
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        self.np = np.random.get_state()
        self.py = random.getstate()

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
        np.random.set_state(self.np)
        random.setstate(self.py)


class State:
    """Everything a trial run can change, taken from a model, its optimizer and loaders, and put back with
    :meth:`restore`: parameter values, buffers, train/eval mode, the optimizer's state and hyperparameters, the
    torch (CPU and CUDA), NumPy and Python random-number states, the generators the loaders shuffle with, and --
    unless ``grads=False`` (a paused run that will call ``zero_grad`` first) -- the ``.grad`` of every parameter."""

    def __init__(self, model: torch.nn.Module, optimizer=None, loaders=(), grads: bool = True):
        self.params = {name: p.detach().clone() for name, p in model.named_parameters()}
        self.grads = None if not grads else {name: (None if p.grad is None else p.grad.detach().clone())
                                             for name, p in model.named_parameters()}
        self.buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
        self.modes = {name: m.training for name, m in model.named_modules()}
        self.opt_state = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
        self.random = RandomNumbers()
        self.generators = [(g, g.get_state()) for loader in loaders if loader is not None
                           for g in loader_generators(loader)]

    def restore(self, model: torch.nn.Module, optimizer=None) -> None:
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(self.params[name])
                if self.grads is not None:
                    p.grad = None if self.grads[name] is None else self.grads[name].clone()
            for name, b in model.named_buffers():
                if name in self.buffers:
                    b.copy_(self.buffers[name])
        for name, m in model.named_modules():
            m.training = self.modes[name]
        if optimizer is not None:
            optimizer.load_state_dict(self.opt_state)
        self.random.restore()
        for g, state in self.generators:
            g.set_state(state)


@contextlib.contextmanager
def preserved_state(model: torch.nn.Module, optimizer=None, loaders=()):
    """Snapshot everything a measurement or a trial run could change (:class:`State`), and put it back afterwards
    -- also when the body fails half way (so every trial run sees the same batches, and the user's next epoch is the
    one it would have been)."""
    saved = State(model, optimizer, loaders)
    try:
        yield
    finally:
        saved.restore(model, optimizer)
