"""The finder's own luck: ``lr_find`` run again on each problem with other batch orders (a finder draw), each pick
scored in expectation, and two versions of the finder compared over several draws.

``expected.py`` averages over the draws of the pick's training, not over the finder: its pick is one draw of it.
Draw k runs ``lrscope.torch.lr_find(budget=, val_loader=)`` on the problem with seed + k × ``OFFSET`` (its
loader's batch order and its own seed; draw 0 is ``bench.py``'s); each pick is trained on ``step_effect``'s three
draws and its mean test loss ÷ the best cosine grid rate's mean (the runs kept in ``results_steps.json``). A change
to the finder that changes which runs it makes re-draws every pick, so one draw cannot tell it from luck: save the
picks of each version (``--out``; another commit's finder by ``PYTHONPATH=<its checkout>/src``, with the same
benchmarks and cache) and compare (``--against``), the mean over the draws per problem. With three draws or more it
also scores the draws' median pick (the finder's luck averaged away), and beside them the grid chosen by validation
where ``expected.py`` trained it.

    python benchmarks/finder_population/finder_draws.py --first 0 --count 96 [--draws 2] [--out A.json]
        [--against B.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from bench import lrscope_method, relative
from expected import DRAWS as EXPECTED
from problems import draw
from step_effect import DRAWS, Runs, chosen_seeds, distribution, seed_arguments

OFFSET = 500_000        # draw k's seed: the problem's + k × this (noise.py's replicates use + k × 10,000)


def picks(seed: int, draws: int, expected: dict) -> dict:
    """``draws`` finder draws on problem ``seed``: each pick (bench.py's result) and its ratio in expectation;
    ``expected``: what ``expected.py`` kept (its draws of every method, by seed)."""
    problem = draw(seed)
    runs = Runs(problem)
    best, _ = runs.grid()
    untrained = problem.test_loss(problem.make_model())
    out = {"name": problem.name, "picks": [], "ratios": [], "grid by val": by_validation(expected.get(str(seed), {}), best, untrained)}
    for k in range(draws):
        found = lrscope_method(dataclasses.replace(problem, seed=seed + k * OFFSET), val=True)
        if k:
            found["test"] = None            # trained on that draw's batch order: train it on the problem's own
        out["picks"].append(found)
        out["ratios"].append(relative(runs.pick(found), best, untrained))
    return out


def by_validation(kept: dict, best: float, untrained: float) -> float | None:
    """The cosine grid's rate chosen by validation loss (13× the budget), its mean test loss over the training
    draws the picks are scored on ÷ ``best`` -- where ``expected.py`` trained it on as many (``kept``: its draws
    of one problem; else None)."""
    losses = kept.get("grid cosine by val", [])[:DRAWS]
    return relative(float(np.mean(losses)), best, untrained) if len(losses) == DRAWS else None


def summary(label: str, results: list[dict]) -> None:
    """Each draw's distribution, how far the draws disagree per problem, the pick of median rate among the draws
    (a finder with their compute together), and the grid chosen by validation beside them where it was trained."""
    by_draw = np.array([r["ratios"] for r in results]).T
    for k, r in enumerate(by_draw):
        print(f"{label} draw {k}: {distribution(r)}")
    if len(by_draw) > 1:
        spread = by_draw.max(axis=0) / by_draw.min(axis=0)
        print(f"{label}: the draws differ by more than 5% on {np.mean(spread > 1.05):.0%} of the problems "
              f"(median {np.median(spread):.3f}×, worst {spread.max():.3g}×)")
    if len(by_draw) > 2:
        median_pick = [r["ratios"][int(np.argsort([p["lr"] for p in r["picks"]])[len(r["picks"]) // 2])]
                       for r in results]
        print(f"{label}, the draws' median pick: {distribution(np.array(median_pick))}")
    both = [r for r in results if r.get("grid by val") is not None]
    if both:
        ours, theirs = np.array([r["ratios"] for r in both]), np.array([r["grid by val"] for r in both])
        print(f"the grid chosen by validation (13×), on {len(both)} of them: {distribution(theirs)}; this version "
              f"as good or within 5% on {np.mean(ours <= 1.05 * theirs[:, None]):.0%} (each draw)")


def compare(mine: dict, other: dict) -> None:
    """Paired, per problem in both: the mean over the draws of this version's ratio against the other's."""
    common = sorted(set(mine) & set(other), key=int)
    a = np.array([np.mean(mine[s]["ratios"]) for s in common])
    b = np.array([np.mean(other[s]["ratios"]) for s in common])
    print(f"\nagainst the other version, on {len(common)} problems, the mean over each one's draws:")
    print(f"  this version  {distribution(a)}")
    print(f"  the other     {distribution(b)}")
    print(f"  this better by > 5% on {np.sum(a < b / 1.05)}, worse on {np.sum(a > b * 1.05)}; geometric mean of "
          f"this ÷ the other {np.exp(np.mean(np.log(a / b))):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    seed_arguments(parser, first=0)
    parser.add_argument("--draws", type=int, default=2, help="finder draws per problem (at least 1)")
    parser.add_argument("--out", metavar="JSON", help="keep the picks and ratios here")
    parser.add_argument("--against", metavar="JSON", help="another version's --out to compare with")
    args = parser.parse_args()
    if args.draws < 1:
        parser.error(f"--draws: must be at least 1, got {args.draws}")
    other = None
    if args.against:
        try:
            with open(args.against) as f:
                other = json.load(f)
        except (OSError, ValueError) as e:
            parser.error(f"--against: cannot read {args.against}: {e}")
    if args.out:
        try:                        # before the work, not after it
            with open(args.out, "w") as f:
                json.dump({}, f)
        except OSError as e:
            parser.error(f"--out: cannot write {args.out}: {e}")
    torch.set_num_threads(1)
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    results = {}
    for seed in chosen_seeds(args):
        t0 = time.perf_counter()
        results[str(seed)] = r = picks(seed, args.draws, expected)
        print(f"{r['name']:52s} {time.perf_counter() - t0:6.1f} s  picks "
              + "  ".join(f"{p['lr']:.3g} {x:.3f}×" for p, x in zip(r["picks"], r["ratios"])), flush=True)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(results, f, default=float)
    print()
    summary("this version", list(results.values()))
    if other is not None:
        compare(results, other)


if __name__ == "__main__":
    main()
