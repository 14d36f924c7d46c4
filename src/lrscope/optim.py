"""Optimizers as pure transforms, vectorized over K configurations.

An :class:`Optimizer` is a pair of functions, as in optax: ``init(params) -> state`` and
``update(grads, state, params, lr) -> (step, state)``, where ``params``/``grads`` are ``(K, d)`` arrays, ``lr`` is a
``(K,)`` array (the learning rate of each configuration at this step) and the new parameters are ``params + step``.
Every hyperparameter may be a scalar or a ``(K,)`` array, one value per configuration, so a sweep over (α, β) pairs
is one computation. The formulas follow ``torch.optim`` (so trajectories match it to rounding), except the EMA form of
momentum, which is the course's v = βv + (1−β)g.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence, Union

import numpy as np


PerConfig = Union[float, Sequence[float]]     # a hyperparameter: one number, or one per configuration (swept)


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: ``init(params)`` makes its state, ``update(grads, state, params, lr)`` returns (step, state)."""

    name: str
    init: Callable[[np.ndarray], Any]
    update: Callable[..., tuple[np.ndarray, Any]]
    hyperparams: dict = field(default_factory=dict)
    default_lr: float = 0.01
    kind: str = "gd"   # what the stability theory knows: gd, ema_momentum, heavy_ball, nesterov or adaptive

    def per_config(self, k: int) -> dict[str, np.ndarray]:
        """Each hyperparameter as a ``(k,)`` array (scalars repeated), checking that array lengths match ``k``."""
        out = {}
        for key, value in self.hyperparams.items():
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim == 1 and arr.shape[0] not in (1, k):
                raise ValueError(f"{key}: has {arr.shape[0]} values but there are {k} configurations")
            out[key] = np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (k,)).copy()
        return out

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={_fmt(v)}" for k, v in self.hyperparams.items())
        return f"{self.name}({hp})"


def _fmt(v) -> str:
    arr = np.asarray(v)
    return f"{float(arr):g}" if arr.ndim == 0 else "[" + ", ".join(f"{x:g}" for x in arr) + "]"


def _hyper(value, name: str, low: float = 0.0, high: float = np.inf, low_open=False, high_open=False):
    """Check a hyperparameter (scalar or 1-D array) lies in its range; return it as a column for (K, d) math."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a number or a list of numbers, got {value!r}") from None
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a number or a 1-D list of numbers, got shape {arr.shape}")
    bad_low = arr <= low if low_open else arr < low
    bad_high = arr >= high if high_open else arr > high
    if not np.all(np.isfinite(arr)) or np.any(bad_low) or np.any(bad_high):
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name}: must lie in {lo}{low:g}, {high:g}{hi}, got {value!r}")
    return arr


def _col(arr: np.ndarray):
    """A hyperparameter ready to broadcast against (K, d): a float, or a (K, 1) column."""
    return float(arr) if arr.ndim == 0 else arr[:, None]


def _check_k(hyper: dict, k: int):
    for key, arr in hyper.items():
        if np.ndim(arr) == 1 and arr.shape[0] not in (1, k):
            raise ValueError(f"{key}: has {arr.shape[0]} values but there are {k} configurations")


def _decayed(grads, params, wd):
    return grads if wd is None else grads + wd * params


# ---------------------------------------------------------------------------------------------------------------
def gd(weight_decay: PerConfig = 0.0) -> Optimizer:
    """Plain gradient descent: θ ← θ − α·∇J(θ) (plus α·λθ with weight decay λ, as torch's SGD)."""
    wd_arr = _hyper(weight_decay, "weight_decay")
    wd = None if np.all(wd_arr == 0) else _col(wd_arr)

    def init(params):
        _check_k({"weight_decay": wd_arr}, params.shape[0])
        return ()

    def update(grads, state, params, lr):
        return -lr[:, None] * _decayed(grads, params, wd), state

    return Optimizer("gd", init, update, {"weight_decay": wd_arr}, default_lr=0.01, kind="gd")


def momentum(beta: PerConfig = 0.9, form: Literal["ema", "heavy_ball"] = "ema", dampening: PerConfig = 0.0,
             weight_decay: PerConfig = 0.0) -> Optimizer:
    """Gradient descent with momentum, in one of two forms.

    - ``form="ema"`` (the course's): v ← βv + (1−β)g, θ ← θ − αv, starting from v = 0;
    - ``form="heavy_ball"`` (``torch.optim.SGD(momentum=β, dampening=τ)``): b ← g on the first step, then
      b ← βb + (1−τ)g; θ ← θ − αb.
    """
    if form not in ("ema", "heavy_ball"):
        raise ValueError(f"form: expected 'ema' or 'heavy_ball', got {form!r}")
    beta_arr = _hyper(beta, "beta", 0.0, 1.0, high_open=True)
    damp_arr = _hyper(dampening, "dampening", 0.0, 1.0)
    wd_arr = _hyper(weight_decay, "weight_decay")
    if form == "ema" and np.any(damp_arr != 0):
        raise ValueError("dampening: only for form='heavy_ball' (the EMA form already scales g by 1-beta)")
    b, tau = _col(beta_arr), _col(damp_arr)
    wd = None if np.all(wd_arr == 0) else _col(wd_arr)
    hyper = {"beta": beta_arr, "weight_decay": wd_arr}
    if form == "heavy_ball":
        hyper["dampening"] = damp_arr

    def init(params):
        _check_k(hyper, params.shape[0])
        return (np.zeros_like(params), 0)

    def update(grads, state, params, lr):
        v, t = state
        g = _decayed(grads, params, wd)
        if form == "ema":
            v = b * v + (1.0 - b) * g
        else:
            v = g.copy() if t == 0 else b * v + (1.0 - tau) * g
        return -lr[:, None] * v, (v, t + 1)

    return Optimizer(f"momentum[{form}]", init, update, hyper, default_lr=0.01,
                     kind="ema_momentum" if form == "ema" else "heavy_ball")


def nesterov(beta: PerConfig = 0.9, weight_decay: PerConfig = 0.0) -> Optimizer:
    """Nesterov momentum as ``torch.optim.SGD(momentum=β, nesterov=True)``: b ← βb + g; θ ← θ − α(g + βb)."""
    beta_arr = _hyper(beta, "beta", 0.0, 1.0, high_open=True)
    wd_arr = _hyper(weight_decay, "weight_decay")
    b = _col(beta_arr)
    wd = None if np.all(wd_arr == 0) else _col(wd_arr)
    hyper = {"beta": beta_arr, "weight_decay": wd_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        return (np.zeros_like(params), 0)

    def update(grads, state, params, lr):
        v, t = state
        g = _decayed(grads, params, wd)
        v = g.copy() if t == 0 else b * v + g
        return -lr[:, None] * (g + b * v), (v, t + 1)

    return Optimizer("nesterov", init, update, hyper, default_lr=0.01, kind="nesterov")


def adagrad(eps: PerConfig = 1e-10, lr_decay: PerConfig = 0.0, initial_accumulator_value: PerConfig = 0.0,
            weight_decay: PerConfig = 0.0) -> Optimizer:
    """AdaGrad as ``torch.optim.Adagrad``: s ← s + g²; θ ← θ − α_t·g/(√s + ε), α_t = α/(1 + (t−1)·lr_decay)."""
    eps_arr = _hyper(eps, "eps")
    decay_arr = _hyper(lr_decay, "lr_decay")
    init_arr = _hyper(initial_accumulator_value, "initial_accumulator_value")
    wd_arr = _hyper(weight_decay, "weight_decay")
    e, decay, acc0 = _col(eps_arr), _col(decay_arr), _col(init_arr)
    wd = None if np.all(wd_arr == 0) else _col(wd_arr)
    hyper = {"eps": eps_arr, "lr_decay": decay_arr, "initial_accumulator_value": init_arr, "weight_decay": wd_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        return (np.zeros_like(params) + acc0, 0)

    def update(grads, state, params, lr):
        s, t = state
        g = _decayed(grads, params, wd)
        clr = lr[:, None] / (1.0 + t * decay)
        s = s + g * g
        return -clr * g / (np.sqrt(s) + e), (s, t + 1)

    return Optimizer("adagrad", init, update, hyper, default_lr=0.01, kind="adaptive")


def rmsprop(alpha: PerConfig = 0.99, eps: PerConfig = 1e-8, momentum: PerConfig = 0.0, centered: bool = False,
            weight_decay: PerConfig = 0.0) -> Optimizer:
    """RMSProp as ``torch.optim.RMSprop``: s ← αs + (1−α)g²; θ ← θ − lr·g/(√s + ε) (centered: √(s − ḡ²));
    with momentum μ: b ← μb + g/(√s + ε), θ ← θ − lr·b."""
    alpha_arr = _hyper(alpha, "alpha", 0.0, 1.0, high_open=True)
    eps_arr = _hyper(eps, "eps")
    mom_arr = _hyper(momentum, "momentum", 0.0, 1.0, high_open=True)
    wd_arr = _hyper(weight_decay, "weight_decay")
    a, e, mu = _col(alpha_arr), _col(eps_arr), _col(mom_arr)
    use_momentum = bool(np.any(mom_arr != 0))
    wd = None if np.all(wd_arr == 0) else _col(wd_arr)
    hyper = {"alpha": alpha_arr, "eps": eps_arr, "momentum": mom_arr, "weight_decay": wd_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        zeros = np.zeros_like(params)
        return (zeros, zeros, zeros)

    def update(grads, state, params, lr):
        s, gbar, buf = state
        g = _decayed(grads, params, wd)
        s = a * s + (1.0 - a) * g * g
        if centered:
            gbar = a * gbar + (1.0 - a) * g
            denom = np.sqrt(s - gbar * gbar) + e
        else:
            denom = np.sqrt(s) + e
        if use_momentum:
            buf = mu * buf + g / denom
            return -lr[:, None] * buf, (s, gbar, buf)
        return -lr[:, None] * g / denom, (s, gbar, buf)

    name = "rmsprop[centered]" if centered else "rmsprop"
    return Optimizer(name, init, update, hyper, default_lr=0.01, kind="adaptive")


def _adam(name, beta1, beta2, eps, weight_decay, amsgrad, decoupled) -> Optimizer:
    b1_arr = _hyper(beta1, "beta1", 0.0, 1.0, high_open=True)
    b2_arr = _hyper(beta2, "beta2", 0.0, 1.0, high_open=True)
    eps_arr = _hyper(eps, "eps")
    wd_arr = _hyper(weight_decay, "weight_decay")
    b1, b2, e = _col(b1_arr), _col(b2_arr), _col(eps_arr)
    wd = None if np.all(wd_arr == 0) else _col(wd_arr)
    hyper = {"beta1": b1_arr, "beta2": b2_arr, "eps": eps_arr, "weight_decay": wd_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        zeros = np.zeros_like(params)
        return (zeros, zeros, zeros, 0)

    def update(grads, state, params, lr):
        m, v, vmax, t = state
        t += 1
        lr = lr[:, None]
        g = grads if decoupled else _decayed(grads, params, wd)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
        # m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), arranged as torch.optim.Adam does
        denom = np.sqrt(vmax if amsgrad else v) / (1.0 - b2 ** t) ** 0.5 + e
        step = -(lr / (1.0 - b1 ** t)) * m / denom
        if decoupled and wd is not None:
            step = step - lr * wd * params
        return step, (m, v, vmax, t)

    if amsgrad:
        name += "[amsgrad]"
    return Optimizer(name, init, update, hyper, default_lr=0.001, kind="adaptive")


def adam(beta1: PerConfig = 0.9, beta2: PerConfig = 0.999, eps: PerConfig = 1e-8, weight_decay: PerConfig = 0.0,
         amsgrad: bool = False) -> Optimizer:
    """Adam with bias correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − α·m̂/(√v̂ + ε).
    Defaults α=0.001, β₁=0.9, β₂=0.999, ε=1e-8 as in the course and in ``torch.optim.Adam``."""
    return _adam("adam", beta1, beta2, eps, weight_decay, amsgrad, decoupled=False)


def adamw(beta1: PerConfig = 0.9, beta2: PerConfig = 0.999, eps: PerConfig = 1e-8, weight_decay: PerConfig = 0.01,
          amsgrad: bool = False) -> Optimizer:
    """AdamW: Adam with decoupled weight decay θ ← θ − αλθ, as ``torch.optim.AdamW`` (default λ = 0.01)."""
    return _adam("adamw", beta1, beta2, eps, weight_decay, amsgrad, decoupled=True)


OPTIMIZERS = {"gd": gd, "sgd": gd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
              "rmsprop": rmsprop, "adam": adam, "adamw": adamw}


def get(name: str, **hyperparams) -> Optimizer:
    """An optimizer by name (``gd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``, ``adam``, ``adamw``)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    takes = list(inspect.signature(OPTIMIZERS[name]).parameters)
    for key in hyperparams:
        if key not in takes:
            raise TypeError(f"{key}: not a hyperparameter of {name} (it takes {', '.join(takes) or 'none'})")
    return OPTIMIZERS[name](**hyperparams)
