"""Optimizers as pure transforms, vectorized over K configurations.

An :class:`Optimizer` is a pair of functions, as in optax: ``init(params) -> state`` (a named tuple, such as
:class:`AdamState`) and ``update(grads, state, params, lr) -> (step, state)``, where ``params``/``grads`` are
``(K, d)`` arrays, ``lr`` is a ``(K,)`` array (the learning rate of each configuration at this step) and the new
parameters are ``params + step``.
Every hyperparameter may be a scalar or a ``(K,)`` array, one value per configuration, so a sweep over (α, β) pairs
is one computation. Weight decay is its own piece (:func:`add_weight_decay`), put around each optimizer's own step.
The formulas follow ``torch.optim`` (so trajectories match it to rounding), except the EMA form of
momentum, which is the course's v = βv + (1−β)g.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, NamedTuple, Sequence, Union

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
    family: str = ""   # the factory that made it (gd, momentum, nesterov, adagrad, rmsprop, adam, adamw); "": name
    variants: tuple = ()   # its options that change the update: the momentum form, "centered", "amsgrad"

    def __post_init__(self):
        if not self.family:
            object.__setattr__(self, "family", self.name)

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


# ---------------------------------------------------------------------------------------------------------------
# states: every array field has one row per configuration; counters (ints) are shared by all
# ---------------------------------------------------------------------------------------------------------------
class MomentumState(NamedTuple):
    velocity: np.ndarray    # v (EMA form) or the buffer b (heavy ball, Nesterov)
    count: int              # updates so far


class AdagradState(NamedTuple):
    sum_sq: np.ndarray      # s = Σ g²
    count: int


class RMSPropState(NamedTuple):
    sq_avg: np.ndarray      # s = EMA of g²
    grad_avg: np.ndarray    # ḡ = EMA of g (centered variant)
    buffer: np.ndarray      # momentum buffer


class AdamState(NamedTuple):
    m: np.ndarray           # first moment
    v: np.ndarray           # second moment
    v_max: np.ndarray       # running max of v (AMSGrad)
    count: int


def select_state(state, k: int):
    """Configuration ``k``'s part of an optimizer state (its row of every array field; the counters as they are)."""
    return type(state)(*[v[k] if isinstance(v, np.ndarray) else v for v in state])


def stack_states(states):
    """The inverse of :func:`select_state`: one state for several configurations (their counters must agree)."""
    first = states[0]
    fields = zip(*states)
    return type(first)(*[np.stack(vs) if isinstance(vs[0], np.ndarray) else vs[0] for vs in fields])


# ---------------------------------------------------------------------------------------------------------------
# weight decay: its own piece, put around any optimizer
# ---------------------------------------------------------------------------------------------------------------
def add_weight_decay(inner: Optimizer, weight_decay: PerConfig = 0.0, decoupled: bool = False) -> Optimizer:
    """``inner`` with weight decay λ: coupled (an L2 term, as ``torch.optim.SGD``/``Adam``): the gradient it sees is
    g + λθ; decoupled (AdamW): θ ← θ − αλθ besides its own step. λ = 0 costs nothing."""
    wd_arr = _hyper(weight_decay, "weight_decay")
    hyper = {**inner.hyperparams, "weight_decay": wd_arr}
    update = inner.update
    if np.any(wd_arr != 0):
        wd = _col(wd_arr)
        if decoupled:
            def update(grads, state, params, lr):
                step, state = inner.update(grads, state, params, lr)
                return step - lr[:, None] * wd * params, state
        else:
            def update(grads, state, params, lr):
                return inner.update(grads + wd * params, state, params, lr)

    def init(params):
        _check_k({"weight_decay": wd_arr}, params.shape[0])
        return inner.init(params)

    return replace(inner, init=init, update=update, hyperparams=hyper)


# ---------------------------------------------------------------------------------------------------------------
def gd(weight_decay: PerConfig = 0.0) -> Optimizer:
    """Plain gradient descent: θ ← θ − α·∇J(θ) (plus α·λθ with weight decay λ, as torch's SGD)."""
    def update(grads, state, params, lr):
        return -lr[:, None] * grads, state

    return add_weight_decay(Optimizer("gd", lambda params: (), update, {}, default_lr=0.01, kind="gd"),
                            weight_decay)


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
    if form == "ema" and np.any(damp_arr != 0):
        raise ValueError("dampening: only for form='heavy_ball' (the EMA form already scales g by 1-beta)")
    b, tau = _col(beta_arr), _col(damp_arr)
    hyper = {"beta": beta_arr} if form == "ema" else {"beta": beta_arr, "dampening": damp_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        return MomentumState(np.zeros_like(params), 0)

    def update(grads, state, params, lr):
        v, t = state
        if form == "ema":
            v = b * v + (1.0 - b) * grads
        else:
            v = grads.copy() if t == 0 else b * v + (1.0 - tau) * grads
        return -lr[:, None] * v, MomentumState(v, t + 1)

    core = Optimizer(f"momentum[{form}]", init, update, hyper, default_lr=0.01,
                     kind="ema_momentum" if form == "ema" else "heavy_ball", family="momentum", variants=(form,))
    return add_weight_decay(core, weight_decay)


def nesterov(beta: PerConfig = 0.9, weight_decay: PerConfig = 0.0) -> Optimizer:
    """Nesterov momentum as ``torch.optim.SGD(momentum=β, nesterov=True)``: b ← βb + g; θ ← θ − α(g + βb)."""
    beta_arr = _hyper(beta, "beta", 0.0, 1.0, high_open=True)
    b = _col(beta_arr)

    def init(params):
        _check_k({"beta": beta_arr}, params.shape[0])
        return MomentumState(np.zeros_like(params), 0)

    def update(grads, state, params, lr):
        v, t = state
        v = grads.copy() if t == 0 else b * v + grads
        return -lr[:, None] * (grads + b * v), MomentumState(v, t + 1)

    core = Optimizer("nesterov", init, update, {"beta": beta_arr}, default_lr=0.01, kind="nesterov")
    return add_weight_decay(core, weight_decay)


def adagrad(eps: PerConfig = 1e-10, lr_decay: PerConfig = 0.0, initial_accumulator_value: PerConfig = 0.0,
            weight_decay: PerConfig = 0.0) -> Optimizer:
    """AdaGrad as ``torch.optim.Adagrad``: s ← s + g²; θ ← θ − α_t·g/(√s + ε), α_t = α/(1 + (t−1)·lr_decay)."""
    eps_arr = _hyper(eps, "eps")
    decay_arr = _hyper(lr_decay, "lr_decay")
    init_arr = _hyper(initial_accumulator_value, "initial_accumulator_value")
    e, decay, acc0 = _col(eps_arr), _col(decay_arr), _col(init_arr)
    hyper = {"eps": eps_arr, "lr_decay": decay_arr, "initial_accumulator_value": init_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        return AdagradState(np.zeros_like(params) + acc0, 0)

    def update(grads, state, params, lr):
        s, t = state
        clr = lr[:, None] / (1.0 + t * decay)
        s = s + grads * grads
        return -clr * grads / (np.sqrt(s) + e), AdagradState(s, t + 1)

    return add_weight_decay(Optimizer("adagrad", init, update, hyper, default_lr=0.01, kind="adaptive"),
                            weight_decay)


def rmsprop(alpha: PerConfig = 0.99, eps: PerConfig = 1e-8, momentum: PerConfig = 0.0, centered: bool = False,
            weight_decay: PerConfig = 0.0) -> Optimizer:
    """RMSProp as ``torch.optim.RMSprop``: s ← αs + (1−α)g²; θ ← θ − lr·g/(√s + ε) (centered: √(s − ḡ²));
    with momentum μ: b ← μb + g/(√s + ε), θ ← θ − lr·b."""
    alpha_arr = _hyper(alpha, "alpha", 0.0, 1.0, high_open=True)
    eps_arr = _hyper(eps, "eps")
    mom_arr = _hyper(momentum, "momentum", 0.0, 1.0, high_open=True)
    a, e, mu = _col(alpha_arr), _col(eps_arr), _col(mom_arr)
    use_momentum = bool(np.any(mom_arr != 0))
    hyper = {"alpha": alpha_arr, "eps": eps_arr, "momentum": mom_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        zeros = np.zeros_like(params)
        return RMSPropState(zeros, zeros, zeros)

    def update(grads, state, params, lr):
        s, gbar, buf = state
        s = a * s + (1.0 - a) * grads * grads
        if centered:
            gbar = a * gbar + (1.0 - a) * grads
            denom = np.sqrt(s - gbar * gbar) + e
        else:
            denom = np.sqrt(s) + e
        if use_momentum:
            buf = mu * buf + grads / denom
            return -lr[:, None] * buf, RMSPropState(s, gbar, buf)
        return -lr[:, None] * grads / denom, RMSPropState(s, gbar, buf)

    name = "rmsprop[centered]" if centered else "rmsprop"
    return add_weight_decay(Optimizer(name, init, update, hyper, default_lr=0.01, kind="adaptive", family="rmsprop",
                                      variants=("centered",) if centered else ()), weight_decay)


def _adam(name, beta1, beta2, eps, amsgrad) -> Optimizer:
    """Adam's own step (weight decay is put around it by :func:`adam` and :func:`adamw`)."""
    b1_arr = _hyper(beta1, "beta1", 0.0, 1.0, high_open=True)
    b2_arr = _hyper(beta2, "beta2", 0.0, 1.0, high_open=True)
    eps_arr = _hyper(eps, "eps")
    b1, b2, e = _col(b1_arr), _col(b2_arr), _col(eps_arr)
    hyper = {"beta1": b1_arr, "beta2": b2_arr, "eps": eps_arr}

    def init(params):
        _check_k(hyper, params.shape[0])
        zeros = np.zeros_like(params)
        return AdamState(zeros, zeros, zeros, 0)

    def update(grads, state, params, lr):
        m, v, vmax, t = state
        t += 1
        m = b1 * m + (1.0 - b1) * grads
        v = b2 * v + (1.0 - b2) * grads * grads
        if amsgrad:
            vmax = np.maximum(vmax, v)
        # m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), arranged as torch.optim.Adam does
        denom = np.sqrt(vmax if amsgrad else v) / (1.0 - b2 ** t) ** 0.5 + e
        return -(lr[:, None] / (1.0 - b1 ** t)) * m / denom, AdamState(m, v, vmax, t)

    return Optimizer(name + ("[amsgrad]" if amsgrad else ""), init, update, hyper, default_lr=0.001, kind="adaptive",
                     family=name, variants=("amsgrad",) if amsgrad else ())


def adam(beta1: PerConfig = 0.9, beta2: PerConfig = 0.999, eps: PerConfig = 1e-8, weight_decay: PerConfig = 0.0,
         amsgrad: bool = False) -> Optimizer:
    """Adam with bias correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − α·m̂/(√v̂ + ε).
    Defaults α=0.001, β₁=0.9, β₂=0.999, ε=1e-8 as in the course and in ``torch.optim.Adam`` (weight decay as an L2
    term, as there)."""
    return add_weight_decay(_adam("adam", beta1, beta2, eps, amsgrad), weight_decay)


def adamw(beta1: PerConfig = 0.9, beta2: PerConfig = 0.999, eps: PerConfig = 1e-8, weight_decay: PerConfig = 0.01,
          amsgrad: bool = False) -> Optimizer:
    """AdamW: Adam with decoupled weight decay θ ← θ − αλθ, as ``torch.optim.AdamW`` (default λ = 0.01)."""
    return add_weight_decay(_adam("adamw", beta1, beta2, eps, amsgrad), weight_decay, decoupled=True)


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
