"""Objectives: what lrscope minimises -- analytic functions, typed formulas and models on real data sets."""

import difflib
import re

from .analytic import Quadratic, Rosenbrock, beale, himmelblau, quadratic, rosenbrock, saddle, square
from .base import Objective
from .datasets import (DATASETS, LeastSquares, Logistic, Softmax, dataset, least_squares, logistic,
                       held_out_rows, softmax_regression, train_test)
from .expression import FormulaObjective, formula

BUILTINS = {
    "x2": square,
    "square": square,
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "saddle": saddle,
}


def builtin(name: str, x0=None) -> Objective:
    """A built-in objective by name; for any other name a ValueError that says which built-in was meant."""
    key = name.strip().lower()
    if key not in BUILTINS:
        close = difflib.get_close_matches(key, list(BUILTINS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"objective: {name.strip()!r} is not a built-in; {hint}the built-ins are "
                         f"{', '.join(BUILTINS)} (or type a formula such as x**2 + 10*y**2)")
    return BUILTINS[key]() if x0 is None else BUILTINS[key](x0=x0)


def get(name: str, x0=None) -> Objective:
    """A built-in objective by name (``x2``, ``quadratic``, ``rosenbrock``, ``beale``, ``himmelblau``, ``saddle``)
    or, if the name is none of those, a formula (``"x**2 + 10*y**2"``). A single word that is not a built-in is a
    mistake, not a formula (a loss that is one variable has no minimum): the error says which built-in was meant."""
    if not isinstance(name, str):
        raise TypeError(f"objective: expected a name or a formula, got {type(name).__name__}")
    key = name.strip().lower()
    if not key:
        raise ValueError(f"objective: empty; give a built-in ({', '.join(BUILTINS)}) or a formula such as x**2")
    if key in ("x^2", "x**2") and x0 is None:
        key = "x2"
    if key in BUILTINS or re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", key):
        return builtin(key, x0)
    return formula(name, x0=x0)


__all__ = ["Objective", "Quadratic", "Rosenbrock", "FormulaObjective", "LeastSquares", "Logistic", "Softmax",
           "square", "quadratic", "rosenbrock", "beale", "himmelblau", "saddle", "formula", "dataset", "train_test",
           "held_out_rows", "least_squares", "logistic", "softmax_regression", "get", "builtin", "BUILTINS", "DATASETS"]
