"""The verified rate, then a cooldown: mini-batch training ends lower when the rate falls to 0 at the end.

With mini-batches a constant rate leaves the loss bouncing at a noise floor that grows with α; letting the rate fall
linearly to 0 over the last ``COOLDOWN`` (20%) of the budget takes most of that noise away, while the first 80% move
exactly as verified (warmup-stable-decay; Hägele et al. 2024 find a 20% cooldown as good as a cosine over the whole
run). The cooldown only lowers the rate, so it cannot make a stable run unstable. It is not checked by a run: a
short check where the verification stands (30% of the budget, still descending) measures the wrong thing -- a
falling rate there slows the descent, while at the end of the budget, where the noise floor is what is left, it
helps (raw digit pixels with Adam: the check said 1.09× worse, the whole budget 0.62×). Measured instead on the
eight mini-batch problems of ``benchmarks/bench_finder.py``: 0.62× to 1.07× the constant rate's final loss (the
1.07×, a small tabular MLP, is batch-order noise: over 8 orders 0.71×).
"""

from __future__ import annotations

import numpy as np

COOLDOWN = 0.2          # the share of the budget the rate falls over at its end
NO_BUDGET_NOTE = ("tell it how many steps you will train for (budget=, --budget) and it also gives the rate of "
                  "every step: with mini-batches the pick, then a cooldown to 0 over the last 20%")
SHORTEST = 10           # a budget shorter than this gets no cooldown (one or two steps of it would be noise)


def with_cooldown(lr: float, budget: int) -> np.ndarray | None:
    """The rate of every step of the budget: ``lr``, then a linear fall to 0 over the last ``COOLDOWN`` of it
    (factors 1, (n−1)/n, …, 1/n over its n steps); None for a budget shorter than ``SHORTEST``."""
    if budget < SHORTEST:
        return None
    n = max(1, round(COOLDOWN * budget))
    return np.r_[np.full(budget - n, lr), lr * (n - np.arange(n)) / n]


def recommend(lr: float, budget: int | None, mini_batches: bool) -> tuple[np.ndarray | None, list, str]:
    """What the finder adds to its pick ``lr`` on mini-batches: (the rate of every step of the budget or None, the
    notes that say so, the ending of its reason). Nothing on a full batch; without a budget, how to get it."""
    if not mini_batches:
        return None, [], ""
    if budget is None:
        return None, [NO_BUDGET_NOTE], ""
    rates = with_cooldown(lr, budget)
    if rates is None:
        return None, [], ""
    n = max(1, round(COOLDOWN * budget))
    note = (f"with mini-batches, train at this rate and let it fall linearly to 0 over the last {n} steps of the "
            f"{budget} (a cooldown: from step {budget - n}; res.schedule) -- it takes the batches' noise out of the "
            f"final loss and cannot make the run unstable")
    return rates, [note], f"; with a cooldown over the last {round(COOLDOWN * 100)}% of the budget"
