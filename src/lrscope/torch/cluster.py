"""The finder's verification runs as Ray actors: one per candidate learning rate, each holding its own copy of the
model, the optimizer and the loader, kept between rounds so that a longer round goes on from where it stopped --
for models whose copies do not fit side by side on one device. Every actor starts from the same snapshot
(:class:`lrscope.torch._state.State`: parameters, optimizer state, random numbers, the loaders' generators) and runs
the same code as the local path (:class:`lrscope.torch.finder.RunSettings`), so the answer is the local one.

Ray is started locally (``ray.init()``) unless it already is: call ``ray.init(address="auto")`` (or a cluster's
address) first to use a cluster. Needs ``ray`` (``pip install 'lrscope[ray]'``).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ._state import State
from ..finder.verify import steady


BACKENDS = ("local", "ray")


def check_backend(backend) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected 'local' or 'ray', got {backend!r}")


def started_ray():
    """The ``ray`` module, started on this machine unless ``ray.init`` was called already (a cluster)."""
    try:
        import ray
    except ImportError:
        raise ImportError("backend: 'ray' needs Ray: pip install 'lrscope[ray]'") from None
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray


def threads_for(options: dict) -> int:
    """The torch threads of an actor or task: the CPUs it reserves (one when it reserves none)."""
    return max(1, int(options.get("num_cpus") or 1))


class CandidateRun:
    """One candidate rate's run inside an actor: (re)started from the shared snapshot, trained on, judged."""

    def __init__(self, shared, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.model, self.optimizer, self.loss_fn, self.loader, self.settings, self.start = shared
        self.trainer, self.history, self.lr = None, [], None

    def run(self, lr: float, n_steps: int, final_round: bool) -> tuple:
        """Train this rate to ``n_steps`` steps (going on from where it stopped when it can), then judge it: (loss,
        steps spent, capped, steady), as the local path's run."""
        from .finder import go_on
        s = self.settings
        if self.trainer is None or self.lr != lr or len(self.history) > n_steps \
                or not np.all(np.isfinite(self.history)):
            self.start.restore(self.model, self.optimizer)
            self.trainer = s.fresh_run(self.model, self.loss_fn, self.loader, self.optimizer, lr)
            self.history, self.lr = [], lr
        spent = go_on(self.trainer, self.history, n_steps) * s.accumulation_steps
        paused = State(self.model, self.optimizer, (self.loader, s.val_loader), grads=False)
        final, capped = s.judge(self.model, self.loss_fn, self.optimizer, self.trainer, self.history, lr, n_steps,
                                final_round)
        paused.restore(self.model, self.optimizer)     # judging (evaluation, sharpness) leaves the run as it was
        return float(final), int(spent), bool(capped), bool(steady(self.history))


class CandidateActors:
    """The actors of one ``lr_find`` call: created on first use of a rate, asked for a round all at once."""

    def __init__(self, model, optimizer, loss_fn, loader, settings, options: dict | None = None,
                 candidates: int = 1):
        ray = self.ray = started_ray()
        # an actor holds what it asks for as long as it lives, and every candidate of the first round is alive at
        # once: by default they reserve no CPU (each trains with one thread), so that they fit wherever they run
        options = {"num_cpus": 0, **(options or {})}
        self._check_fits(ray, options, candidates)
        self.remote = ray.remote(**options)(CandidateRun)
        start = State(model, optimizer, (loader, settings.val_loader))
        # one object for all: the model, the optimizer (whose parameters are the model's, in one pickle) and the
        # snapshot whose generators are the loaders' own
        self.shared = ray.put((model, optimizer, loss_fn, loader, settings, start))
        self.threads = threads_for(options)
        self.actors: dict = {}
        self.rounds: list = []          # (rates, steps, seconds, of them starting actors) per round: the overhead

    @staticmethod
    def _check_fits(ray, options: dict, candidates: int) -> None:
        """Refuse, before anything starts, actors that cannot all be alive at once (they would wait forever)."""
        total = ray.cluster_resources()
        wanted = {"CPU": options.get("num_cpus", 0), "GPU": options.get("num_gpus", 0),
                  **options.get("resources", {})}
        for name, each in wanted.items():
            if each and candidates * each > total.get(name, 0) + 1e-9:
                raise ValueError(f"ray_options: {candidates} candidate runs × {each:g} {name} each do not fit in the "
                                 f"cluster's {total.get(name, 0):g} {name}: ask for less per actor")

    def round(self, rates, n_steps: int, final_round: bool) -> list:
        """Every rate trained to ``n_steps`` in its own actor, in parallel: their (loss, spent, capped, steady)."""
        t0 = time.perf_counter()
        calls, new = [], []
        for lr in rates:
            key = float(lr)
            if key not in self.actors:
                self.actors[key] = self.remote.remote(self.shared, self.threads)
                new.append(self.actors[key])
            calls.append(self.actors[key].run.remote(key, int(n_steps), bool(final_round)))
        results = self.ray.get(calls)
        self.rounds.append((len(calls), int(n_steps), time.perf_counter() - t0, len(new)))
        return [(v if math.isfinite(v) else math.inf, n, c, calm) for v, n, c, calm in results]

    def close(self) -> None:
        for actor in self.actors.values():
            self.ray.kill(actor)
        self.actors = {}
