"""The LR range test on your own model, with the verified suggestion of :func:`lrscope.find` -- and no side effects.

    res = lr_find(model, loss_fn, train_loader, optimizer)     # a FindResult, as for core objectives
    res.suggestion, res.interval, res.methods
    res.plot(path="range.png")

Works with any ``torch.optim`` optimizer and several param groups (scaled together: each group keeps its ratio to
the first), gradient accumulation, autocast (AMP), and an optional validation loader for the curve. Afterwards the
model's parameters and buffers, the optimizer's state and hyperparameters and the random-number states are exactly
as before the call (bit-identical), also when it fails half way.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from ..checks import integer
from ..diagnose import smooth
from ..finder.pipeline import Curve, Kept, make_plan, recommend, unverified
from ..finder.range_test import BUDGET_ALL, DivergenceStop, FindResult
from ..finder.rules import read_curve
from ..finder.verify import EDGE, EDGE_PROBES, MAX_PROBES, PIECES, TIE, Tally, run_score, steady
from ._state import State, preserved_state, trainable_parameters
from .cluster import CandidateActors, check_backend
from .optimizers import kind_of, stability_limit
from .sharpness import sharpness

SCORE_BATCHES = 8        # a verification run is judged on at most this many fixed batches ...
SCORE_SAMPLES = 512      # ... or this many rows, whichever comes first


class _Trainer:
    """Runs optimizer steps on the user's model: accumulation, autocast, lr set on every group (kept in ratio)."""

    def __init__(self, model, loss_fn, loader, optimizer, accumulation_steps, autocast):
        self.model, self.loss_fn, self.loader, self.opt = model, loss_fn, loader, optimizer
        self.accumulation_steps, self.autocast = accumulation_steps, autocast
        first = optimizer.param_groups[0]["lr"]
        self.ratios = [g["lr"] / first if first else 1.0 for g in optimizer.param_groups]
        self.device = next(model.parameters()).device
        self._iter = None
        self.peak, self.factors, self.taken = None, None, 0     # a run that follows a schedule (``follow``)

    def batches(self):
        if self._iter is None:
            self._iter = iter(self.loader)
        try:
            return next(self._iter)
        except StopIteration:
            self._iter = iter(self.loader)
            try:
                return next(self._iter)
            except StopIteration:
                raise ValueError("train_loader: is empty") from None

    def restart(self):
        self._iter = None

    def set_lr(self, lr: float):
        for g, r in zip(self.opt.param_groups, self.ratios):
            g["lr"] = lr * r

    def follow(self, peak: float, factors: np.ndarray):
        """From now on, step t of this run is at ``peak`` × ``factors[t]`` (past their end, the last)."""
        self.peak, self.factors, self.taken = peak, factors, 0

    def step(self) -> float:
        if self.factors is not None:
            self.set_lr(self.peak * float(self.factors[min(self.taken, self.factors.size - 1)]))
            self.taken += 1
        self.model.train()
        self.opt.zero_grad()
        total = 0.0
        for _ in range(self.accumulation_steps):
            x, y = self.batches()[:2]
            ctx = (torch.autocast(device_type=self.device.type) if self.autocast else contextlib.nullcontext())
            with ctx:
                loss = self.loss_fn(self.model(x), y)
            (loss / self.accumulation_steps).backward()
            total += float(loss.detach()) / self.accumulation_steps
        if math.isfinite(total):
            self.opt.step()
        return total

    @torch.no_grad()
    def evaluate(self, loader, pieces: bool = False):
        """The mean loss over ``loader``'s examples; with ``pieces``, also the loss of each piece of the data --
        single examples, or up to ``PIECES`` equal groups of them in a large set (None where the loader shuffles,
        so that runs are not judged on the same examples in the same order, or the model's output has no leading
        batch axis) -- from which :func:`lrscope.finder.verify.standard_error` reads how far two runs' held-out
        losses may differ by the luck of the split."""
        was = self.model.training
        self.model.eval()
        total, count, parts = 0.0, 0, [] if pieces and _in_order(loader) else None
        size = _piece_size(loader)
        for batch in loader:
            x, y = batch[0], batch[1]
            out = self.model(x)
            total += float(self.loss_fn(out, y)) * x.shape[0]
            count += x.shape[0]
            if parts is not None:
                if not (isinstance(out, torch.Tensor) and out.shape[:1] == x.shape[:1] == y.shape[:1]):
                    parts = None
                else:
                    parts += [float(self.loss_fn(out[i:i + size], y[i:i + size])) for i in range(0, len(x), size)]
        self.model.train(was)
        if count == 0:
            raise ValueError("val_loader: is empty")
        if not pieces:
            return total / count
        return total / count, None if parts is None else np.asarray(parts, dtype=np.float64)


def _in_order(loader) -> bool:
    """Whether ``loader`` gives its examples in the same order every time: no sampler inside it (a batch sampler
    wraps one) is a RandomSampler or one that shuffles (a DistributedSampler's ``shuffle``)."""
    sampler = getattr(loader, "sampler", None)
    while sampler is not None:
        if isinstance(sampler, torch.utils.data.RandomSampler) or getattr(sampler, "shuffle", False):
            return False
        sampler = getattr(sampler, "sampler", None)
    return True


def _piece_size(loader) -> int:
    """Examples per piece of the held-out set: 1, or more where the set has over ``PIECES`` examples."""
    try:
        return max(1, -(-len(loader.dataset) // PIECES))
    except (AttributeError, TypeError):
        return 1


PAUSED_BYTES = 2 ** 30     # at most this much memory for the paused verification runs' copies


class _Paused:
    """A verification run stopped after some steps, ready to go on: its :class:`State` (parameters, buffers,
    optimizer state, random numbers, the loaders' generators) and the live batch iterator, so that a longer round
    continues it instead of training the same steps again, as one long run would."""

    def __init__(self, model, optimizer, loaders, trainer, history):
        self.state = State(model, optimizer, loaders, grads=False)     # the next step starts with zero_grad
        self.trainer, self.history = trainer, list(history)

    def resume(self, model, optimizer):
        """Put the run back into the model and optimizer (inside ``preserved_state``, which restores them after)."""
        self.state.restore(model, optimizer)
        return self.trainer, list(self.history)


def go_on(trainer, history: list, n_steps: int, on_step=None) -> int:
    """Train a run on until it has ``n_steps`` losses (or its loss is no longer finite): the steps taken."""
    done_before = len(history)
    while len(history) < n_steps and (not history or math.isfinite(history[-1])):
        history.append(trainer.step())
        if on_step is not None:
            on_step()
    return len(history) - done_before


class RunSettings:
    """What every verification run shares, wherever it runs (here or in a Ray actor): how a run starts, and how it
    is judged where it ended."""

    def __init__(self, seed, accumulation_steps, autocast, bound, val_loader, score_batches, factors=None):
        self.seed, self.accumulation_steps, self.autocast, self.bound = seed, accumulation_steps, autocast, bound
        self.val_loader, self.score_batches = val_loader, score_batches
        self.factors = factors      # the schedule every run follows: multipliers of its rate by step (None: constant)

    def fresh_run(self, model, loss_fn, train_loader, optimizer, lr) -> "_Trainer":
        """A run from the start: seeded, a new pass over the loader, the rate set (or the schedule followed)."""
        torch.manual_seed(self.seed)
        trainer = _Trainer(model, loss_fn, train_loader, optimizer, self.accumulation_steps, self.autocast)
        trainer.set_lr(float(lr))
        if self.factors is not None:
            trainer.follow(float(lr), self.factors)
        return trainer

    def judge(self, model, loss_fn, optimizer, trainer, history, lr, n_steps, final_round) -> tuple:
        """(the run's loss where it ended, whether it is capped, its held-out loss by piece or None): inf when it
        diverged; in the final rounds (and with held-out data) the loss on the same fixed batches for every rate --
        the mini-batch losses of its last steps are noisy and lag behind the model; above 2/λ_max at the start,
        capped when it is far past the bound measured where its run ended (the sanity cap)."""
        if len(history) < n_steps or not np.all(np.isfinite(history)):
            return np.inf, False, None
        pieces = None
        if self.val_loader is not None:
            final, pieces = trainer.evaluate(self.val_loader, pieces=True)
        elif final_round:
            final = trainer.evaluate(self.score_batches)
        else:
            final = run_score(history, first_round=True)
        capped = False
        if final_round and self.bound is not None and lr >= 0.99 * self.bound and np.isfinite(final):
            x, y = self.score_batches[0][:2]      # not the run's own next batch: it may go on later
            try:
                limit = stability_limit(optimizer, sharpness(model, loss_fn, (x, y), max_iter=20).lambda_max)
            except (ValueError, RuntimeError):
                limit = None
            capped = limit is not None and lr >= EDGE * limit
        return final, capped, pieces


def _score_batches(loader) -> list:
    """The fixed batches every verification run is judged on where it ended: the loader's first batches, up to
    ``SCORE_BATCHES`` of them or ``SCORE_SAMPLES`` rows."""
    batches, rows = [], 0
    for batch in loader:
        batches.append(batch)
        rows += len(batch[0])
        if len(batches) >= SCORE_BATCHES or rows >= SCORE_SAMPLES:
            break
    return batches


class ScalarLoss:
    """The user's ``loss_fn``, checked on every call: one number per batch, as a tensor (a per-example vector or a
    Python float cannot be trained on, and would otherwise fail deep inside torch)."""

    def __init__(self, loss_fn):
        self.loss_fn = loss_fn

    def __call__(self, predictions, targets):
        loss = self.loss_fn(predictions, targets)
        if not isinstance(loss, torch.Tensor):
            raise TypeError(f"loss_fn: must return the batch's loss as a tensor, got {type(loss).__name__} (return "
                            f"the tensor itself, not .item() or float())")
        if loss.numel() != 1:
            raise ValueError(f"loss_fn: must return one number per batch, got a tensor of shape {tuple(loss.shape)} "
                             f"(reduce it, e.g. .mean())")
        return loss.reshape(())


def lr_find(model: torch.nn.Module, loss_fn, train_loader, optimizer: torch.optim.Optimizer, *,
            start: float = 1e-7, end: float = 10.0, steps: int | None = None, mode: str = "exp", beta: float = 0.9,
            diverge_factor: float = 4.0, val_loader=None, accumulation_steps: int = 1, autocast: bool = False,
            verify: bool = True, verify_steps: int | None = None, final_steps: int | None = None,
            budget: int | None = None, seed: int = 0, progress=None, backend: str = "local",
            ray_options: dict | None = None, max_compute: float = BUDGET_ALL, schedule=None,
            keep_winner: bool = False) -> FindResult:
    """LR range test on ``model``: α from ``start`` to ``end`` over ``steps`` optimizer steps (exponential or
    linear; 100, or fewer with a short ``budget``: at most half of the whole call's compute), stopped when the
    smoothed loss passes ``diverge_factor`` × its best; then each rule's pick and a grid below the loss minimum are
    trained for ``verify_steps`` steps from the same starting state, the best third again
    for ``final_steps`` (default 4 × ``verify_steps``; with ``budget``, the optimizer steps you will train for,
    4% and 30% of it; the margin check then leaves out what would take the call past ``max_compute`` × the budget,
    1.5 by default); the one
    with the lowest loss is recommended after the margin check (:func:`lrscope.finder.verify_candidates`). A run
    asked for more steps goes on from where it stopped (its parameters, optimizer state, random numbers and batch
    stream are kept -- unless the loader has worker processes or the copies would pass ``PAUSED_BYTES``).
    ``progress(done, total)``, if given, is called after every optimizer step (``total`` is an upper bound until
    the end: the margin check's probes may not be needed).
    Everything is restored afterwards.

    ``schedule``: the schedule you will train with (``"cosine"``, ``"warmup_cosine"``, ``"linear"``,
    ``"one_cycle"``, ``"constant"``, a function ``f(step, total)`` or an lrscope Schedule;
    :mod:`lrscope.finder.schedule`): every verification run follows it over the finalists' horizon, the suggestion
    is the peak rate that trained best with it, and ``res.step_sizes`` (with a budget) that peak times the schedule
    over the budget -- set them per step, or build the same scheduler with ``res.suggestion`` as its peak.

    ``keep_winner=True``: instead of being restored, the model and optimizer (and the loaders' generators and the
    random numbers) are left where the recommended rate's verification run ended, ``res.trained_steps`` optimizer
    steps into training at that rate -- go on from there (``res.step_sizes[res.trained_steps:]``) and those steps
    are not lost. With a constant rate only (a schedule is verified compressed to the final round), and not with
    ``backend="ray"``; where that run was not kept (a loader with workers, a model too large to pause, a rate
    taken without a run of its own) the model is restored as usual and a note says why.

    ``backend="ray"``: the verification runs (both rounds, the probes, the edge search) run in Ray actors, each
    candidate rate's run with its own copy of the model, optimizer and loader, kept between rounds so that a longer
    round goes on from where it stopped. The answer is the local one for the same seed. ``ray_options``: each
    actor's resources (default ``{"num_cpus": 0}``, one thread each: as many actors as the cluster has CPUs, each
    holding several runs); actors that ask for a device share (e.g. ``{"num_gpus": 0.5}``) hold one run each -- for
    models whose copies do not fit side by side on one device -- and are refused up front when they cannot all be
    alive at once. Ray is started locally unless ``ray.init`` was
    called first (``address=`` a cluster)."""
    check_backend(backend)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
    mine = {id(p) for p in trainable_parameters(model)}
    if not any(id(p) in mine for g in optimizer.param_groups for p in g["params"]):
        raise ValueError("optimizer: none of its parameters is the model's (trainable ones) -- it was built over "
                         "another model (or a copy): build it over model.parameters()")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a function (predictions, targets) -> loss, got {type(loss_fn).__name__}")
    loss_fn = ScalarLoss(loss_fn)
    plan = make_plan(start=start, end=end, steps=steps, mode=mode, beta=beta, diverge_factor=diverge_factor,
                     verify=verify, verify_steps=verify_steps, final_steps=final_steps, budget=budget,
                     max_compute=max_compute, schedule=schedule, keep_winner=keep_winner)
    if keep_winner and backend == "ray":
        raise ValueError("keep_winner: not with backend='ray' (the verification runs live in the Ray actors)")
    integer(accumulation_steps, "accumulation_steps")
    tally = Tally(progress, plan.steps)         # the verification is planned once the candidates are known
    loaders = (train_loader, val_loader)
    with preserved_state(model, optimizer, loaders):
        curve, bound = _range_test(model, loss_fn, train_loader, optimizer, plan, val_loader, accumulation_steps,
                                   autocast, seed, tally)
    methods, cands, notes = read_curve(curve.lrs, curve.smoothed, plan.start, plan.end)
    if val_loader is not None:
        notes.append("the curve and the verification are read off the held-out loss (val_loader)")
    if not plan.verify:
        return unverified(curve, type(model).__name__, methods, cands, bound, notes, tally)
    with preserved_state(model, optimizer, loaders):       # the batches runs are judged on
        torch.manual_seed(seed)
        score_batches = _score_batches(train_loader)
    trainer = _ModelTrainer(model, loss_fn, train_loader, optimizer, cands.size, tally, backend, ray_options,
                            RunSettings(seed, accumulation_steps, autocast, bound, val_loader, score_batches))
    return recommend(trainer, plan, curve, methods, cands, notes, bound, tally)


def _range_test(model, loss_fn, train_loader, optimizer, plan, val_loader, accumulation_steps, autocast, seed,
                tally) -> tuple:
    """The range test on the model (one pass: α up the ramp, stopped when the smoothed loss blows up) and the
    stability bound from the sharpness on its first batch: (the :class:`Curve`, the bound or None)."""
    ramp = (np.geomspace(plan.start, plan.end, plan.steps) if plan.mode == "exp"
            else np.linspace(plan.start, plan.end, plan.steps))
    torch.manual_seed(seed)
    trainer = _Trainer(model, loss_fn, train_loader, optimizer, accumulation_steps, autocast)
    first_batch = trainer.batches()
    trainer.restart()
    try:
        lam = sharpness(model, loss_fn, (first_batch[0], first_batch[1]), max_iter=30).lambda_max
    except (ValueError, RuntimeError):
        lam = None
    bound = None if lam is None else stability_limit(optimizer, lam)
    raw, used, stop = [], 0, DivergenceStop(plan.beta, plan.diverge_factor)
    for t, lr in enumerate(ramp):
        trainer.set_lr(float(lr))
        loss = trainer.step()
        tally.add()
        used += accumulation_steps
        if val_loader is not None and math.isfinite(loss):
            loss = trainer.evaluate(val_loader)
        if t == 0 and not math.isfinite(loss):
            raise ValueError("model: the loss is not finite at the first step: the problem is not the "
                             "learning rate (check the data, the model and the loss function)")
        raw.append(loss)
        if stop(t, loss):
            break
    raw = np.asarray(raw, dtype=np.float64)
    smoothed = smooth(np.where(np.isfinite(raw), raw, np.nan), plan.beta)
    cut = int(np.argmin(np.isfinite(smoothed))) if not np.all(np.isfinite(smoothed)) else smoothed.size
    if cut < 5:
        raise ValueError(f"start: the loss blows up within {cut} steps; lower start (now {plan.start:g})")
    mean = smoothed[:cut]
    return Curve(ramp[:cut], raw[None, :cut], mean, np.vstack([mean, mean]), used, float(raw[0])), bound


class _ModelTrainer:
    """The pipeline's :class:`lrscope.finder.pipeline.Trainer` for a PyTorch model: each rate's run from the same
    state on the same batches, one after another (or in Ray actors), a run asked for more steps going on from where
    it stopped (its parameters, optimizer state, random numbers and batch stream kept: :class:`_Paused`) -- unless
    the loader has worker processes or the copies would pass ``PAUSED_BYTES``; everything restored after each."""

    subject, probes = "model", MAX_PROBES
    tie = TIE

    def __init__(self, model, loss_fn, loader, optimizer, n_cands, tally, backend, ray_options, settings):
        self.model, self.loss_fn, self.loader, self.optimizer = model, loss_fn, loader, optimizer
        self.tally, self.backend, self.ray_options, self.settings = tally, backend, ray_options, settings
        self.name, self.mini_batches = type(model).__name__, _mini_batches(loader)
        self.held_out = settings.val_loader is not None
        self.edge_probes = 0 if kind_of(optimizer)[0] == "adaptive" else EDGE_PROBES    # a sharp edge: SGD, momentum
        self.n_runs = n_cands + MAX_PROBES + EDGE_PROBES
        self.paused = {}     # rate -> _Paused: a run asked for more steps goes on from where it stopped
        # a live iterator must hold no worker processes, and the paused runs' copies (parameters, buffers and an
        # optimizer state of up to twice the parameters: Adam) must stay small; otherwise every run starts again
        size = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
        self.resumable = (getattr(loader, "num_workers", 0) == 0 and 3 * size * self.n_runs <= PAUSED_BYTES)
        self.actors = None

    @property
    def restarts(self) -> bool:
        return not self.resumable

    def prepare(self, final_steps, factors):
        self.settings.factors = factors
        if self.backend == "ray":
            self.actors = CandidateActors(self.model, self.optimizer, self.loss_fn, self.loader, self.settings,
                                          self.ray_options, candidates=self.n_runs)
            self.resumable = True           # every candidate's run lives in its own actor, with its own copies

    def _train(self, lr, n_steps, final_round):
        s, model, optimizer = self.settings, self.model, self.optimizer
        with preserved_state(model, optimizer, (self.loader, s.val_loader)):
            before = self.paused.get(float(lr))
            if before is not None and len(before.history) <= n_steps:
                trainer, history = before.resume(model, optimizer)
            else:
                trainer, history = s.fresh_run(model, self.loss_fn, self.loader, optimizer, lr), []
            spent = go_on(trainer, history, n_steps, self.tally.add) * s.accumulation_steps
            if self.resumable and np.all(np.isfinite(history)):
                self.paused[float(lr)] = _Paused(model, optimizer, (self.loader, s.val_loader), trainer, history)
            final, capped, pieces = s.judge(model, self.loss_fn, optimizer, trainer, history, lr, n_steps,
                                            final_round)
            return final, spent, capped, steady(history), pieces

    def round(self, rates, n_steps, final_round):
        if self.actors is not None:
            results = self.actors.round(rates, n_steps, final_round)
            self.tally.add(sum(r[1] for r in results) // self.settings.accumulation_steps)
        else:
            results = [self._train(lr, n_steps, final_round) for lr in rates]
        return (np.array([r[0] for r in results]), sum(r[1] for r in results),
                np.array([r[2] for r in results], dtype=bool), np.array([r[3] for r in results], dtype=bool),
                [r[4] for r in results])

    def keep(self, rate, going_on):
        kept = self.paused.get(float(rate))
        if kept is None:
            return None
        kept.state.restore(self.model, self.optimizer)
        kept.trainer.set_lr(going_on)
        return Kept(len(kept.history), f"keep_winner: the model and optimizer are where {rate:.3g}'s verification "
                                       f"run ended, {len(kept.history)} steps into training at that rate -- go on "
                                       f"from there" + (f" at {going_on:.3g}" if going_on != rate else ""))

    def close(self):
        if self.actors is not None:
            self.actors.close()


def _mini_batches(loader) -> bool:
    """Whether the loader gives more than one batch (a loader without a length is taken to)."""
    try:
        return len(loader) > 1
    except TypeError:
        return True
