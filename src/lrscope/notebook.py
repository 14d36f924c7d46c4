"""How results show themselves in Jupyter: an interactive Plotly chart (its JavaScript from the ``plotly`` package,
inline, no CDN: sent with the first chart of a session, reused by the next) and the verdict table beside it.

``SweepResult``, ``FindResult``, a diagnosed log (``LogReport``), the PyTorch ``Monitor`` and the curvature analyses
(``theory.Analysis``, ``torch.Sharpness``) call these from ``_repr_html_``; without plotly they show the table alone.
"""

from __future__ import annotations

import html
import uuid

import numpy as np

from .plots import VERDICT_COLORS, VERDICT_DASH, rate_color, thinned

CHART_POINTS = 5000      # points of a curve sent to the browser (evenly thinned beyond this)

_SENT = {"plotly": False}       # plotly.js goes out once per Python session (one kernel = one page)


def _chart(traces: list, layout: dict) -> str:
    """A Plotly chart as HTML, or '' without plotly."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        return ""
    fig = go.Figure(data=traces, layout={"height": 360, "margin": {"t": 40, "r": 10, "b": 45, "l": 60}, **layout})
    first = not _SENT["plotly"]
    _SENT["plotly"] = True
    return fig.to_html(full_html=False, include_plotlyjs=first, div_id="lrscope-" + uuid.uuid4().hex[:12],
                       config={"displaylogo": False})


def _table(head: list, rows: list) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _side_by_side(chart: str, table: str, title: str) -> str:
    return (f"<div><b>{html.escape(title)}</b><div style='display:flex;gap:1em;align-items:flex-start;"
            f"flex-wrap:wrap'><div style='flex:1 1 520px;min-width:320px'>{chart}</div>"
            f"<div style='flex:0 1 420px;font-size:0.9em'>{table}</div></div></div>")


def sweep_html(result) -> str:
    """A sweep: the loss per step (log scale), one colour per configuration, the verdict as the line style; the
    verdict table (rate, verdict, reason, advice) beside it."""
    steps = np.arange(result.losses.shape[1])        # one loss per iterate (between evaluations: the last one)
    positive = bool(np.all(result.losses[np.isfinite(result.losses)] > 0))
    traces, rows = [], []
    for k in range(result.K):
        verdict = result.verdicts[k] if result.verdicts else None
        kind = verdict.kind if verdict else "—"
        y = np.where(np.isfinite(result.losses[k]), result.losses[k], np.nan)
        traces.append({"type": "scatter", "x": steps.tolist(), "y": [None if np.isnan(v) else float(v) for v in y],
                       "mode": "lines", "name": f"α={result.lrs[k]:.3g} · {kind}",
                       "line": {"color": rate_color(k), "dash": VERDICT_DASH.get(kind, "solid"), "width": 2}})
        rows.append([f"<span style='color:{rate_color(k)}'>■</span> {result.lrs[k]:.4g}", _badge(kind),
                     html.escape(verdict.reason if verdict else ""), html.escape(verdict.advice if verdict else "")])
    chart = _chart(traces, {"xaxis": {"title": {"text": "step"}},
                            "yaxis": {"title": {"text": "loss"}, "type": "log" if positive else "linear",
                                      "exponentformat": "power"}})
    table = _table(["α", "verdict", "why", "advice"], rows)
    return _side_by_side(chart, table, f"{result.objective.name} · {result.optimizer!r} · {result.steps} steps")


def find_html(result) -> str:
    """A range test: the smoothed loss against α with each rule's pick, the stability bound and the verified pick;
    the picks, the reason and the compute beside it."""
    lo, hi = float(np.nanmin(result.smoothed)), float(np.nanmax(result.smoothed))
    line = lambda x, name, color, dash: {"type": "scatter", "x": [x, x], "y": [lo, hi], "mode": "lines",  # noqa: E731
                                         "name": name, "line": {"color": color, "dash": dash}}
    traces = [{"type": "scatter", "x": np.asarray(result.lrs).tolist(), "y": np.asarray(result.smoothed).tolist(),
               "mode": "lines", "name": "loss (smoothed) as α grows", "line": {"color": "#1f77b4", "width": 2}}]
    for rule, value in result.methods.items():
        if value is not None and rule != "lrscope":
            traces.append(line(value, f"{rule}: {value:.3g}", "#7f7f7f", "dash"))
    if result.bound:
        traces.append(line(result.bound, f"2/λ_max: {result.bound:.3g}", "#d62728", "solid"))
    traces.append(line(result.suggestion, f"verified pick: {result.suggestion:.3g}", "#2ca02c", "solid"))
    chart = _chart(traces, {"xaxis": {"type": "log", "title": {"text": "α"}, "exponentformat": "power"},
                            "yaxis": {"title": {"text": "loss"}}})
    rows = [["suggested α", f"<b>{result.suggestion:.4g}</b> (almost as good: {result.interval[0]:.3g} – "
                            f"{result.interval[1]:.3g})"],
            ["why", html.escape(result.reason)],
            *([["schedule", html.escape(result.schedule_summary() + " (res.step_sizes)")]]
              if result.step_sizes is not None else []),
            ["compute", html.escape(", ".join(f"{k} {v}" for k, v in result.compute.items()) +
                                    f" (total {result.steps_used} steps)")]]
    rows += [["note", html.escape(n)] for n in result.notes]
    return _side_by_side(chart, _table(["", ""], rows), f"LR range test · {result.objective_name}")


def _badge(kind: str) -> str:
    return (f"<span style='background:{VERDICT_COLORS.get(kind, '#999')};color:#fff;padding:0 4px;"
            f"border-radius:3px'>{html.escape(kind)}</span>")


def _thin(step, value):
    """A long curve as the browser gets it: at most ``CHART_POINTS`` points, None where not finite."""
    step, value = thinned(step, value, CHART_POINTS)
    return step.tolist(), [float(v) if np.isfinite(v) else None for v in value]


def log_html(report, title: str | None = None) -> str:
    """Diagnosed logs: every run's loss (raw points faint, the trend it was judged on solid, the validation loss
    dashed), one colour per run; beside it each run's verdict, what its log shows and the advice."""
    traces, rows = [], []
    positive = all(np.all(d.run.loss.value[np.isfinite(d.run.loss.value)] > 0) for d in report)
    for k, d in enumerate(report):
        color = rate_color(k)
        x, y = _thin(d.run.loss.step, d.run.loss.value)
        traces.append({"type": "scatter", "x": x, "y": y, "mode": "lines", "name": f"{d.run.name} (raw)",
                       "line": {"color": color, "width": 1}, "opacity": 0.3, "showlegend": False})
        if d.trend is not None:
            x, y = _thin(d.trend.step, d.trend.value)
            traces.append({"type": "scatter", "x": x, "y": y, "mode": "lines", "name": f"{d.run.name} · "
                           f"{d.verdict.kind}", "line": {"color": color, "width": 2}})
        if d.run.val_loss is not None:
            x, y = _thin(d.run.val_loss.step, d.run.val_loss.value)
            traces.append({"type": "scatter", "x": x, "y": y, "mode": "lines+markers",
                           "name": f"{d.run.name} · validation", "line": {"color": color, "dash": "dash"}})
        found = "".join(f"<li>{html.escape(f.text)}</li>" for f in d.findings if f.kind != "diverged")
        rows.append([f"<span style='color:{color}'>■</span> {html.escape(d.run.name)}",
                     _badge(d.verdict.kind) + ("" if d.verdict.step is None else f" at {d.verdict.step}"),
                     html.escape(d.verdict.reason) + (f"<ul style='margin:0'>{found}</ul>" if found else ""),
                     html.escape(d.advice)])
    chart = _chart(traces, {"xaxis": {"title": {"text": "step"}},
                            "yaxis": {"title": {"text": "training loss"}, "type": "log" if positive else "linear",
                                      "exponentformat": "power"}})
    table = _table(["run", "verdict", "why", "advice"], rows)
    skipped = "".join(f"<div>skipped {html.escape(n)}: {html.escape(w)}</div>" for n, w in report.skipped)
    return _side_by_side(chart, table + skipped, title or f"{report.path} · {len(report)} run"
                         f"{'s' if len(report) != 1 else ''}")


def monitor_html(monitor) -> str:
    """A PyTorch monitor: its history judged as a log (trend, noise, spikes, plateaus after a rate drop), and its
    alarms."""
    from .logs import LoggedRun, LogReport, Series, diagnose_run
    if len(monitor.losses) < 3:
        return f"<div>lrscope monitor: {len(monitor.losses)} step(s) recorded; nothing to judge yet</div>"
    steps = np.arange(len(monitor.losses))
    lr = Series(steps[:len(monitor.lrs)], np.asarray(monitor.lrs, dtype=np.float64)) if monitor.lrs else None
    grad = (Series(np.asarray(monitor.grad_norm_steps), np.asarray(monitor.grad_norms, dtype=np.float64))
            if monitor.grad_norms else None)
    run = LoggedRun("this run", Series(steps, np.asarray(monitor.losses, dtype=np.float64)), lr, grad, None,
                    "monitor", {})
    report = LogReport("monitor", [diagnose_run(run)])
    alarms = "".join(f"<li>{html.escape(str(a))}</li>" for a in monitor.alarms)
    body = log_html(report, f"lrscope monitor · {len(monitor.losses)} steps")
    return body + (f"<div><b>alarms</b><ul>{alarms}</ul></div>" if alarms else "")


def analysis_html(rows: list, summary: str, title: str) -> str:
    """A curvature analysis: its figures as a table, and what they mean for the learning rate in one line."""
    table = _table(["", ""], [[html.escape(k), html.escape(v)] for k, v in rows])
    return f"<div><b>{html.escape(title)}</b>{table}<div>{html.escape(summary)}</div></div>"
