"""Speed of lrscope.torch: many learning rates at once, and the monitor's overhead.

1. An MLP 64→256→256→10 on scikit-learn's digits, 3 epochs, batch 64, SGD with momentum 0.9: K learning rates trained
   by ``lrscope.torch.sweep`` (one vectorized pass) against K sequential ``torch.optim`` runs, in the same process.
2. Where the time goes (the ceiling on CPU): one training step split into forward, backward and optimizer, for one
   model (what each sequential run does) and for the K=8 stack, against the peak of a large matrix product measured
   in the same run.
3. The convergence monitor: a training step of the same MLP with and without ``monitor.update(loss, model)``.

Run by hand: ``python benchmarks/bench_torch.py [--device cuda]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

import lrscope.torch as lt
from timing import median_time

REPS = 5           # each end-to-end timing is the median of this many runs


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 10))


def loader(X, y, device):
    ds = torch.utils.data.TensorDataset(X.to(device), y.to(device))
    return torch.utils.data.DataLoader(ds, batch_size=64, shuffle=False)


def sequential(model, data, lrs, epochs):
    """What a user does today: one ordinary training loop per learning rate."""
    for lr in lrs:
        m = mlp()
        m.load_state_dict(model.state_dict())
        opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
        for _ in range(epochs):
            for x, y in data:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(m(x), y).backward()
                opt.step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _phases(step_parts, batches, reps=3):
    """Median over ``reps`` passes of the per-step seconds of (forward, backward, optimizer)."""
    out = []
    for _ in range(reps):
        totals = np.zeros(3)
        for x, y in batches:
            totals += step_parts(x, y)
        out.append(totals / len(batches))
    return np.median(out, axis=0)


def breakdown(model, batches, k):
    """One step's forward / backward / optimizer time: one model (torch.optim) and the K-stack (lrscope's fast path)."""
    from lrscope.torch.sweep import _bmm_functions, _mlp_plan, _spec, _StackedOptimizer
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    peak = 2 * 2048 ** 3 * 10 / (time.perf_counter() - t0) / 1e9
    flops = 2 * 64 * sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))  # forward, batch 64

    m = mlp()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)

    def one(x, y):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        return np.array([t1 - t0, t2 - t1, time.perf_counter() - t2])

    params, step_fn, full_loss = _bmm_functions(model, torch.nn.functional.cross_entropy, k, _mlp_plan(model))
    hp, _ = _spec("momentum", {}, k, torch.float32, torch.device("cpu"))
    stacked = _StackedOptimizer("momentum", hp, params, torch.full((k,), 0.01))

    def many(x, y):
        t0 = time.perf_counter()
        grads, _ = step_fn(params, x, y)        # forward and backward in one call: split by a forward-only pass
        t2 = time.perf_counter()
        stacked.step(params, grads)
        return np.array([0.0, t2 - t0, time.perf_counter() - t2])

    def many_forward(x, y):
        t0 = time.perf_counter()
        full_loss(params, x, y)                 # the same forward (and loss), without autograd
        return np.array([time.perf_counter() - t0, 0.0, 0.0])

    seq = _phases(one, batches)
    stk = _phases(many, batches)
    fwd = _phases(many_forward, batches)[0]
    stk = np.array([fwd, stk[1] - fwd, stk[2]])
    print(f"  where the time goes, per step (ms): forward / backward / optimizer; matmul peak here {peak:.0f} GFLOPS")
    print(f"    one model (torch.optim)  {seq[0] * 1e3:5.2f} / {seq[1] * 1e3:5.2f} / {seq[2] * 1e3:5.2f} = "
          f"{seq.sum() * 1e3:5.2f} ms; {3 * flops / seq[:2].sum() / 1e9:4.0f} GFLOPS in forward+backward")
    print(f"    K={k} stack (lrscope)      {stk[0] * 1e3:5.2f} / {stk[1] * 1e3:5.2f} / {stk[2] * 1e3:5.2f} = "
          f"{stk.sum() * 1e3:5.2f} ms; {3 * k * flops / stk[:2].sum() / 1e9:4.0f} GFLOPS in forward+backward; "
          f"step ratio {k * seq.sum() / stk.sum():.2f}x")
    ideal = 3 * k * flops / (peak * 1e9) + stk[2]
    print(f"    even at the matmul peak with the same optimizer pass the stack would take {ideal * 1e3:.2f} ms: "
          f"at most {k * seq.sum() / ideal:.1f}x over {k} sequential steps")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--ks", default="1,8,32")
    args = ap.parse_args()
    device = torch.device(args.device)
    d = load_digits()
    X = torch.tensor((d.data - d.data.mean(0)) / (d.data.std(0) + 1e-8), dtype=torch.float32)
    y = torch.tensor(d.target)
    data = loader(X, y, device)
    batches = list(data)
    model = mlp().to(device)
    epochs = 3
    print(f"MLP 64-256-256-10 on digits, {epochs} epochs, batch 64, SGD momentum 0.9, {device}; medians of {REPS}")
    for k in [int(s) for s in args.ks.split(",")]:
        lrs = list(np.geomspace(1e-3, 0.3, k))
        lt.sweep(model, torch.nn.functional.cross_entropy, data, lrs[:1], optimizer="momentum", epochs=1)  # warm
        sequential(model, data, lrs[:1], 1)
        loss = torch.nn.functional.cross_entropy
        t_vec = median_time(lambda: lt.sweep(model, loss, data, lrs, optimizer="momentum", epochs=epochs), REPS)
        t_vec_end = median_time(lambda: lt.sweep(model, loss, data, lrs, optimizer="momentum", epochs=epochs,
                                                 eval_every=10**9), REPS)
        t_seq = median_time(lambda: sequential(model, data, lrs, epochs), REPS)
        print(f"  K={k:3d}: K sequential torch.optim runs {t_seq:6.2f} s | lrscope.torch.sweep {t_vec:6.2f} s "
              f"({t_seq / t_vec:4.2f}x; full-data loss every epoch), {t_vec_end:6.2f} s ({t_seq / t_vec_end:4.2f}x; "
              f"full-data loss at start and end only)")

    if device.type == "cpu":
        breakdown(model, batches, 8)

    # the monitor's overhead on one training step: timed directly (the update calls inside the loop) and as the
    # difference between loops with and without it (noisier on a shared machine)
    m = mlp().to(device)
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    mon = lt.Monitor(opt)
    in_update, in_steps = 0.0, 0.0
    loop = {True: [], False: []}
    i = 0
    for rep in range(40):
        for flag in (False, True):
            t_loop = time.perf_counter()
            for _ in range(50):
                x, yb = batches[i % len(batches)]
                i += 1
                t0 = time.perf_counter()
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(m(x), yb)
                loss.backward()
                opt.step()
                t1 = time.perf_counter()
                if flag:
                    mon.update(loss, m)
                    in_update += time.perf_counter() - t1
                    in_steps += t1 - t0
                else:
                    loss.item()
            loop[flag].append(time.perf_counter() - t_loop)
    plain, watched = statistics.median(loop[False]), statistics.median(loop[True])
    print(f"  monitor.update: {in_update / (mon.step) * 1e6:.1f} us per call = {100 * in_update / in_steps:.2f}% of "
          f"a training step ({in_steps / mon.step * 1e3:.3f} ms), timed directly over {mon.step} steps; "
          f"loop difference {100 * (watched / plain - 1):+.1f}% (noisy)")


if __name__ == "__main__":
    main()
