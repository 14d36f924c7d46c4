"""Where the rates part: the held-out (validation) loss over the whole budget, at a constant rate, of lrscope val's
pick, the constant grid's best and the cosine grid's best -- on the problems of a half where lrscope val ends more
than 1.1× the tuned cosine grid's test loss. It shows at what share of the budget a lower rate overtakes the pick,
and where the pick's own held-out loss has its minimum (the finder's second round ends at about 30%).

    python benchmarks/finder_population/horizon.py [--split tune|held] [--first SEED]
    (after bench.py has filled results.json)
"""

from __future__ import annotations

import numpy as np

from bench import half_from_command_line, ratio, train
from problems import draw

SHARES = (0.04, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def curve(problem, lr: float) -> list:
    """The validation loss at each of ``SHARES`` of the budget, training at the constant rate ``lr`` (inf once the
    run diverged)."""
    marks = sorted({max(1, int(f * problem.budget)) for f in SHARES})
    seen = {}

    def report(step, model):
        if step in marks:
            seen[step] = problem.test_loss(model, problem.val)
    model, steps = train(problem, np.full(problem.budget, lr), report=report, every=1)
    seen[problem.budget] = problem.test_loss(model, problem.val) if steps == problem.budget else np.inf
    return [seen.get(m, np.inf) for m in marks]


def main() -> None:
    for s, r in half_from_command_line(__doc__.split("\n\n")[0])[1].items():
        reference, mine = r["grid cosine"], r["lrscope val"]
        if not ratio(r, "lrscope val") > 1.1:
            continue
        problem = draw(s)
        print(f"{r['name']}: lrscope val {ratio(r, 'lrscope val'):.2f}× the cosine grid's test loss")
        for name, lr in (("pick", mine["lr"]), ("grid const", r["grid const"]["lr"]),
                         ("grid cosine", reference["lr"])):
            values = curve(problem, lr)
            low = SHARES[int(np.argmin(values))]
            print(f"   {name:11s} α {lr:9.3g}: " + " ".join(f"{f:>4.0%} {v:8.4g}" for f, v in zip(SHARES, values))
                  + f"   (lowest at {low:.0%})")


if __name__ == "__main__":
    main()
