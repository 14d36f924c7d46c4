"""The population benchmark scored in expectation: every method's rate trained again on other draws of the initial
weights and the batch order, and the test losses averaged over the draws.

``bench.py`` scores one draw: the reference is the lowest of 13+ runs' test losses, so partly luck (``noise.py``:
the oracle's own rate, retrained, is within 1.05× of a replicate grid's best on only 67-71% of the problems). A user
asks what a rate gives on average, over the initial weights and batch orders they might get. Here each method's
choice, as ``bench.py`` made it on the first draw (lrscope's pick and schedule, the rate Optuna's best trial used, the
rate the grid's validation loss picked, the learning-rate-free optimizers), is trained on ``--draws`` more draws
(the problem's seed + k × 10,000: other initial weights, another batch order); the 13+ cosine rates are too, and the
reference is the rate whose mean test loss is lowest. The finder is not run again: its pick is one draw of it, and
the population averages over those.

    python benchmarks/finder_population/expected.py --split tune|held [--first SEED] [--draws 2]
        [--plot PNG]
    (after bench.py has filled results.json; kept in results_draws.json beside it, not committed, with what
    each method chose: a choice bench.py has changed since -- a method run again -- is trained again)
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch

from bench import HERE, cosine, half_from_command_line, keep, lr_free, relative, train
from lrscope.finder.cooldown import with_cooldown
from noise import replicate
from problems import draw

DRAWS = HERE / "results_draws.json"
LR_FREE = ("Prodigy", "Prodigy cosine", "schedule-free")
LABELS = {"grid cosine by val": "13× grid, rate chosen by validation", "Optuna": "Optuna's rate"}
CAP = 100                 # the plot's right end: ratios above it are drawn there
CHOSEN = ("lrscope val", "lrscope", "grid cosine by val", "Optuna", "torch-lr-finder")     # a rate to train again


def lrscope_rates(result: dict, budget: int) -> np.ndarray:
    """The rates lrscope recommended (``res.step_sizes``: the pick, then the cooldown on mini-batches; else the
    constant pick), rebuilt from what bench.py kept."""
    lr = result["lr"]
    rates = with_cooldown(lr, budget) if result["schedule"] else None
    return np.full(budget, lr) if rates is None else rates


def method_rates(result: dict, method: str, budget: int) -> np.ndarray | None:
    """The rate of every step of ``method``'s run as bench.py trained it (None: it had no rate to train)."""
    if method.startswith("lrscope"):
        return lrscope_rates(result[method], budget)
    lr = result[method].get("lr")
    return None if lr is None else lr * cosine(budget)


def choice(result: dict, method: str) -> list:
    """What ``method`` chose, as bench.py kept it (its rate; lrscope's with whether a cooldown follows): a kept draw
    whose choice differs is from an earlier pick, and is trained again."""
    return [result[method].get("lr"), bool(result[method].get("schedule", False))]


def chosen_runs(problem, result: dict, draws: int, methods) -> dict:
    """The test losses of ``methods``' choices on draws 0 (bench.py's) … ``draws``, and the choices themselves.
    lrscope's schedule is rebuilt from its flag: on draw 0 it must give bench.py's own loss."""
    for m in (m for m in methods if m.startswith("lrscope")):
        again = problem.test_loss(train(problem, method_rates(result, m, problem.budget))[0])
        if not math.isclose(again, result[m]["test"], rel_tol=1e-4, abs_tol=1e-9):
            raise SystemExit(f"{problem.name}: {m}'s schedule rebuilt gives {again:.6g}, bench.py had "
                             f"{result[m]['test']:.6g} -- results.json is from other code")
    out = {m: [result[m]["test"]] for m in methods}
    for k in range(1, draws + 1):
        twin = replicate(problem, k)
        for m in methods:
            rates = method_rates(result, m, twin.budget)
            out[m].append(math.inf if rates is None else twin.test_loss(train(twin, rates)[0]))
    return {**out, "choices": {m: choice(result, m) for m in CHOSEN}}


def run_draws(problem, result: dict, draws: int) -> dict:
    """Test losses of every method and every grid rate on draws 0 (bench.py's, kept) … ``draws``."""
    out = {"grid": [result["grid cosine"]["all"]], **{m: [result[m]["test"]] for m in LR_FREE}}
    for k in range(1, draws + 1):
        twin = replicate(problem, k)
        out["grid"].append([twin.test_loss(train(twin, lr * cosine(twin.budget))[0])
                            for lr in result["grid cosine"]["rates"]])
        for m in LR_FREE:
            out[m].append(lr_free(twin, m)["test"])
    return {**out, **chosen_runs(problem, result, draws, CHOSEN)}


def expected_ratios(draws: dict, untrained: float) -> dict:
    """Each method's mean test loss over the draws ÷ the lowest mean of a grid rate (:func:`bench.relative`)."""
    best = float(np.min(np.mean(draws["grid"], axis=0)))
    return {m: relative(float(np.mean(v)), best, untrained) for m, v in draws.items() if m != "grid"}


def main() -> None:
    def more(parser):
        parser.add_argument("--draws", type=int, default=2, help="draws besides bench.py's own")
        parser.add_argument("--plot", metavar="PNG", help="also plot the distributions of the ratios to this file")

    args, half = half_from_command_line(__doc__.split("\n\n")[0], more)
    ratios, kept = {}, json.loads(DRAWS.read_text()) if DRAWS.exists() else {}
    for s, result in half.items():
        entry, t0 = kept.get(str(s), {}), time.perf_counter()
        if len(entry.get("grid", [])) < args.draws + 1:
            kept = keep(DRAWS, s, run_draws(draw(s), result, args.draws))
            print(f"{result['name']:55s} {time.perf_counter() - t0:6.1f} s", flush=True)
        elif stale := [m for m in CHOSEN if entry.get("choices", {}).get(m) != choice(result, m)]:
            kept = keep(DRAWS, s, chosen_runs(draw(s), result, args.draws, stale), merge=True)
            print(f"{result['name']:55s} {time.perf_counter() - t0:6.1f} s (again: {', '.join(stale)})", flush=True)
        cut = {m: v[:args.draws + 1] for m, v in kept[str(s)].items() if m != "choices"}
        ratios[s] = expected_ratios(cut, result["init"]["test"])
    table(ratios, half, args.draws)
    if args.plot:
        half_name = "held-back" if args.split == "held" else "tune"
        plot(ratios, args.draws, f"{half_name} half, {len(ratios)} problems", args.plot)


def table(ratios: dict, results: dict, draws: int) -> None:
    print(f"\nmean test loss over {draws + 1} draws ÷ the best grid rate's mean ({len(ratios)} problems)")
    print(f"{'method':20s} {'median':>7s} {'p90':>7s} {'worst':>8s} {'≤1.05':>6s} {'≤1.5':>6s}  worst problem")
    for m in CHOSEN + LR_FREE:
        v = np.array([r[m] for r in ratios.values()])
        worst = max(ratios, key=lambda s: ratios[s][m])
        print(f"{m:20s} {np.median(v):7.3f} {np.quantile(v, 0.9):7.3f} {v.max():8.3g} {np.mean(v <= 1.05):6.0%} "
              f"{np.mean(v <= 1.5):6.0%}  {results[worst]['name']}")
    mine = np.array([r["lrscope val"] for r in ratios.values()])
    free = np.array([min(r[m] for m in LR_FREE) for r in ratios.values()])
    optuna = np.array([r["Optuna"] for r in ratios.values()])
    print(f"lrscope val at least as good as the best learning-rate-free optimizer: {np.mean(mine <= free * 1.0001):.0%}"
          f"; as Optuna's rate: {np.mean(mine <= optuna * 1.0001):.0%}")


def plot(ratios: dict, draws: int, title: str, path: str) -> None:
    """The share of problems within each ratio (a cumulative distribution, log scale): the higher and further left a
    method's line, the better; 1.05× and 1.5× marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for m in ("lrscope val", "grid cosine by val", "Optuna", "torch-lr-finder", "schedule-free", "Prodigy cosine"):
        v = np.sort([min(r[m], CAP) for r in ratios.values()])
        ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", lw=2.5 if m == "lrscope val" else 1.2,
                label=LABELS.get(m, m))
    for x in (1.05, 1.5):
        ax.axvline(x, color="grey", lw=0.8, ls=":")
    ax.set(xscale="log", xlim=(0.7, CAP), ylim=(0, 1), xlabel=f"mean test loss over {draws + 1} draws ÷ the best "
           f"grid rate's mean (above {CAP:g}: at {CAP:g})", ylabel="share of problems within", title=title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
