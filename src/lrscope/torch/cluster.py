"""The finder's verification runs as Ray actors: every candidate learning rate's run has its own copy of the
model, the optimizer and the loader, kept between rounds so that a longer round goes on from where it stopped.
Actors that ask for a device share (``num_gpus``) or custom resources hold one run each -- for models whose copies
do not fit side by side on one device; CPU actors hold several runs each, as many actors as the cluster has CPUs
for them (starting an actor costs a process that imports torch, about 2 s: eight candidates on two cores took 16 s
to start, two actors take 4 s). Every run starts from the same snapshot (:class:`lrscope.torch._state.State`:
parameters, optimizer state, random numbers, the loaders' generators) and runs the same code as the local path
(:class:`lrscope.torch.finder.RunSettings`), so the answer is the local one.

Ray is started locally (``ray.init()``) unless it already is: call ``ray.init(address="auto")`` (or a cluster's
address) first to use a cluster. Needs ``ray`` (``pip install 'lrscope[ray]'``).
"""

from __future__ import annotations

import math
import pickle
import time

import numpy as np
import torch

from ._state import RandomNumbers, State
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
        steps spent, capped, steady, held-out loss by piece), as the local path's run."""
        from .finder import go_on
        s = self.settings
        if self.trainer is None or self.lr != lr or len(self.history) > n_steps \
                or not np.all(np.isfinite(self.history)):
            self.start.restore(self.model, self.optimizer)
            self.trainer = s.fresh_run(self.model, self.loss_fn, self.loader, self.optimizer, lr)
            self.history, self.lr = [], lr
        spent = go_on(self.trainer, self.history, n_steps) * s.accumulation_steps
        paused = State(self.model, self.optimizer, (self.loader, s.val_loader), grads=False)
        final, capped, pieces = s.judge(self.model, self.loss_fn, self.optimizer, self.trainer, self.history, lr,
                                        n_steps, final_round)
        paused.restore(self.model, self.optimizer)     # judging (evaluation, sharpness) leaves the run as it was
        return float(final), int(spent), bool(capped), bool(steady(self.history)), pieces


class CandidateHost:
    """An actor holding the runs of one or more candidate rates, each with its own copies (unpickled anew from the
    shared snapshot); between its turns a run's share of the process -- the torch, NumPy and Python random-number
    states -- is kept aside, so that each goes on as if the process were its own."""

    def __init__(self, shared, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        from ray import cloudpickle
        self.snapshot = cloudpickle.dumps(shared)
        self.runs: dict = {}

    def run(self, jobs) -> list:
        """Each (rate, steps, final_round) of ``jobs`` trained and judged in turn: :meth:`CandidateRun.run`'s
        results."""
        results = []
        for lr, n_steps, final_round in jobs:
            if lr not in self.runs:
                self.runs[lr] = [CandidateRun(pickle.loads(self.snapshot)), None]
            entry = self.runs[lr]
            if entry[1] is not None:
                entry[1].restore()
            results.append(entry[0].run(lr, n_steps, final_round))
            entry[1] = RandomNumbers()
        return results


class CandidateActors:
    """The actors of one ``lr_find`` call: created on first use, each rate's run pinned to one of them, a round
    asked of all at once."""

    def __init__(self, model, optimizer, loss_fn, loader, settings, options: dict | None = None,
                 candidates: int = 1):
        ray = self.ray = started_ray()
        # an actor holds what it asks for as long as it lives: by default it reserves no CPU and trains with one
        # thread, and there are as many as the cluster has CPUs (_slots)
        options = {"num_cpus": 0, **(options or {})}
        self.slots = self._slots(ray, options, candidates)
        self.remote = ray.remote(**options)(CandidateHost)
        start = State(model, optimizer, (loader, settings.val_loader))
        # one object for all: the model, the optimizer (whose parameters are the model's, in one pickle) and the
        # snapshot whose generators are the loaders' own
        self.shared = ray.put((model, optimizer, loss_fn, loader, settings, start))
        self.threads = threads_for(options)
        self.actors: list = []
        self.home: dict = {}            # rate → the index of the actor that holds its run
        self.rounds: list = []          # (rates, steps, seconds, of them starting actors) per round: the overhead

    @staticmethod
    def _slots(ray, options: dict, candidates: int) -> int:
        """How many actors to start: one per candidate where each asks for a device share or a custom resource
        (refused, before anything starts, when they cannot all be alive at once: they would wait forever); else
        as many as the cluster's CPUs hold (at least one: refused when one does not fit)."""
        total = ray.cluster_resources()
        cpus = float(options.get("num_cpus") or 0)
        devices = {"GPU": options.get("num_gpus", 0), **options.get("resources", {})}
        if any(devices.values()):
            for name, each in {"CPU": cpus, **devices}.items():
                if each and candidates * each > total.get(name, 0) + 1e-9:
                    raise ValueError(f"ray_options: {candidates} candidate runs × {each:g} {name} each do not fit "
                                     f"in the cluster's {total.get(name, 0):g} {name}: ask for less per actor")
            return candidates
        if cpus > total.get("CPU", 0) + 1e-9:
            raise ValueError(f"ray_options: an actor asks for {cpus:g} CPU, more than the cluster's "
                             f"{total.get('CPU', 0):g}: ask for less")
        fit = int(total.get("CPU", 1) // cpus) if cpus else int(total.get("CPU", 1))
        return max(1, min(candidates, fit))

    def round(self, rates, n_steps: int, final_round: bool) -> list:
        """Every rate trained to ``n_steps`` on its actor, the actors in parallel: their (loss, spent, capped,
        steady). A new rate goes to the actor with the fewest runs in this round."""
        t0 = time.perf_counter()
        jobs: dict = {}
        started = 0
        for lr in rates:
            key = float(lr)
            if key not in self.home:
                if len(self.actors) < self.slots:
                    self.actors.append(self.remote.remote(self.shared, self.threads))
                    started += 1
                    self.home[key] = len(self.actors) - 1
                else:
                    self.home[key] = min(range(len(self.actors)), key=lambda a: len(jobs.get(a, ())))
            jobs.setdefault(self.home[key], []).append((key, int(n_steps), bool(final_round)))
        hosts = list(jobs)
        answers = self.ray.get([self.actors[h].run.remote(jobs[h]) for h in hosts])
        found = {job[0]: result for h, answer in zip(hosts, answers) for job, result in zip(jobs[h], answer)}
        self.rounds.append((len(rates), int(n_steps), time.perf_counter() - t0, started))
        results = [found[float(lr)] for lr in rates]
        return [(v if math.isfinite(v) else math.inf, n, c, calm, pieces) for v, n, c, calm, pieces in results]

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors, self.home = [], {}
