"""The ``lrscope`` command (a thin layer over the library): ``lrscope demo`` reproduces the course examples.

Every mistake on the command line is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import __version__
from . import objectives, optim, theory
from .run import sweep

VERDICT_STYLE = {"converged": "green", "slow": "yellow", "oscillating": "magenta", "diverged": "red"}


class UsageError(Exception):
    """A mistake in the command line: reported as one line, exit status 2."""


def _console():
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is in the [cli] extra
        return None
    return Console(highlight=False)


def _table(title, columns, rows, console):
    if console is None:
        print(title)
        print("  ".join(columns))
        for row in rows:
            print("  ".join(str(c) for c in row))
        return
    from rich.table import Table
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*[str(c) for c in row])
    console.print(table)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.6g}"


def cmd_demo(args) -> int:
    """The course's worked examples, step by step, then a verdict for each α in the decades, and the bound 2/L."""
    console = _console()
    obj = objectives.formula("x**2", x0=[10.0])
    steps = 8
    res = sweep(obj, lrs=[0.1, 1.1], steps=steps)
    rows = [(t, _fmt(res.params[0, t, 0]), _fmt(res.losses[0, t]), _fmt(res.params[1, t, 0]), _fmt(res.losses[1, t]))
            for t in range(steps + 1)]
    _table("f(x) = x², gradient 2x, from x = 10: x ← x − α·2x", ["step", "x (α=0.1)", "f (α=0.1)", "x (α=1.1)",
                                                               "f (α=1.1)"], rows, console)
    lrs = [0.001, 0.01, 0.1, 0.5, 1.0, 1.1]
    res = sweep(obj, lrs=lrs, steps=args.steps)
    a = res.analysis
    rows = []
    for k, v in enumerate(res.verdicts):
        kind = v.kind if console is None else f"[{VERDICT_STYLE[v.kind]}]{v.kind}[/]"
        rows.append((f"{lrs[k]:g}", _fmt(res.final_losses[k]), kind, "" if v.step is None else v.step,
                     v.reason, v.advice))
    _table(f"Gradient descent on x² for {args.steps} steps, one row per learning rate",
           ["α", "final loss", "verdict", "step", "why", "advice"], rows, console)
    say = console.print if console else print
    say(f"Theory: {a.summary()}.")
    say(f"Too small (α ≪ {a.optimal:g}) crawls; near {a.optimal:g} it is fastest; at or above 2/L = "
        f"{a.stable_below:g} it oscillates or diverges.")
    if args.plot:
        _plot_curves(res, args.plot)
        say(f"wrote {args.plot}")
    return 0


def _plot_curves(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot: needs matplotlib (pip install 'lrscope[all]')") from None
    colors = {"converged": "tab:green", "slow": "tab:orange", "oscillating": "tab:purple", "diverged": "tab:red"}
    fig, ax = plt.subplots(figsize=(8, 5))
    for k, v in enumerate(res.verdicts):
        y = res.losses[k]
        ax.plot(np.arange(y.size), np.where(y > 0, y, np.nan), color=colors[v.kind], label=f"α={res.lrs[k]:g}: {v.kind}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{res.objective.name}: loss per step for each learning rate")
    ax.legend(fontsize=8)
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise UsageError(f"--plot: cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # one line, exit status 2
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lrscope", description="Which learning rate? Converging, slow, oscillating or diverging?")
    parser.add_argument("--version", action="version", version=f"lrscope {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    demo = sub.add_parser("demo", help="the course examples, reproduced and explained",
                          description="Reproduce the course's worked examples on f(x)=x² and explain each regime.",
                          epilog="example: lrscope demo --plot curves.png")
    demo.add_argument("--steps", type=int, default=100, help="steps of the verdict sweep (default 100)")
    demo.add_argument("--plot", metavar="FILE.png", help="write the loss curves to a PNG file")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        if getattr(args, "steps", 1) is not None and args.steps < 1:
            raise UsageError(f"--steps: must be >= 1, got {args.steps}")
        return args.func(args)
    except UsageError as exc:
        print(f"lrscope: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        print(f"lrscope: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
