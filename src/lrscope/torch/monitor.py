"""A convergence monitor for any PyTorch training loop: one call per step, an alarm as early as the evidence allows.

    monitor = Monitor(optimizer, on_alarm="reduce")
    for x, y in loader:
        loss = loss_fn(model(x), y); optimizer.zero_grad(); loss.backward(); optimizer.step()
        if monitor.update(loss, model):          # an Alarm, when something happened this step
            print(monitor.alarm)
        if monitor.should_stop:
            break

It keeps the loss and learning-rate history (and the gradient norm every ``grad_norm_every`` steps: reading every
gradient costs more than the rest of the monitor), and raises:

- **diverged** at once on NaN/inf, or when the loss is more than ``diverge_factor`` × its scale above the best so far
  for two steps in a row (a blow-up at α far above 2/λ_max shows within a few steps);
- **oscillating**, **converged** (plateau: the cost stopped decreasing significantly) or **slow**, from the core's
  diagnosis of the history every ``check_every`` steps, corrected by where it is heading
  (:func:`lrscope.outlook.heading`, as for a logged run) -- the same verdict kinds, reasons and advice.

Optional actions: ``on_alarm="stop"`` sets ``should_stop`` on divergence; ``on_alarm="reduce"`` multiplies every
param group's lr by ``reduce_factor`` on divergence or oscillation (then waits ``check_every`` steps) -- and the base
rates of the ``schedulers`` given, which would otherwise put the old rate back at their next step. With
``sharpness_every=N`` (and ``loss_fn``, ``sharpness_data``) it measures λ_max every N steps, so you see the edge of
stability: λ_max rising towards 2/α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..checks import integer
from ..diagnose import Advice, Direction, Kind, Verdict, diagnose_curve
from ..outlook import NEARLY_STOPPED, TRAIN_LONGER, heading
from .optimizers import scale_rates

MAX_DIAGNOSED = 400          # points of history a periodic check looks at


@dataclass(frozen=True)
class Alarm:
    """Something the monitor noticed: at ``step``, the ``verdict`` (kind, reason, advice) and the ``action`` taken."""

    step: int
    verdict: Verdict
    action: str | None = None

    def __str__(self) -> str:
        act = f" [{self.action}]" if self.action else ""
        return f"step {self.step}: {self.verdict.kind} -- {self.verdict.reason}; {self.verdict.advice}{act}"


class Monitor:
    """Watches a training run; see the module docstring."""

    def __init__(self, optimizer: torch.optim.Optimizer | None = None, *, check_every: int = 200,
                 diverge_factor: float = 10.0, on_alarm: str | None = None, reduce_factor: float = 0.1,
                 grad_norm_every: int | None = 100, sharpness_every: int | None = None, loss_fn=None,
                 sharpness_data=None, quiet_kinds=("slow",), schedulers=()):
        if on_alarm not in (None, "stop", "reduce"):
            raise ValueError(f"on_alarm: expected None, 'stop' or 'reduce', got {on_alarm!r}")
        if on_alarm == "reduce" and optimizer is None:
            raise ValueError("on_alarm: 'reduce' needs the optimizer")
        integer(check_every, "check_every", 5)
        if not diverge_factor > 1:
            raise ValueError(f"diverge_factor: must be > 1, got {diverge_factor!r}")
        if not 0 < reduce_factor < 1:
            raise ValueError(f"reduce_factor: must be in (0, 1), got {reduce_factor!r}")
        if sharpness_every is not None and (loss_fn is None or sharpness_data is None):
            raise ValueError("sharpness_every: needs loss_fn and sharpness_data (a batch)")
        self.optimizer = optimizer
        self.schedulers = list(schedulers)         # scaled with the optimizer's rates on "reduce"
        self.check_every, self.diverge_factor = check_every, diverge_factor
        if grad_norm_every is not None:
            integer(grad_norm_every, "grad_norm_every")
        self.on_alarm, self.reduce_factor, self.grad_norm_every = on_alarm, reduce_factor, grad_norm_every
        self.sharpness_every, self.loss_fn, self.sharpness_data = sharpness_every, loss_fn, sharpness_data
        self.quiet_kinds = tuple(quiet_kinds)
        self.losses: list[float] = []
        self.grad_norms: list[float] = []                        # every grad_norm_every steps (cheap enough)
        self.grad_norm_steps: list[int] = []
        self.lrs: list[float] = []
        self.sharpness: list[tuple[int, float, float]] = []      # (step, λ_max, lr)
        self.alarms: list[Alarm] = []
        self.should_stop = False
        self._best = math.inf
        self._over = 0
        self._last_kind = None
        self._cooldown = 0

    # ------------------------------------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        return len(self.losses)

    def _repr_html_(self) -> str:
        """In Jupyter: the history judged as a log (trend, noise, spikes, plateaus), and the alarms."""
        from ..notebook import monitor_html
        return monitor_html(self)

    @property
    def alarm(self) -> Alarm | None:
        """The latest alarm."""
        return self.alarms[-1] if self.alarms else None

    @property
    def verdict(self) -> Verdict:
        """The core's diagnosis of the whole history so far."""
        if len(self.losses) < 2:
            return Verdict(Kind.SLOW, None, "too few steps to judge", "keep training")
        return self._diagnose()

    def update(self, loss, model: torch.nn.Module | None = None) -> Alarm | None:
        """Record one step (``loss``: a tensor or a number; ``model``: to read the gradient norm after backward).
        Returns the alarm raised at this step, if any."""
        value = loss.item() if isinstance(loss, torch.Tensor) else float(loss)
        t = len(self.losses)
        self.losses.append(value)
        if self.optimizer is not None:
            self.lrs.append(self.optimizer.param_groups[0]["lr"])
        if model is not None and self.grad_norm_every and t % self.grad_norm_every == 0:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            if grads:
                self.grad_norms.append(float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))))
                self.grad_norm_steps.append(t)
        if self.sharpness_every and model is not None and t % self.sharpness_every == 0:
            self._measure_sharpness(model, t)
        if self._cooldown > 0:
            self._cooldown -= 1

        if not math.isfinite(value):
            lower = self._lower_advice()
            return self._raise(Verdict.of(Kind.DIVERGED, t, f"the loss is {value} at step {t}", lower._replace(
                text=lower.text + "; if it happens at the first step, the problem is not the learning rate")))
        start = self.losses[0]
        self._best = min(self._best, value)
        scale = max(abs(start - self._best), 0.1 * abs(start), 1e-12)
        self._over = self._over + 1 if value - self._best > self.diverge_factor * scale else 0
        if self._over >= 2:
            return self._raise(Verdict.of(Kind.DIVERGED, t, f"the loss jumped to {value:.3g} (best so far "
                                          f"{self._best:.3g}, start {start:.3g})", self._lower_advice()))
        if t > 0 and t % self.check_every == 0 and self.step >= 2 * self.check_every:
            v = self._diagnose()
            if v.kind != self._last_kind:
                self._last_kind = v.kind
                if v.kind not in self.quiet_kinds:
                    return self._raise(v)
        return None

    # ------------------------------------------------------------------------------------------------------------
    def _diagnose(self) -> Verdict:
        n = len(self.losses)
        stride = max(1, -(-n // MAX_DIAGNOSED))           # a long history is thinned, so a check costs the same
        idx = np.unique(np.r_[np.arange(0, n, stride), n - 1])
        losses = np.asarray(self.losses, dtype=np.float64)[idx]
        lr = self.lrs[0] if self.lrs else None
        bound = None
        if self.sharpness:
            lam = self.sharpness[-1][1]
            bound = 2.0 / lam if lam > 0 else None
        verdict = diagnose_curve(losses, lr=lr, bound=bound, bound_name="2/λ_max", stochastic=True,
                                 final_lr=self.lrs[-1] if self.lrs else None, steps=idx,
                                 grad_norms=np.asarray(self.grad_norms) if self.grad_norms else None)
        if not np.all(np.isfinite(losses)):
            return verdict
        # where the history is heading (the same outlook as for a logged run): training on pays, it stopped, or
        # it went back up
        return heading(verdict, idx, losses, slow=TRAIN_LONGER, stopped=NEARLY_STOPPED, diverged=self._lower_advice())

    def _lower_advice(self) -> Advice:
        if self.sharpness:
            step, lam, lr = self.sharpness[-1]
            return Advice(f"lower the learning rate below 2/λ_max = {2 / lam:.3g} (λ_max = {lam:.3g} at step {step})",
                          Direction.LOWER, 1 / lam)
        if self.lrs:
            return Advice(f"lower the learning rate (now {self.lrs[-1]:.3g}; try {self.lrs[-1] / 10:.3g})",
                          Direction.LOWER, self.lrs[-1] / 10)
        return Advice("lower the learning rate by 10×", Direction.LOWER)

    def _raise(self, verdict: Verdict) -> Alarm:
        action = None
        if verdict.kind == Kind.DIVERGED and self.on_alarm == "stop":
            self.should_stop = True
            action = "stop"
        elif verdict.kind in (Kind.DIVERGED, Kind.OSCILLATING) and self.on_alarm == "reduce" and self._cooldown == 0:
            scale_rates(self.optimizer, self.reduce_factor, self.schedulers)
            action = f"lr × {self.reduce_factor:g} → {self.optimizer.param_groups[0]['lr']:.3g}"
            self._cooldown = self.check_every
            self._over = 0
            self._best = math.inf if not math.isfinite(self.losses[-1]) else self._best
        alarm = Alarm(self.step - 1, verdict, action)
        self.alarms.append(alarm)
        return alarm

    def _measure_sharpness(self, model, t) -> None:
        from .sharpness import sharpness
        lr = self.lrs[-1] if self.lrs else None
        try:
            s = sharpness(model, self.loss_fn, self.sharpness_data, lr=lr, max_iter=20, tol=1e-3)
        except ValueError:
            return
        self.sharpness.append((t, s.lambda_max, lr if lr is not None else math.nan))

    def plot(self, path: str | None = None):
        """Loss per step and, when tracked, λ_max against 2/α: the edge-of-stability picture."""
        from ..plots import VERDICT_COLORS, _pyplot
        plt = _pyplot()
        two = bool(self.sharpness)
        fig, axes = plt.subplots(1, 2 if two else 1, figsize=(12 if two else 7, 4.5))
        axes = np.atleast_1d(axes)
        axes[0].plot(self.losses, lw=1)
        axes[0].set_yscale("log" if min(self.losses, default=1) > 0 else "linear")
        axes[0].set_xlabel("step")
        axes[0].set_ylabel("loss")
        for a in self.alarms:
            axes[0].axvline(a.step, color=VERDICT_COLORS[a.verdict.kind], ls=":")
        if two:
            steps, lams, lrs = zip(*self.sharpness)
            axes[1].plot(steps, lams, "o-", label="λ_max")
            axes[1].plot(steps, [2 / lr for lr in lrs], "--", color="tab:red", label="2/α")
            axes[1].set_xlabel("step")
            axes[1].set_yscale("log")
            axes[1].legend()
            axes[1].set_title("sharpness vs the stability bound")
        fig.tight_layout()
        if path:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig
