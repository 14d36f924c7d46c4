"""Argument checks shared by the library: each names the argument in its error, as every lrscope error does."""

from __future__ import annotations

import linecache
import math
import os

import numpy as np

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` is lrscope's answer to bad input -- a ValueError or TypeError from a ``raise`` statement in
    lrscope's own code, which names what to change -- rather than a bug: an error from inside NumPy, SciPy, torch or
    Python itself, or one an lrscope line raised without meaning to (``int(text)`` on a value it should have
    checked). The command line and the web API tell the user only of the first; the second is reported as a bug."""
    if not isinstance(exc, (ValueError, TypeError)) or exc.__traceback__ is None:
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = os.path.abspath(tb.tb_frame.f_code.co_filename)
    if not path.startswith(_PACKAGE + os.sep):
        return False
    return linecache.getline(path, tb.tb_lineno).lstrip().startswith("raise ")


def integer(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int, if it is an integer (not a bool) of at least ``minimum``; else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def positive(value, name: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (or >= 0 with ``allow_zero``); a TypeError/ValueError naming it otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name}: must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v
