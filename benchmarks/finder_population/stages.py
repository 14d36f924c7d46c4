"""Where lrscope val's misses come from: each rate its rounds looked at, trained for the whole budget as lrscope
trains its pick, on the split lr_find read (validation) and on the test split.

``lr_find`` narrows a population of rates in stages: the range test's candidates, the first round's cut to the
finalists, the margin check's pick. Trained to the end, each stage's best says how much the next one lost: the best
of every rate looked at ÷ the grid's best (what the range test left), the best finalist (what the first round's
cut lost), the pick (what the choice among the finalists lost). Scored on validation, the split's own noise is out
of it (the reference is then the cosine grid's lowest validation loss); scored on test, it is in. Also says, where
the best candidate beat every finalist by more than 5%, whether it lay below or above them.

    python benchmarks/finder_population/stages.py [--split tune|held] [--first SEED]
    (after bench.py has filled results.json with lrscope val and the grid)
"""

from __future__ import annotations

import numpy as np

from bench import half_from_command_line, relative, train
from expected import lrscope_rates
from problems import draw

STAGES = ("looked at", "finalists", "pick")


def scores(problem, result: dict) -> dict:
    """For ``result`` (bench.py's, one problem): each stage's best, trained to the end at lrscope's schedule, ÷ the
    cosine grid's best, on validation and on test; and where the best candidate lay if the finalists missed it."""
    found = result["lrscope val"]
    rounds = found["rounds"]
    rates = sorted({float(r) for r in list(rounds["candidates"]) + list(rounds["finalists"]) + [found["lr"]]})
    val, test = [], []
    for lr in rates:
        model = train(problem, lrscope_rates(dict(found, lr=lr), problem.budget))[0]
        val.append(problem.test_loss(model, problem.val))
        test.append(problem.test_loss(model))
    val, test = np.array(val), np.array(test)
    members = {"looked at": np.ones(len(rates), dtype=bool),        # every rate: candidates, probes, the pick
               "finalists": np.isin(rates, np.float64(rounds["finalists"])),
               "pick": np.isclose(rates, found["lr"], rtol=1e-12)}
    grid = result["grid cosine"]
    val_ref = min(v for v in grid["val"] if v is not None)
    val_untrained = problem.test_loss(problem.make_model(), problem.val)
    out = {}
    for stage in STAGES:
        k = members[stage]
        out[stage] = (relative(np.min(val[k]), val_ref, val_untrained),
                      relative(np.min(test[k]), grid["test"], result["init"]["test"]))
    best = int(np.argmin(val))
    finalists = np.float64(rounds["finalists"])
    out["missed"] = None
    if np.min(val[members["finalists"]]) > 1.05 * val[best]:
        out["missed"] = "below" if rates[best] < finalists.min() else "above" if rates[best] > finalists.max() \
            else "between"
    return out


def main() -> None:
    rows = []
    for s, result in half_from_command_line(__doc__.split("\n\n")[0])[1].items():
        if "lrscope val" not in result or "val" not in result.get("grid cosine", {}):
            continue
        row = scores(draw(s), result)
        rows.append(row)
        print(f"{result['name']:50s} " + "  ".join(f"{st} {row[st][0]:6.3f} / {row[st][1]:6.3f}" for st in STAGES)
              + (f"  best candidate {row['missed']} the finalists" if row["missed"] else ""), flush=True)
    print(f"\n{len(rows)} problems, each stage's best ÷ the grid's best (validation / test):")
    for stage in STAGES:
        for j, split in enumerate(("validation", "test")):
            v = np.array([r[stage][j] for r in rows])
            print(f"  {stage:10s} {split:10s} median {np.median(v):.3f}, p90 {np.quantile(v, 0.9):.3g}, worst "
                  f"{v.max():.3g}, within 1.05× {np.mean(v <= 1.05):.0%}, within 1.5× {np.mean(v <= 1.5):.0%}")
    missed = [r["missed"] for r in rows if r["missed"]]
    print(f"the finalists missed the best candidate by more than 5% on {len(missed)}: "
          + ", ".join(f"{where} them {missed.count(where)}" for where in ("below", "between", "above")))


if __name__ == "__main__":
    main()
