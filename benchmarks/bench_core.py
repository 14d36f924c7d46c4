"""Speed of the core runner: Adam on Rosenbrock, 16 learning rates × 1,000 steps, float64.

Compares, in the same process, ``ls.sweep`` against (a) a Python loop of 16 ``torch.optim.Adam`` runs and (b) a
minimal hand-written NumPy loop vectorized over the 16 configurations (no traces, no checks). Prints medians and the
ratios. Run by hand: ``python benchmarks/bench_core.py``.
"""

from __future__ import annotations


import numpy as np

import lrscope as ls
from timing import median_time

K, STEPS, REPEATS = 16, 1000, 7
LRS = np.geomspace(1e-4, 1e-1, K)


def hand_numpy():
    """The baseline: Adam on Rosenbrock for K rates at once, nothing recorded."""
    p = np.tile([-1.2, 1.0], (K, 1))
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    lr = LRS[:, None]
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, STEPS + 1):
        x, y = p[:, 0], p[:, 1]
        g = np.empty_like(p)
        g[:, 0] = -2 * (1 - x) - 400 * x * (y - x * x)
        g[:, 1] = 200 * (y - x * x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr / (1 - b1 ** t) * m / (np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps)
    return p


def torch_loop():
    import torch
    out = []
    for lr in LRS:
        w = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w], lr=float(lr))
        for _ in range(STEPS):
            opt.zero_grad()
            loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
            loss.backward()
            opt.step()
        out.append(w.detach().numpy())
    return np.array(out)


def lrscope_sweep(analyze=True):
    return ls.sweep(ls.objectives.rosenbrock(), lrs=LRS, optimizer=ls.optim.adam(), steps=STEPS, analyze=analyze)


def main():
    # same answers first
    res = lrscope_sweep()
    np.testing.assert_allclose(res.params[:, -1], hand_numpy(), rtol=0, atol=1e-9)
    t_hand = median_time(hand_numpy, REPEATS)
    t_ls = median_time(lrscope_sweep, REPEATS)
    t_ls_raw = median_time(lambda: lrscope_sweep(analyze=False), REPEATS)
    try:
        np.testing.assert_allclose(res.params[:, -1], torch_loop(), rtol=0, atol=1e-9)
        t_torch = median_time(torch_loop, 2)
    except ImportError:
        t_torch = float("nan")
    print(f"Adam on Rosenbrock, {K} learning rates x {STEPS} steps, float64 (median of {REPEATS})")
    print(f"  hand-written NumPy loop over K : {t_hand * 1e3:8.1f} ms   (baseline b)")
    print(f"  lrscope sweep (traces+verdicts): {t_ls * 1e3:8.1f} ms   {t_ls / t_hand:5.2f}x the NumPy loop")
    print(f"  lrscope sweep (no theory)      : {t_ls_raw * 1e3:8.1f} ms   {t_ls_raw / t_hand:5.2f}x the NumPy loop")
    print(f"  16 sequential torch.optim.Adam : {t_torch * 1e3:8.1f} ms   (baseline a) -> lrscope is "
          f"{t_torch / t_ls:.0f}x faster")


if __name__ == "__main__":
    main()
