"""``ls.sweep``: the runner's traces, then the theory and the verdicts read from them -- the three steps in one call.

The pieces stay separate (:func:`lrscope.run.run` only runs, :func:`lrscope.theory.analyze` only measures curvature,
:func:`lrscope.diagnose.judge` only reads traces); this is where a user's single call puts them together.
"""

from __future__ import annotations

import numpy as np

from . import diagnose, theory
from .objectives.base import Objective
from .run import SweepResult, run


ANALYSIS_SECONDS = 10.0      # the curvature analysis of ls.sweep gives up after this long (it only adds advice)


def safe_analysis(objective: Objective, seconds: float | None = ANALYSIS_SECONDS, check=None):
    """Theory for advice, and a note when there is none: (analysis or None, note or None). None where the
    curvature cannot be computed (e.g. not finite at the start) or took longer than ``seconds``; ``check()`` is
    called as it is measured (what it raises stops it)."""
    try:
        with np.errstate(all="ignore"):
            return theory.analyze(objective, seconds=seconds, check=check), None
    except theory.OutOfTime:
        return None, (f"the curvature analysis gave up after {seconds:g} s: the verdicts' advice has no "
                      f"stability bound")
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return None, "the curvature could not be measured here: the verdicts' advice has no stability bound"


def sweep(objective: Objective, lrs=None, optimizer=None, steps: int | None = None, *, analyze: bool = True,
          analysis_seconds: float | None = ANALYSIS_SECONDS, analysis: theory.Analysis | None = None,
          **options) -> SweepResult:
    """Run ``optimizer`` from the same start with every learning rate in ``lrs`` at once, then judge each run.

    The options are :func:`lrscope.run.run`'s (``schedule``, ``batch_size``, ``epochs``, ``seed``, ``x0``, ``state``,
    ``start_step``, ``eval_every``, ``keep_params``, ``progress``, ``stop``). The result carries the traces, the
    theory (``analysis``: L, μ, 2/L, ...; skipped with ``analyze=False``; given up after ``analysis_seconds``, with
    a note in ``notes``; ``analysis``: one already measured for this objective, used as it is) and a verdict per
    configuration.
    """
    result = run(objective, lrs, optimizer, steps, **options)
    if analysis is not None:
        result.analysis = analysis
    elif analyze:
        result.analysis, note = safe_analysis(objective, analysis_seconds)
        if note:
            result.notes.append(note)
    result.verdicts = diagnose.judge(result)
    return result
