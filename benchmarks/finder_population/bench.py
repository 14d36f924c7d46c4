"""The finder on a population of problems it has never seen, judged on held-out data (issue 27).

Every problem (``problems.py``: drawn by a seed, split train / val / test) is trained by every method for the same
budget of optimizer steps, from the same initial weights over the same batches; the score is the **test loss** at
the end ÷ that of the best of the 13-point log grid trained with cosine decay to zero (the "tuned" reference,
13 × the budget). Methods, in one run:

- ``grid const`` / ``grid cosine`` / ``grid cooldown``: the best of the grid at a constant rate / with cosine / at a
  constant rate with lrscope's cooldown over the last 20% (references, chosen by
  test loss: an oracle no method can beat by selection alone -- on a test set of 35 or 113 points, also a lucky
  draw); ``grid cosine by val``: the cosine grid's rate chosen by validation loss, as a practitioner tunes;
- ``lrscope``: ``lrscope.torch.lr_find(budget=)`` on the training data, trained as recommended (``res.step_sizes``,
  else the constant pick); ``lrscope val``: the same with ``val_loader=`` the validation split; ``lrscope val
  cosine``: that with ``schedule="cosine"``, trained with cosine at the verified peak; ``lrscope val kept``: with
  ``keep_winner=True``, training going on from the kept verification run (its steps not counted twice);
- ``Prodigy`` (lr=1, constant and cosine) and ``schedule-free`` AdamW (its default rate): no rate to choose;
- ``torch-lr-finder``: its range test (100 steps, 1e-7 … 10), its own steepest-descent suggestion, trained with
  cosine; ``valley``: fastai's valley rule (the middle of the longest falling stretch) on the same curve, with cosine;
- ``Lightning``: ``Tuner.lr_find``'s suggestion (its defaults), trained with cosine;
- ``Optuna``: TPE over the grid's range (log scale) with a median pruner on the validation loss, cosine schedule,
  given exactly lrscope's compute (its finder's steps + the budget): the best completed trial's model is scored.

Compute is counted in optimizer steps (forward + backward on one batch), evaluations not counted.

    python benchmarks/finder_population/bench.py --split tune          # tune problems (the even seeds)
    python benchmarks/finder_population/bench.py --split held          # run only to report
    python benchmarks/finder_population/bench.py --split held --first 48   # the problems added on 2026-12-04

Results are kept per problem and method in ``results.json`` beside this file (not committed), so a run can be
stopped and resumed; ``--fresh`` discards them. ``noise.py`` (the reference's own noise) and ``expected.py`` (every
method's choice scored in expectation over more draws of the initial weights and batch order) read them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent))          # bench_finder: torch-lr-finder's range test
from problems import Problem, draw  # noqa: E402

from lrscope.finder import verify  # noqa: E402
from lrscope.finder.cooldown import with_cooldown  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "results.json"
PROBLEMS = 96                         # seeds 0 … 95: 48 tune (even), 48 held (odd); 0 … 47 the first population
EXTEND = 4                            # grid points added past a winning end of the grid
FLOOR = 1e-3                          # test losses are compared above this share of the untrained model's


# ------------------------------------------------------------------------------------------------------ training
def cosine(budget: int) -> np.ndarray:
    """Cosine decay from 1 to 0 over ``budget`` steps (the multiplier of each step's rate)."""
    return 0.5 * (1 + np.cos(np.pi * np.arange(budget) / budget))


def batches(problem: Problem, loader=None):
    """The problem's training batches, epoch after epoch (the same order for every method; or ``loader``'s, where
    its shuffling generator stands)."""
    loader = problem.loader() if loader is None else loader
    while True:
        yield from loader


def train(problem: Problem, rates=None, make_optimizer=None, report=None, every: int = 0, resume=None):
    """``problem.budget`` steps from the initial weights, at ``rates[t]`` each step (or with ``make_optimizer``'s
    own rate); ``report(step, model)`` every ``every`` steps may stop the run by returning False. ``resume``: (model,
    optimizer, steps already done, its loader) -- go on with them for the rest of the budget, new passes over that
    loader (its generator where the run left it). Returns the model and the steps
    taken."""
    if resume is None:
        model = problem.make_model()
        opt = (make_optimizer or problem.make_optimizer)(model.parameters(),
                                                         float(rates[0]) if rates is not None else 1.0)
        done, loader = 0, None
    else:
        model, opt, done, loader = resume
    if hasattr(opt, "train"):
        opt.train()                               # schedule-free: training mode
    stream = batches(problem, loader)
    steps = done
    for t in range(done, problem.budget):
        if rates is not None:
            for g in opt.param_groups:
                g["lr"] = float(rates[t])
        x, y = next(stream)
        loss = problem.loss_fn(model(x), y)
        if not torch.isfinite(loss):
            steps = t + 1
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps = t + 1
        if report is not None and every and steps % every == 0 and steps < problem.budget:
            if report(steps, model) is False:
                break
    if hasattr(opt, "eval"):
        opt.eval()                                # schedule-free: the averaged weights are the ones to judge
    return model, steps


# ------------------------------------------------------------------------------------------------------- methods
def past_a_winning_end(grid, run, score=lambda result: result) -> tuple[list, list]:
    """``run(lr)`` for every rate of ``grid``, the grid extended by its own ratio past an end whose run wins (the
    lowest ``score`` of a run's result; up to ``EXTEND`` points): the rates and their runs' results, in rate order."""
    rates = list(grid)
    ratio = rates[1] / rates[0]
    runs = [run(lr) for lr in rates]
    for _ in range(EXTEND):
        k = int(np.argmin([score(r) for r in runs]))
        if 0 < k < len(rates) - 1:
            break
        at, lr = (0, rates[0] / ratio) if k == 0 else (len(rates), rates[-1] * ratio)
        rates.insert(at, lr)
        runs.insert(at, run(lr))
    return rates, runs


def check_step(step: str) -> None:
    """Stop with a one-line message where ``step`` names none of the margin check's steps."""
    if step not in verify.STEPS:
        raise SystemExit(f"--without: unknown step {step!r}; the steps are {', '.join(sorted(verify.STEPS))}")


@contextlib.contextmanager
def without(step: str):
    """The finder with the named step of its margin check (``lrscope.finder.verify.STEPS``) left out."""
    check_step(step)
    every = verify.STEPS
    verify.STEPS = every - {step}
    try:
        yield
    finally:
        verify.STEPS = every


def grid(problem: Problem, schedule: str) -> dict:
    """The best of the problem's 13-point grid (by test loss: the reference), extended by the grid's own ratio past
    an end that wins (up to ``EXTEND`` points), so that the reference is a tuned rate, not the grid's edge."""
    shape = {"cosine": cosine(problem.budget), "const": np.ones(problem.budget),
             "cooldown": with_cooldown(1.0, problem.budget)}[schedule]

    def trained(lr) -> tuple:
        model = train(problem, lr * shape)[0]
        return problem.test_loss(model), problem.test_loss(model, problem.val)

    rates, runs = past_a_winning_end(problem.grid(), trained, score=lambda run: run[0])   # (test, validation)
    losses, vals = [test for test, _ in runs], [val for _, val in runs]
    k = int(np.argmin(losses))
    return {"test": float(losses[k]), "lr": float(rates[k]), "compute": len(rates) * problem.budget,
            "rates": [float(v) for v in rates], "all": [float(v) for v in losses], "val": vals,
            "edge": k in (0, len(losses) - 1)}


def lrscope_method(problem: Problem, val: bool, schedule: str | None = None, keep: bool = False) -> dict:
    """``keep``: ``keep_winner=True``, and training goes on from the kept verification run over the rest of the
    budget, with new passes over the same loader."""
    import lrscope.torch as lt
    model = problem.make_model()
    opt = problem.make_optimizer(model.parameters(), 1e-3)
    loader = problem.loader()
    with contextlib.redirect_stderr(io.StringIO()):
        res = lt.lr_find(model, problem.loss_fn, loader, opt, budget=problem.budget, seed=problem.seed,
                         val_loader=problem.loader(problem.val, shuffle=False) if val else None, schedule=schedule,
                         keep_winner=keep)
    rates = (np.asarray(res.step_sizes, dtype=np.float64) if res.step_sizes is not None
             else np.full(problem.budget, res.suggestion))
    kept = min(res.trained_steps, problem.budget)
    model, _ = train(problem, rates, resume=(model, opt, kept, loader) if keep else None)
    return {"test": problem.test_loss(model), "lr": float(res.suggestion), "finder": int(res.steps_used),
            "compute": int(res.steps_used) + problem.budget - kept, "kept": kept,
            "schedule": res.step_sizes is not None, "notes": [str(n) for n in res.notes],
            "rounds": {"candidates": [float(v) for v in res.candidates],
                       "first": [float(v) for v in res.candidate_losses],
                       "finalists": [float(v) for v in res.finalists],
                       "final": [float(v) for v in res.finalist_losses],
                       "final_steps": [int(v) for v in res.finalist_steps]}}


def lr_free(problem: Problem, name: str) -> dict:
    if name.startswith("Prodigy"):
        from prodigyopt import Prodigy
        shape = cosine(problem.budget) if name.endswith("cosine") else np.ones(problem.budget)
        model, _ = train(problem, shape, make_optimizer=lambda p, lr: Prodigy(p, lr=1.0))
    else:
        from schedulefree import AdamWScheduleFree
        model, _ = train(problem, None, make_optimizer=lambda p, lr: AdamWScheduleFree(p))
    return {"test": problem.test_loss(model), "compute": problem.budget}


def range_test_curve(problem: Problem):
    """torch-lr-finder's range test (100 steps, 1e-7 … 10, exponential) on the problem: its suggestion, its rates
    and smoothed losses (``bench_finder.torch_lr_finder``)."""
    from bench_finder import torch_lr_finder
    model = problem.make_model()
    return torch_lr_finder(model, problem.make_optimizer(model.parameters(), 1e-7), problem.loss_fn,
                           problem.loader(), num_iter=100, start=1e-7, end=10.0)


def range_test_methods(problem: Problem) -> dict:
    """torch-lr-finder's suggestion and fastai's valley rule (``lrscope.finder.rules.valley``: the middle of the
    longest falling stretch) on its curve, each trained with cosine."""
    from lrscope.finder.rules import valley
    pick, lrs, losses = range_test_curve(problem)
    out = {}
    for name, lr in (("torch-lr-finder", pick), ("valley", valley(lrs, losses))):
        if lr is None or not np.isfinite(lr):
            out[name] = {"test": math.inf, "lr": None, "compute": lrs.size + problem.budget}
            continue
        model, _ = train(problem, lr * cosine(problem.budget))
        out[name] = {"test": problem.test_loss(model), "lr": float(lr), "compute": lrs.size + problem.budget}
    return out


def lightning_method(problem: Problem) -> dict:
    """Lightning's ``Tuner.lr_find`` (its defaults: 100 steps, 1e-8 … 1, exponential, stop at 4× the best loss) and
    its suggestion (steepest descent of the smoothed loss), trained with cosine."""
    import logging
    import warnings
    import lightning.pytorch as pl
    from lightning.pytorch.tuner import Tuner
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = problem.make_model()
            self.lr = 1e-3

        def training_step(self, batch, _):
            x, y = batch
            return problem.loss_fn(self.net(x), y)

        def configure_optimizers(self):
            return problem.make_optimizer(self.net.parameters(), self.lr)

    module = Module()
    trainer = pl.Trainer(max_steps=problem.budget, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        found = Tuner(trainer).lr_find(module, train_dataloaders=problem.loader(), update_attr=False)
    pick = None if found is None else found.suggestion()
    used = 0 if found is None else len(found.results.get("lr", []))
    if pick is None or not np.isfinite(pick):
        return {"test": math.inf, "lr": None, "compute": used + problem.budget}
    model, _ = train(problem, pick * cosine(problem.budget))
    return {"test": problem.test_loss(model), "lr": float(pick), "compute": used + problem.budget}


def optuna_method(problem: Problem, compute: int) -> dict:
    """TPE over the rate (log scale, the grid's range), median pruner on the validation loss read 10 times a run,
    cosine decay; trials until ``compute`` steps are spent (a trial is cut where the compute ends)."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    low, high = problem.grid()[0], problem.grid()[-1]
    every = max(1, problem.budget // 10)
    spent = {"steps": 0}
    best = {"val": math.inf, "test": math.inf, "lr": None}
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=problem.seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=every))

    def objective(trial):
        lr = trial.suggest_float("lr", low, high, log=True)
        left = compute - spent["steps"]

        def report(step, model):
            if step >= left:
                return False
            value = problem.test_loss(model, problem.val)
            trial.report(value if np.isfinite(value) else 1e30, step)
            return not trial.should_prune()

        model, steps = train(problem, lr * cosine(problem.budget), report=report, every=every)
        spent["steps"] += steps
        if steps < problem.budget:
            raise optuna.TrialPruned()
        value = problem.test_loss(model, problem.val)
        if value < best["val"]:
            best.update(val=value, test=problem.test_loss(model), lr=lr)
        return value if np.isfinite(value) else 1e30

    while spent["steps"] < compute - every:
        study.optimize(objective, n_trials=1)
    return {"test": best["test"], "lr": best["lr"], "compute": spent["steps"], "trials": len(study.trials)}


REFERENCES = ("grid const", "grid cosine", "grid cosine by val", "grid cooldown")     # 13× the budget each
METHODS = REFERENCES + ("lrscope", "lrscope val", "lrscope val cosine", "lrscope val kept", "Prodigy",
                        "Prodigy cosine", "schedule-free", "torch-lr-finder", "valley", "Lightning", "Optuna")


def run_problem(problem: Problem, done: dict, progress=print) -> dict:
    """Every method on ``problem`` (those in ``done`` are kept); the results by method."""
    out = dict(done)
    t0 = time.perf_counter()

    def have(name):
        return name in out

    for schedule in ("const", "cosine", "cooldown"):
        if not have(f"grid {schedule}"):
            out[f"grid {schedule}"] = grid(problem, schedule)
    g = out["grid cosine"]
    k = int(np.argmin(g["val"]))            # as a practitioner tunes: the rate whose run did best on validation
    out["grid cosine by val"] = {"test": g["all"][k], "lr": g["rates"][k], "compute": g["compute"]}
    for name, val, schedule, keep in (("lrscope", False, None, False), ("lrscope val", True, None, False),
                                      ("lrscope val cosine", True, "cosine", False),
                                      ("lrscope val kept", True, None, True)):
        if not have(name):
            out[name] = lrscope_method(problem, val, schedule, keep)
    for name in ("Prodigy", "Prodigy cosine", "schedule-free"):
        if not have(name):
            out[name] = lr_free(problem, name)
    if not (have("torch-lr-finder") and have("valley")):
        out.update(range_test_methods(problem))
    if not have("Lightning"):
        out["Lightning"] = lightning_method(problem)
    if not have("Optuna"):
        out["Optuna"] = optuna_method(problem, out["lrscope val"]["compute"])
    if "init" not in out:
        out["init"] = {"test": problem.test_loss(problem.make_model())}
    progress(f"{problem.name:55s} {time.perf_counter() - t0:6.1f} s  " + " ".join(
        f"{m.split()[0][:6]} {ratio(out, m):.2f}" for m in METHODS[len(REFERENCES):]))
    return out


def keep(path: Path, seed: int, entry: dict, merge: bool = False) -> dict:
    """Problem ``seed``'s results become ``entry`` in the JSON file ``path`` (or, with ``merge``, gain its keys),
    the file read again just before writing: another half, or another process on the same half, may be writing
    beside this one. Returns everything kept."""
    kept = json.loads(path.read_text()) if path.exists() else {}
    kept[str(seed)] = {**kept.get(str(seed), {}), **entry} if merge else entry
    part = path.with_name(f"{path.name}.{os.getpid()}")
    part.write_text(json.dumps(kept, indent=1))
    part.replace(path)                          # at once: a reader beside never sees half a file
    return kept


def relative(loss: float, reference: float, untrained: float) -> float:
    """``loss`` ÷ ``reference``, each plus ``FLOOR`` × the ``untrained`` model's test loss: differences below that
    are immaterial, and a ratio of two losses near 0 (a separable data set: 1e-7 vs 1e-4) would otherwise read as
    1000×."""
    eps = FLOOR * untrained
    return (loss + eps) / (reference + eps)


def ratio(result: dict, method: str) -> float:
    """A method's test loss ÷ the tuned cosine grid's (:func:`relative`)."""
    return relative(result[method]["test"], result["grid cosine"]["test"], result["init"]["test"])


def half_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say which problems: ``--split tune|held`` (the seeds' parity) and ``--first`` seed."""
    parser.add_argument("--split", choices=("tune", "held"), default="tune")
    parser.add_argument("--first", type=int, default=0, help="only seeds from this one on (48: the problems added "
                                                               "on 2026-12-04)")


def in_half(seed: int, args) -> bool:
    return (seed % 2 == 1) == (args.split == "held") and seed >= args.first


def half_from_command_line(description: str, more_arguments=None) -> tuple[argparse.Namespace, dict]:
    """For the scripts beside this one (``noise.py``, ``horizon.py``, ``expected.py``, ``stages.py``): the command
    line (the half, :func:`half_arguments`, and what ``more_arguments(parser)`` adds), torch on one thread, and the
    kept results of the half's problems of the population (seeds below ``PROBLEMS``), by seed (in seed order).
    Exits with a message where bench.py has not run on them."""
    parser = argparse.ArgumentParser(description=description)
    half_arguments(parser)
    if more_arguments is not None:
        more_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    half = {int(s): results[s] for s in sorted(results, key=int)
            if int(s) < PROBLEMS and in_half(int(s), args)}        # (a fresh tune problem may be kept there too)
    if not half:
        parser.exit(2, f"{parser.prog}: no {args.split} problem from seed {args.first} on in {RESULTS.name}: run "
                       f"bench.py --split {args.split} first\n")
    return args, half


# -------------------------------------------------------------------------------------------------------- report
def ratio_table(results: dict, seeds: list) -> None:
    ratios = {m: [] for m in METHODS}
    for s in seeds:
        for m in METHODS:
            ratios[m].append((ratio(results[str(s)], m), s))
    print(f"\n{'method':16s} {'median':>7s} {'p90':>7s} {'worst':>7s} {'≤1.05':>6s} {'≤1.5':>6s} {'compute':>8s}  "
          f"worst problem")
    for m in METHODS:
        vals = np.array([v for v, _ in ratios[m]])
        worst = max(ratios[m])
        comp = np.median([results[str(s)][m]["compute"] / results[str(s)]["budget"] for s in seeds])
        print(f"{m:16s} {np.median(vals):7.3f} {np.quantile(vals, 0.9):7.3f} {worst[0]:7.3g} "
              f"{np.mean(vals <= 1.05):6.0%} {np.mean(vals <= 1.5):6.0%} {comp:7.2f}×  "
              f"{draw_name(results, worst[1])}")
    mine = np.array([v for v, _ in ratios["lrscope val"]])
    for other in ("Prodigy", "Prodigy cosine", "schedule-free", "Optuna", "torch-lr-finder"):
        theirs = np.array([v for v, _ in ratios[other]])
        print(f"lrscope val at least as good as {other:16s}: {np.mean(mine <= theirs * 1.0001):.0%}")
    free = np.min([[v for v, _ in ratios[o]] for o in ("Prodigy", "Prodigy cosine", "schedule-free")], axis=0)
    print(f"lrscope val at least as good as the best learning-rate-free optimizer: "
          f"{np.mean(mine <= free * 1.0001):.0%}")
    finder = [results[str(s)]["lrscope val"]["finder"] / draw_budget(results, s) for s in seeds]
    print(f"lrscope val finder compute ÷ budget: median {np.median(finder):.2f}, worst {max(finder):.2f}")


def ablation(results: dict, seeds: list, steps: list, base: str = "lrscope val") -> None:
    """``base`` ('lrscope val', or 'lrscope': the training loss) with each step of the margin check left out in turn
    (kept as '<base> -STEP'), and what
    leaving it out does on these problems: the distribution, and on how many problems the pick moved and the test
    loss got better or worse by more than 5%."""
    for step in steps:
        check_step(step)                        # before any run
    for step in steps:
        name = f"{base} -{step}"
        with without(step):
            for s in seeds:
                if name not in results[str(s)]:
                    results[str(s)][name] = lrscope_method(draw(s), base == "lrscope val")
                    keep(RESULTS, s, {name: results[str(s)][name]}, merge=True)
    print(f"\n{'':28s} {'median':>7s} {'p90':>7s} {'worst':>7s} {'≤1.05':>6s} {'≤1.5':>6s}  moved  better  worse")
    for name in [base] + [f"{base} -{step}" for step in steps]:
        vals = np.array([ratio(results[str(s)], name) for s in seeds])
        ref = np.array([ratio(results[str(s)], base) for s in seeds])
        moved = sum(not math.isclose(results[str(s)][name]["lr"], results[str(s)][base]["lr"], rel_tol=1e-6)
                    for s in seeds)
        print(f"{name:28s} {np.median(vals):7.3f} {np.quantile(vals, 0.9):7.3f} {vals.max():7.3g} "
              f"{np.mean(vals <= 1.05):6.0%} {np.mean(vals <= 1.5):6.0%}  {moved:5d}  {np.sum(vals < ref / 1.05):6d}"
              f"  {np.sum(vals > ref * 1.05):5d}")


def draw_name(results: dict, seed: int) -> str:
    return results[str(seed)].get("name", f"#{seed}")


def draw_budget(results: dict, seed: int) -> int:
    return results[str(seed)]["budget"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    half_arguments(parser)
    parser.add_argument("--problems", type=int, default=PROBLEMS, help="seeds 0 … N-1 (each split takes its half)")
    parser.add_argument("--fresh", action="store_true", help="discard the kept results (both splits)")
    parser.add_argument("--only", nargs="*", default=None, help="rerun these methods")
    parser.add_argument("--train-loss", action="store_true",
                        help="ablation on 'lrscope' (judged by the training loss) instead of 'lrscope val'")
    parser.add_argument("--without", nargs="*", default=None, metavar="STEP",
                        help="ablation: 'lrscope val' with each of these steps of the margin check left out "
                             "(lrscope.finder.verify.STEPS), one at a time; then its table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.fresh and RESULTS.exists():
        RESULTS.unlink()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    seeds = [s for s in range(args.problems) if in_half(s, args)]
    if args.without is not None:
        ablation(results, seeds, args.without or sorted(verify.STEPS), "lrscope" if args.train_loss else "lrscope val")
        return
    for s in seeds:
        problem = draw(s)
        kept = results.get(str(s), {})
        kept = {k: v for k, v in kept.items() if k in METHODS + ("init",) and k not in (args.only or [])}
        out = run_problem(problem, kept)
        results = keep(RESULTS, s, {**out, "name": problem.name, "budget": problem.budget})
    ratio_table(results, seeds)


if __name__ == "__main__":
    main()
