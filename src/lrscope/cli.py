"""The ``lrscope`` command: a thin layer that assembles a plan from options and shows what the library returns.

    lrscope demo                      the course examples, reproduced and explained
    lrscope sweep --objective "x**2" --x0 10 --lr 0.001,0.01,0.1,1.1 --steps 100 --plot curves.png
    lrscope bound --dataset diabetes --model linear
    lrscope find  --dataset breast_cancer --model logistic --plot range.png

Every mistake on the command line is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import re
import sys
import time

import numpy as np

from . import __version__, objectives, optim, schedules, theory
from .run import sweep

VERDICT_STYLE = {"converged": "green", "slow": "yellow", "oscillating": "magenta", "diverged": "red"}
TORCH_MODELS = ("mlp", "cnn")          # models trained through lrscope.torch (needs PyTorch)
TORCH_OPTIMIZERS = {"gd": "sgd", "sgd": "sgd", "momentum": "momentum", "nesterov": "nesterov", "adam": "adam",
                    "adamw": "adamw"}

# optimizer hyperparameters that the command line exposes: option name -> (keyword, optimizers that take it)
HYPER_OPTIONS = {
    "beta": ("beta", ("momentum", "nesterov")),
    "dampening": ("dampening", ("momentum",)),
    "beta1": ("beta1", ("adam", "adamw")),
    "beta2": ("beta2", ("adam", "adamw")),
    "eps": ("eps", ("adam", "adamw", "rmsprop", "adagrad")),
    "alpha": ("alpha", ("rmsprop",)),
    "momentum": ("momentum", ("rmsprop",)),
    "weight_decay": ("weight_decay", ("gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")),
    "lr_decay": ("lr_decay", ("adagrad",)),
}
ARG_TO_OPTION = {"lrs": "--lr", "x0": "--x0", "formula": "--objective", "objective": "--objective",
                 "dataset": "--dataset", "model": "--model", "batch_size": "--batch-size", "l2": "--l2"}


class UsageError(Exception):
    """A mistake on the command line: reported as one line, exit status 2."""


# ---------------------------------------------------------------------------------------------------------------
# parsing helpers
# ---------------------------------------------------------------------------------------------------------------
def _number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a number") from None
    if not np.isfinite(value):
        raise UsageError(f"{option}: must be finite, got {text!r}")
    return value


def parse_values(text: str, option: str, positive: bool = False) -> np.ndarray:
    """A list ``a,b,c`` or a log-spaced range ``start:stop:count``."""
    text = text.strip()
    if re.fullmatch(r"[^:,]+:[^:,]+:[^:,]+", text):
        start, stop, count = text.split(":")
        lo, hi = _number(start, option), _number(stop, option)
        try:
            n = int(count)
        except ValueError:
            raise UsageError(f"{option}: the count in start:stop:count must be an integer, got {count!r}") from None
        if n < 1 or n > 10_000:
            raise UsageError(f"{option}: the count in start:stop:count must be 1..10000, got {n}")
        if lo <= 0 or hi <= 0:
            raise UsageError(f"{option}: a log-spaced range needs start and stop > 0, got {text!r}")
        values = np.geomspace(lo, hi, n)
    else:
        parts = [p for p in text.split(",")]
        if not parts or any(not p.strip() for p in parts):
            raise UsageError(f"{option}: expected numbers separated by commas or start:stop:count, got {text!r}")
        values = np.array([_number(p, option) for p in parts])
    if positive and np.any(values <= 0):
        raise UsageError(f"{option}: must be > 0, got {text!r}")
    return values


def _schedule_params(pairs) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--schedule-param: expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        key = key.strip().replace("-", "_")
        if value.strip().lower() in ("true", "false"):
            out[key] = value.strip().lower() == "true"
        elif "," in value:
            out[key] = [int(float(v)) for v in value.split(",")]
        else:
            number = _number(value, f"--schedule-param {key}")
            out[key] = int(number) if number.is_integer() and key not in ("gamma", "k", "eta_min", "factor",
                                                                          "threshold", "min_lr", "start_factor",
                                                                          "pct_start", "div_factor",
                                                                          "final_div_factor", "eps") else number
    return out


def build_objective(args):
    """The objective from --objective/--x0 or --dataset/--model."""
    if args.dataset and args.objective:
        raise UsageError("--objective, --dataset: give one or the other")
    if args.dataset:
        if args.x0 is not None:
            raise UsageError("--x0: data-set models start from zero weights; --x0 is for functions")
        return objectives.dataset(args.dataset, args.model, standardize=not args.raw, l2=args.l2)
    if args.model:
        raise UsageError("--model: only with --dataset")
    name = args.objective or "x2"
    x0 = None if args.x0 is None else parse_values(args.x0, "--x0")
    if len(name) > 500:
        raise UsageError("--objective: formula too long (at most 500 characters)")
    return objectives.get(name, x0=x0)


def build_optimizer(args):
    """The optimizer and the grid of configurations: every combination of the swept values (lr × β × ...)."""
    name = args.optimizer
    if name not in optim.OPTIMIZERS:
        raise UsageError(f"--optimizer: unknown {name!r}; choose one of {', '.join(optim.OPTIMIZERS)}")
    fixed, swept = {}, {}
    for option, (keyword, owners) in HYPER_OPTIONS.items():
        text = getattr(args, option)
        if text is None:
            continue
        flag = "--" + option.replace("_", "-")
        if name not in owners:
            raise UsageError(f"{flag}: not an option of {name} (it belongs to {', '.join(owners)})")
        values = parse_values(text, flag)
        if values.size == 1:
            fixed[keyword] = float(values[0])
        else:
            swept[keyword] = values
    if args.form and name != "momentum":
        raise UsageError("--form: only for --optimizer momentum")
    if args.form:
        fixed["form"] = args.form
    if args.centered:
        if name != "rmsprop":
            raise UsageError("--centered: only for --optimizer rmsprop")
        fixed["centered"] = True
    if args.amsgrad:
        if name not in ("adam", "adamw"):
            raise UsageError("--amsgrad: only for --optimizer adam or adamw")
        fixed["amsgrad"] = True
    return name, fixed, swept


def build_schedule(args):
    if args.schedule is None:
        if args.schedule_param:
            raise UsageError("--schedule-param: needs --schedule")
        main = None
    else:
        if args.schedule not in schedules.SCHEDULES:
            raise UsageError(f"--schedule: unknown {args.schedule!r}; choose one of {', '.join(schedules.SCHEDULES)}")
        params = _schedule_params(args.schedule_param)
        try:
            main = schedules.get(args.schedule, **params)
        except TypeError as exc:
            raise UsageError(f"--schedule-param: {exc}") from None
        except ValueError as exc:
            raise UsageError(f"--schedule-param: {exc}") from None
    if args.warmup:
        if isinstance(main, schedules.PlateauSchedule):
            raise UsageError("--warmup: cannot be combined with the plateau schedule")
        return schedules.warmup(args.warmup, then=main)
    return main


# ---------------------------------------------------------------------------------------------------------------
# output helpers
# ---------------------------------------------------------------------------------------------------------------
def _console(args):
    if getattr(args, "quiet", False):
        return None
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is in the [all] extra
        return None
    return Console(highlight=False, soft_wrap=False)


def _say(console, text: str, args=None) -> None:
    if args is not None and getattr(args, "quiet", False):
        return
    if console is None:
        print(re.sub(r"\[/?[a-z ]+\]", "", text))
    else:
        console.print(text)


def _table(title, columns, rows, console):
    if console is None:
        print(title)
        print("\t".join(columns))
        for row in rows:
            print("\t".join(re.sub(r"\[/?[a-z ]+\]", "", str(c)) for c in row))
        return
    from rich.table import Table
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*[str(c) for c in row])
    console.print(table)


def _fmt(x: float) -> str:
    if x is None:
        return ""
    if not np.isfinite(x):
        return "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.6g}"


def _kind(kind: str, console) -> str:
    return kind if console is None else f"[{VERDICT_STYLE[kind]}]{kind}[/]"


class _Progress:
    """A rich progress bar that appears only if the run takes more than a second."""

    def __init__(self, enabled: bool, label: str):
        self.enabled, self.label, self.bar, self.task, self.start = enabled, label, None, None, time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None and time.perf_counter() - self.start > 1.0:
            from rich.progress import BarColumn, Progress, TimeRemainingColumn
            self.bar = Progress("[progress.description]{task.description}", BarColumn(),
                                "{task.completed}/{task.total} steps", TimeRemainingColumn(), transient=True,
                                console=_stderr_console())
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)


def _open_for_writing(path: str, option: str):
    try:
        return open(path, "w", newline="")
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


def _check_writable(path: str | None, option: str) -> None:
    """Fail before a long run, not after it, if an output file cannot be written."""
    if path is None or path == "-":
        return
    import os
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"{option}: cannot write {path}: no such folder {folder}")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"{option}: cannot write {path}: permission denied")
    if option == "--plot" and not path.lower().endswith((".png", ".svg", ".pdf", ".jpg", ".jpeg")):
        raise UsageError(f"--plot: the file name must end in .png, .svg, .pdf or .jpg, got {path!r}")


def _save_plot(result, path: str) -> None:
    from .plots import save_sweep_figure
    try:
        save_sweep_figure(result, path)
    except ImportError as exc:
        raise UsageError(f"--plot: {exc}") from None
    except OSError as exc:
        raise UsageError(f"--plot: cannot write {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    """The course's worked examples, step by step, then a verdict for each α, and the bound 2/L."""
    console = _console(args)
    _check_writable(args.plot, "--plot")
    obj = objectives.formula("x**2", x0=[10.0])
    steps = 8
    res = sweep(obj, lrs=[0.1, 1.1], steps=steps)
    rows = [(t, _fmt(res.params[0, t, 0]), _fmt(res.losses[0, t]), _fmt(res.params[1, t, 0]), _fmt(res.losses[1, t]))
            for t in range(steps + 1)]
    _table("f(x) = x², gradient 2x, from x = 10: x ← x − α·2x",
           ["step", "x (α=0.1)", "f (α=0.1)", "x (α=1.1)", "f (α=1.1)"], rows, console)
    lrs = [0.001, 0.01, 0.1, 0.5, 1.0, 1.1]
    res = sweep(obj, lrs=lrs, steps=args.steps)
    a = res.analysis
    rows = []
    for k, v in enumerate(res.verdicts):
        rows.append((f"{lrs[k]:g}", _fmt(res.final_losses[k]), _kind(v.kind, console),
                     "" if v.step is None else v.step, v.reason, v.advice))
    _table(f"Gradient descent on x² for {args.steps} steps, one row per learning rate",
           ["α", "final loss", "verdict", "step", "why", "advice"], rows, console)
    _say(console, f"Theory: {a.summary()}.")
    _say(console, f"Too small (α ≪ {a.optimal:g}) crawls; near {a.optimal:g} it is fastest; at or above 2/L = "
                  f"{a.stable_below:g} it oscillates or diverges.")
    if args.plot:
        _save_plot(res, args.plot)
        _say(console, f"wrote {args.plot}")
    return 0


def _torch_model(args, fit_rows=None):
    """A built-in PyTorch model on a data set, for --model mlp/cnn (standardized on ``fit_rows``: all if None)."""
    if not args.dataset:
        raise UsageError(f"--model: {args.model} needs --dataset")
    try:
        from .torch.models import build
    except ImportError:
        raise UsageError(f"--model: {args.model} needs PyTorch: pip install 'lrscope[torch]'") from None
    return build(args.model, args.dataset, seed=args.seed if hasattr(args, "seed") else 0, fit_rows=fit_rows)


def _torch_sweep(args, console) -> int:
    from .torch import sweep as torch_sweep
    if args.optimizer not in TORCH_OPTIMIZERS:
        raise UsageError(f"--optimizer: {args.optimizer} is not available for PyTorch models; choose one of "
                         f"{', '.join(TORCH_OPTIMIZERS)}")
    if args.steps is not None:
        raise UsageError("--steps: PyTorch models train for --epochs")
    if args.schedule or args.warmup:
        raise UsageError("--schedule: not available for PyTorch models yet")
    if args.form == "ema" or args.centered or args.amsgrad or args.raw:
        raise UsageError("--form/--centered/--amsgrad/--raw: not available for PyTorch models")
    kind = TORCH_OPTIMIZERS[args.optimizer]
    hyper = {}
    names = {"beta": "momentum", "dampening": "dampening", "beta1": "beta1", "beta2": "beta2", "eps": "eps",
             "weight_decay": "weight_decay"}
    for option, key in names.items():
        text = getattr(args, option)
        if text is not None:
            hyper[key] = parse_values(text, "--" + option.replace("_", "-"))
    lrs = parse_values(args.lr, "--lr", positive=True) if args.lr else np.array([0.01 if kind != "adam" else 1e-3])
    swept = {k: v for k, v in hyper.items() if v.size > 1}
    grid = list(itertools.product(lrs, *swept.values()))
    grid_lrs = [g[0] for g in grid]
    per = {k: ([g[i + 1] for g in grid] if k in swept else float(v[0]))
           for i, (k, v) in enumerate(hyper.items())}
    net, loss, X, y = _torch_model(args)
    try:
        res = torch_sweep(net, loss, (X, y), grid_lrs, optimizer=kind, epochs=args.epochs or 3,
                          batch_size=args.batch_size or 64, seed=args.seed, **per)
    except ValueError as exc:
        raise UsageError(_as_option(str(exc))) from None
    return _report_sweep(args, res, swept, console)


def cmd_sweep(args) -> int:
    console = _console(args)
    for path, option in ((args.plot, "--plot"), (args.csv, "--csv"), (args.json, "--json")):
        _check_writable(path, option)
    if args.model in TORCH_MODELS:
        return _torch_sweep(args, console)
    obj = build_objective(args)
    lrs = parse_values(args.lr, "--lr", positive=True) if args.lr else None
    name, fixed, swept = build_optimizer(args)
    sched = build_schedule(args)
    if lrs is None:
        lrs = np.array([optim.get(name, **fixed).default_lr])
    grid = list(itertools.product(lrs, *swept.values()))
    if len(grid) > 10_000:
        raise UsageError(f"--lr: {len(grid)} configurations is too many (at most 10000)")
    grid_lrs = np.array([g[0] for g in grid])
    hyper = {key: np.array([g[i + 1] for g in grid]) for i, key in enumerate(swept)}
    optimizer = optim.get(name, **fixed, **hyper)
    progress = _Progress(not args.quiet and sys.stderr.isatty(), "sweeping")
    try:
        res = sweep(obj, lrs=grid_lrs, optimizer=optimizer, steps=args.steps, schedule=sched,
                    batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, progress=progress)
    finally:
        progress.close()
    return _report_sweep(args, res, swept, console)


def _report_sweep(args, res, swept, console) -> int:
    if args.json == "-":
        json.dump(res.to_dict(), sys.stdout)
        sys.stdout.write("\n")
        console = None if args.quiet else _stderr_console_if_rich()
    elif args.json:
        with _open_for_writing(args.json, "--json") as fh:
            json.dump(res.to_dict(), fh)
    if args.csv:
        with _open_for_writing(args.csv, "--csv") as fh:
            write_csv(res, fh)
    if args.plot:
        _save_plot(res, args.plot)
    if not args.quiet and args.json != "-":
        show_sweep(res, swept, console)
        for path, what in ((args.json, "JSON"), (args.csv, "CSV"), (args.plot, "plot")):
            if path and path != "-":
                _say(console, f"wrote {what}: {path}")
    return 0


def _stderr_console_if_rich():
    try:
        return _stderr_console()
    except ImportError:  # pragma: no cover
        return None


def show_sweep(res, swept, console) -> None:
    a = res.analysis
    columns = ["α", *swept.keys(), "final loss", "best loss", "verdict", "step", "advice"]
    rows = []
    for k, v in enumerate(res.verdicts):
        rows.append((f"{res.lrs[k]:.4g}", *[f"{res.hyperparams[key][k]:g}" for key in swept],
                     _fmt(res.final_losses[k]), _fmt(res.best_losses[k]), _kind(v.kind, console),
                     "" if v.step is None else v.step, v.advice))
    mode = ("full batch" if res.batch_size is None or res.batch_losses is None
            else f"mini-batch of {res.batch_size}")
    _table(f"{res.objective.name} · {res.optimizer!r} · {res.steps} steps · {mode}", columns, rows, console)
    if a is not None:
        _say(console, f"Theory: {a.summary()}.")
    best = res.best()
    _say(console, f"Best: α={res.lrs[best]:.4g} (final loss {_fmt(res.final_losses[best])}): "
                  f"{res.verdicts[best].reason}.")


def write_csv(res, fh) -> None:
    """Long format: one row per configuration and step (loss, learning rate, gradient norm)."""
    writer = csv.writer(fh)
    keys = list(res.hyperparams)
    writer.writerow(["config", "lr", *keys, "step", "loss", "lr_used", "grad_norm", "verdict"])
    for k in range(res.K):
        base = [k, repr(float(res.lrs[k])), *[repr(float(res.hyperparams[key][k])) for key in keys]]
        for t in range(res.steps + 1):
            lr_t = res.lr_used[k, t] if t < res.steps else ""
            gn = res.grad_norms[k, t] if t < res.steps else ""
            writer.writerow([*base, t, _csv_number(res.losses[k, t]), _csv_number(lr_t), _csv_number(gn),
                             res.verdicts[k].kind])


def _csv_number(x):
    if x == "":
        return ""
    return repr(float(x)) if np.isfinite(x) else ""


def _torch_bound(args, console) -> int:
    from .torch import sharpness
    net, loss, X, y = _torch_model(args)
    s = sharpness(net, loss, (X, y), smallest=True, trace=True)
    rows = [("λ_max (largest Hessian eigenvalue)", _fmt(s.lambda_max)), ("λ_min (smallest)", _fmt(s.lambda_min)),
            ("trace (Hutchinson estimate)", _fmt(s.trace)),
            ("stable range for gradient descent", f"0 < α < 2/λ_max = {_fmt(s.bound)}"),
            ("Hessian-vector products used", str(s.hvps))]
    _table(f"{args.model} on {args.dataset}: curvature at the initial weights (full data)", ["quantity", "value"],
           rows, console)
    _say(console, "The curvature of a network changes as it trains (it tends to rise towards 2/α: the edge of "
                  "stability); lrscope.torch.Monitor(sharpness_every=N) tracks it during your own training.")
    return 0


def cmd_bound(args) -> int:
    console = _console(args)
    if args.model in TORCH_MODELS:
        return _torch_bound(args, console)
    obj = build_objective(args)
    at = None if args.at is None else parse_values(args.at, "--at")
    a = theory.analyze(obj, at=at)
    rows = [("L (largest Hessian eigenvalue)", _fmt(a.L)), ("μ (smallest)", _fmt(a.mu)),
            ("condition number L/μ", _fmt(a.condition)),
            ("stable range for gradient descent", f"0 < α < 2/L = {_fmt(a.stable_below)}"),
            ("optimal constant α", f"{'2/(L+μ)' if a.strongly_convex else '1/L'} = {_fmt(a.optimal)}"),
            ("contraction per step at the optimum", _fmt(float(a.contraction(a.optimal)))),
            ("steps to shrink the error 10⁶× at the optimum", _fmt(float(a.predicted_steps(a.optimal))))]
    where = "exact, everywhere (constant Hessian)" if a.exact else f"at {a.where} ({a.method})"
    _table(f"{obj.name}: curvature {where}", ["quantity", "value"], rows, console)
    if args.lr:
        lrs = parse_values(args.lr, "--lr", positive=True)
        rows = [(f"{lr:.4g}", a.position(lr), _fmt(float(a.contraction(lr))), _fmt(float(a.predicted_steps(lr))))
                for lr in lrs]
        _table("Where each α sits (gradient descent)", ["α", "position", "contraction max|1−αλ|",
                                                        "steps for 10⁶×"], rows, console)
    if args.dataset:
        other = objectives.dataset(args.dataset, args.model, standardize=args.raw, l2=args.l2)
        b = theory.analyze(other)
        now, then = ("raw", "standardized") if args.raw else ("standardized", "raw")
        _say(console, f"With {then} features instead of {now}: L = {_fmt(b.L)}, μ = {_fmt(b.mu)}, condition number "
                      f"{_fmt(b.condition)} (vs {_fmt(a.condition)}), 2/L = {_fmt(b.stable_below)}, "
                      f"predicted steps {_fmt(float(b.predicted_steps(b.optimal)))} "
                      f"(vs {_fmt(float(a.predicted_steps(a.optimal)))}).")
    return 0


def _torch_find(args, start, end):
    """The range test on a built-in PyTorch model (--model mlp/cnn), through lrscope.torch.lr_find."""
    import torch
    from .torch import lr_find
    if args.optimizer not in TORCH_OPTIMIZERS:
        raise UsageError(f"--optimizer: {args.optimizer} is not available for PyTorch models; choose one of "
                         f"{', '.join(TORCH_OPTIMIZERS)}")
    name, fixed, swept = build_optimizer(args)
    if swept:
        raise UsageError(f"--{next(iter(swept)).replace('_', '-')}: find takes one value per hyperparameter")
    val_loader, rows = None, None
    if args.holdout is not None:       # the core's held-out rows (same split as without --model mlp/cnn)
        rows = objectives.held_out_rows(args.dataset, args.holdout, args.seed)
    net, loss, X, y = _torch_model(args, fit_rows=None if rows is None else rows[0])
    if rows is not None:
        kept, held = (torch.as_tensor(r) for r in rows)
        val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[held], y[held]), batch_size=256)
        X, y = X[kept], y[kept]
    kind = TORCH_OPTIMIZERS[args.optimizer]
    wd = fixed.get("weight_decay", 0.0)
    if kind in ("adam", "adamw"):
        cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
        opt = cls(net.parameters(), lr=start, betas=(fixed.get("beta1", 0.9), fixed.get("beta2", 0.999)),
                  eps=fixed.get("eps", 1e-8), weight_decay=fixed.get("weight_decay", 0.01 if kind == "adamw" else 0))
    else:
        beta = fixed.get("beta", 0.9 if kind in ("momentum", "nesterov") else 0.0)
        opt = torch.optim.SGD(net.parameters(), lr=start, momentum=beta, nesterov=kind == "nesterov",
                              dampening=fixed.get("dampening", 0.0), weight_decay=wd)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=args.batch_size or 64,
                                         shuffle=True, generator=torch.Generator().manual_seed(args.seed))
    progress = _Progress(not args.quiet and sys.stderr.isatty(), "range test, then verification")
    try:
        res = lr_find(net, loss, loader, opt, start=start, end=end, steps=args.steps, mode=args.mode,
                      verify_steps=args.verify_steps, final_steps=args.final_steps, budget=args.budget,
                      val_loader=val_loader, seed=args.seed, progress=progress)
    finally:
        progress.close()
    return res, f"{args.model} on {args.dataset}", f"{type(opt).__name__}"


def cmd_find(args) -> int:
    from .finder import find
    console = _console(args)
    for path, option in ((args.plot, "--plot"), (args.json, "--json")):
        _check_writable(path, option)
    start = _number(args.start, "--start")
    end = _number(args.end, "--end")
    if start <= 0 or end <= 0:
        raise UsageError(f"--start, --end: must be > 0, got {args.start}, {args.end}")
    if start >= end:
        raise UsageError(f"--start, --end: start ({start:g}) must be below end ({end:g})")
    if args.holdout is not None:
        if not args.dataset:
            raise UsageError("--holdout: only with --dataset")
        if not 0 < args.holdout < 1:
            raise UsageError(f"--holdout: must be a fraction between 0 and 1, got {args.holdout:g}")
    if args.model in TORCH_MODELS:
        res, what, optimizer = _torch_find(args, start, end)
    else:
        obj, validation = build_objective(args), None
        if args.holdout is not None:
            obj, validation = objectives.train_test(args.dataset, args.model, test_size=args.holdout,
                                                    standardize=not args.raw, l2=args.l2, seed=args.seed)
        name, fixed, swept = build_optimizer(args)
        if swept:
            raise UsageError(f"--{next(iter(swept)).replace('_', '-')}: find takes one value per hyperparameter")
        optimizer = optim.get(name, **fixed)
        progress = _Progress(not args.quiet and sys.stderr.isatty(), "range test, then verification")
        try:
            res = find(obj, optimizer, start=start, end=end, steps=args.steps, mode=args.mode,
                       batch_size=args.batch_size, seeds=args.seeds, seed=args.seed, verify_steps=args.verify_steps,
                       final_steps=args.final_steps, budget=args.budget, validation=validation, progress=progress)
        finally:
            progress.close()
        what = obj.name
    if args.json == "-":
        json.dump(res.to_dict(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    if args.json:
        with _open_for_writing(args.json, "--json") as fh:
            json.dump(res.to_dict(), fh)
    if args.plot:
        try:
            res.plot(path=args.plot)
        except OSError as exc:
            raise UsageError(f"--plot: cannot write {args.plot}: {exc.strerror or exc}") from None
    rows = [(rule, _fmt(v) if v is not None else "—") for rule, v in res.methods.items()]
    _table(f"LR range test on {what} with {optimizer}", ["rule", "suggested α"], rows, console)
    rows = [(f"{c:.4g}", _fmt(f)) for c, f in zip(res.candidates, res.candidate_losses)]
    held_out = args.holdout is not None
    score = "held-out loss at the end" if held_out else "lowest loss, last third"
    _table("Verification, first round (every candidate, same batches)", ["α", score], rows, console)
    if res.finalists is not None:
        lengths = res.finalist_steps if res.finalist_steps is not None else [None] * len(res.finalists)
        rows = [(f"{c:.4g}", "" if n is None else str(int(n)), _fmt(f))
                for c, n, f in zip(res.finalists, lengths, res.finalist_losses)]
        score = "held-out loss at the end" if held_out else "loss at the end"
        _table("Second round (the best third, longer; then the margin check's runs)", ["α", "steps", score], rows,
               console)
    bound = f"; 2/λ_max at the start = {res.bound:.4g}" if res.bound is not None else ""
    _say(console, f"Suggested learning rate: [bold]{res.suggestion:.4g}[/bold] (works almost as well from "
                  f"{res.interval[0]:.3g} to {res.interval[1]:.3g}){bound}; {res.steps_used} training steps used.")
    for note in res.notes:
        _say(console, f"Note: {note}.")
    for path, what in ((args.json, "JSON"), (args.plot, "plot")):
        if path:
            _say(console, f"wrote {what}: {path}")
    return 0


def cmd_serve(args) -> int:
    try:
        import uvicorn
        from .web.app import app
    except ImportError:
        raise UsageError("serve: needs the web extra: pip install 'lrscope[all]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port: must be 1..65535, got {args.port}")
    import socket
    try:                                    # fail with one clear line before uvicorn logs its own
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
            probe.bind((args.host, args.port))
    except OSError as exc:
        raise UsageError(f"--port: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(f"lrscope explorer on http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except OSError as exc:
        raise UsageError(f"--port: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


# ---------------------------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message):          # one line, exit status 2
        raise UsageError(message)


def _add_objective_options(p):
    g = p.add_argument_group("objective")
    g.add_argument("--objective", "-o", help="a built-in (x2, quadratic, rosenbrock, beale, himmelblau, saddle) or a "
                                             "formula such as \"x**2 + 10*y**2\" (default x2)")
    g.add_argument("--x0", help="start point, comma-separated, one number per variable (e.g. 10 or -1.2,1)")
    g.add_argument("--dataset", "-d", choices=list(objectives.DATASETS), help="a scikit-learn data set")
    g.add_argument("--model", "-m", choices=list(objectives.datasets.MODELS) + list(TORCH_MODELS),
                   help="linear (least squares), logistic or softmax (default: the data set's natural one); "
                        "mlp or cnn: a small PyTorch network, trained with lrscope.torch")
    g.add_argument("--raw", action="store_true", help="do not standardize the features")
    g.add_argument("--l2", type=float, default=0.0, help="L2 penalty l2/2·‖w‖² (default 0)")


def _add_hyper_options(parser, title: str) -> None:
    h = parser.add_argument_group(title)
    for option, (_, owners) in HYPER_OPTIONS.items():
        h.add_argument("--" + option.replace("_", "-"), dest=option, metavar="V", help=f"({', '.join(owners)})")
    h.add_argument("--form", choices=["ema", "heavy_ball"], help="momentum form (default ema: v=βv+(1−β)g)")
    h.add_argument("--centered", action="store_true", help="(rmsprop) centered variant")
    h.add_argument("--amsgrad", action="store_true", help="(adam, adamw) AMSGrad variant")


EXAMPLES_SWEEP = """examples:
  lrscope sweep --objective "x**2" --x0 10 --lr 0.001,0.01,0.1,1.1 --steps 100 --plot curves.png
  lrscope sweep --objective rosenbrock --optimizer adam --lr 1e-4:1e-1:12 --schedule cosine --steps 2000
  lrscope sweep --dataset digits --model softmax --batch-size 32 --optimizer momentum --lr 0.01,0.1,1 --epochs 5
  lrscope sweep -o quadratic --optimizer momentum --form heavy_ball --lr 0.01,0.1 --beta 0.5,0.9 --json out.json
  lrscope sweep -o rosenbrock --lr 1e-3 --schedule step --schedule-param step_size=100 --schedule-param gamma=0.5
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lrscope", description="Which learning rate? Converging, slow, oscillating or diverging?",
                     epilog="run 'lrscope COMMAND --help' for the options and examples of each command")
    parser.add_argument("--version", action="version", version=f"lrscope {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    demo = sub.add_parser("demo", help="the course examples, reproduced and explained",
                          description="Reproduce the course's worked examples on f(x)=x² and explain each regime.",
                          epilog="example: lrscope demo --plot curves.png",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--steps", type=int, default=100, help="steps of the verdict sweep (default 100)")
    demo.add_argument("--plot", metavar="FILE.png", help="write the loss curves to a PNG file")
    demo.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    demo.set_defaults(func=cmd_demo)

    sw = sub.add_parser("sweep", help="train many learning rates at once and diagnose each",
                        description="Run an optimizer with every learning rate (and hyperparameter) given, from the "
                                    "same start, and give a verdict for each.",
                        epilog=EXAMPLES_SWEEP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_objective_options(sw)
    g = sw.add_argument_group("plan")
    g.add_argument("--lr", help="learning rates: a list 0.001,0.01 or a log range start:stop:count "
                                "(default: the optimizer's usual one)")
    g.add_argument("--optimizer", default="gd", help=f"one of {', '.join(optim.OPTIMIZERS)} (default gd)")
    g.add_argument("--steps", type=int, help="number of updates (default 100)")
    g.add_argument("--epochs", type=int, help="passes over the data (data sets; instead of --steps)")
    g.add_argument("--batch-size", type=int, help="rows per step (data sets): 1 = SGD; default full batch")
    g.add_argument("--seed", type=int, default=0, help="sample order (default 0); same seed, same result")
    g.add_argument("--schedule", help=f"one of {', '.join(schedules.SCHEDULES)}")
    g.add_argument("--schedule-param", "-S", action="append", metavar="KEY=VALUE",
                   help="a schedule parameter, e.g. -S step_size=100 -S gamma=0.5 (repeatable)")
    g.add_argument("--warmup", type=int, metavar="STEPS", help="linear warmup before the schedule")
    _add_hyper_options(sw, "optimizer hyperparameters (a list sweeps them: every combination with --lr)")
    o = sw.add_argument_group("output")
    o.add_argument("--json", metavar="FILE", help="write the full result as JSON ('-' for stdout)")
    o.add_argument("--csv", metavar="FILE", help="write the curves as CSV (one row per configuration and step)")
    o.add_argument("--plot", metavar="FILE.png", help="loss curves by verdict (+ paths over contours in 2-D)")
    o.add_argument("--quiet", "-q", action="store_true", help="no table, no progress bar (for scripts)")
    sw.set_defaults(func=cmd_sweep)

    fd = sub.add_parser("find", help="LR range test with a verified suggestion",
                        description="Raise α exponentially from --start to --end, read the curve with several rules, "
                                    "then train the candidates briefly and recommend the one that really works best.",
                        epilog="examples:\n  lrscope find --dataset breast_cancer --model logistic --plot range.png\n"
                               "  lrscope find -o rosenbrock --optimizer adam\n"
                               "  lrscope find --dataset digits --batch-size 32 --optimizer momentum --beta 0.9\n"
                               "  lrscope find --dataset digits --model mlp --optimizer adam",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_objective_options(fd)
    g = fd.add_argument_group("range test")
    g.add_argument("--optimizer", default="gd", help=f"one of {', '.join(optim.OPTIMIZERS)} (default gd)")
    g.add_argument("--start", default="1e-7", help="smallest α (default 1e-7)")
    g.add_argument("--end", default="10", help="largest α (default 10)")
    g.add_argument("--steps", type=int, default=100, help="steps of the ramp (default 100)")
    g.add_argument("--mode", choices=["exp", "linear"], default="exp", help="ramp shape (default exp)")
    g.add_argument("--batch-size", type=int, help="rows per step (data sets)")
    g.add_argument("--seeds", type=int, default=3, help="sample orders averaged into the band (default 3)")
    g.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    g.add_argument("--verify-steps", type=int, help="first verification round, per candidate (default: a quarter "
                                                      "of --steps)")
    g.add_argument("--final-steps", type=int, help="second round for the best third (default: 4 × --verify-steps)")
    g.add_argument("--holdout", type=float, metavar="FRACTION",
                   help="data sets: hold out this share of the rows and pick the rate by held-out loss")
    g.add_argument("--budget", type=int, help="the steps you will train for: the verification rounds are sized "
                                              "from it (4%% and 30%% of it; the call costs about twice the budget)")
    _add_hyper_options(fd, "optimizer hyperparameters")
    o = fd.add_argument_group("output")
    o.add_argument("--json", metavar="FILE", help="write the result as JSON ('-' for stdout)")
    o.add_argument("--plot", metavar="FILE.png", help="the range-test chart with every rule's pick")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    fd.set_defaults(func=cmd_find)

    sv = sub.add_parser("serve", help="the interactive explorer in your browser",
                        description="Start the explorer: compare training curves for several learning rates, live.",
                        epilog="example: lrscope serve --port 8000   then open http://127.0.0.1:8000/",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    sv.set_defaults(func=cmd_serve)

    bd = sub.add_parser("bound", help="L, μ, the stable range 2/L and the optimal α",
                        description="Curvature of the objective and what it says about the learning rate.",
                        epilog="examples:\n  lrscope bound --dataset diabetes --model linear\n"
                               "  lrscope bound --objective rosenbrock --at 1,1\n"
                               "  lrscope bound -o \"x**2 + 10*y**2\" --lr 0.01,0.09,0.11",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_objective_options(bd)
    bd.add_argument("--at", help="the point where to measure the curvature (default: the start point)")
    bd.add_argument("--lr", help="also show where these learning rates sit")
    bd.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    bd.set_defaults(func=cmd_bound)
    return parser


def _as_option(message: str) -> str:
    """Core errors name the argument ('lrs: ...'); on the command line name the option ('--lr: ...')."""
    head, sep, rest = message.partition(":")
    if sep and head in ARG_TO_OPTION:
        return f"{ARG_TO_OPTION[head]}:{rest}"
    if sep and re.fullmatch(r"[a-z_0-9]+", head):
        return f"--{head.replace('_', '-')}:{rest}"
    return message


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        for option in ("steps", "epochs", "batch_size", "warmup", "seeds", "verify_steps", "final_steps", "budget"):
            value = getattr(args, option, None)
            if value is not None and value < 1:
                raise UsageError(f"--{option.replace('_', '-')}: must be >= 1, got {value}")
        return args.func(args)
    except UsageError as exc:
        print(f"lrscope: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, ImportError) as exc:
        print(f"lrscope: error: {_as_option(str(exc).splitlines()[0])}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
