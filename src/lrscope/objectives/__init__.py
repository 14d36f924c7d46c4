"""Objectives: what lrscope minimises -- analytic functions, typed formulas and models on real data sets."""

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


def get(name: str, x0=None) -> Objective:
    """A built-in objective by name (``x2``, ``quadratic``, ``rosenbrock``, ``beale``, ``himmelblau``, ``saddle``)
    or, if the name is none of those, a formula (``"x**2 + 10*y**2"``)."""
    if not isinstance(name, str):
        raise TypeError(f"objective: expected a name or a formula, got {type(name).__name__}")
    key = name.strip().lower()
    if key in ("x^2", "x**2") and x0 is None:
        key = "x2"
    if key in BUILTINS:
        return BUILTINS[key]() if x0 is None else BUILTINS[key](x0=x0)
    return formula(name, x0=x0)


__all__ = ["Objective", "Quadratic", "Rosenbrock", "FormulaObjective", "LeastSquares", "Logistic", "Softmax",
           "square", "quadratic", "rosenbrock", "beale", "himmelblau", "saddle", "formula", "dataset", "train_test",
           "held_out_rows", "least_squares", "logistic", "softmax_regression", "get", "BUILTINS", "DATASETS"]
