"""Overhead of the finder's Ray path (``lrscope.torch.lr_find(..., backend="ray")``) against the local path, in the
same process: the MLP 64-64-10 on digits with SGD momentum (budget 145 steps), a local Ray on this machine's CPUs.
Reports the whole call (median of 3; Ray already started), and per verification round the wall time of the Ray
round (actors started in it, then trained) against the same round run locally. Run by hand:
``pip install -e ".[ray,bench]" && python benchmarks/bench_ray.py``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.datasets import load_digits

import lrscope.torch as lt
from lrscope.torch import cluster
from timing import median_time


def problem():
    d = load_digits()
    X = torch.tensor((d.data - d.data.mean(0)) / (d.data.std(0) + 1e-8), dtype=torch.float32)
    y = torch.tensor(d.target)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=64, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loader


def find(backend):
    model, opt, loader = problem()
    return lt.lr_find(model, torch.nn.functional.cross_entropy, loader, opt, budget=145, steps=50, backend=backend)


def main():
    import ray
    t0 = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    print(f"ray.init: {time.perf_counter() - t0:.1f} s (once per session)")
    rounds = []
    original = cluster.CandidateActors.round

    def recorded(self, rates, n_steps, final_round):
        out = original(self, rates, n_steps, final_round)
        rounds.append(self.rounds[-1])
        return out

    cluster.CandidateActors.round = recorded
    local = median_time(lambda: find("local"), 3)
    rounds.clear()
    remote = median_time(lambda: find("ray"), 3)
    a, b = find("local"), find("ray")
    print(f"whole call: local {local:.2f} s, ray {remote:.2f} s ({remote / local:.1f}×); "
          f"picks {a.suggestion:.4g} / {b.suggestion:.4g}, steps {a.steps_used} / {b.steps_used}")
    per_call = len(rounds) // 4
    print("Ray rounds of one call (rates × steps: seconds, actors started in it):")
    for n, steps, seconds, started in rounds[-per_call:]:
        print(f"  {n:2d} × {steps:3d}: {seconds:6.2f} s ({started} actors started)")
    trained = [r for r in rounds[-per_call:] if r[3] == 0]
    if trained:
        print(f"rounds that start no actor: {np.median([r[2] for r in trained]):.3f} s median")
    ray.shutdown()


if __name__ == "__main__":
    main()
