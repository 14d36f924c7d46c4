"""Steps of the finder on more problems than the population's: where each moves the pick, and what that does.

A rule that acts on few problems (an overfitting class, say) may act on none of the 48 tune problems, and the
held-back half cannot decide it; a rule chosen on the tune half may also fit that half's luck. This draws more tune
problems from the same families (even seeds from ``--first`` on, never the held-back odd ones), runs
``lrscope.torch.lr_find(budget=, val_loader=)`` on each with every step and once without each named ``STEP``
(``lrscope.finder.verify.STEPS``), and where a pick moved trains the picks and the 13-point cosine grid (extended
past a winning end, as ``bench.py``'s) on three draws (the problem's own and two more, as ``expected.py``): the ratio
of each pick's mean test loss to the best grid rate's mean. With ``--everywhere`` the grid is trained on every
problem, and the population's distribution is printed with every step and without each.

Every trained run's test losses are kept in ``results_steps.json`` beside this file (not committed), by problem and
rate schedule, so a second look at the same problems -- another step, a changed rule -- trains only new picks.

    python benchmarks/finder_population/step_effect.py past_best --first 96 --count 48
    python benchmarks/finder_population/step_effect.py horizon take_half --first 96 --count 48 --everywhere
    python benchmarks/finder_population/step_effect.py horizon --seeds 10 18 24 --everywhere
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from bench import HERE, cosine, keep, lrscope_method, past_a_winning_end, relative, train, without
from expected import lrscope_rates
from lrscope.finder import verify
from noise import replicate
from problems import draw

DRAWS = 3
CACHE = HERE / "results_steps.json"


def picks(problem, steps: list[str]) -> dict:
    """lr_find's result with every step (key ``"all"``) and without each of ``steps``."""
    out = {"all": lrscope_method(problem, val=True)}
    for step in steps:
        with without(step):
            out[step] = lrscope_method(problem, val=True)
    return out


class Runs:
    """Test losses of rate schedules trained on problem ``seed``'s ``DRAWS`` draws, kept in ``CACHE``."""

    def __init__(self, problem):
        self.problem, self.seed = problem, problem.seed
        self.runs = json.loads(CACHE.read_text()).get(str(self.seed), {}).get("runs", {}) if CACHE.exists() else {}

    def mean(self, key: str, rates: np.ndarray, first: float | None = None) -> float:
        """The mean test loss of ``rates`` over the draws (``first``: draw 0's, where it was trained already)."""
        if key not in self.runs:
            twins = [replicate(self.problem, k) for k in range(1, DRAWS)]
            losses = [twin.test_loss(train(twin, rates)[0]) for twin in twins]
            draw0 = self.problem.test_loss(train(self.problem, rates)[0]) if first is None else first
            self.runs[key] = [draw0] + losses
            keep(CACHE, self.seed, {"name": self.problem.name, "runs": self.runs}, merge=True)
        return float(np.mean(self.runs[key]))

    def pick(self, result: dict) -> float:
        """A pick's mean test loss: ``result`` is bench.py's, whose test loss is draw 0's (the pick trained once)."""
        shape = "cooldown" if result["schedule"] else "constant"
        return self.mean(f"{result['lr']:.10g} {shape}", lrscope_rates(result, self.problem.budget), result["test"])

    def grid(self) -> tuple[float, float]:
        """The best cosine grid rate's mean test loss, and that rate (the grid extended past a winning end)."""
        budget = self.problem.budget
        rates, means = past_a_winning_end([float(v) for v in self.problem.grid()],
                                          lambda lr: self.mean(f"{lr:.10g} cosine", lr * cosine(budget)))
        k = int(np.argmin(means))
        return means[k], rates[k]


def effect(seed: int, steps: list[str], everywhere: bool) -> dict:
    """The picks on problem ``seed`` (with every step, without each of ``steps``); where one moved (or
    ``everywhere``), each pick's mean test loss over ``DRAWS`` draws ÷ the best cosine grid rate's mean."""
    problem = draw(seed)
    found = picks(problem, steps)
    out = {"name": problem.name, "lr": {k: r["lr"] for k, r in found.items()}}
    moved = [s for s in steps if not np.isclose(found[s]["lr"], found["all"]["lr"], rtol=1e-6)
             or found[s]["schedule"] != found["all"]["schedule"]]
    out["moved"] = moved
    if not moved and not everywhere:
        return out
    runs = Runs(problem)
    best, out["best rate"] = runs.grid()
    untrained = problem.test_loss(problem.make_model())
    out["ratio"] = {k: relative(runs.pick(r), best, untrained) for k, r in found.items()}
    return out


def distribution(ratios: np.ndarray) -> str:
    return (f"median {np.median(ratios):.3f}  p90 {np.quantile(ratios, 0.9):.3g}  worst {ratios.max():.3g}  "
            f"≤1.05 {np.mean(ratios <= 1.05):4.0%}  ≤1.5 {np.mean(ratios <= 1.5):4.0%}")


def seed_arguments(parser: argparse.ArgumentParser, first: int) -> None:
    """The options that say which problems, for this script and ``finder_draws.py``: ``--count`` tune problems from
    ``--first`` on (even seeds), or ``--seeds``."""
    parser.add_argument("--first", type=int, default=first, help="the first seed (even: tune problems only)")
    parser.add_argument("--count", type=int, default=48, help="how many tune problems")
    parser.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                        help="these problems instead (an odd seed is held back: run it only to report)")


def chosen_seeds(args) -> list[int]:
    """The seeds :func:`seed_arguments`' options name."""
    first = args.first + args.first % 2
    return args.seeds or list(range(first, first + 2 * args.count, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", nargs="*", metavar="STEP",      # (choices= refuses none at all: checked below)
                        help=f"steps to leave out, one at a time: {', '.join(sorted(verify.STEPS))}")
    seed_arguments(parser, first=96)
    parser.add_argument("--everywhere", action="store_true",
                        help="train the grid on every problem (else only where a step moved the pick)")
    args = parser.parse_args()
    unknown = [step for step in args.steps if step not in verify.STEPS]
    if unknown:
        parser.error(f"STEP: unknown {', '.join(unknown)}; the steps are {', '.join(sorted(verify.STEPS))}")
    torch.set_num_threads(1)
    results = []
    for seed in chosen_seeds(args):
        t0 = time.perf_counter()
        r = effect(seed, args.steps, args.everywhere)
        results.append(r)
        line = f"{r['name']:52s} {time.perf_counter() - t0:6.1f} s  pick {r['lr']['all']:.3g}"
        if "ratio" in r:
            line += f" {r['ratio']['all']:7.3f}× (grid's best rate {r['best rate']:.3g})"
        for s in r["moved"]:
            line += f"  | without {s}: {r['lr'][s]:.3g} {r['ratio'][s]:7.3f}×"
        print(line, flush=True)
    print()
    for s in args.steps:
        moved = [r for r in results if s in r["moved"]]
        better = sum(r["ratio"]["all"] < r["ratio"][s] / 1.05 for r in moved)
        worse = sum(r["ratio"]["all"] > r["ratio"][s] * 1.05 for r in moved)
        gm = np.exp(np.mean([np.log(r["ratio"]["all"] / r["ratio"][s]) for r in moved])) if moved else 1.0
        print(f"{s}: moved {len(moved)} of {len(results)} problems; with it better by > 5%: {better}, worse: "
              f"{worse}; geometric mean of with ÷ without over the moved: {gm:.3f}")
    if args.everywhere:
        print(f"\nmean test loss over {DRAWS} draws ÷ the best grid rate's mean ({len(results)} problems)")
        for k in ["all"] + args.steps:
            label = "every step" if k == "all" else f"without {k}"
            print(f"{label:28s} {distribution(np.array([r['ratio'][k] for r in results]))}")


if __name__ == "__main__":
    main()
