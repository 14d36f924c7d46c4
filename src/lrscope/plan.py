"""Plans: a plain description of a sweep turned into the core's objects -- the one place the CLI and the web build them.

A :class:`Plan` says what to minimise (a built-in, a formula, or a model on a data set), which optimizer with which
hyperparameters, which schedule, the batch size, the length and the learning rates, in plain values (numbers,
strings, lists; text as typed on a command line is read too). :func:`build` checks it with the core's own errors and
returns a :class:`Setup`: the objective, the optimizer, the schedule and the grid of configurations (every
combination of the learning rates and the swept hyperparameters).

The option catalogue (:data:`OPTIMIZERS`, :data:`SCHEDULES`) is read from the factories' signatures in
:mod:`lrscope.optim` and :mod:`lrscope.schedules` -- name, type, default, choices, whether it may be swept -- so an
interface that lists or parses options from it cannot drift from the library.

Errors are :class:`PlanError` (a ``ValueError``) naming the plan's field: ``lrs``, ``optimizer``,
``hyperparams.beta``, ``schedule_params.gamma``, ...; each interface says it in its own words (``--beta``,
``optimizer.params.beta``).
"""

from __future__ import annotations

import collections.abc
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from . import objectives, optim, schedules
from .objectives.datasets import TORCH_MODELS
from .run import count_steps

MAX_CONFIGS = 10_000           # configurations in one grid (learning rates × swept values)
MAX_RANGE = 10_000             # values in one start:stop:count range


class PlanError(ValueError):
    """A mistake in a plan, naming its ``field`` (``lrs``, ``hyperparams.beta``, ...)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


# ---------------------------------------------------------------------------------------------------------------
# the option catalogue, read from the factories
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One parameter of an optimizer or schedule factory: ``kind`` is ``float``, ``int``, ``bool``, ``choice`` or
    ``ints`` (a list of integers); ``default`` None where the factory has none or it is None; ``sweepable`` where
    the factory takes one value per configuration."""

    name: str
    kind: str
    default: Any = None
    choices: tuple = ()
    sweepable: bool = False
    required: bool = False

    def to_dict(self) -> dict:
        return {"kind": self.kind, "default": self.default, "choices": list(self.choices),
                "sweepable": self.sweepable, "required": self.required}

    def read(self, value, where: str, text: bool = True):
        """``value`` (a plain value, or -- with ``text`` -- text as typed) as this option's type; a list of several
        values only where it is sweepable (then a float array). A :class:`PlanError` naming ``where`` otherwise.
        Without ``text`` (JSON has types) a boolean must be true or false and a number a number."""
        if not text and isinstance(value, str) and self.kind in ("bool", "int", "float"):
            wanted = "true or false" if self.kind == "bool" else "a number"
            raise PlanError(where, f"expected {wanted}, got {value!r}")
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.strip().lower() in ("true", "yes", "1")
            raise PlanError(where, f"expected true or false, got {value!r}")
        if self.kind == "choice":
            if value not in self.choices:
                raise PlanError(where, f"expected one of {', '.join(self.choices)}, got {value!r}")
            return value
        if self.kind == "ints":
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, (int, float, np.number)):
                items = [items]
            return [_integer(v, where) for v in items]
        values = read_values(value, where) if isinstance(value, str) else _numbers(value, where)
        if values.size > 1 and not self.sweepable:
            raise PlanError(where, f"takes one value, got {values.size}")
        if self.kind == "int":
            return _integer(float(values[0]), where)
        return float(values[0]) if values.size == 1 else values


def _kind_of(hint) -> tuple[str, tuple, bool]:
    """(kind, choices, sweepable) from a type hint of a factory parameter."""
    if hint is optim.PerConfig:
        return "float", (), True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "choice", tuple(args), False
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _kind_of(rest[0])
    if origin in (collections.abc.Sequence, list, tuple):
        return "ints", (), False
    if hint is bool:
        return "bool", (), False
    if hint is int:
        return "int", (), False
    if hint is float:
        return "float", (), False
    return "", (), False


def options_of(factory) -> dict[str, Option]:
    """The plain options a factory takes, from its signature and type hints (parameters whose type is not a plain
    value, such as a warmup's ``then`` schedule, are left out)."""
    hints = typing.get_type_hints(factory)
    out = {}
    for name, p in inspect.signature(factory).parameters.items():
        kind, choices, sweepable = _kind_of(hints.get(name))
        if not kind:
            continue
        required = p.default is inspect.Parameter.empty
        out[name] = Option(name, kind, None if required else p.default, choices, sweepable, required)
    return out


def _catalogue(factories: dict) -> dict[str, dict[str, Option]]:
    """Each factory once, under its own name (``sgd`` for ``gd``, ``step`` for ``step_decay`` are aliases)."""
    seen = {}
    for factory in factories.values():
        seen.setdefault(factory.__name__, options_of(factory))
    return seen


OPTIMIZERS: dict[str, dict[str, Option]] = _catalogue(optim.OPTIMIZERS)
SCHEDULES: dict[str, dict[str, Option]] = _catalogue(schedules.SCHEDULES)


def canonical(table: dict, name: str, what: str) -> str:
    """The factory name behind ``name`` (an alias such as ``sgd`` or ``plateau`` included)."""
    if not isinstance(name, str) or name not in table:
        raise PlanError(what, f"unknown {name!r}; choose one of {', '.join(table)}")
    return table[name].__name__


def hyperparameter_owners() -> dict[str, list[str]]:
    """Every optimizer hyperparameter and the optimizers that take it (what a command line offers as options)."""
    owners: dict[str, list[str]] = {}
    for name, opts in OPTIMIZERS.items():
        for key in opts:
            owners.setdefault(key, []).append(name)
    return owners


def hyperparameter_option(key: str) -> Option:
    """The catalogue entry of a hyperparameter (the same in every optimizer that takes it)."""
    for opts in OPTIMIZERS.values():
        if key in opts:
            return opts[key]
    raise KeyError(key)


# ---------------------------------------------------------------------------------------------------------------
# values as typed
# ---------------------------------------------------------------------------------------------------------------
def read_number(text, where: str) -> float:
    """One finite number (text as typed, or a number); a PlanError naming ``where`` otherwise."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise PlanError(where, f"{text!r} is not a number") from None
    if not np.isfinite(value):
        raise PlanError(where, f"must be finite, got {text!r}")
    return value


def _numbers(value, where: str) -> np.ndarray:
    """A number or a list of numbers (not booleans) as a float array."""
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if not items:
        raise PlanError(where, "expected at least one number")
    if any(isinstance(v, (bool, np.bool_)) for v in items):
        raise PlanError(where, f"expected numbers, got {value!r}")
    return np.array([read_number(v, where) for v in items])


def _integer(value, where: str) -> int:
    number = read_number(value, where) if not isinstance(value, (int, np.integer)) else float(value)
    if isinstance(value, (bool, np.bool_)) or not float(number).is_integer():
        raise PlanError(where, f"expected an integer, got {value!r}")
    return int(number)


def read_values(text: str, where: str, positive: bool = False) -> np.ndarray:
    """Numbers as typed: a list ``a,b,c`` or a log-spaced range ``start:stop:count``."""
    text = text.strip()
    if re.fullmatch(r"[^:,]+:[^:,]+:[^:,]+", text):
        start, stop, count = text.split(":")
        lo, hi = read_number(start, where), read_number(stop, where)
        try:
            n = int(count)
        except ValueError:
            raise PlanError(where, f"the count in start:stop:count must be an integer, got {count!r}") from None
        if not 1 <= n <= MAX_RANGE:
            raise PlanError(where, f"the count in start:stop:count must be 1..{MAX_RANGE}, got {n}")
        if lo <= 0 or hi <= 0:
            raise PlanError(where, f"a log-spaced range needs start and stop > 0, got {text!r}")
        values = np.geomspace(lo, hi, n)
    else:
        parts = text.split(",")
        if any(not p.strip() for p in parts):
            raise PlanError(where, f"expected numbers separated by commas or start:stop:count, got {text!r}")
        values = np.array([read_number(p, where) for p in parts])
    if positive and np.any(values <= 0):
        raise PlanError(where, f"must be > 0, got {text!r}")
    return values


# ---------------------------------------------------------------------------------------------------------------
# plans
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """A sweep in plain values.

    The objective: ``dataset`` (with ``model``, ``standardize``, ``l2``) or else ``objective``: a built-in's name or
    a formula (``kind`` ``"builtin"`` or ``"formula"`` says which; ``"auto"``: a built-in's name if it is one) with
    the start ``x0``. ``optimizer`` and its ``hyperparams`` (a list of several values sweeps that one), ``schedule``
    with ``schedule_params`` and an optional linear ``warmup``; ``lrs`` (default: the optimizer's usual rate);
    ``steps`` or ``epochs``, ``batch_size`` and ``seed`` as :func:`lrscope.run.run` takes them. ``text``: option
    values may be text as typed (``"0.5,0.9"``, ``"true"``); a JSON request sets it False.
    """

    objective: str | None = None
    kind: str = "auto"
    x0: Any = None
    dataset: str | None = None
    model: str | None = None
    standardize: bool = True
    l2: float = 0.0
    optimizer: str = "gd"
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    schedule_params: Mapping[str, Any] = field(default_factory=dict)
    warmup: int | None = None
    lrs: Any = None
    steps: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    seed: int = 0
    text: bool = True           # values may be text as typed (a command line); False: JSON, whose values are typed

    @property
    def torch_model(self) -> bool:
        """Whether the model is a PyTorch network (trained with ``lrscope.torch``, not the NumPy core)."""
        return self.model in TORCH_MODELS


@dataclass
class Setup:
    """A plan built: the ``objective`` (None for a PyTorch model), the ``optimizer`` (every swept hyperparameter as
    one value per configuration), the ``schedule``, the grid's learning rates ``lrs`` (K,) and ``swept``: each swept
    hyperparameter's values (K,)."""

    plan: Plan
    objective: objectives.Objective | None
    optimizer: optim.Optimizer
    schedule: Any
    lrs: np.ndarray
    swept: dict

    @property
    def steps(self) -> int:
        """How many updates the run will make (``steps``, or ``epochs`` over the data; the runner's own rule)."""
        p = self.plan
        return count_steps(self.objective, p.steps, p.epochs, p.batch_size)

    def run_options(self) -> dict:
        """The keyword arguments of :func:`lrscope.run.run` / ``ls.sweep`` besides objective, lrs and optimizer."""
        p = self.plan
        return {"steps": p.steps, "epochs": p.epochs, "batch_size": p.batch_size, "seed": p.seed,
                "schedule": self.schedule}


OBJECTIVE_FIELDS = ("objective", "kind", "x0", "dataset", "model", "standardize", "l2")


def build_objective(plan: Plan) -> objectives.Objective | None:
    """The objective a plan names (None for a PyTorch model: ``lrscope.torch.models`` builds those)."""
    if plan.dataset is not None:
        if plan.objective is not None:
            raise PlanError("objective", "give an objective or a data set, not both")
        if plan.x0 is not None:
            raise PlanError("x0", "data-set models start from zero weights; x0 is for functions")
        if plan.torch_model:
            return None
        return objectives.dataset(plan.dataset, plan.model, standardize=plan.standardize, l2=plan.l2)
    if plan.model is not None:
        raise PlanError("model", "only with a data set")
    x0 = None if plan.x0 is None else (read_values(plan.x0, "x0") if isinstance(plan.x0, str) else plan.x0)
    name = "x2" if plan.objective is None else plan.objective
    if not isinstance(name, str):
        raise PlanError("objective", f"expected a name or a formula, got {type(name).__name__}")
    if plan.kind == "builtin":
        try:
            return objectives.builtin(name, x0)
        except ValueError as exc:          # 'objective: ... did you mean ...' (an x0 of the wrong size stays as it is)
            head, _, rest = str(exc).partition(": ")
            raise PlanError("objective", rest) if head == "objective" else exc from None
    if plan.kind == "formula":
        if not name.strip():
            raise PlanError("objective", "type a formula, e.g. x**2 + 10*y**2")
        return objectives.formula(name, x0=x0)
    if plan.kind != "auto":
        raise PlanError("kind", f"expected builtin, formula or auto, got {plan.kind!r}")
    return objectives.get(name, x0=x0)


def _renamed(exc: Exception, prefix: str, names) -> Exception:
    """A core error about one of ``names`` ('beta: ...'), as a PlanError naming the plan's field."""
    head, sep, rest = str(exc).partition(":")
    if sep and head in names:
        return PlanError(f"{prefix}.{head}", rest.strip())
    return exc


def read_options(given: Mapping, catalogue: dict[str, Option], owner: str, prefix: str, text: bool = True) -> dict:
    """The options ``given`` for ``owner`` read through its catalogue (unknown names refused; ``text``: values may
    be text as typed)."""
    if not isinstance(given, Mapping):
        raise PlanError(prefix, f"expected a mapping of names to values, got {type(given).__name__}")
    out = {}
    for key, value in given.items():
        if key not in catalogue:
            takes = ", ".join(catalogue) or "none"
            raise PlanError(f"{prefix}.{key}", f"not a parameter of {owner} (it takes {takes})")
        out[key] = catalogue[key].read(value, f"{prefix}.{key}", text)
    for key, option in catalogue.items():
        if option.required and key not in out:
            raise PlanError(f"{prefix}.{key}", f"{owner} needs it")
    return out


def build_optimizer(name: str, hyperparams: Mapping, text: bool = True) -> tuple[str, dict, dict, float]:
    """The optimizer's factory name, its fixed hyperparameters, the swept ones (name -> their values) apart, and
    its usual learning rate -- the values checked by the core's own factory before any grid is made."""
    family = canonical(optim.OPTIMIZERS, name, "optimizer")
    values = read_options(hyperparams, OPTIMIZERS[family], family, "hyperparams", text)
    fixed = {k: v for k, v in values.items() if not isinstance(v, np.ndarray)}
    swept = {k: v for k, v in values.items() if isinstance(v, np.ndarray)}
    try:
        checked = optim.get(family, **fixed, **swept)          # the core's range checks (one configuration each)
    except (ValueError, TypeError) as exc:
        raise _renamed(exc, "hyperparams", values) from None
    return family, fixed, swept, checked.default_lr


def build_schedule(name: str | None, params: Mapping, warmup: int | None, text: bool = True):
    """The schedule (None: constant), with a linear warmup before it when ``warmup`` is given."""
    if name is None or name == "constant":
        if params:
            raise PlanError("schedule_params", "needs a schedule")
        main = None
    else:
        family = canonical(schedules.SCHEDULES, name, "schedule")
        values = read_options(params, SCHEDULES[family], family, "schedule_params", text)
        try:
            main = schedules.get(family, **values)
        except (ValueError, TypeError) as exc:
            raise _renamed(exc, "schedule_params", SCHEDULES[family]) from None
    if warmup:
        warmup = _integer(warmup, "warmup")
        if isinstance(main, schedules.PlateauSchedule):
            raise PlanError("warmup", "cannot be combined with reduce_on_plateau")
        return schedules.warmup(warmup, then=main)
    return main


def expand_grid(lrs: np.ndarray, swept: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Every combination of the learning rates and the swept values: the grid's rates (K,) and each swept
    hyperparameter's value per configuration (K,), learning rate outermost. The size is counted before anything
    is built (80 values of four hyperparameters would otherwise be 41M configurations in memory)."""
    axes = [np.asarray(lrs, dtype=np.float64), *(np.asarray(v, dtype=np.float64) for v in swept.values())]
    count = math.prod(a.size for a in axes)
    if count > MAX_CONFIGS:
        sizes = " × ".join([f"{axes[0].size} learning rate{'s' * (axes[0].size != 1)}"]
                           + [f"{a.size} {key}" for key, a in zip(swept, axes[1:])])
        lengths = {"lrs": axes[0].size, **{f"hyperparams.{key}": a.size for key, a in zip(swept, axes[1:])}}
        field = max(lengths, key=lengths.get)                  # the longest list: the one to shorten
        raise PlanError(field, f"{sizes} is {count} configurations, too many (at most {MAX_CONFIGS})")
    mesh = np.meshgrid(*axes, indexing="ij")
    return mesh[0].ravel(), {key: m.ravel() for key, m in zip(swept, mesh[1:])}


def read_lrs(lrs, default: float) -> np.ndarray:
    """The learning rates of a plan (text as typed, a number or a list); ``default`` when there are none."""
    if lrs is None:
        return np.array([default])
    values = read_values(lrs, "lrs", positive=True) if isinstance(lrs, str) else _numbers(lrs, "lrs")
    if np.any(values <= 0):
        raise PlanError("lrs", f"every learning rate must be > 0, got {lrs!r}")
    return values


def build(plan: Plan, objective: objectives.Objective | None = None) -> Setup:
    """The objects a plan describes, checked: objective, optimizer, schedule, the grid of configurations.
    ``objective``: the plan's objective already built (an interface that keeps them between requests)."""
    if not isinstance(plan, Plan):
        raise TypeError(f"plan: expected an lrscope Plan, got {type(plan).__name__}")
    objective = build_objective(plan) if objective is None else objective
    family, fixed, swept, default_lr = build_optimizer(plan.optimizer, plan.hyperparams, plan.text)
    schedule = build_schedule(plan.schedule, plan.schedule_params, plan.warmup, plan.text)
    grid_lrs, per_config = expand_grid(read_lrs(plan.lrs, default_lr), swept)
    optimizer = optim.get(family, **fixed, **per_config)
    return Setup(plan, objective, optimizer, schedule, grid_lrs, per_config)
