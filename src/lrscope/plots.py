"""Static pictures of a sweep (matplotlib): loss curves and trajectories over the contour map, one colour per
learning rate (the explorer uses the same colours) and the verdict as the line's style.

Optional: needs matplotlib (``pip install 'lrscope[all]'``). Only reads results; the core never imports this.
"""

from __future__ import annotations

import numpy as np

VERDICT_COLORS = {"converged": "#2ca02c", "slow": "#ff7f0e", "oscillating": "#9467bd", "diverged": "#d62728",
                  "unbounded": "#8c564b"}     # the verdict's badge (CLI tables, the explorer's verdict list)
# one colour per configuration (learning rate), the same in every picture: Tableau's 10, then their lighter twins
RATE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
               "#dbdb8d", "#9edae5"]
# the verdict as a line style (Plotly's dash names; matplotlib's below)
VERDICT_DASH = {"converged": "solid", "slow": "dash", "oscillating": "dashdot", "diverged": "dot",
                "unbounded": "longdash"}
_MPL_DASH = {"solid": "-", "dash": "--", "dashdot": "-.", "dot": ":", "longdash": (0, (8, 3))}


def rate_color(k: int) -> str:
    """The colour of configuration ``k`` (cycling after 20)."""
    return RATE_COLORS[k % len(RATE_COLORS)]


def thinned(step, value, at_most: int):
    """At most ``at_most`` evenly spaced points of a long curve (all of them when it has fewer): what a picture of
    a million-step log needs."""
    step, value = np.asarray(step), np.asarray(value, dtype=np.float64)
    if step.size <= at_most:
        return step, value
    idx = np.linspace(0, step.size - 1, at_most).astype(int)
    return step[idx], value[idx]


def numerical_minimizer(objective, max_distance: float = 1e3):
    """Where a local minimum near the start lies, found numerically (L-BFGS from x₀) for objectives that do not
    know theirs (a typed formula): to frame a picture. None where the search fails or runs away (no minimum)."""
    from scipy.optimize import minimize
    x0 = objective.x0

    def fun(x):
        value, grad = objective.value_and_grad(x[None])
        return float(value[0]), grad[0]

    try:
        with np.errstate(all="ignore"):
            found = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": 300})
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None
    x = np.asarray(found.x, dtype=np.float64)
    far = np.linalg.norm(x - x0) > max_distance * max(1.0, float(np.linalg.norm(x0)))
    return x if found.success and np.all(np.isfinite(x)) and np.isfinite(found.fun) and not far else None


def window(objective, paths, minimizer=None) -> tuple[np.ndarray, np.ndarray]:
    """The box a picture of the paths shows (lower and upper corner): the paths' finite points from their 1st to
    99th percentile (one wild step does not shrink the rest to a dot), the start and the minimum (the objective's,
    or ``minimizer``), padded by 15%. The one framing for the static plots and the explorer; pass the paths that
    should fit (a diverging one is better clipped than allowed to blow up the frame)."""
    paths = np.asarray(paths, dtype=np.float64).reshape(-1, objective.dim)
    pts = paths[np.all(np.isfinite(paths), axis=1)]
    x0 = objective.x0
    ref = objective.minimizer if objective.minimizer is not None else (x0 if minimizer is None else minimizer)
    core = np.vstack([pts, x0[None], np.asarray(ref)[None]])
    lo, hi = np.percentile(core, 1, axis=0), np.percentile(core, 99, axis=0)
    lo, hi = np.minimum(lo, np.minimum(x0, ref)), np.maximum(hi, np.maximum(x0, ref))
    pad = 0.15 * np.maximum(hi - lo, 1e-3)
    return lo - pad, hi + pad


def contour_levels(z, base: float | None = None, at_most: int = 12) -> np.ndarray:
    """Loss values to draw contour lines at: round steps of the gap to the lowest loss ``base`` (the minimum when
    known, else the lowest value in ``z``), log-spaced, since losses span decades: 1-2-5 in each decade, or 1-3, or
    powers of ten, whichever gives at most ``at_most`` lines between the gap's 0.5th and 98th percentiles. A label
    then reads as the loss itself (10, 1, 0.1 above a minimum of 0)."""
    z = np.asarray(z, dtype=np.float64)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return np.empty(0)
    base = float(z.min()) if base is None or not np.isfinite(base) else min(float(base), float(z.min()))
    gap = z - base
    gap = gap[gap > 0]
    if gap.size == 0:
        return np.empty(0)
    lo, hi = np.quantile(gap, [0.005, 0.98])
    if not hi > lo:
        return np.array([base + hi])
    decades = np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        steps = np.array([m * 10.0 ** e for e in decades for m in mantissas])
        steps = steps[(steps >= lo) & (steps <= hi)]
        if steps.size <= at_most:
            break
    else:                   # very many decades: every k-th power of ten
        steps = steps[::int(np.ceil(steps.size / at_most))]
    if steps.size == 0:     # less than one round step between the percentiles: the middle of them
        steps = np.array([np.sqrt(lo * hi)])
    return base + steps


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'lrscope[all]'") from None
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo") and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _interactive() -> bool:
    import sys
    return hasattr(sys, "ps1")


def _label(result, k: int) -> str:
    swept = {name: v for name, v in result.hyperparams.items() if np.unique(v).size > 1}
    extra = "".join(f", {name}={v[k]:g}" for name, v in swept.items())
    return f"α={result.lrs[k]:.3g}{extra}: {result.verdicts[k].kind}"


def plot_curves(result, ax=None):
    """Loss per step for every configuration on a log axis: one colour per learning rate, the verdict as the line
    style (solid converged, dashed slow, dash-dot oscillating, dotted diverged). Losses that can be ≤ 0 are drawn as
    the gap to the lowest value seen (loss − best); an exact zero at a floor a decade below the smallest value, as
    the axis label says."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    losses = result.losses
    finite = losses[np.isfinite(losses)]
    floor = float(finite.min()) if finite.size else 0.0
    gap = floor < 0
    ys = [np.where(finite_row > 0, finite_row, 0.0) for finite_row in (losses - floor if gap else losses)]
    positive = np.concatenate([y[np.isfinite(y) & (y > 0)] for y in ys]) if ys else np.empty(0)
    zero_at = positive.min() / 10 if positive.size else 1e-300      # an exact zero is drawn here, and said so
    zeros = False
    for k in range(result.K):
        y = np.where(ys[k] > 0, ys[k], np.where(np.isfinite(ys[k]), zero_at, np.nan))
        zeros |= bool(np.any(ys[k] == 0))
        kind = result.verdicts[k].kind
        ax.plot(np.arange(y.size), y, color=rate_color(k), ls=_MPL_DASH[VERDICT_DASH[kind]], alpha=0.9, lw=1.6,
                label=_label(result, k))
        if result.diverged_at[k] > 0:
            t = result.diverged_at[k] - 1
            ax.plot([t], [y[t]], "x", color=rate_color(k), ms=8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(("loss − best" if gap else "loss") + (f" (exact 0 drawn at {zero_at:.0e})" if zeros else ""))
    ax.set_title(f"{result.objective.name} · {result.optimizer.name}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_trajectories(result, ax=None, grid: int = 200):
    """For two-parameter objectives: contour lines of the loss and every configuration's path over them."""
    plt = _pyplot()
    if result.objective.dim != 2 or result.params is None:
        raise ValueError("trajectories: need a two-parameter objective and kept parameters")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    paths = result.params
    x0 = result.objective.x0
    lo, hi = window(result.objective, paths)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    with np.errstate(all="ignore"):
        z = result.objective.value(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    levels = contour_levels(z, result.objective.minimum)
    if levels.size:
        lines = ax.contour(gx, gy, z, levels=levels, cmap="Greys", vmin=levels[0] - (levels[-1] - levels[0]),
                           linewidths=0.6, alpha=0.8)
        ax.clabel(lines, fontsize=7, fmt=lambda v: f"{v:.3g}")
    for k in range(result.K):
        p = paths[k][np.all(np.isfinite(paths[k]), axis=1)]
        ax.plot(p[:, 0], p[:, 1], ".", ls=_MPL_DASH[VERDICT_DASH[result.verdicts[k].kind]], ms=2.5, lw=1,
                color=rate_color(k), label=f"α={result.lrs[k]:.3g}")
    ax.plot([x0[0]], [x0[1]], "ko", ms=5, label="start")
    if result.objective.minimizer is not None:
        m = result.objective.minimizer
        ax.plot([m[0]], [m[1]], "*", color="gold", mec="k", ms=12, label="minimum")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    names = result.objective.variables
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("paths over the loss contours")
    ax.legend(fontsize=7, loc="best")
    return ax


def save_sweep_figure(result, path: str, dpi: int = 110) -> None:
    """Write the loss curves (and, for two-parameter objectives, the paths over the contours) to an image file."""
    plt = _pyplot()
    two_d = result.objective.dim == 2 and result.params is not None
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(13 if two_d else 8, 5))
    axes = np.atleast_1d(axes)
    plot_curves(result, axes[0])
    if two_d:
        plot_trajectories(result, axes[1])
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)


def plot_range_test(result, ax=None, path: str | None = None):
    """The LR range test: the smoothed loss against α (log), the band over seeds, each rule's pick, the stability
    bound when known, the verified suggestion with its interval, and (right axis) the loss each candidate reached in
    each verification round. Where the answer is a schedule (``step_sizes``) and no ``ax`` is given, a second panel
    below shows the rate of every step of the budget."""
    plt = _pyplot()
    fig, rates_ax = None, None
    if ax is None and getattr(result, "step_sizes", None) is not None:
        fig, (ax, rates_ax) = plt.subplots(2, 1, figsize=(8, 7), gridspec_kw={"height_ratios": [3, 1.3]})
    elif ax is None:
        fig, ax = plt.subplots(figsize=(8, 5))
    if rates_ax is not None:
        _plot_step_sizes(result, rates_ax)
    ax.fill_between(result.lrs, result.band[0], result.band[1], color="tab:blue", alpha=0.2, label="band over seeds")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", lw=2, label="smoothed loss")
    styles = {"steepest": ("tab:orange", "--"), "valley": ("tab:purple", "--"), "min/10": ("tab:gray", "--")}
    for name, (color, ls) in styles.items():
        v = result.methods.get(name)
        if v is not None:
            ax.axvline(v, color=color, ls=ls, lw=1, label=f"{name}: {v:.3g}")
    if result.bound is not None:
        ax.axvline(result.bound, color="tab:red", lw=1.5, label=f"stability bound: {result.bound:.3g}")
    lo, hi = result.interval
    ax.axvspan(lo, hi, color="tab:green", alpha=0.12)
    ax.axvline(result.suggestion, color="tab:green", lw=2.5, label=f"lrscope (verified): {result.suggestion:.3g}")
    finite = result.smoothed[np.isfinite(result.smoothed)]
    if finite.size:
        top = max(finite[0], np.percentile(finite, 5)) * 1.5 if finite[0] > 0 else finite.max()
        ax.set_ylim(min(finite.min(), np.nanmin(result.band[0])) - 0.05 * abs(top), top)
    # each verification round, on its own axis: the loss each candidate reached, where it was trained
    rounds = [(result.candidates, result.candidate_losses, "o", "none", "first round (short)"),
              (result.finalists, result.finalist_losses, "o", "tab:green", "second round and margin check")]
    shown = [(x, y, m, f, lab) for x, y, m, f, lab in rounds if x is not None and np.any(np.isfinite(y))]
    if shown:
        twin = ax.twinx()
        for x, y, marker, face, label in shown:
            ok = np.isfinite(y)
            twin.plot(np.asarray(x)[ok], np.asarray(y)[ok], marker, mfc=face, mec="tab:green", ms=6, ls="none",
                      label=label)
        twin.set_ylabel("verification loss (where each run ended)")
        twin.legend(fontsize=7, loc="lower left")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("loss")
    ax.set_title(f"LR range test · {result.objective_name}")
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, which="major", alpha=0.3)
    if path is not None:
        (fig or ax.figure).tight_layout()
        try:
            (fig or ax.figure).savefig(path, dpi=110)
        finally:
            if fig is not None:
                plt.close(fig)
    return ax


def _plot_step_sizes(result, ax):
    """The recommended rate of every step (a cooldown; or step sizes far above 2/L for one step, then on a log
    scale), with the constant pick and the stability bound for reference."""
    rates = np.asarray(result.step_sizes, dtype=np.float64)
    steps = np.arange(rates.size)
    ax.plot(steps, rates, color="tab:green", lw=0.8, marker="." if rates.size <= 400 else None, ms=3,
            label="recommended rate of each step")
    ax.axhline(result.suggestion, color="tab:green", lw=1, ls=":", label=f"the pick, constant: {result.suggestion:.3g}")
    if result.bound is not None:
        ax.axhline(result.bound, color="tab:red", lw=1, label=f"stability bound: {result.bound:.3g}")
    if rates.min() > 0 and rates.max() > 5 * result.suggestion:       # step sizes far above the pick: log scale
        ax.set_yscale("log")
    ending = "" if result.schedule_loss is None else f" -- its run reached {result.schedule_loss:.3g}"
    ax.set_title(f"the schedule (res.step_sizes){ending}", fontsize=9)
    ax.set_xlabel("step")
    ax.set_ylabel("α")
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, alpha=0.3)
