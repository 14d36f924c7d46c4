"""The data a log is read into: a :class:`Series` per logged quantity, a :class:`LoggedRun` per run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Series:
    """One logged quantity: ``step`` (increasing integers) and ``value`` (floats; NaN and inf are data).
    ``logged``: how many points the log held (None where not known); ``every``: 1, or the stride of a series too
    long to hold whole, of which every ``every``-th point was kept (see :mod:`lrscope.logs.thin`)."""

    step: np.ndarray
    value: np.ndarray
    every: int = 1
    logged: int | None = None

    def __len__(self) -> int:
        return int(self.step.size)

    def at(self, step: float) -> float | None:
        """The value in force at ``step``: the last one logged at or before it (None before the first)."""
        i = int(np.searchsorted(self.step, step, side="right")) - 1
        return float(self.value[i]) if i >= 0 else None


@dataclass
class LoggedRun:
    """A training run read from a log: its ``name``, the training ``loss`` and, when logged, ``lr``, ``grad_norm``
    and ``val_loss``; ``source`` says which kind of log it came from and ``names`` which column or tag each
    quantity was read from."""

    name: str
    loss: Series
    lr: Series | None = None
    grad_norm: Series | None = None
    val_loss: Series | None = None
    source: str = ""
    names: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return int(self.loss.step[-1]) if len(self.loss) else 0

    @classmethod
    def of(cls, name: str, series: dict, source: str, names: dict) -> "LoggedRun":
        """A run from its series by quantity (``loss`` required) and the column or tag each was read from."""
        return cls(name, series["loss"], series.get("lr"), series.get("grad_norm"), series.get("val_loss"), source,
                   {q: n for q, n in names.items() if q in series})
