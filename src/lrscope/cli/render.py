"""How the command line shows results: rich tables (plain tab-separated text without rich), verdict colours, a
progress bar for long runs, CSV."""

from __future__ import annotations

import csv
import re
import sys
import time

import numpy as np

from ..plots import VERDICT_COLORS

MARKUP = re.compile(r"\[/?[a-z #0-9]+\]")


def console(quiet: bool = False, stderr: bool = False):
    """A rich console (None when quiet, or without rich: then plain text is printed)."""
    if quiet:
        return None
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is in the [all] extra
        return None

    class Quiet(Console):
        def on_broken_pipe(self):           # `lrscope ... | head`: end as the command's own pipe errors do
            raise BrokenPipeError

    return Quiet(highlight=False, soft_wrap=False, stderr=stderr)


def say(out, text: str) -> None:
    """A line of text (rich markup is dropped where there is no rich console)."""
    if out is None:
        print(MARKUP.sub("", text))
    else:
        out.print(text)


def table(title, columns, rows, out) -> None:
    if out is None:
        print(title)
        print("\t".join(columns))
        for row in rows:
            print("\t".join(str(c) for c in row))
        return
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text
    t = Table(title=escape(title), title_justify="left")       # names such as momentum[ema] are text, not markup
    for col in columns:
        t.add_column(escape(col), overflow="fold")
    for row in rows:
        t.add_row(*[c if isinstance(c, Text) else escape(str(c)) for c in row])
    out.print(t)


def fmt(x) -> str:
    """A number as the tables show it (6 significant digits; nan, inf)."""
    if x is None:
        return ""
    if not np.isfinite(x):
        return "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.6g}"


def kind(name: str, out):
    """A verdict's name, in its colour (the plots' colours) on a rich console."""
    if out is None:
        return name
    from rich.text import Text
    return Text(name, style=VERDICT_COLORS[name])


class Progress:
    """A rich progress bar on stderr that appears only if the run takes more than a second."""

    def __init__(self, enabled: bool, label: str, unit: str = "steps"):
        self.enabled = enabled and sys.stderr.isatty()
        self.label, self.bar, self.task, self.start = label, None, None, time.perf_counter()
        self.unit = unit

    def __call__(self, done: int, total: int, label: str | None = None, unit: str | None = None) -> None:
        """Show ``done`` of ``total``; a new ``label``/``unit`` starts the next stage of the work on the same bar."""
        if not self.enabled:
            return
        self.label, self.unit = label or self.label, unit or self.unit
        if self.bar is None and time.perf_counter() - self.start > 1.0:
            from rich.progress import BarColumn, Progress as Bar, TimeRemainingColumn
            self.bar = Bar("[progress.description]{task.description}", BarColumn(),
                           "{task.completed}/{task.total} {task.fields[unit]}", TimeRemainingColumn(), transient=True,
                           console=console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total, unit=self.unit)
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total, description=self.label, unit=self.unit)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


def sweep_table(res, swept, out) -> None:
    """One row per configuration: α (and the swept hyperparameters), final and best loss, verdict, advice; then the
    theory and the best run."""
    columns = ["α", *swept, "final loss", "best loss", "verdict", "step", "advice"]
    finals, bests = res.final_losses, res.best_losses
    rows = [(f"{res.lrs[k]:.4g}", *[f"{res.hyperparams[key][k]:g}" for key in swept], fmt(finals[k]),
             fmt(bests[k]), kind(v.kind, out), "" if v.step is None else v.step, v.advice)
            for k, v in enumerate(res.verdicts)]
    mode = ("full batch" if res.batch_size is None or res.batch_losses is None
            else f"mini-batch of {res.batch_size}")
    table(f"{res.objective.name} · {res.optimizer!r} · {res.steps} steps · {mode}", columns, rows, out)
    if res.analysis is not None:
        say(out, f"Theory: {res.analysis.summary()}.")
    for note in res.notes:
        say(out, f"Note: {note}.")
    best = res.best()
    say(out, f"Best: α={res.lrs[best]:.4g} (final loss {fmt(res.final_losses[best])}): {res.verdicts[best].reason}.")


def write_csv(res, fh) -> None:
    """Long format: one row per configuration and step (loss, learning rate, gradient norm)."""
    writer = csv.writer(fh)
    keys = list(res.hyperparams)
    writer.writerow(["config", "lr", *keys, "step", "loss", "lr_used", "grad_norm", "verdict"])
    for k in range(res.K):
        base = [k, repr(float(res.lrs[k])), *[repr(float(res.hyperparams[key][k])) for key in keys]]
        for t in range(res.steps + 1):
            lr_t = res.lr_used[k, t] if t < res.steps else None
            gn = res.grad_norms[k, t] if t < res.steps else None
            writer.writerow([*base, t, _csv_number(res.losses[k, t]), _csv_number(lr_t), _csv_number(gn),
                             res.verdicts[k].kind])


def _csv_number(x) -> str:
    return repr(float(x)) if x is not None and np.isfinite(x) else ""


def log_table(report, out) -> None:
    """A short table (one row per logged run: steps, final loss, verdict and its step, noise), then each run's
    reason, what else its log shows and the advice, one line each; then the runs that could not be judged."""
    from ..logs import describe_lr
    columns = ["run", "steps", "final loss", "verdict", "step", "noise"]
    rows = [(d.run.name, d.run.steps, fmt(d.final_loss), kind(d.verdict.kind, out),
             "" if d.verdict.step is None else d.verdict.step,
             f"±{d.noise:.2g}" if any(f.kind == "noise" for f in d.findings) else "") for d in report]
    table(f"{report.path} · {len(report)} run{'s' if len(report) != 1 else ''}", columns, rows, out)
    escape = _escape(out)
    for d in report:
        say(out, f"[bold]{escape(d.run.name)}[/bold]: {escape(d.verdict.reason)}")
        for f in d.findings:
            if f.kind not in ("diverged", "lr"):
                say(out, f"  · {escape(f.text)}")
        rate = describe_lr(d.run.lr)
        if rate:
            say(out, f"  · rate: {escape(rate)}")
        say(out, f"  → {escape(d.advice)}")
    for name, why in report.skipped:
        say(out, f"Skipped {escape(name)}: {escape(why)}")


def _escape(out):
    if out is None:
        return lambda text: text
    from rich.markup import escape
    return escape
