"""The core's optimizers as ``torch.optim`` optimizers: one name means one update on every path.

``lrscope.optim.momentum()`` is the course's EMA form v ← βv + (1−β)g unless ``form="heavy_ball"`` (torch's SGD
momentum). :func:`torch_optimizer` turns a core optimizer into the torch optimizer with the same update --
``torch.optim.SGD``/``Adagrad``/``RMSprop``/``Adam``/``AdamW``, or :class:`EMAMomentum` for the course's form, which
torch does not have -- and :func:`stability_limit` reads the stability bound of any of them, so the finder's sanity
cap uses the same formula as the core (:func:`lrscope.theory.stability_limit`).
"""

from __future__ import annotations

import numpy as np
import torch

from .. import theory
from ..optim import Optimizer


class EMAMomentum(torch.optim.Optimizer):
    """The course's momentum: v ← βv + (1−β)(g + λθ), θ ← θ − αv, from v = 0 (``lrscope.optim.momentum(form="ema")``).

    With dampening τ = β, ``torch.optim.SGD`` has the same recursion except its first step (it starts at v = g);
    at β = 0.9 the course's first step is ten times smaller.
    """

    def __init__(self, params, lr: float = 0.01, beta: float = 0.9, weight_decay: float = 0.0):
        if not 0 <= beta < 1:
            raise ValueError(f"beta: must lie in [0, 1), got {beta!r}")
        super().__init__(params, {"lr": lr, "beta": beta, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta, wd, lr = group["beta"], group["weight_decay"], group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad if wd == 0 else p.grad + wd * p
                state = self.state[p]
                if "v" not in state:
                    state["v"] = torch.zeros_like(p)
                state["v"].mul_(beta).add_(g, alpha=1 - beta)
                p.add_(state["v"], alpha=-lr)
        return loss


def single(optimizer: Optimizer) -> dict:
    """The optimizer's hyperparameters as plain numbers (one configuration); a ValueError for a swept one."""
    out = {}
    for key, value in optimizer.hyperparams.items():
        arr = np.ravel(np.asarray(value, dtype=np.float64))
        if arr.size != 1 and not np.all(arr == arr[0]):
            raise ValueError(f"{key}: one value per run here, got {arr.size}")
        out[key] = float(arr[0])
    return out


def torch_optimizer(optimizer: Optimizer, params, lr: float, hyper: dict | None = None) -> torch.optim.Optimizer:
    """The torch optimizer with the same update as the core ``optimizer`` (its hyperparameters, or ``hyper``: one
    configuration's), over ``params`` at learning rate ``lr``."""
    h = single(optimizer) if hyper is None else hyper
    wd = h.get("weight_decay", 0.0)
    family = optimizer.family
    if optimizer.kind == "ema_momentum":
        return EMAMomentum(params, lr=lr, beta=h["beta"], weight_decay=wd)
    if optimizer.kind in ("gd", "heavy_ball", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=h.get("beta", 0.0), dampening=h.get("dampening", 0.0),
                               nesterov=optimizer.kind == "nesterov", weight_decay=wd)
    if family in ("adam", "adamw"):
        cls = torch.optim.AdamW if family == "adamw" else torch.optim.Adam
        return cls(params, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=wd,
                   amsgrad="amsgrad" in optimizer.variants)
    if family == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=h["alpha"], eps=h["eps"], momentum=h["momentum"],
                                   centered="centered" in optimizer.variants, weight_decay=wd)
    if family == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, lr_decay=h["lr_decay"], eps=h["eps"], weight_decay=wd,
                                   initial_accumulator_value=h["initial_accumulator_value"])
    raise ValueError(f"optimizer: {optimizer!r} has no torch counterpart")


def kind_of(optimizer: torch.optim.Optimizer) -> tuple[str, float, float]:
    """What stability theory knows of a torch optimizer (its first param group): (kind, β, dampening)."""
    g = optimizer.param_groups[0]
    if isinstance(optimizer, EMAMomentum):
        return "ema_momentum", g["beta"], 0.0
    if isinstance(optimizer, torch.optim.SGD):
        beta = g.get("momentum", 0.0)
        if beta == 0:
            return "gd", 0.0, 0.0
        return ("nesterov" if g.get("nesterov", False) else "heavy_ball"), beta, g.get("dampening", 0.0)
    return "adaptive", 0.0, 0.0


def stability_limit(optimizer: torch.optim.Optimizer, lam: float) -> float | None:
    """The largest stable α of ``optimizer`` where the largest Hessian eigenvalue is ``lam`` (None: no such bound)."""
    kind, beta, dampening = kind_of(optimizer)
    return theory.stability_limit(kind, lam, beta, dampening)


def scale_rates(optimizer: torch.optim.Optimizer, factor: float, schedulers=()) -> None:
    """Multiply the learning rate of every param group of ``optimizer`` by ``factor`` -- its ``initial_lr`` and the
    base rates of the ``schedulers`` that drive it too, so the ratios between groups and the schedule's shape (a
    warmup's position, a cosine's phase) are kept and no scheduler puts the old rate back at its next step."""
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * factor
        if "initial_lr" in group:
            group["initial_lr"] = group["initial_lr"] * factor
    for scheduler in schedulers:               # the caller's: those that drive this optimizer
        if hasattr(scheduler, "base_lrs"):
            scheduler.base_lrs = [b * factor for b in scheduler.base_lrs]
        if hasattr(scheduler, "_last_lr"):          # what get_last_lr() reports (and loggers read)
            scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]


def set_peak_rate(optimizer: torch.optim.Optimizer, rate: float, schedulers=()) -> None:
    """Make ``rate`` the (first group's) base learning rate: every rate, initial rate and scheduler base rate is
    scaled by the same factor (:func:`scale_rates`); from a base rate of 0 every group gets ``rate`` itself."""
    drivers = [s for s in schedulers if getattr(s, "base_lrs", None)]
    first = optimizer.param_groups[0]
    base = drivers[0].base_lrs[0] if drivers else first.get("initial_lr", first["lr"])
    if base > 0:
        scale_rates(optimizer, rate / base, drivers)
        return
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = rate
    for scheduler in drivers:
        scheduler.base_lrs = [rate] * len(scheduler.base_lrs)


def schedule_of(scheduler, total: int | None):
    """The shape of a ``LambdaLR`` scheduler over a run of ``total`` steps as the finder's schedule (``lr_find(...,
    schedule=)``): f(t, n) = λ(t·total/n) -- its multiplier at the same fraction of the run, so a verification run of
    n steps follows the schedule your ``total`` steps will (Hugging Face's schedules are all ``LambdaLR``s). None for
    another scheduler, several different lambdas, or no ``total``."""
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if not isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR) or not lambdas or total is None or total < 1:
        return None
    if any(f is not lambdas[0] for f in lambdas[1:]):
        return None
    first = lambdas[0]

    def shape(t: int, n: int) -> float:
        return float(first(int(t * total / n)))

    name = getattr(getattr(first, "func", first), "__name__", "")         # HF: functools.partial(_get_..._lr_lambda)
    shape.__name__ = name.removeprefix("_get_").removesuffix("_lr_lambda") if name.startswith("_get_") else "LambdaLR"
    return shape
