"""Many learning rates trained at once on your own ``nn.Module``: K copies in one vectorized pass.

The K copies' parameters are stacked along a new leading axis (``torch.func.stack_module_state``); one training step
is ``vmap(grad(loss ∘ functional_call))`` over the copies -- every copy sees the same batch; for a plain MLP
(``nn.Sequential`` of Linear layers and activations) the copies' layers are batched matrix products instead, which
is faster -- followed by the
optimizer's update written as tensor arithmetic on the stacked parameters (the core's gradient descent, momentum in
either form, Nesterov, Adam and AdamW -- the formulas of ``torch.optim`` and of the course's EMA momentum -- with a
per-copy learning rate). The result is the core's :class:`SweepResult`, so
verdicts, plots, the CLI and the explorer work on it unchanged. Models that ``vmap`` cannot handle (e.g. BatchNorm in
training mode) fall back to K sequential ``torch.optim`` runs, with a warning.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from .. import optim as core_optim
from ..checks import integer
from ..diagnose import judge
from ..objectives.base import Objective
from ..run import SweepResult
from ._state import trainable_parameters
from .cluster import check_backend, started_ray, threads_for
from .optimizers import torch_optimizer

OPTIMIZERS = ("gd", "sgd", "momentum", "nesterov", "adam", "adamw")     # the core's names; each the same update
MIN_EVALUATIONS = 20        # fewer full-loss evaluations than this: the verdicts read the batch losses


class ModelObjective(Objective):
    """Describes a PyTorch model's training loss inside a :class:`SweepResult` (evaluation happens in torch)."""

    def __init__(self, model, n_samples):
        self.name = type(model).__name__
        flat = torch.cat([p.detach().reshape(-1) for p in trainable_parameters(model)]).cpu().double().numpy()
        self.x0 = flat
        self.variables = tuple(name for name, p in model.named_parameters() if p.requires_grad)
        self.n_samples = n_samples

    def value_and_grad(self, params, rows=None):
        raise NotImplementedError("a PyTorch model is evaluated with lrscope.torch, not the NumPy core")


def _as_batches(data, batch_size, generator):
    """Batches for one epoch: from a DataLoader as it comes, or from (X, y) tensors in a shuffled order."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        X, y = data
        n = X.shape[0]
        if batch_size is None:
            return [(X, y)]
        order = torch.randperm(n, generator=generator)
        return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, n, batch_size)]
    return [(b[0], b[1]) for b in data]


def _spec(optimizer, hyper: dict, k: int, dtype, device):
    """The core optimizer (``optimizer`` itself, or the one named, with ``hyper`` -- checked by the core's own
    factory: the same ranges on every path) and its hyperparameters as (K,) tensors."""
    if isinstance(optimizer, core_optim.Optimizer):
        if hyper:
            raise ValueError(f"{next(iter(hyper))}: give the hyperparameters to the optimizer itself")
        name = optimizer.family
    else:
        name = optimizer
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")
    if not isinstance(optimizer, core_optim.Optimizer):
        optimizer = core_optim.get(name, **hyper)
    if "amsgrad" in optimizer.variants:
        raise ValueError("amsgrad: not available in lrscope.torch.sweep")
    exact = optimizer.per_config(k)
    return optimizer, {key: torch.as_tensor(v, dtype=dtype, device=device) for key, v in exact.items()}


SGD_KINDS = ("gd", "ema_momentum", "heavy_ball", "nesterov")


def _stack_kind(optimizer) -> str:
    """Which update the stacked optimizer runs for a core optimizer."""
    return optimizer.kind if optimizer.kind != "adaptive" else optimizer.family


def _shape(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


class _StackedOptimizer:
    """torch.optim's SGD (momentum, dampening, Nesterov, weight decay) and Adam/AdamW, on stacked parameters.

    Hyperparameters are per copy: each is kept as a (K, 1, ..., 1) view per parameter shape, made once; the updates
    are in place.
    """

    def __init__(self, kind, hp, params, lr):
        self.kind, self.t = kind, 0       # kind: gd, ema_momentum, heavy_ball, nesterov, adam or adamw
        self.state = {name: {} for name in params}
        self.views = {}
        for name, p in params.items():
            v = {key: _shape(val, p) for key, val in hp.items()}
            v["lr"] = _shape(lr, p)
            v["neg_lr"] = -v["lr"]
            if kind in SGD_KINDS:
                beta = v.get("beta", torch.zeros_like(v["lr"]))
                v["beta"] = beta
                v["keep"] = 1 - (beta if kind == "ema_momentum" else v.get("dampening", torch.zeros_like(beta)))
                v["use_momentum"] = kind != "gd" and bool((hp["beta"] > 0).any())
                v["use_wd"] = bool((hp["weight_decay"] > 0).any())
            else:
                v["one_minus_b1"], v["one_minus_b2"] = 1 - v["beta1"], 1 - v["beta2"]
                v["decay"] = 1 - v["lr"] * v["weight_decay"]
                v["use_wd"] = bool((hp["weight_decay"] > 0).any())
            self.views[name] = v

    @torch.no_grad()
    def step(self, params, grads):
        self.t += 1
        for name, p in params.items():
            g, st, v = grads[name], self.state[name], self.views[name]
            if self.kind in SGD_KINDS:
                if v["use_wd"]:
                    g = g + v["weight_decay"] * p
                if v["use_momentum"]:
                    if "buf" not in st:     # torch's forms start at b = g; the course's EMA at v = 0
                        st["buf"] = v["keep"] * g if self.kind == "ema_momentum" else g.clone()
                    else:
                        st["buf"].mul_(v["beta"]).addcmul_(v["keep"], g)
                    g = g + v["beta"] * st["buf"] if self.kind == "nesterov" else st["buf"]
                p.addcmul_(v["neg_lr"], g)
            else:
                if self.kind == "adamw" and v["use_wd"]:
                    p.mul_(v["decay"])
                elif v["use_wd"]:
                    g = g + v["weight_decay"] * p
                if "m" not in st:
                    st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p)
                st["m"].mul_(v["beta1"]).addcmul_(v["one_minus_b1"], g)
                st["v"].mul_(v["beta2"]).addcmul_(v["one_minus_b2"], g * g)
                bc1, bc2 = 1 - v["beta1"] ** self.t, (1 - v["beta2"] ** self.t).sqrt()
                p.addcdiv_(st["m"] * (v["neg_lr"] / bc1), st["v"].sqrt().div_(bc2).add_(v["eps"]))


def sweep(model: torch.nn.Module, loss_fn, data, lrs, *, optimizer: str = "gd", epochs: int = 1,
          batch_size: int | None = None, seed: int = 0, eval_every: int | None = None, vectorize: bool | None = None,
          backend: str = "local", ray_options: dict | None = None, **hyperparams) -> SweepResult:
    """Train K copies of ``model`` (all starting from its current weights) at the K learning rates ``lrs``.

    ``data``: a DataLoader (its batches are used as they come, the same for every copy) or ``(X, y)`` tensors
    (shuffled with ``seed``, ``batch_size`` rows per step). ``optimizer``: a core optimizer (``ls.optim.adam()``) or
    its name: ``gd`` (or ``sgd``), ``momentum``,
    ``nesterov``, ``adam`` or ``adamw``, with the hyperparameters of :mod:`lrscope.optim` (``beta``, ``form``,
    ``dampening``, ``beta1``, ``beta2``, ``eps``, ``weight_decay``), each a number or one per learning rate: the same
    name is the same update as in the core (``momentum`` is the course's EMA form unless ``form="heavy_ball"``,
    which is ``torch.optim.SGD(momentum=beta)``). The model itself is not changed.
    ``losses`` are the full training loss (evaluated every ``eval_every`` steps, default once an epoch);
    ``batch_losses`` the loss of every step; the verdicts read the batch losses when the full loss was evaluated
    fewer than 20 times.

    ``backend="ray"``: each configuration is a Ray task with its own copy of the model, trained with ``torch.optim``
    (for models whose K copies do not fit side by side on one device); the same numbers as ``vectorize=False`` up
    to floating-point grouping. ``ray_options``: each task's resources (default ``{"num_cpus": 1}``).
    """
    check_backend(backend)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    trainable_parameters(model)
    lr_arr = np.atleast_1d(np.asarray(lrs, dtype=np.float64))
    if lr_arr.ndim != 1 or lr_arr.size == 0:
        raise ValueError("lrs: expected a non-empty list of learning rates")
    if not np.all(np.isfinite(lr_arr)) or np.any(lr_arr <= 0):
        raise ValueError(f"lrs: every learning rate must be > 0, got {lrs!r}")
    integer(epochs, "epochs")
    K = lr_arr.size
    first = next(iter(model.parameters()))
    dtype, device = first.dtype, first.device
    core, hp = _spec(optimizer, hyperparams, K, dtype, device)
    kind = _stack_kind(core)
    generator = torch.Generator().manual_seed(seed)
    epoch_batches = [_as_batches(data, batch_size, generator) for _ in range(epochs)]
    if not epoch_batches[0]:
        raise ValueError("data: has no batches")
    x_all = torch.cat([b[0] for b in epoch_batches[0]])
    y_all = torch.cat([b[1] for b in epoch_batches[0]])
    if x_all.shape[0] != y_all.shape[0]:
        raise ValueError(f"data: {x_all.shape[0]} inputs but {y_all.shape[0]} targets")
    steps_per_epoch = len(epoch_batches[0])
    steps = sum(len(b) for b in epoch_batches)
    # the full training loss once an epoch by default (a full pass costs as much as many training steps); the
    # verdicts then read the per-step batch losses, which cost nothing
    eval_every = steps_per_epoch if eval_every is None else int(eval_every)
    lr_t = torch.as_tensor(lr_arr, dtype=dtype, device=device)

    if backend == "ray":
        traces = _on_ray(model, loss_fn, epoch_batches, x_all, y_all, lr_arr, core, eval_every, ray_options)
    elif vectorize is None or vectorize:
        try:
            traces = _vectorized(model, loss_fn, epoch_batches, x_all, y_all, lr_t, kind, hp, eval_every)
        except Exception as exc:                  # vmap cannot trace this model: say so, then do it one by one
            if vectorize:
                raise
            warnings.warn(f"lrscope.torch.sweep: this model cannot be vectorized ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:120]}); training the {K} copies one after another",
                          RuntimeWarning, stacklevel=2)
            traces = _sequential(model, loss_fn, epoch_batches, x_all, y_all, lr_arr, core, eval_every)
    else:
        traces = _sequential(model, loss_fn, epoch_batches, x_all, y_all, lr_arr, core, eval_every)
    losses, batch_losses, gnorms, finals = traces

    obj = ModelObjective(model, int(x_all.shape[0]))
    lr_used = np.broadcast_to(lr_arr[:, None], (K, steps)).copy()
    result = SweepResult.from_traces(obj, core, lr_arr, losses, lr_used, gnorms, batch_losses=batch_losses,
                                     final_params=finals, batch_size=batch_size, seed=seed, eval_every=eval_every)
    sparse = len(range(0, steps + 1, eval_every)) < MIN_EVALUATIONS
    result.verdicts = judge(result, curve="batch" if sparse else "losses")
    return result


ELEMENTWISE = (torch.nn.ReLU, torch.nn.Tanh, torch.nn.Sigmoid, torch.nn.GELU, torch.nn.LeakyReLU, torch.nn.ELU,
               torch.nn.SiLU, torch.nn.Softplus, torch.nn.Identity)


def _mlp_plan(model):
    """For an ``nn.Sequential`` of Linear layers and element-wise activations: its layers, else None."""
    if not isinstance(model, torch.nn.Sequential) or len(model) == 0:
        return None
    plan = []
    for name, layer in model.named_children():
        if isinstance(layer, torch.nn.Linear):
            if not all(p.requires_grad for p in layer.parameters()):
                return None
            plan.append(("linear", name, layer.bias is not None))
        elif isinstance(layer, ELEMENTWISE):
            plan.append(("act", name, layer))
        else:
            return None
    return plan if any(kind == "linear" for kind, *_ in plan) else None


def _copies_loss(loss_fn):
    """For the standard mean-reduced losses (cross-entropy, mean squared error): a function giving the K copies'
    losses from their stacked outputs ``(K, n, ...)`` in one call -- the same numbers as one call per copy, with
    fewer, larger operations; None for any other loss function (then each copy's loss is its own call)."""
    F = torch.nn.functional
    if loss_fn is F.cross_entropy or (type(loss_fn) is torch.nn.CrossEntropyLoss and loss_fn.weight is None and
                                      loss_fn.reduction == "mean" and loss_fn.label_smoothing == 0):
        ignore = -100 if loss_fn is F.cross_entropy else loss_fn.ignore_index

        def cross_entropy(out, y):
            K, n = out.shape[:2]
            if out.dim() != 3 or y.shape[0] != n or (y.dim() == 2 and y.shape != out.shape[1:]):
                return None
            flat = F.cross_entropy(out.reshape(K * n, -1), y.repeat(K, *([1] * (y.dim() - 1))),
                                   reduction="none", ignore_index=ignore).view(K, n)
            if y.dtype.is_floating_point:           # class probabilities: every sample counts
                return flat.mean(dim=1)
            return flat.sum(dim=1) / (y != ignore).sum()
        return cross_entropy
    if loss_fn is F.mse_loss or (type(loss_fn) is torch.nn.MSELoss and loss_fn.reduction == "mean"):
        def mse(out, y):
            if out.shape[1:] != y.shape:
                return None
            return F.mse_loss(out, y.expand_as(out), reduction="none").reshape(out.shape[0], -1).mean(dim=1)
        return mse
    return None


def _bmm_functions(model, loss_fn, K, plan):
    """The fast path for MLPs: the K copies' layers as batched matrix products (one autograd graph for all)."""
    params = {n: p.detach().unsqueeze(0).repeat(K, *([1] * p.dim())).clone() for n, p in model.named_parameters()}

    def forward(p, x):
        h = x
        for kind, name, extra in plan:
            if kind == "linear":
                w = p[f"{name}.weight"]
                h = torch.matmul(h, w.transpose(1, 2))                  # (n, i) or (K, n, i) -> (K, n, o)
                if extra:
                    h = h + p[f"{name}.bias"].unsqueeze(1)
            else:
                h = extra(h)
        return h

    copies_loss = _copies_loss(loss_fn)

    def losses_of(p, x, y):
        out = forward(p, x)
        together = None if copies_loss is None else copies_loss(out, y)
        return together if together is not None else torch.stack([loss_fn(out[k], y) for k in range(K)])

    names = list(params)

    def step_fn(p, x, y):
        leaves = {n: t.requires_grad_(True) for n, t in p.items()}
        losses = losses_of(leaves, x, y)
        grads = torch.autograd.grad(losses.sum(), [leaves[n] for n in names])
        for t in leaves.values():
            t.requires_grad_(False)
        return dict(zip(names, grads)), losses.detach()

    def full_loss(p, x, y):
        with torch.no_grad():
            return losses_of(p, x, y)

    return params, step_fn, full_loss


def _vmap_functions(model, loss_fn, K):
    """The general path: ``vmap`` over ``functional_call`` of stacked copies (buffers such as BatchNorm's too)."""
    base = copy.deepcopy(model)
    copies = [base] * K
    params, buffers = stack_module_state(copies)
    trainable = {n for n, p in base.named_parameters() if p.requires_grad}
    frozen = {n: p.detach() for n, p in params.items() if n not in trainable}
    params = {n: p.detach().clone() for n, p in params.items() if n in trainable}
    buffers = {**buffers, **frozen}
    skeleton = copy.deepcopy(model).to("meta")

    def loss_one(p, b, x, y):
        return loss_fn(functional_call(skeleton, {**p, **b}, (x,)), y)

    grad_fn = vmap(grad_and_value(loss_one), in_dims=(0, 0, None, None))

    def step_fn(p, x, y):
        grads, losses = grad_fn(p, buffers, x, y)
        return grads, losses.detach()

    def full_loss(p, x, y):
        with torch.no_grad():
            return vmap(loss_one, in_dims=(0, 0, None, None))(p, buffers, x, y)

    return params, step_fn, full_loss


def _vectorized(model, loss_fn, epoch_batches, x_all, y_all, lr, kind, hp, eval_every):
    K = lr.shape[0]
    plan = _mlp_plan(model)
    params, step_fn, full_loss = (_bmm_functions(model, loss_fn, K, plan) if plan is not None
                                  else _vmap_functions(model, loss_fn, K))
    opt = _StackedOptimizer(kind, hp, params, lr)
    steps = sum(len(b) for b in epoch_batches)
    evaluated = {0: full_loss(params, x_all, y_all)}    # step -> (K,) full loss; kept on the device until the end
    batch_losses, gnorms = [], []
    t = 0
    for batches in epoch_batches:
        for x, y in batches:
            grads, loss = step_fn(params, x, y)
            batch_losses.append(loss)
            with torch.no_grad():
                gnorms.append(torch.linalg.vector_norm(torch.stack(
                    [torch.linalg.vector_norm(g, dim=tuple(range(1, g.dim()))) for g in grads.values()]), dim=0))
            opt.step(params, grads)
            t += 1
            if t % eval_every == 0 or t == steps:
                evaluated[t] = full_loss(params, x_all, y_all)
    losses = np.full((K, steps + 1), np.nan)
    last = None
    for s_ in range(steps + 1):           # between evaluations the last value is repeated (as the core does)
        if s_ in evaluated:
            last = evaluated[s_].double().cpu().numpy()
        losses[:, s_] = last
    batch_np = torch.stack(batch_losses, dim=1).double().cpu().numpy()
    gnorm_np = torch.stack(gnorms, dim=1).double().cpu().numpy()
    finals = np.concatenate([p.detach().reshape(K, -1).double().cpu().numpy() for p in params.values()], axis=1)
    return losses, batch_np, gnorm_np, finals


def _sequential(model, loss_fn, epoch_batches, x_all, y_all, lrs, core, eval_every):
    K = lrs.size
    hyper = core.per_config(K)
    runs = [train_one(model, loss_fn, epoch_batches, x_all, y_all, float(lrs[k]), core, _config(hyper, k), eval_every)
            for k in range(K)]
    return _gathered(runs)


def _config(hyper: dict, k: int) -> dict:
    """Configuration ``k``'s hyperparameters, as plain numbers."""
    return {key: float(v[k]) for key, v in hyper.items()}


def _gathered(runs):
    """K runs' (losses, batch losses, gradient norms, final weights) as the stacked traces."""
    return tuple(np.array([r[i] for r in runs]) for i in range(4))


def train_one(model, loss_fn, epoch_batches, x_all, y_all, lr: float, core, hyper: dict, eval_every: int,
              threads: int | None = None):
    """One configuration with ``torch.optim`` on a copy of ``model``: its full loss every ``eval_every`` steps
    (repeated between), batch losses, gradient norms and final weights."""
    if threads:
        torch.set_num_threads(threads)
    steps = sum(len(b) for b in epoch_batches)
    losses = np.full(steps + 1, np.nan)
    batch_losses, gnorms = np.empty(steps), np.empty(steps)
    m = copy.deepcopy(model)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch_optimizer(core, params, lr, hyper)
    with torch.no_grad():
        losses[0] = float(loss_fn(m(x_all), y_all))
    t = 0
    for batches in epoch_batches:
        for x, y in batches:
            opt.zero_grad()
            loss = loss_fn(m(x), y)
            loss.backward()
            batch_losses[t] = float(loss.detach())
            gnorms[t] = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params if p.grad is not None))
            opt.step()
            t += 1
            if t % eval_every == 0 or t == steps:
                with torch.no_grad():
                    losses[t] = float(loss_fn(m(x_all), y_all))
            else:
                losses[t] = losses[t - 1]
    return losses, batch_losses, gnorms, torch.cat([p.detach().reshape(-1) for p in params]).double().cpu().numpy()


def _on_ray(model, loss_fn, epoch_batches, x_all, y_all, lrs, core, eval_every, options):
    """The K configurations as Ray tasks, one each (the model, the batches and the data put in Ray once)."""
    ray = started_ray()
    options = {"num_cpus": 1, **(options or {})}
    threads = threads_for(options)
    hyper = core.per_config(lrs.size)
    shared = [ray.put(x) for x in (model, loss_fn, epoch_batches, x_all, y_all)]
    task = ray.remote(**options)(train_one)
    calls = [task.remote(*shared, float(lrs[k]), core, _config(hyper, k), eval_every, threads) for k in range(lrs.size)]
    return _gathered(ray.get(calls))
