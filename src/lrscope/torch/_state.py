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


@contextlib.contextmanager
def preserved_state(model: torch.nn.Module, optimizer=None, loaders=()):
    """Snapshot everything a measurement or a trial run could change, and put it back afterwards -- also when the
    body fails half way: parameter values, buffers, ``.grad``, train/eval mode, the optimizer's state and
    hyperparameters, the torch, NumPy and Python random-number states, and the generators ``loaders`` shuffle
    with (so every trial run sees the same batches, and the user's next epoch is the one it would have been)."""
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    grads = {name: (None if p.grad is None else p.grad.detach().clone()) for name, p in model.named_parameters()}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    modes = {name: m.training for name, m in model.named_modules()}
    opt_state = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    np_rng = np.random.get_state()
    py_rng = random.getstate()
    generators = [g for loader in loaders if loader is not None for g in loader_generators(loader)]
    generator_states = [g.get_state() for g in generators]
    try:
        yield
    finally:
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(params[name])
                p.grad = None if grads[name] is None else grads[name].clone()
            for name, b in model.named_buffers():
                if name in buffers:
                    b.copy_(buffers[name])
        for name, m in model.named_modules():
            m.training = modes[name]
        if optimizer is not None:
            optimizer.load_state_dict(opt_state)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        np.random.set_state(np_rng)
        random.setstate(py_rng)
        for g, state in zip(generators, generator_states):
            g.set_state(state)
