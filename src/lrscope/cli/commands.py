"""The commands: each builds its plan through :mod:`lrscope.plan`, calls the library, and hands the result to
:mod:`lrscope.cli.render`. PyTorch models (``--model mlp|cnn``) go through :mod:`lrscope.torch`."""

from __future__ import annotations

import contextlib
import json
import os
import sys

from .. import objectives, plan, theory
from ..api import sweep
from . import render
from ..plan import read_number, read_values
from ..run import check_fits, seconds_per_step
from .parser import UsageError, as_option, plan_from


LONG_RUN = 10.0          # seconds: a sweep estimated to take longer says so before it starts


def check_writable(path: str | None, option: str) -> None:
    """Fail before a long run, not after it, if an output file cannot be written."""
    if path is None or path == "-":
        return
    if not path.strip():
        raise UsageError(f"{option}: needs a file name (or - for standard output), got an empty one")
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"{option}: cannot write {path}: no such folder {folder}")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"{option}: cannot write {path}: permission denied")
    if option == "--plot" and not path.lower().endswith((".png", ".svg", ".pdf", ".jpg", ".jpeg")):
        raise UsageError(f"--plot: the file name must end in .png, .svg, .pdf or .jpg, got {path!r}")


@contextlib.contextmanager
def writing(path: str, option: str):
    """A file opened for writing; a failure to open, write or close it (no such folder, disk full) is one line
    naming the option."""
    try:
        with open(path, "w", newline="") as fh:
            yield fh
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


def write_json(data: dict, path: str) -> None:
    """``data`` as JSON to a file, or to stdout for '-'."""
    if path == "-":
        json.dump(data, sys.stdout)
        sys.stdout.write("\n")
    else:
        with writing(path, "--json") as fh:
            json.dump(data, fh)


def save_plot(draw, path: str) -> None:
    """``draw(path)`` writes a figure; a missing matplotlib or an unwritable file is one line."""
    try:
        draw(path)
    except ImportError as exc:
        raise UsageError(f"--plot: {exc}") from None
    except OSError as exc:
        raise UsageError(f"--plot: cannot write {path}: {exc.strerror or exc}") from None


def _save_sweep_plot(result, path: str) -> None:
    from ..plots import save_sweep_figure
    save_plot(lambda p: save_sweep_figure(result, p), path)


# ---------------------------------------------------------------------------------------------------------------
def demo(args) -> int:
    """The course's worked examples, step by step, then a verdict for each α, and the bound 2/L."""
    out = render.console(args.quiet)
    check_writable(args.plot, "--plot")
    obj = objectives.formula("x**2", x0=[10.0])
    steps = 8
    res = sweep(obj, lrs=[0.1, 1.1], steps=steps)
    fmt = render.fmt
    rows = [(t, fmt(res.params[0, t, 0]), fmt(res.losses[0, t]), fmt(res.params[1, t, 0]), fmt(res.losses[1, t]))
            for t in range(steps + 1)]
    lrs = [0.001, 0.01, 0.1, 0.5, 1.0, 1.1]
    many = sweep(obj, lrs=lrs, steps=args.steps)
    if not args.quiet:
        render.table("f(x) = x², gradient 2x, from x = 10: x ← x − α·2x",
                     ["step", "x (α=0.1)", "f (α=0.1)", "x (α=1.1)", "f (α=1.1)"], rows, out)
        rows = [(f"{lrs[k]:g}", fmt(many.final_losses[k]), render.kind(v.kind, out),
                 "" if v.step is None else v.step, v.reason, v.advice) for k, v in enumerate(many.verdicts)]
        render.table(f"Gradient descent on x² for {args.steps} steps, one row per learning rate",
                     ["α", "final loss", "verdict", "step", "why", "advice"], rows, out)
        a = many.analysis
        render.say(out, f"Theory: {a.summary()}.")
        render.say(out, f"Too small (α ≪ {a.optimal:g}) crawls; near {a.optimal:g} it is fastest; at or above "
                        f"2/L = {a.stable_below:g} it oscillates or diverges.")
    if args.plot:
        _save_sweep_plot(many, args.plot)
        if not args.quiet:
            render.say(out, f"wrote {args.plot}")
    return 0


def _torch_model(args, fit_rows=None):
    """A built-in PyTorch model on a data set, for --model mlp/cnn (standardized on ``fit_rows``: all if None)."""
    if not args.dataset:
        raise UsageError(f"--model: {args.model} needs --dataset")
    if args.raw:
        raise UsageError("--raw: not available for PyTorch models")
    try:
        from ..torch.models import build
    except ImportError:
        raise UsageError(f"--model: {args.model} needs PyTorch: pip install 'lrscope[torch]'") from None
    return build(args.model, args.dataset, seed=getattr(args, "seed", 0), fit_rows=fit_rows)


def sweep_command(args) -> int:
    for path, option in ((args.plot, "--plot"), (args.csv, "--csv"), (args.json, "--json")):
        check_writable(path, option)
    setup = plan.build(plan_from(args))
    if not args.quiet and not setup.plan.torch_model:
        say_how_long(setup)
    with render.Progress(not args.quiet, "sweeping") as progress:
        if setup.plan.torch_model:
            res = _torch_sweep(args, setup)
        else:
            res = sweep(setup.objective, lrs=setup.lrs, optimizer=setup.optimizer, progress=progress,
                        **setup.run_options())
    if args.json:
        write_json(res.to_dict(), args.json)
    if args.csv:
        with writing(args.csv, "--csv") as fh:
            render.write_csv(res, fh)
    if args.plot:
        _save_sweep_plot(res, args.plot)
    if not args.quiet:
        out = render.console(stderr=args.json == "-")
        render.sweep_table(res, setup.swept, out)
        for path, what in ((args.json, "JSON"), (args.csv, "CSV"), (args.plot, "plot")):
            if path and path != "-":
                render.say(out, f"wrote {what}: {path}")
    return 0


def say_how_long(setup) -> None:
    """Before a long sweep, how long it will take (a step's cost measured on this objective), on stderr."""
    check_fits(setup.objective, setup.lrs.size, setup.steps, setup.plan.batch_size)      # refusal first, if any
    per_step = seconds_per_step(setup.objective, setup.lrs.size, setup.plan.batch_size)
    seconds = per_step * setup.steps
    if seconds > LONG_RUN:
        when = (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
                else f"{seconds / 3600:.1f} h")
        print(f"lrscope: this sweep will take about {when} ({setup.lrs.size} configurations × {setup.steps} steps "
              f"at {per_step * 1e3:.2g} ms a step); Ctrl+C stops it", file=sys.stderr)


def _torch_sweep(args, setup):
    if args.steps is not None:
        raise UsageError("--steps: PyTorch models train for --epochs")
    if setup.schedule is not None:
        raise UsageError("--schedule: not available for PyTorch models yet")
    from ..torch import sweep as torch_sweep
    net, loss, X, y = _torch_model(args)
    return torch_sweep(net, loss, (X, y), setup.lrs, optimizer=setup.optimizer, epochs=args.epochs or 3,
                       batch_size=args.batch_size or 64, seed=args.seed)


def bound(args) -> int:
    out = render.console(args.quiet)
    fmt = render.fmt
    description = plan_from(args)
    if description.torch_model:
        return _torch_bound(args, out)
    obj = plan.build_objective(description)
    at = None if args.at is None else read_values(args.at, "at")
    a = theory.analyze(obj, at=at)
    if args.quiet:
        return 0
    rows = [("L (largest Hessian eigenvalue)", fmt(a.L)), ("μ (smallest)", fmt(a.mu))]
    if a.has_bound:
        rows += [("condition number L/μ", fmt(a.condition) if a.strongly_convex else "— (μ ≤ 0: not strongly convex)"),
                 ("stable range for gradient descent", f"0 < α < 2/L = {fmt(a.stable_below)}"),
                 ("optimal constant α", f"{'2/(L+μ)' if a.strongly_convex else '1/L'} = {fmt(a.optimal)}"),
                 ("contraction per step at the optimum", fmt(float(a.contraction(a.optimal)))),
                 ("steps to shrink the error 10⁶× at the optimum", fmt(float(a.predicted_steps(a.optimal))))]
    else:
        rows += [("stable range for gradient descent", "no bound from curvature: L ≤ 0 here (concave or flat); "
                                                        "gradient descent moves away from a maximum at any α")]
    where = "exact, everywhere (constant Hessian)" if a.exact else f"at {a.where} ({a.method})"
    render.table(f"{obj.name}: curvature {where}", ["quantity", "value"], rows, out)
    if args.lr and a.has_bound:
        lrs = read_values(args.lr, "lrs", positive=True)
        rows = [(f"{lr:.4g}", a.position(lr), fmt(float(a.contraction(lr))), fmt(float(a.predicted_steps(lr))))
                for lr in lrs]
        render.table("Where each α sits (gradient descent)", ["α", "position", "contraction max|1−αλ|",
                                                              "steps for 10⁶×"], rows, out)
    elif args.lr:
        render.say(out, "No curvature bound here, so no α is 'stable' or 'optimal' by this theory; the loss may "
                        "have no minimum at all (lrscope sweep says so if it falls without limit).")
    if args.dataset:
        other = objectives.dataset(args.dataset, args.model, standardize=args.raw, l2=args.l2)
        b = theory.analyze(other)
        now, then = ("raw", "standardized") if args.raw else ("standardized", "raw")
        render.say(out, f"With {then} features instead of {now}: L = {fmt(b.L)}, μ = {fmt(b.mu)}, condition "
                        f"number {fmt(b.condition)} (vs {fmt(a.condition)}), 2/L = {fmt(b.stable_below)}, "
                        f"predicted steps {fmt(float(b.predicted_steps(b.optimal)))} "
                        f"(vs {fmt(float(a.predicted_steps(a.optimal)))}).")
    return 0


def _torch_bound(args, out) -> int:
    from ..torch import sharpness
    net, loss, X, y = _torch_model(args)
    s = sharpness(net, loss, (X, y), smallest=True, trace=True)
    if args.quiet:
        return 0
    fmt = render.fmt
    rows = [("λ_max (largest Hessian eigenvalue)", fmt(s.lambda_max)), ("λ_min (smallest)", fmt(s.lambda_min)),
            ("trace (Hutchinson estimate)", fmt(s.trace)),
            ("stable range for gradient descent", f"0 < α < 2/λ_max = {fmt(s.bound)}"),
            ("Hessian-vector products used", str(s.hvps))]
    render.table(f"{args.model} on {args.dataset}: curvature at the initial weights (full data)",
                 ["quantity", "value"], rows, out)
    render.say(out, "The curvature of a network changes as it trains (it tends to rise towards 2/α: the edge of "
                    "stability); lrscope.torch.Monitor(sharpness_every=N) tracks it during your own training.")
    return 0


def find(args) -> int:
    from ..finder import find as find_rate
    for path, option in ((args.plot, "--plot"), (args.json, "--json")):
        check_writable(path, option)
    start, end = read_number(args.start, "start"), read_number(args.end, "end")
    if args.holdout is not None:
        if not args.dataset:
            raise UsageError("--holdout: only with --dataset")
        if not 0 < args.holdout < 1:
            raise UsageError(f"--holdout: must be a fraction between 0 and 1, got {args.holdout:g}")
    description = plan_from(args)
    setup = plan.build(description)
    if setup.swept:
        raise UsageError(f"--{next(iter(setup.swept)).replace('_', '-')}: find takes one value per hyperparameter")
    kw = dict(start=start, end=end, steps=args.steps, mode=args.mode, verify_steps=args.verify_steps,
              final_steps=args.final_steps, budget=args.budget, seed=args.seed, schedule=args.train_schedule)
    with render.Progress(not args.quiet, "range test, then verification") as progress:
        if description.torch_model:
            res, what, optimizer = _torch_find(args, setup, progress, kw)
        else:
            obj, validation = setup.objective, None
            if args.holdout is not None:
                obj, validation = objectives.train_test(args.dataset, args.model, test_size=args.holdout,
                                                        standardize=not args.raw, l2=args.l2, seed=args.seed)
            res = find_rate(obj, setup.optimizer, batch_size=args.batch_size, seeds=args.seeds,
                            validation=validation, progress=progress, **kw)
            what, optimizer = obj.name, repr(setup.optimizer)
    if args.json:
        write_json(res.to_dict(), args.json)
    if args.json == "-":
        return 0
    if args.plot:
        save_plot(lambda p: res.plot(path=p), args.plot)
    out = render.console()
    fmt = render.fmt
    rows = [(rule, fmt(v) if v is not None else "—") for rule, v in res.methods.items()]
    render.table(f"LR range test on {what} with {optimizer}", ["rule", "suggested α"], rows, out)
    held_out = args.holdout is not None
    if res.candidates.size:                 # a quadratic's pick is computed, not chosen among candidates
        rows = [(f"{c:.4g}", fmt(f)) for c, f in zip(res.candidates, res.candidate_losses)]
        render.table("Verification, first round (every candidate, same batches)",
                     ["α", "held-out loss at the end" if held_out else "lowest loss, last third"], rows, out)
    if res.finalists is not None:
        lengths = res.finalist_steps if res.finalist_steps is not None else [None] * len(res.finalists)
        rows = [(f"{c:.4g}", "" if n is None else str(int(n)), fmt(f))
                for c, n, f in zip(res.finalists, lengths, res.finalist_losses)]
        title = ("The checking run" if "checking run" in res.compute or "step sizes' run" in res.compute
                 else "Second round (the best third, longer; then the margin check's runs)")
        render.table(title, ["α", "steps", "held-out loss at the end" if held_out else "loss at the end"], rows, out)
    limit = f"; 2/λ_max at the start = {res.bound:.4g}" if res.bound is not None else ""
    render.say(out, f"Suggested learning rate: [bold]{res.suggestion:.4g}[/bold] (works almost as well from "
                    f"{res.interval[0]:.3g} to {res.interval[1]:.3g}){limit}; {res.steps_used} training steps used.")
    if res.reason:
        render.say(out, f"Why: {res.reason}.")
    if res.step_sizes is not None:
        render.say(out, res.schedule_summary() + " (every rate: --json).")
    if res.compute:
        render.say(out, "Compute: " + " · ".join(f"{k} {v}" for k, v in res.compute.items()) + " steps.")
    for note in res.notes:
        render.say(out, f"Note: {note}.")
    for path, what in ((args.json, "JSON"), (args.plot, "plot")):
        if path:
            render.say(out, f"wrote {what}: {path}")
    return 0


def _torch_find(args, setup, progress, kw):
    """The range test on a built-in PyTorch model (--model mlp/cnn), through lrscope.torch.lr_find, with the torch
    optimizer that runs the same update as the core's."""
    import torch
    from ..torch import lr_find
    from ..torch.optimizers import torch_optimizer
    val_loader, rows = None, None
    if args.holdout is not None:       # the core's held-out rows (same split as without --model mlp/cnn)
        rows = objectives.held_out_rows(args.dataset, args.holdout, args.seed)
    net, loss, X, y = _torch_model(args, fit_rows=None if rows is None else rows[0])
    if rows is not None:
        kept, held = (torch.as_tensor(r) for r in rows)
        val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[held], y[held]), batch_size=256)
        X, y = X[kept], y[kept]
    try:
        opt = torch_optimizer(setup.optimizer, net.parameters(), kw["start"])
    except ValueError as exc:
        raise UsageError(as_option(str(exc))) from None
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=args.batch_size or 64,
                                         shuffle=True, generator=torch.Generator().manual_seed(args.seed))
    res = lr_find(net, loss, loader, opt, val_loader=val_loader, progress=progress, **kw)
    return res, f"{args.model} on {args.dataset}", f"{type(opt).__name__} ({setup.optimizer!r})"


def serve(args) -> int:
    try:
        import uvicorn
        from ..web.app import app
    except ImportError:
        raise UsageError("serve: needs the web extra: pip install 'lrscope[all]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port: must be 1..65535, got {args.port}")
    check_port(args.host, args.port)
    print(f"lrscope explorer on http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except OSError as exc:
        raise UsageError(f"--port: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


def check_port(host: str, port: int) -> None:
    """Fail with one clear line before uvicorn logs its own: bind the address as uvicorn will (``SO_REUSEADDR``:
    the connections of a browser that just closed, in TIME_WAIT, do not hold the port; a server listening on it
    does)."""
    import socket
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except socket.gaierror as exc:          # the name does not resolve: the host is wrong, not the port
        raise UsageError(f"--host: cannot listen on {host}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise UsageError(f"--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def diagnose_command(args) -> int:
    if args.max_runs < 1:
        raise UsageError(f"--max-runs: must be at least 1, got {args.max_runs}")
    for path, option in ((args.plot, "--plot"), (args.json, "--json")):
        check_writable(path, option)
    from ..logs import LogError, LogReport, Stage, diagnose_log
    reports = []

    def shown(progress):
        def report(done, total, stage):
            if stage == Stage.READING:
                progress(done >> 20, max(1, total >> 20), "reading the log", "MiB")
            else:
                progress(done, total, "judging", "runs")
        return report

    with render.Progress(not args.quiet, "reading the log", unit="MiB") as progress:
        for path in args.paths:
            try:
                reports.append(diagnose_log(path, loss=args.loss, lr=args.lr, val_loss=args.val,
                                            grad_norm=args.grad_norm, step=args.step, run=args.run,
                                            max_runs=args.max_runs,
                                            progress=shown(progress)))
            except LogError as exc:
                raise UsageError(str(exc).splitlines()[0]) from None
    if args.json:
        write_json({"reports": [r.to_dict() for r in reports]} if len(reports) > 1 else reports[0].to_dict(),
                   args.json)
    if args.plot:
        joined = reports[0] if len(reports) == 1 else LogReport(
            ", ".join(args.paths), [d for r in reports for d in r], [s for r in reports for s in r.skipped])
        save_plot(lambda p: joined.plot(p), args.plot)
    if not args.quiet:
        out = render.console(stderr=args.json == "-")
        for report in reports:
            render.log_table(report, out)
        for path, what in ((args.json, "JSON"), (args.plot, "plot")):
            if path and path != "-":
                render.say(out, f"wrote {what}: {path}")
    return 0


COMMANDS = {"demo": demo, "diagnose": diagnose_command, "sweep": sweep_command, "bound": bound, "find": find,
            "serve": serve}
