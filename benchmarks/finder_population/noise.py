"""How far the score itself can be trusted: the tuned cosine grid trained again with another batch order and other
initial weights (a replicate), on the problems of a half.

The population benchmark's reference is the best of 13+ cosine runs, chosen by test loss on a test set of 35 to 360
points: a minimum over noisy runs, so it sits below what its own rate gives on a rerun. Here the replicate says how
much: the rate that won the first grid (an oracle's choice), trained again, ÷ the replicate grid's best; and the
rate the replicate's validation loss picks (as a practitioner tunes), ÷ the same. If the oracle's own rate is
within 1.05× of the replicate's best on only some share of the problems, no rate chosen before training can do
better than that share, other than by luck.

    python benchmarks/finder_population/noise.py [--split tune|held] [--first SEED]
    (after bench.py has filled results.json)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from bench import cosine, half_from_command_line, relative, train
from problems import draw

OFFSET = 10_000          # the replicates' seeds for batch order and initial weights: the problem's + k × this


def replicate(problem, k: int = 1):
    """The same problem (data, split, budget, optimizer) with another batch order and other initial weights: the
    ``k``-th such draw (seed + ``k`` × ``OFFSET``)."""
    make = problem.make_model
    seed = problem.seed + k * OFFSET

    def make_model():
        model = make()
        torch.manual_seed(seed)
        for m in model.modules():
            if m is not model and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        return model
    return dataclasses.replace(problem, seed=seed, make_model=make_model)


def main() -> None:
    oracle, by_val = [], []
    for s, result in half_from_command_line(__doc__.split("\n\n")[0])[1].items():
        if "grid cosine" not in result:
            continue
        first = result["grid cosine"]
        twin = replicate(draw(s))
        tests, vals = [], []
        for lr in first["rates"]:
            model = train(twin, lr * cosine(twin.budget))[0]
            tests.append(twin.test_loss(model))
            vals.append(twin.test_loss(model, twin.val))
        untrained, best = result["init"]["test"], min(tests)
        oracle.append(relative(tests[int(np.argmin(first["all"]))], best, untrained))
        by_val.append(relative(tests[int(np.argmin(vals))], best, untrained))
        print(f"{result['name']:55s} the first grid's rate {oracle[-1]:6.3f}   chosen by validation "
              f"{by_val[-1]:6.3f}", flush=True)
    for name, v in (("the first grid's best rate", oracle), ("the rate validation picks", by_val)):
        v = np.array(v)
        print(f"{name:28s} ÷ the replicate's best: median {np.median(v):.3f}, p90 {np.quantile(v, 0.9):.3f}, "
              f"worst {v.max():.3g}, within 1.05× {np.mean(v <= 1.05):.0%}, within 1.5× {np.mean(v <= 1.5):.0%}")


if __name__ == "__main__":
    main()
