"""Sharpness of a PyTorch model's loss: the top Hessian eigenvalue λ_max and the stability bound 2/λ_max.

Gradient descent with step α is stable on the local quadratic model only while α < 2/λ_max; training at large α
drives λ_max up to about 2/α (the "edge of stability"). :func:`sharpness` measures λ_max with Hessian-vector products
(double backward through autograd), by Lanczos iteration with full reorthogonalization, so a few dozen products give
the top eigenvalue to well under 1%; optionally the smallest eigenvalue and the trace (Hutchinson's estimator).
The model, its gradients, its mode and the random-number state are left exactly as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..checks import integer
from ._state import preserved_state, trainable_parameters


@dataclass(frozen=True)
class Sharpness:
    """λ_max (and optionally λ_min and the trace) of the loss Hessian, and what it means for the learning rate."""

    lambda_max: float
    lambda_min: float | None
    trace: float | None
    hvps: int
    converged: bool
    lr: float | None = None

    @property
    def bound(self) -> float:
        """2/λ_max: the largest stable step for plain gradient descent here."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else math.inf

    @property
    def ratio(self) -> float | None:
        """α·λ_max/2: below 1 stable, near 1 at the edge of stability, above 1 unstable (for plain GD)."""
        return None if self.lr is None else self.lr * self.lambda_max / 2.0

    def _repr_html_(self) -> str:
        """In Jupyter: the figures as a table and what they mean for the rate."""
        from ..notebook import analysis_html
        rows = [("λ_max", f"{self.lambda_max:.5g}"), ("2/λ_max", f"{self.bound:.5g}")]
        rows += [("λ_min", f"{self.lambda_min:.5g}")] if self.lambda_min is not None else []
        rows += [("trace", f"{self.trace:.5g}")] if self.trace is not None else []
        rows += [("Hessian-vector products", f"{self.hvps}" + ("" if self.converged else " (not converged)"))]
        return analysis_html(rows, self.summary(), "sharpness of the loss")

    def summary(self) -> str:
        text = f"λ_max = {self.lambda_max:.5g}, 2/λ_max = {self.bound:.5g}"
        if self.lr is not None:
            state = "stable" if self.ratio < 0.9 else ("at the edge of stability" if self.ratio < 1.1 else "unstable")
            text += f"; lr = {self.lr:.4g} is {self.ratio:.2f} of the bound ({state})"
        return text


def _batches(data):
    """Accept one (inputs, targets) batch or an iterable of them (a DataLoader)."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        return [tuple(data)]
    batches = list(data)
    if not batches:
        raise ValueError("data: is empty")
    for b in batches:
        if not (isinstance(b, (tuple, list)) and len(b) >= 2):
            raise ValueError("data: expected (inputs, targets) batches")
    return [(b[0], b[1]) for b in batches]


def _loss(model, loss_fn, batches):
    total, count = 0.0, 0
    for x, y in batches:
        n = x.shape[0]
        total = total + loss_fn(model(x), y) * n
        count += n
    return total / count


def hessian_vector_product(model, loss_fn, data):
    """A function v ↦ H v for the loss over ``data`` at the current parameters (flat vectors).

    The gradient is built once with its graph; each product is one more backward pass through it.
    """
    params = trainable_parameters(model)
    loss = _loss(model, loss_fn, _batches(data))
    if not torch.isfinite(loss):
        raise ValueError("data: the loss is not finite at the current parameters")
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])

    def hvp(v: torch.Tensor) -> torch.Tensor:
        out = torch.autograd.grad(flat, params, grad_outputs=v, retain_graph=True, allow_unused=True)
        return torch.cat([(o if o is not None else torch.zeros_like(p)).reshape(-1) for o, p in zip(out, params)])

    return hvp, flat.numel(), flat.dtype, flat.device


def _lanczos(hvp, n, dtype, device, iters, tol, generator):
    """Extreme eigenvalues of a symmetric operator by Lanczos with full reorthogonalization."""
    q = torch.randn(n, dtype=dtype, device=device, generator=generator)
    q = q / q.norm()
    Q, alphas, betas = [q], [], []
    previous, converged, theta = None, False, None
    for j in range(min(iters, n)):
        w = hvp(Q[-1])
        alpha = torch.dot(w, Q[-1])
        w = w - alpha * Q[-1] - (betas[-1] * Q[-2] if betas else 0.0)
        for qi in Q:                                          # full reorthogonalization
            w = w - torch.dot(w, qi) * qi
        alphas.append(float(alpha))
        T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        theta = np.linalg.eigvalsh(T)
        if previous is not None and abs(theta[-1] - previous[-1]) <= tol * max(abs(theta[-1]), 1e-12) \
                and abs(theta[0] - previous[0]) <= tol * max(abs(theta[-1]), 1e-12):
            converged = True
            break
        previous = theta
        beta = float(w.norm())
        if beta < 1e-10 * max(abs(theta[-1]), 1e-30):        # invariant subspace found: exact
            converged = True
            break
        betas.append(beta)
        Q.append(w / beta)
    return float(theta[-1]), float(theta[0]), len(alphas), converged


def sharpness(model: torch.nn.Module, loss_fn, data, *, lr: float | None = None, optimizer=None,
              smallest: bool = False, trace: bool = False, max_iter: int = 50, tol: float = 1e-4,
              trace_samples: int = 20, seed: int = 0) -> Sharpness:
    """Top Hessian eigenvalue of ``loss_fn(model(x), y)`` averaged over ``data`` (one batch or a loader).

    ``lr`` (or ``optimizer``, whose first param group's lr is read) is compared with 2/λ_max. ``smallest`` also
    reports λ_min (from the same Lanczos run); ``trace`` estimates tr(H) with ``trace_samples`` Rademacher probes.
    At most ``max_iter`` Hessian-vector products for the eigenvalues; stops when they change by less than ``tol``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn: must be callable as loss_fn(outputs, targets)")
    integer(max_iter, "max_iter")
    if optimizer is not None and lr is None:
        lr = float(optimizer.param_groups[0]["lr"])
    if lr is not None and (not math.isfinite(lr) or lr <= 0):
        raise ValueError(f"lr: must be > 0, got {lr!r}")
    with preserved_state(model):
        hvp, n, dtype, device = hessian_vector_product(model, loss_fn, data)
        generator = torch.Generator(device=device).manual_seed(seed)
        top, bottom, used, converged = _lanczos(hvp, n, dtype, device, max_iter, tol, generator)
        tr = None
        if trace:
            total = 0.0
            for _ in range(trace_samples):
                z = torch.randint(0, 2, (n,), generator=generator, device=device).to(dtype) * 2 - 1
                total += float(torch.dot(z, hvp(z)))
            tr = total / trace_samples
            used += trace_samples
    if not math.isfinite(top):
        raise ValueError("data: the loss or its curvature is not finite at the current parameters")
    return Sharpness(top, bottom if smallest else None, tr, used, converged, lr)
