"""The picture of a diagnosed log (matplotlib): every run's loss in its own colour -- the raw points faint, the
trend the verdict was judged on solid --, the validation loss dashed, and the events marked: × where a run
diverged, ▲ at spikes, ● where the validation loss was lowest (overfitting after it), a dotted line where the logged
rate dropped. With a logged rate, a second panel shows it."""

from __future__ import annotations

import numpy as np

from ..diagnose import Kind
from ..plots import VERDICT_COLORS, _pyplot, rate_color, thinned

MAX_POINTS = 20_000          # raw points drawn per run (evenly thinned beyond this)


def _top(report, log: bool):
    """The top of the loss axis: well above every run's start (10× on a log axis), so that a run that blew up
    leaves the picture instead of squashing the others; None when nothing went that high."""
    starts = [float(d.trend.value[0]) for d in report if d.trend is not None and d.trend.value.size]
    highest = max((np.nanmax(np.where(np.isfinite(d.run.loss.value), d.run.loss.value, np.nan))
                   for d in report if np.any(np.isfinite(d.run.loss.value))), default=None)
    if not starts or highest is None:
        return None
    start = max(starts)
    top = 10 * start if log and start > 0 else start + abs(start)
    return top if highest > top else None


def plot_report(report, path: str | None = None, ax=None, dpi: int = 110):
    """Draw ``report`` (a :class:`lrscope.logs.LogReport`); write it to ``path`` when given (then the figure is
    closed) and return the loss axis."""
    plt = _pyplot()
    has_lr = any(d.run.lr is not None for d in report) and ax is None
    if ax is None:
        fig, axes = plt.subplots(2 if has_lr else 1, 1, figsize=(9, 7 if has_lr else 5), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]} if has_lr else None)
        axes = np.atleast_1d(axes)
        ax = axes[0]
    else:
        fig, axes = ax.figure, [ax]
    positive = all(np.all(d.run.loss.value[np.isfinite(d.run.loss.value)] > 0) for d in report)
    top = _top(report, positive)
    for k, d in enumerate(report):
        color = rate_color(k)
        s, y = thinned(d.run.loss.step, d.run.loss.value, MAX_POINTS)
        ax.plot(s, y, color=color, alpha=0.25, lw=0.8)
        if d.trend is not None:
            ax.plot(d.trend.step, d.trend.value, color=color, lw=1.8,
                    label=f"{d.run.name}: {d.verdict.kind}" + (f" at {d.verdict.step}" if d.verdict.step is not None
                                                               and d.verdict.kind == Kind.DIVERGED else ""))
        if d.run.val_loss is not None:
            ax.plot(d.run.val_loss.step, d.run.val_loss.value, color=color, ls="--", lw=1.2, marker=".",
                    label=f"{d.run.name}: validation")
        for f in d.findings:
            if f.step is None:
                continue
            at = d.run.loss.at(f.step) if f.kind != "overfitting" else d.run.val_loss.at(f.step)
            at = at if at is not None and np.isfinite(at) else (d.trend.value[-1] if d.trend is not None else None)
            if f.kind == "diverged" and at is not None:
                ax.plot([f.step], [min(at, top) if top is not None else at], "x", color=VERDICT_COLORS["diverged"],
                        ms=10, mew=2, clip_on=False)
            elif f.kind == "spike" and at is not None:
                ax.plot([f.step], [at], "^", color=color, ms=7)
            elif f.kind == "overfitting" and at is not None:
                ax.plot([f.step], [at], "o", color=color, ms=8, mfc="none", mew=2)
            elif f.kind in ("lr", "plateau"):             # a plateau's step is where the rate dropped
                ax.axvline(f.step, color=color, ls=":", lw=1)
    if positive:
        ax.set_yscale("log")
    if top is not None:             # a run that blew up is drawn off the top, not allowed to squash the others
        ax.set_ylim(top=top)
    ax.set_ylabel("training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{report.path}: {len(report)} run{'s' if len(report) != 1 else ''}")
    if has_lr:
        for k, d in enumerate(report):
            if d.run.lr is not None:
                ax_lr = axes[1]
                ax_lr.plot(d.run.lr.step, d.run.lr.value, color=rate_color(k), lw=1.4)
        rates = np.concatenate([d.run.lr.value for d in report if d.run.lr is not None])
        rates = rates[np.isfinite(rates)]
        if rates.size and rates.min() > 0 and rates.max() > 10 * rates.min():
            axes[1].set_yscale("log")
        axes[1].set_ylabel("learning rate")
        axes[1].grid(True, alpha=0.3)
    axes[-1].set_xlabel("step")
    if path is not None:
        fig.tight_layout()
        try:
            fig.savefig(path, dpi=dpi)
        finally:
            plt.close(fig)
    return ax
