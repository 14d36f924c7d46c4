"""Numbers for JSON: strict JSON has no NaN or infinity, so a non-finite value is null -- one helper for every
``to_dict`` and the web API."""

from __future__ import annotations

import numpy as np


def number(x) -> float | None:
    """A float, or None where ``x`` is None, NaN or infinite."""
    return None if x is None or not np.isfinite(x) else float(x)


def numbers(a, digits: int | None = None) -> list:
    """A flat list of floats (None where not finite), rounded to ``digits`` significant digits if given (what a
    page draws needs no more, and the payload shrinks)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    finite = np.isfinite(a)
    values = a
    if digits is not None:
        with np.errstate(all="ignore"):
            magnitude = np.floor(np.log10(np.where(finite & (a != 0), np.abs(a), 1.0)))
            scale = 10.0 ** (digits - 1 - magnitude)
            rounded = np.where(finite, np.round(a * scale) / scale, 0.0)
        values = np.where(np.isfinite(rounded), rounded, a)       # extreme magnitudes: kept as they are
    if finite.all():
        return values.tolist()
    out = values.astype(object)
    out[~finite] = None
    return out.tolist()
