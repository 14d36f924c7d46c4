"""A step of the finder on more problems than the population's: where it moves the pick, and what that does.

A rule that acts on few problems (an overfitting class, say) may act on none of the 48 tune problems, and the
held-back half cannot decide it. This draws more tune problems from the same families (even seeds from
``--first`` on, never the held-back odd ones), runs ``lrscope.torch.lr_find(budget=, val_loader=)`` on each with
and without the step (``lrscope.finder.verify.STEPS``), and only where the pick moved trains both picks and the
13-point cosine grid on three draws (the problem's own and two more, as ``expected.py``): the ratio of each pick's
mean test loss to the best grid rate's mean. Cheap: the grid is trained only where the step acts.

    python benchmarks/finder_population/step_effect.py past_best --first 96 --count 48
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bench import cosine, lrscope_method, relative, train
from expected import lrscope_rates
from lrscope.finder import verify
from noise import replicate
from problems import draw

DRAWS = 3


def effect(seed: int, step: str) -> dict:
    """The pick with and without ``step`` on problem ``seed``; where they differ, each one's mean test loss over
    ``DRAWS`` draws ÷ the best cosine grid rate's."""
    problem = draw(seed)
    with_step = lrscope_method(problem, val=True)
    steps, verify.STEPS = verify.STEPS, verify.STEPS - {step}
    try:
        without = lrscope_method(problem, val=True)
    finally:
        verify.STEPS = steps
    out = {"name": problem.name, "with": with_step["lr"], "without": without["lr"]}
    if np.isclose(with_step["lr"], without["lr"], rtol=1e-6):
        return out
    grid, tests = problem.grid(), {"with": [], "without": [], "grid": []}
    for k in range(DRAWS):
        twin = problem if k == 0 else replicate(problem, k)
        for name, result in (("with", with_step), ("without", without)):
            tests[name].append(twin.test_loss(train(twin, lrscope_rates(result, twin.budget))[0]))
        tests["grid"].append([twin.test_loss(train(twin, lr * cosine(twin.budget))[0]) for lr in grid])
    means = np.mean(tests["grid"], axis=0)
    untrained = problem.test_loss(problem.make_model())
    for name in ("with", "without"):
        out[f"ratio {name}"] = relative(float(np.mean(tests[name])), float(means.min()), untrained)
    out["best rate"] = float(grid[int(np.argmin(means))])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=sorted(verify.STEPS))
    parser.add_argument("--first", type=int, default=96, help="the first seed (even: tune problems only)")
    parser.add_argument("--count", type=int, default=48, help="how many tune problems")
    args = parser.parse_args()
    torch.set_num_threads(1)
    first = args.first + args.first % 2
    moved = []
    for seed in range(first, first + 2 * args.count, 2):
        t0 = time.perf_counter()
        r = effect(seed, args.step)
        line = f"{r['name']:52s} {time.perf_counter() - t0:6.1f} s  {r['without']:.3g} -> {r['with']:.3g}"
        if "ratio with" in r:
            moved.append(r)
            line += (f"  mean test ÷ grid's best: {r['ratio without']:.3f} -> {r['ratio with']:.3f} "
                     f"(best rate {r['best rate']:.3g})")
        print(line, flush=True)
    better = sum(r["ratio with"] < r["ratio without"] / 1.05 for r in moved)
    worse = sum(r["ratio with"] > r["ratio without"] * 1.05 for r in moved)
    print(f"\n{args.step}: moved {len(moved)} of {args.count} tune problems; better by > 5%: {better}, worse: {worse}")


if __name__ == "__main__":
    main()
