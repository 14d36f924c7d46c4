"""Quality of the LR range test: does the suggested learning rate actually train well?

Fourteen problems that span the field. For each, every learning rate is judged the same way: train for the problem's
budget, read the final training loss (on mini-batch problems the mean over 3 batch orders, so that the grid's best
is not just the luckiest of 13 noisy runs). The reference is the best of a 13-point log grid (13 × budget steps of
compute). Against it, in the same run:

- **lrscope**: ``ls.find`` (or ``lrscope.torch.lr_find``) -- range test, then the verified pick, trained as
  recommended: where it gives a schedule (``res.step_sizes``: on mini-batches a cooldown over the last 20% of the
  budget; for gradient descent on a quadratic, or near a minimum, step sizes from the curvature), with it (the pick
  at a constant rate is printed beside);
- **torch-lr-finder** (benchmark-only dependency): its range test on the same model and data, steepest-gradient pick;
- **valley**: a fastai-style valley rule read off lrscope's own range-test curve (no verification);
- **Prodigy** (``prodigyopt``, lr=1) and **schedule-free** AdamW (``schedulefree``, its default rate): optimizers
  that need no learning rate, trained for the same budget on the same batches as the grid's runs (the core's own
  batch order for NumPy problems; one loader across the epochs for PyTorch ones, as ``lt.sweep`` -- benchmark-only
  dependencies);

and the compute each used, in training steps. Targets: lrscope within 1.2× of the best-of-grid loss on every problem,
at ≤ 15% of the grid's compute, at least as good as torch-lr-finder everywhere (each miss is named at the end), and
at least as good as Prodigy and schedule-free on 80% of the problems (issue 16; the count is printed).

Run by hand: ``pip install -e ".[bench]" && python benchmarks/bench_finder.py`` (about 20 s on 2 cores).
"""

from __future__ import annotations

import contextlib
import io
import math
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits

import lrscope as ls
import lrscope.torch as lt
from lrscope.torch.optimizers import EMAMomentum

SEEDS = 3          # batch orders each mini-batch problem's final loss is averaged over (grid and picks alike)


# ---------------------------------------------------------------------------------------------------------------
# torch-lr-finder on a torch twin of each problem
# ---------------------------------------------------------------------------------------------------------------
def torch_lr_finder(model, optimizer, criterion, loader, num_iter=100, start=1e-7, end=10.0):
    """torch-lr-finder's range test and its suggestion (steepest descent, its plot's rule; None where too few points
    remain after its trimming): (suggestion, the rates, the smoothed losses); the model and optimizer are reset."""
    from torch_lr_finder import LRFinder
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for g in optimizer.param_groups:
        g["lr"] = start
    finder = LRFinder(model, optimizer, criterion, device="cpu")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(loader, end_lr=end, num_iter=num_iter)
        fig, ax = plt.subplots()
        try:
            _, lr = finder.plot(ax=ax, suggest_lr=True)
        except Exception:           # too few points after its skip_start/skip_end trimming
            lr = None
        plt.close(fig)
    lrs, losses = np.array(finder.history["lr"]), np.array(finder.history["loss"])
    finder.reset()
    return lr, lrs, losses


def torch_lr_finder_pick(model, optimizer, criterion, loader, num_iter=100, start=1e-7, end=10.0):
    """torch-lr-finder's suggestion and the steps its range test took."""
    lr, lrs, _ = torch_lr_finder(model, optimizer, criterion, loader, num_iter, start, end)
    return lr, len(lrs)


# ---------------------------------------------------------------------------------------------------------------
# optimizers that need no learning rate: Prodigy (lr=1) and schedule-free AdamW (its default rate), same budget,
# same batches
# ---------------------------------------------------------------------------------------------------------------
def lr_free_optimizers():
    """name -> factory(params); an optimizer whose package is missing is left out (a column of blanks)."""
    out = {}
    try:
        from prodigyopt import Prodigy
        out["Prodigy"] = lambda p: Prodigy(p, lr=1.0)
    except ImportError:
        pass
    try:
        from schedulefree import AdamWScheduleFree
        out["schedule-free"] = lambda p: AdamWScheduleFree(p)
    except ImportError:
        pass
    return out


def train_lr_free(make_opt, model, criterion, batches, steps: int):
    """``steps`` updates of ``model`` over ``batches`` (cycled), as the grid's runs are trained; the model after."""
    opt = make_opt(model.parameters())
    if hasattr(opt, "train"):
        opt.train()                 # schedule-free: train mode while training
    done = 0
    while done < steps:
        for x, y in batches:
            opt.zero_grad()
            criterion(model(x), y).backward()
            opt.step()
            done += 1
            if done == steps:
                break
    if hasattr(opt, "eval"):
        opt.eval()                  # schedule-free: the averaged weights are the ones to judge
    return model


def train_with_rates(make_opt, model, criterion, batches, rates):
    """``model`` trained over ``batches`` with the rate of each step from ``rates`` (lrscope's recommended
    schedule, as a ``LambdaLR`` would give it); the model after."""
    opt = make_opt(model.parameters())
    for g in opt.param_groups:
        g["lr"] = float(rates[0])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: float(rates[min(t, len(rates) - 1)] / rates[0]))
    for x, y in batches[:len(rates)]:
        opt.zero_grad()
        criterion(model(x), y).backward()
        opt.step()
        sched.step()
    return model


def core_params(model, kind) -> np.ndarray:
    """A torch twin's weights in the layout of the lrscope objective (to score it with the objective itself)."""
    if kind in ("rosenbrock", "quadratic", "quartic"):
        return model.w.detach().numpy().copy()
    w, b = model.lin.weight.detach().numpy(), model.lin.bias.detach().numpy()
    if kind in ("linear", "logistic"):
        return np.r_[w[0], b]
    return np.vstack([w.T, b[None, :]]).ravel()


class Linear(torch.nn.Module):
    """The torch twin of an lrscope data-set model: one linear layer, zero-initialised as lrscope's x0."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.lin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        torch.nn.init.zeros_(self.lin.weight)
        torch.nn.init.zeros_(self.lin.bias)

    def forward(self, x):
        return self.lin(x)


class RosenbrockModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))

    def forward(self, x):
        return (1 - self.w[0]) ** 2 + 100 * (self.w[1] - self.w[0] ** 2) ** 2 + 0 * x.sum()


class QuadraticModule(torch.nn.Module):
    """½wᵀAw − bᵀw with the lrscope quadratic's A and b, from its start."""

    def __init__(self, obj):
        super().__init__()
        self.A, self.b = torch.tensor(obj.A), torch.tensor(obj.b)
        self.w = torch.nn.Parameter(torch.tensor(obj.x0, dtype=torch.float64))

    def forward(self, x):
        return 0.5 * self.w @ self.A @ self.w - self.b @ self.w + 0 * x.sum()


class QuarticModule(torch.nn.Module):
    """x² + 50y² + x⁴ + y⁴ from (2, 1): the curvature falls from 112 at the start to 100 at the minimum."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([2.0, 1.0], dtype=torch.float64))

    def forward(self, x):
        return self.w[0] ** 2 + 50 * self.w[1] ** 2 + self.w[0] ** 4 + self.w[1] ** 4 + 0 * x.sum()


def twin(obj, kind):
    """(model, criterion, dataset) in torch for an lrscope objective."""
    if kind == "quartic":
        ds = torch.utils.data.TensorDataset(torch.zeros(1000, 1, dtype=torch.float64),
                                            torch.zeros(1000, dtype=torch.float64))
        return QuarticModule(), (lambda out, y: out), ds
    if kind == "quadratic":
        ds = torch.utils.data.TensorDataset(torch.zeros(1000, 1, dtype=torch.float64),
                                            torch.zeros(1000, dtype=torch.float64))
        return QuadraticModule(obj), (lambda out, y: out), ds
    if kind == "rosenbrock":
        ds = torch.utils.data.TensorDataset(torch.zeros(1000, 1, dtype=torch.float64),
                                            torch.zeros(1000, dtype=torch.float64))
        return RosenbrockModule(), (lambda out, y: out), ds
    X = torch.tensor(obj.X[:, :-1])
    if kind == "linear":
        y = torch.tensor(obj.y)[:, None]
        return Linear(X.shape[1], 1), (lambda out, t: 0.5 * torch.mean((out - t) ** 2)), \
            torch.utils.data.TensorDataset(X, y)
    if kind == "logistic":
        y = torch.tensor(obj.y)[:, None]
        return Linear(X.shape[1], 1), torch.nn.functional.binary_cross_entropy_with_logits, \
            torch.utils.data.TensorDataset(X, y)
    y = torch.tensor(obj.y)
    return Linear(X.shape[1], obj.n_classes), torch.nn.functional.cross_entropy, torch.utils.data.TensorDataset(X, y)


# ---------------------------------------------------------------------------------------------------------------
def core_problem(name, obj, kind, optimizer, torch_opt, grid, budget, batch_size=None, find_kw=None):
    """One NumPy-core problem: grid, lrscope, valley, torch-lr-finder, each pick trained with ls.sweep."""
    t0 = time.perf_counter()
    steps_kw = {"epochs": budget} if batch_size else {"steps": budget}
    res = ls.find(obj, optimizer=optimizer, batch_size=batch_size, **(find_kw or {}))
    model, criterion, ds = twin(obj, kind)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size or len(ds), shuffle=batch_size is not None,
                                         generator=torch.Generator().manual_seed(0))
    tlf, tlf_used = torch_lr_finder_pick(model, torch_opt(model.parameters()), criterion, loader)
    picks = {"lrscope": res.suggestion, "valley": res.methods["valley"], "torch-lr-finder": tlf}
    finals, free, constant = [], {name: [] for name in lr_free_optimizers()}, []
    for s in range(SEEDS if batch_size else 1):     # mini-batches: the mean over batch orders (less winner's curse)
        sw = ls.sweep(obj, lrs=np.r_[grid, _given(picks)], optimizer=optimizer, batch_size=batch_size, analyze=False,
                      seed=s, **steps_kw)
        final = np.where(sw.diverged_at < 0, sw.final_losses, np.inf)
        if res.schedule is not None:      # lrscope recommends step sizes: train them (the constant stays beside)
            constant.append(final[len(grid)])
            own = ls.sweep(obj, lrs=[res.suggestion], optimizer=optimizer, batch_size=batch_size, analyze=False,
                           seed=s, schedule=res.schedule, **steps_kw)
            final[len(grid)] = own.final_losses[0] if own.diverged_at[0] < 0 else np.inf
        finals.append(final)
        batches = core_batches(ds, batch_size, s, sw.steps)
        for opt_name, make in lr_free_optimizers().items():
            twin_model = train_lr_free(make, twin(obj, kind)[0], criterion, batches, sw.steps)
            with np.errstate(all="ignore"):
                value = float(obj.value(core_params(twin_model, kind))[0])
            free[opt_name].append(value if np.isfinite(value) else np.inf)
    out = _scores(grid, picks, np.mean(finals, axis=0), sw.steps, res.steps_used, tlf_used, t0)
    out.update({k: float(np.mean(v)) for k, v in free.items()})
    if constant:
        out["lrscope constant"] = float(np.mean(constant))
    return name, out


def core_batches(ds, batch_size, seed, steps):
    """The mini-batches an lrscope run with this seed trains on (``lrscope.run``'s own order: a new permutation each
    epoch), as tensors from the twin's data set; the whole data set when ``batch_size`` is None."""
    if batch_size is None:
        return [ds[:]]
    from lrscope.run import _batches
    rows = _batches(len(ds), batch_size, np.random.default_rng(seed))
    return [ds[torch.as_tensor(next(rows))] for _ in range(steps)]


def _given(picks):
    return [v for v in picks.values() if v is not None]


def _scores(grid, picks, final, steps, lrscope_steps, tlf_steps, t0):
    """The grid's losses, then each method's: ``final`` holds the grid first, then the picks that exist in order."""
    out = {"grid": final[:len(grid)], "grid_lrs": grid, "grid_steps": len(grid) * steps, "picks": picks,
           "lrscope_steps": lrscope_steps, "tlf_steps": tlf_steps, "seconds": time.perf_counter() - t0}
    rest = iter(final[len(grid):])
    for key, v in picks.items():
        out[key] = next(rest) if v is not None else np.inf
    return out


def digits_tensors():
    d = load_digits()
    X = (d.data - d.data.mean(0)) / (d.data.std(0) + 1e-8)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(d.target)


def tabular_tensors(load):
    """A scikit-learn data set, standardized, as float32 tensors."""
    d = load()
    X = (d.data - d.data.mean(0)) / (d.data.std(0) + 1e-8)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(d.target)


def torch_problem(name, make_model, make_opt, sweep_opt, sweep_kw, grid, epochs, images=False, find_kw=None,
                  data=None, batch_size=64):
    """One PyTorch problem (digits unless ``data`` = (X, y) is given): grid, lrscope, valley, torch-lr-finder and
    the optimizers without a learning rate, all on the same batches."""
    t0 = time.perf_counter()
    X, y = digits_tensors() if data is None else data
    if images:
        X = X.reshape(-1, 1, 8, 8)
    ds = torch.utils.data.TensorDataset(X, y)

    def loader(seed=0):    # a fresh loader with the same seed for every method: the same batch order for all
        return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True,
                                           generator=torch.Generator().manual_seed(seed))

    loss = torch.nn.functional.cross_entropy
    model = make_model()
    res = lt.lr_find(model, loss, loader(), make_opt(model.parameters()), **(find_kw or {}))
    tlf_model = make_model()
    tlf, tlf_used = torch_lr_finder_pick(tlf_model, make_opt(tlf_model.parameters()), loss, loader())
    picks = {"lrscope": res.suggestion, "valley": res.methods["valley"], "torch-lr-finder": tlf}
    finals, free, constant = [], {name: [] for name in lr_free_optimizers()}, []
    for s in range(SEEDS):                 # the mean over batch orders (less winner's curse)
        sw = lt.sweep(make_model(), loss, loader(s), list(np.r_[grid, _given(picks)]), optimizer=sweep_opt,
                      epochs=epochs, **sweep_kw)
        final = np.where(np.isfinite(sw.losses[:, -1]), sw.losses[:, -1], np.inf)
        stream = loader(s)          # one loader for all epochs, as lt.sweep's: a new order every epoch
        batches = [b for _ in range(epochs) for b in stream]
        if res.step_sizes is not None:      # lrscope recommends a schedule: train it (the constant stays beside)
            constant.append(final[len(grid)])
            m = train_with_rates(make_opt, make_model(), loss, batches, res.step_sizes)
            with torch.no_grad():
                value = float(loss(m(X), y))
            final[len(grid)] = value if math.isfinite(value) else np.inf
        finals.append(final)
        for opt_name, make in lr_free_optimizers().items():
            m = train_lr_free(make, make_model(), loss, batches, sw.steps)
            with torch.no_grad():
                value = float(loss(m(X), y))
            free[opt_name].append(value if math.isfinite(value) else np.inf)
    out = _scores(grid, picks, np.mean(finals, axis=0), sw.steps, res.steps_used, tlf_used, t0)
    out.update({k: float(np.mean(v)) for k, v in free.items()})
    if constant:
        out["lrscope constant"] = float(np.mean(constant))
    return name, out


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def tabular_mlp(n_in, n_out, width=32):
    def make():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(n_in, width), torch.nn.ReLU(), torch.nn.Linear(width, n_out))
    return make


def cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10))


def main():
    torch.set_num_threads(2)
    sgd = lambda p: torch.optim.SGD(p, lr=1e-7)                          # noqa: E731
    hb = lambda p: torch.optim.SGD(p, lr=1e-7, momentum=0.9)             # noqa: E731
    adam = lambda p: torch.optim.Adam(p, lr=1e-7)                        # noqa: E731
    adamw = lambda p: torch.optim.AdamW(p, lr=1e-7, weight_decay=0.05)    # noqa: E731
    nest = lambda p: torch.optim.SGD(p, lr=1e-7, momentum=0.9, nesterov=True)    # noqa: E731
    ema = lambda p: EMAMomentum(p, lr=1e-7, beta=0.9)                    # noqa: E731
    B = 500
    core_find = {"steps": 100, "budget": B}          # every problem: find is told the budget, nothing tuned
    rows = [
        core_problem("least squares, diabetes raw (GD)", ls.objectives.dataset("diabetes", standardize=False),
                     "linear", ls.optim.gd(), sgd, np.geomspace(1e-7, 1e-1, 13), B, find_kw=core_find),
        core_problem("least squares, diabetes standardized (GD)", ls.objectives.dataset("diabetes"), "linear",
                     ls.optim.gd(), sgd, np.geomspace(1e-4, 1e2, 13), B, find_kw=core_find),
        core_problem("logistic, breast_cancer raw (GD)", ls.objectives.dataset("breast_cancer", standardize=False),
                     "logistic", ls.optim.gd(), sgd, np.geomspace(1e-9, 1e-3, 13), B, find_kw=core_find),
        core_problem("softmax, digits (momentum 0.9, batch 32, 5 epochs)", ls.objectives.dataset("digits"),
                     "softmax", ls.optim.momentum(0.9, form="heavy_ball"), hb, np.geomspace(1e-4, 1e2, 13), 5,
                     batch_size=32, find_kw={"steps": 80, "seeds": 2, "budget": 5 * 57}),
        core_problem("ill-conditioned bowl, condition 400 (GD, 400 steps)",
                     ls.objectives.quadratic(condition=400, rotate=True), "quadratic", ls.optim.gd(), sgd,
                     np.geomspace(1e-5, 1e-2, 13), 400, find_kw={"steps": 100, "budget": 400}),
        core_problem("Rosenbrock (Adam, 1000 steps)", ls.objectives.rosenbrock(), "rosenbrock", ls.optim.adam(), adam,
                     np.geomspace(1e-5, 1e1, 13), 1000, find_kw={"steps": 100, "budget": 1000}),
        torch_problem("MLP 64-64-10, digits (SGD momentum 0.9, 5 epochs)", mlp, hb, "momentum",
                      {"beta": 0.9, "form": "heavy_ball"},
                      np.geomspace(1e-4, 1e2, 13), 5, find_kw={"steps": 50, "budget": 5 * 29}),
        torch_problem("small CNN, digits (Adam, 5 epochs)", cnn, adam, "adam", {}, np.geomspace(1e-5, 1e1, 13), 5,
                      images=True, find_kw={"steps": 50, "budget": 5 * 29}),
        # problems added for issue 16 (chosen before measuring lrscope on them; nothing tuned to them)
        torch_problem("MLP 30-32-2, breast_cancer (SGD momentum 0.9, batch 16, 10 epochs)", tabular_mlp(30, 2), hb,
                      "momentum", {"beta": 0.9, "form": "heavy_ball"}, np.geomspace(1e-4, 1e2, 13), 10,
                      data=tabular_tensors(load_breast_cancer), batch_size=16,
                      find_kw={"steps": 50, "budget": 10 * 36}),
        core_problem("softmax, raw digit pixels (Adam, batch 32, 5 epochs)",
                     ls.objectives.dataset("digits", standardize=False), "softmax", ls.optim.adam(), adam,
                     np.geomspace(1e-5, 1e1, 13), 5, batch_size=32,
                     find_kw={"steps": 80, "seeds": 2, "budget": 5 * 57}),
        core_problem("x²+50y²+x⁴+y⁴, best α near the edge (GD, 400 steps)",
                     ls.objectives.formula("x**2 + 50*y**2 + x**4 + y**4", x0=[2, 1]), "quartic", ls.optim.gd(), sgd,
                     np.geomspace(1e-4, 1e-1, 13), 400, find_kw={"steps": 100, "budget": 400}),
        torch_problem("MLP 64-64-10, digits (AdamW, weight decay 0.05, 5 epochs)", mlp, adamw, "adamw",
                      {"weight_decay": 0.05}, np.geomspace(1e-5, 1e1, 13), 5, find_kw={"steps": 50, "budget": 5 * 29}),
        torch_problem("small CNN, digits (Nesterov 0.9, 5 epochs)", cnn, nest, "nesterov", {"beta": 0.9},
                      np.geomspace(1e-4, 1e2, 13), 5, images=True, find_kw={"steps": 50, "budget": 5 * 29}),
        core_problem("logistic, breast_cancer (EMA momentum 0.9, batch 16, 5 epochs)",
                     ls.objectives.dataset("breast_cancer"), "logistic", ls.optim.momentum(0.9), ema,
                     np.geomspace(1e-3, 1e3, 13), 5, batch_size=16,
                     find_kw={"steps": 80, "seeds": 2, "budget": 5 * 36}),
    ]
    free_names = list(lr_free_optimizers())
    head = (f"{'problem':52s} {'best of grid':>12s} {'lrscope':>18s} {'torch-lr-finder':>18s} {'valley':>18s} "
            + "".join(f"{n:>18s} " for n in free_names) + f"{'compute: grid / lrscope / tlf':>30s}")
    print(head)
    print("-" * len(head))
    misses, beats_free = [], []
    for name, r in rows:
        best = float(np.min(r["grid"]))
        bi = int(np.argmin(r["grid"]))

        def cell(key):
            v = r[key]
            ratio = v / best if best > 0 else (1.0 if v <= best else math.inf)
            text = f"{ratio:4.2f}x" if ratio < 1000 else f"{ratio:.0e}x"
            return f"{v:9.4g} ({text})" if np.isfinite(v) else f"{'diverged':>9s}        "

        share = r["lrscope_steps"] / r["grid_steps"]
        print(f"{name:52s} {best:12.4g} {cell('lrscope'):>18s} {cell('torch-lr-finder'):>18s} {cell('valley'):>18s} "
              + "".join(f"{cell(n):>18s} " for n in free_names)
              + f"{r['grid_steps']:>8d} / {r['lrscope_steps']:5d} ({share:4.0%}) / {r['tlf_steps']:3d}")
        beats_free.append(all(r["lrscope"] <= r[n] * (1 + 1e-9) for n in free_names))
        print(f"{'':52s} α: {r['grid_lrs'][bi]:.3g}{'':6s} "
              + "  ".join(f"{k}={v:.3g}" if v is not None else f"{k}=none" for k, v in r["picks"].items())
              + (f"  (lrscope gave a schedule; its pick at a constant rate: {cell('lrscope constant')})"
                 if "lrscope constant" in r else ""))
        good = best <= 0 or r["lrscope"] <= 1.2 * best
        for missed, why in ((not good, "more than 1.2x the grid's best"),
                            (share > 0.15, "over 15% of the grid's compute"),
                            (r["lrscope"] > r["torch-lr-finder"] * (1 + 1e-9), "worse than torch-lr-finder")):
            if missed:
                misses.append(f"{name}: {why}")
    if free_names:
        print(f"lrscope at least as good as {' and '.join(free_names)} on {sum(beats_free)} of {len(beats_free)} "
              f"problems")
    print("all targets met" if not misses else "targets missed:\n  " + "\n  ".join(misses))


if __name__ == "__main__":
    import argparse

    from lrscope.finder import verify
    parser = argparse.ArgumentParser(description="lrscope's finder against a 13-point grid, torch-lr-finder and the "
                                                 "learning-rate-free optimizers on 14 problems")
    parser.add_argument("--without", choices=sorted(verify.STEPS), action="append", default=[],
                        help="leave this step of the margin check out (to measure what it does)")
    verify.STEPS = verify.STEPS - set(parser.parse_args().without)
    main()
