"""The LR range test with a verified suggestion (see :mod:`lrscope.finder.core` for the whole story).

``pipeline`` is the one pipeline both finders run (settings → curve → candidates → verification → the answer)
over a small trainer interface; ``core`` is ``find`` on lrscope's own objectives (its range test and trainer),
``lrscope.torch.finder`` the same for a PyTorch model. ``rules`` reads a range-test curve, ``verify`` is the
verification, ``range_test`` holds the test itself (settings, stop rule, result), ``schedule`` the schedules a pick
can be verified with, ``cooldown``, ``quadratic`` and ``refine`` what a budget adds to the pick.
"""

from ..diagnose import smooth
from .core import _Runs, find
from .range_test import BUDGET_FINAL, BUDGET_FIRST, FINAL_FACTOR, DivergenceStop, FindResult, check_plan, ramp
from .rules import MERGE, min_over_ten, read_curve, steepest, valley
from .verify import (EDGE, EDGE_PROBES, EXACT_TIE, EXTEND, FAIL_RATIO, FITTED, IMMATERIAL, MAX_PROBES, TIE, Tally,
                     Ties, Verification, above_a_failure, above_the_start_bound, clearly_better, finalist_count,
                     may_settle, much_worse, run_score, standard_error,
                     search_the_edge, steady, take_half, verification_steps, verify_candidates)

__all__ = ["find", "FindResult", "DivergenceStop", "check_plan", "ramp", "read_curve", "steepest", "valley",
           "min_over_ten", "verify_candidates", "Verification", "Tally", "verification_steps", "finalist_count",
           "run_score", "clearly_better", "above_a_failure", "IMMATERIAL", "much_worse", "may_settle",
           "take_half", "FITTED", "Ties", "standard_error",
           "above_the_start_bound", "smooth", "MERGE",
           "search_the_edge", "steady", "EDGE", "EDGE_PROBES", "EXACT_TIE", "EXTEND", "FAIL_RATIO", "MAX_PROBES",
           "TIE", "FINAL_FACTOR", "BUDGET_FIRST", "BUDGET_FINAL", "_Runs"]
