"""``ls.sweep``: the runner's traces, then the theory and the verdicts read from them -- the three steps in one call.

The pieces stay separate (:func:`lrscope.run.run` only runs, :func:`lrscope.theory.analyze` only measures curvature,
:func:`lrscope.diagnose.judge` only reads traces); this is where a user's single call puts them together.
"""

from __future__ import annotations

import numpy as np

from . import diagnose, theory
from .objectives.base import Objective
from .run import SweepResult, run


def safe_analysis(objective: Objective) -> theory.Analysis | None:
    """Theory for advice; None where the curvature cannot be computed (e.g. not finite at the start)."""
    try:
        with np.errstate(all="ignore"):
            return theory.analyze(objective)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return None


def sweep(objective: Objective, lrs=None, optimizer=None, steps: int | None = None, *, analyze: bool = True,
          **options) -> SweepResult:
    """Run ``optimizer`` from the same start with every learning rate in ``lrs`` at once, then judge each run.

    The options are :func:`lrscope.run.run`'s (``schedule``, ``batch_size``, ``epochs``, ``seed``, ``x0``, ``state``,
    ``start_step``, ``eval_every``, ``keep_params``, ``progress``, ``stop``). The result carries the traces, the
    theory (``analysis``: L, μ, 2/L, ...; skipped with ``analyze=False``) and a verdict per configuration.
    """
    result = run(objective, lrs, optimizer, steps, **options)
    if analyze:
        result.analysis = safe_analysis(objective)
    result.verdicts = diagnose.judge(result)
    return result
