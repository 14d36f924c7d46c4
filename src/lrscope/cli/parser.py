"""The command line's options, each declared once, and how they become a :class:`~lrscope.plan.Plan`.

The optimizer hyperparameter options (``--beta``, ``--amsgrad``, ...) are generated from the plan layer's catalogue,
so the command line offers exactly what the optimizers take. Mistakes are :class:`UsageError`: one line naming the
option, exit status 2.
"""

from __future__ import annotations

import argparse
import re

from .. import __version__, objectives, plan
from ..logs.read import MAX_RUNS
from ..finder.schedule import SHAPES

OPTION_OF_FIELD = {"lrs": "--lr", "x0": "--x0", "objective": "--objective", "kind": "--objective",
                   "formula": "--objective", "dataset": "--dataset", "model": "--model", "optimizer": "--optimizer",
                   "schedule": "--schedule", "schedule_params": "--schedule-param", "warmup": "--warmup",
                   "batch_size": "--batch-size", "l2": "--l2"}


class UsageError(Exception):
    """A mistake on the command line: reported as one line, exit status 2."""


def as_option(message: str) -> str:
    """An error naming a plan field or a core argument ('lrs: ...', 'hyperparams.beta: ...') told with the
    command-line option instead ('--lr: ...', '--beta: ...', '-S gamma: ...')."""
    head, sep, rest = message.partition(":")
    if not sep:
        return message
    if ", " in head and all(re.fullmatch(r"[a-z_0-9]+", h) for h in head.split(", ")):     # 'start, end: ...'
        return ", ".join(as_option(f"{h}:").rstrip(":") for h in head.split(", ")) + ":" + rest
    if head in OPTION_OF_FIELD:
        return f"{OPTION_OF_FIELD[head]}:{rest}"
    group, dot, name = head.partition(".")
    if dot and group == "hyperparams":
        return f"--{name.replace('_', '-')}:{rest}"
    if dot and group == "schedule_params":
        return f"-S {name}:{rest}"
    if re.fullmatch(r"[a-z_0-9]+", head):
        return f"--{head.replace('_', '-')}:{rest}"
    return message


class Parser(argparse.ArgumentParser):
    def error(self, message):          # one line, exit status 2
        raise UsageError(message)


def attach_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--x0 -1.2,1`` and ``-o -x**2`` as a person types them: a value that starts with a minus after an option
    that takes one is attached to it (``--x0=-1.2,1``); argparse would take it for an option."""
    takes_value, known = {}, set()
    for sub in [parser, *parser._subparsers._group_actions[0].choices.values()]:
        for action in sub._actions:
            known.update(action.option_strings)
            if action.option_strings and action.nargs is None and not action.const:
                longest = max(action.option_strings, key=len)
                takes_value.update({o: longest for o in action.option_strings})
    out, i = [], 0
    while i < len(argv):
        token = argv[i]
        if (token in takes_value and i + 1 < len(argv) and argv[i + 1].startswith("-")
                and argv[i + 1] not in known and argv[i + 1] != "-"):
            out.append(f"{takes_value[token]}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def add_objective_options(p) -> None:
    g = p.add_argument_group("objective")
    g.add_argument("--objective", "-o", help="a built-in (x2, quadratic, rosenbrock, beale, himmelblau, saddle) or a "
                                             "formula such as \"x**2 + 10*y**2\" (default x2)")
    g.add_argument("--x0", help="start point, comma-separated, one number per variable (e.g. 10 or -1.2,1)")
    g.add_argument("--dataset", "-d", choices=list(objectives.DATASETS), help="a scikit-learn data set")
    g.add_argument("--model", "-m", choices=list(objectives.datasets.MODELS) + list(plan.TORCH_MODELS),
                   help="linear (least squares), logistic or softmax (default: the data set's natural one); "
                        "mlp or cnn: a small PyTorch network, trained with lrscope.torch")
    g.add_argument("--raw", action="store_true", help="do not standardize the features")
    g.add_argument("--l2", type=float, default=0.0, help="L2 penalty l2/2·‖w‖² (default 0)")


def add_optimizer_options(p, title: str, default_steps: int | None, steps_help: str) -> None:
    """--optimizer, --steps, --batch-size, --seed and every hyperparameter of the catalogue."""
    g = p.add_argument_group(title)
    g.add_argument("--optimizer", default="gd", help=f"one of {', '.join(plan.OPTIMIZERS)} (default gd)")
    g.add_argument("--steps", type=int, default=default_steps, help=steps_help)
    g.add_argument("--batch-size", type=int, help="rows per step (data sets): 1 = SGD; default full batch")
    g.add_argument("--seed", type=int, default=0, help="sample order (default 0); same seed, same result")
    h = p.add_argument_group("optimizer hyperparameters (a list sweeps them in sweep: every combination with --lr)")
    for key, owners in plan.hyperparameter_owners().items():
        option = plan.hyperparameter_option(key)
        flag, where = "--" + key.replace("_", "-"), f"({', '.join(owners)})"
        if option.kind == "bool":
            h.add_argument(flag, dest=key, action="store_true", default=None, help=f"{where} switch it on")
        elif option.kind == "choice":
            h.add_argument(flag, dest=key, choices=option.choices,
                           help=f"{where} one of {', '.join(option.choices)} (default {option.default})")
        else:
            default = defaults_of(key, owners)
            h.add_argument(flag, dest=key, metavar="V",
                           help=f"default {default}" if "(" in default else f"{where} default {default}")


def defaults_of(key: str, owners: list) -> str:
    """A hyperparameter's default as each optimizer has it ('0' or '0 (gd, adam), 0.01 (adamw)')."""
    by_value: dict = {}
    for name in owners:
        by_value.setdefault(f"{plan.OPTIMIZERS[name][key].default:g}", []).append(name)
    if len(by_value) == 1:
        return next(iter(by_value))
    return ", ".join(f"{value} ({', '.join(names)})" for value, names in by_value.items())


def add_output_options(p, plot_help: str, csv: bool = False, quiet_help: str = "no table, no progress bar") -> None:
    o = p.add_argument_group("output")
    o.add_argument("--json", metavar="FILE", help="write the result as JSON ('-' for stdout)")
    if csv:
        o.add_argument("--csv", metavar="FILE", help="write the curves as CSV (one row per configuration and step)")
    o.add_argument("--plot", metavar="FILE.png", help=plot_help)
    o.add_argument("--quiet", "-q", action="store_true", help=quiet_help)


def schedule_params(pairs) -> dict:
    """-S key=value pairs as a mapping of text (the plan reads each as its schedule's option type)."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--schedule-param: expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def plan_from(args) -> plan.Plan:
    """The plan the options describe."""
    hyper = {key: getattr(args, key) for key in plan.hyperparameter_owners()
             if getattr(args, key, None) is not None}
    return plan.Plan(objective=args.objective, x0=args.x0, dataset=args.dataset, model=args.model,
                     standardize=not args.raw, l2=args.l2, optimizer=getattr(args, "optimizer", "gd"),
                     hyperparams=hyper,
                     schedule=getattr(args, "schedule", None),
                     schedule_params=schedule_params(getattr(args, "schedule_param", None)),
                     warmup=getattr(args, "warmup", None), lrs=getattr(args, "lr", None),
                     steps=getattr(args, "steps", None), epochs=getattr(args, "epochs", None),
                     batch_size=getattr(args, "batch_size", None), seed=getattr(args, "seed", 0))


EXAMPLES_SWEEP = """examples:
  lrscope sweep --objective "x**2" --x0 10 --lr 0.001,0.01,0.1,1.1 --steps 100 --plot curves.png
  lrscope sweep --objective rosenbrock --optimizer adam --lr 1e-4:1e-1:12 --schedule cosine --steps 2000
  lrscope sweep --dataset digits --model softmax --batch-size 32 --optimizer momentum --lr 0.01,0.1,1 --epochs 5
  lrscope sweep -o quadratic --optimizer momentum --form heavy_ball --lr 0.01,0.1 --beta 0.5,0.9 --json out.json
  lrscope sweep -o rosenbrock --lr 1e-3 --schedule step --schedule-param step_size=100 --schedule-param gamma=0.5
"""
EXAMPLES_FIND = """examples:
  lrscope find --dataset breast_cancer --model logistic --plot range.png
  lrscope find -o rosenbrock --optimizer adam
  lrscope find --dataset digits --batch-size 32 --optimizer momentum --beta 0.9
  lrscope find --dataset digits --model mlp --optimizer adam
"""
EXAMPLES_DIAGNOSE = """examples:
  lrscope diagnose metrics.csv
  lrscope diagnose lightning_logs/ --plot runs.png
  lrscope diagnose runs/ --json report.json             (TensorBoard: one run per folder of event files)
  lrscope diagnose output/checkpoint-500/trainer_state.json
  lrscope diagnose sweep.csv --run lr --loss batch_loss
"""
EXAMPLES_BOUND = """examples:
  lrscope bound --dataset diabetes --model linear
  lrscope bound --objective rosenbrock --at 1,1
  lrscope bound -o "x**2 + 10*y**2" --lr 0.01,0.09,0.11
"""


def build_parser(commands) -> argparse.ArgumentParser:
    """The parser; ``commands`` maps each command's name to the function that runs it."""
    parser = Parser(prog="lrscope", description="Which learning rate? Converging, slow, oscillating or diverging?",
                    epilog="run 'lrscope COMMAND --help' for the options and examples of each command")
    parser.add_argument("--version", action="version", version=f"lrscope {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    demo = sub.add_parser("demo", help="the course examples, reproduced and explained", formatter_class=raw,
                          description="Reproduce the course's worked examples on f(x)=x² and explain each regime.",
                          epilog="example: lrscope demo --plot curves.png")
    demo.add_argument("--steps", type=int, default=100, help="steps of the verdict sweep (default 100)")
    demo.add_argument("--plot", metavar="FILE.png", help="write the loss curves to a PNG file")
    demo.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    demo.set_defaults(func=commands["demo"])

    sw = sub.add_parser("sweep", help="train many learning rates at once and diagnose each", formatter_class=raw,
                        description="Run an optimizer with every learning rate (and hyperparameter) given, from the "
                                    "same start, and give a verdict for each.", epilog=EXAMPLES_SWEEP)
    add_objective_options(sw)
    add_optimizer_options(sw, "plan", None, "number of updates (default 100)")
    g = sw.add_argument_group("learning rates and schedule")
    g.add_argument("--lr", help="learning rates: a list 0.001,0.01 or a log range start:stop:count "
                                "(default: the optimizer's usual one)")
    g.add_argument("--epochs", type=int, help="passes over the data (data sets; instead of --steps)")
    g.add_argument("--schedule", help=f"one of {', '.join(plan.SCHEDULES)}")
    g.add_argument("--schedule-param", "-S", action="append", metavar="KEY=VALUE",
                   help="a schedule parameter, e.g. -S step_size=100 -S gamma=0.5 (repeatable)")
    g.add_argument("--warmup", type=int, metavar="STEPS", help="linear warmup before the schedule")
    add_output_options(sw, "loss curves (+ paths over contours in 2-D)", csv=True,
                       quiet_help="no table, no progress bar (for scripts)")
    sw.set_defaults(func=commands["sweep"])

    fd = sub.add_parser("find", help="LR range test with a verified suggestion", formatter_class=raw,
                        description="Raise α exponentially from --start to --end, read the curve with several rules, "
                                    "then train the candidates briefly and recommend the one that really works best.",
                        epilog=EXAMPLES_FIND)
    add_objective_options(fd)
    add_optimizer_options(fd, "range test", None, "steps of the ramp (default 100; fewer with a short --budget)")
    g = fd.add_argument_group("ramp and verification")
    g.add_argument("--start", default="1e-7", help="smallest α (default 1e-7)")
    g.add_argument("--end", default="10", help="largest α (default 10)")
    g.add_argument("--mode", choices=["exp", "linear"], default="exp", help="ramp shape (default exp)")
    g.add_argument("--seeds", type=int, default=3, help="sample orders averaged into the band (default 3)")
    g.add_argument("--verify-steps", type=int, help="first verification round, per candidate (default: a quarter "
                                                      "of --steps)")
    g.add_argument("--final-steps", type=int, help="second round for the best third (default: 4 × --verify-steps)")
    g.add_argument("--holdout", type=float, metavar="FRACTION",
                   help="data sets: hold out this share of the rows and pick the rate by held-out loss")
    g.add_argument("--budget", type=int, help="the steps you will train for: the verification rounds are sized "
                                              "from it (4%% and 30%% of it; the call costs about twice the budget)")
    g.add_argument("--schedule", dest="train_schedule", choices=list(SHAPES), metavar="{" + ",".join(SHAPES) + "}",
                   help="the schedule you will train with: the candidates are verified with it and the answer is "
                        "its peak rate (default: a constant rate, with a cooldown on mini-batches)")
    add_output_options(fd, "the range-test chart with every rule's pick", quiet_help="no progress bar")
    fd.set_defaults(func=commands["find"])

    sv = sub.add_parser("serve", help="the interactive explorer in your browser", formatter_class=raw,
                        description="Start the explorer: compare training curves for several learning rates, live.",
                        epilog="example: lrscope serve --port 8000   then open http://127.0.0.1:8000/")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    sv.set_defaults(func=commands["serve"])

    bd = sub.add_parser("bound", help="L, μ, the stable range 2/L and the optimal α", formatter_class=raw,
                        description="Curvature of the objective and what it says about the learning rate.",
                        epilog=EXAMPLES_BOUND)
    add_objective_options(bd)
    bd.add_argument("--at", help="the point where to measure the curvature (default: the start point)")
    bd.add_argument("--lr", help="also show where these learning rates sit")
    bd.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    bd.set_defaults(func=commands["bound"])

    dg = sub.add_parser("diagnose", help="judge the runs in training logs you already have", formatter_class=raw,
                        description="Read the loss per step (and the learning rate, gradient norm and validation loss "
                                    "where logged) from CSV/TSV files, TensorBoard event files, Lightning CSVLogger "
                                    "folders or Hugging Face trainer_state.json files -- or a folder of runs -- and "
                                    "say for each run whether it converged, is slow, oscillates or diverged, and why.",
                        epilog=EXAMPLES_DIAGNOSE)
    dg.add_argument("paths", nargs="+", metavar="PATH", help="a log file or a folder of runs")
    c = dg.add_argument_group("columns or tags (when lrscope does not recognise their names)")
    c.add_argument("--loss", metavar="NAME", help="the training loss (default: train_loss, loss, train/loss, ...)")
    c.add_argument("--lr", metavar="NAME", help="the learning rate (default: lr, learning_rate, lr-Adam, ...)")
    c.add_argument("--val", metavar="NAME", help="the validation loss (default: val_loss, eval_loss, ...)")
    c.add_argument("--grad-norm", metavar="NAME", help="the gradient norm (default: grad_norm, ...)")
    c.add_argument("--step", metavar="NAME", help="the step (default: step, global_step, iteration; else the row)")
    c.add_argument("--run", metavar="NAME", help="a column that tells several runs of one file apart")
    dg.add_argument("--max-runs", type=int, default=MAX_RUNS, metavar="N",
                    help=f"judge a folder of up to N runs (default {MAX_RUNS}: a larger one is refused, in case it "
                         f"is the wrong folder)")
    add_output_options(dg, "every run's loss (trend over the raw points), events marked; the rates below",
                       quiet_help="no table, no progress bar")
    dg.set_defaults(func=commands["diagnose"])
    return parser
