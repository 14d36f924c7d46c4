"""The explorer's contour map: lines of the loss at round values (``plots.contour_levels``: 0.1, 1, 10 … above
the minimum), traced on a grid by contourpy (matplotlib's contouring), each labelled with its loss where the label
has room. The page draws them as plain lines (the browser does no contouring, which is its slowest drawing step)."""

from __future__ import annotations

import numpy as np

from ..jsonable import numbers
from ..plots import contour_levels

GRID = 80               # grid points per side
LABEL_GAP = 0.14        # labels at least this far apart (as a fraction of the frame)
EDGE = 0.05             # and this far inside its edges


def contour_map(objective, lo, hi, base: float | None = None) -> dict:
    """Contour lines of ``objective`` over the box [lo, hi] (two parameters) at round loss values above ``base``
    (the lowest loss, when known): ``{"kind": "contour", "x": [x_lo, x_hi], "y": [y_lo, y_hi], "levels": [{"value",
    "x", "y"}...], "labels": [{"value", "x", "y"}...]}``; a level's lines are joined with nulls between them."""
    gx, gy = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
    X, Y = np.meshgrid(gx, gy)
    with np.errstate(all="ignore"):
        Z = objective.value(np.column_stack([X.ravel(), Y.ravel()])).reshape(GRID, GRID)
    levels = contour_levels(Z, base)
    lines = []
    if levels.size:
        import contourpy
        generator = contourpy.contour_generator(gx, gy, np.ma.masked_invalid(Z))
        lines = [(float(v), [seg for seg in generator.lines(v) if len(seg) > 1]) for v in levels]
    drawn = []
    for value, segs in lines:
        if not segs:
            continue
        joined = np.vstack([np.vstack([seg, [np.nan, np.nan]]) for seg in segs])[:-1]
        drawn.append({"value": value, "x": numbers(joined[:, 0], 5), "y": numbers(joined[:, 1], 5)})
    return {"kind": "contour", "x": numbers([lo[0], hi[0]]), "y": numbers([lo[1], hi[1]]), "levels": drawn,
            "labels": label_places(lines, np.asarray(lo, float), np.asarray(hi, float))}


def label_places(lines, lo, hi) -> list:
    """One label per level, on its longest line, as near the line's middle as the other labels and the frame's
    edges allow (levels without room go unlabelled rather than overlap)."""
    span = np.where(hi > lo, hi - lo, 1.0)
    placed: list = []
    out = []
    for value, segs in lines:
        for seg in sorted(segs, key=len, reverse=True):
            u = (seg - lo) / span
            middle = len(seg) // 2
            order = sorted(range(len(seg)), key=lambda i: abs(i - middle))
            room = (i for i in order if np.all((u[i] > EDGE) & (u[i] < 1 - EDGE))
                    and all(np.hypot(*(u[i] - p)) >= LABEL_GAP for p in placed))
            i = next(room, None)
            if i is not None:
                placed.append(u[i])
                out.append({"value": value, "x": float(seg[i, 0]), "y": float(seg[i, 1])})
                break
    return out
