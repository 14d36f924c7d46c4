"""A corpus of real training runs for judging verdicts: problems drawn from families with a seed, each trained at a
log grid of learning rates, the per-step training loss logged as a logger would (the mini-batch loss on
mini-batches), and every run continued to 4 × its cut T, so that what happened after the cut is known.

Families (each draws its sizes, budget and hyperparameters from the problem's seed):

- NumPy core (``lrscope.run``, every rate of a problem at once): gradient descent on ill-conditioned quadratics,
  heavy-ball momentum near its edge, raw least squares on diabetes, full-batch logistic regression on
  breast_cancer, mini-batch softmax on digits, Adam on Rosenbrock, mini-batch softmax on wine with step decay,
  cosine or warm restarts;
- PyTorch (one run per rate, ``torch.optim``): MLPs on digits (SGD momentum, Adam), a small CNN on the 8×8 digit
  images (SGD, AdamW), a linear model on diabetes (SGD mini-batches), logistic regression on breast_cancer
  (RMSprop), and a small character-level transformer language model on the Python standard library's own source.

A problem's split is its seed's parity: ``held`` problems (odd seeds) are only run to report, ``tune`` problems (even
seeds) may be looked at while changing the judging. Run ``python benchmarks/verdicts/corpus.py`` to (re)generate
``corpus.npz`` here (not committed: ~2 MB, about 3.5 minutes on 2 cores); ``score.py`` generates it when missing.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
CORPUS = HERE / "corpus.npz"
HORIZON = 4                     # every run is continued to HORIZON × its cut
INSTANCES = 8                   # problems drawn per family: seeds 0 … 7, the odd ones held back


@dataclass
class Problem:
    """One problem of a family: its name, what varies, the cut ``T`` and the rates of its grid."""

    family: str
    seed: int
    T: int
    lrs: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.family}#{self.seed}"

    @property
    def split(self) -> str:
        """``held`` for the odd seeds of every family, ``tune`` for the even ones (decided before any was run)."""
        return "held" if self.seed % 2 else "tune"


def grid(rng, low: float, high: float, n: int) -> np.ndarray:
    """n log-spaced rates from low to high, shifted by a random fraction of a step (no two problems alike)."""
    step = np.log(high / low) / (n - 1)
    return np.exp(np.log(low) + step * (np.arange(n) + rng.uniform(-0.3, 0.3)))


# ----------------------------------------------------------------------------------------- NumPy core families
def _core(problem: Problem, objective, optimizer, schedule=None, batch_size=None):
    """Per-step losses (K, HORIZON·T + 1) and rates (K, HORIZON·T) of every rate of the grid, run at once."""
    from lrscope.run import run
    steps = HORIZON * problem.T
    res = run(objective, lrs=problem.lrs, optimizer=optimizer, steps=steps, schedule=schedule,
              batch_size=batch_size, seed=problem.seed, keep_params=False)
    if res.batch_losses is not None:          # what a logger records on mini-batches: each step's batch loss
        losses = np.concatenate([res.batch_losses, res.losses[:, -1:]], axis=1)
    else:
        losses = res.losses
    return losses, res.lr_used


def quadratic_gd(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    cond, dim = float(10 ** rng.uniform(2, 4)), int(rng.integers(5, 40))
    obj = ls.objectives.quadratic(condition=cond, dim=dim, rotate=seed + 1, x0=rng.uniform(-10, 10, dim))
    L = float(np.linalg.eigvalsh(obj.constant_hessian()).max())
    p = Problem("quadratic GD", seed, int(rng.choice([50, 100, 200])), grid(rng, 1e-3 / L, 2.6 / L, 12),
                {"condition": cond, "dim": dim})
    return p, lambda: _core(p, obj, ls.optim.gd())


def quadratic_momentum(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    cond, beta = float(10 ** rng.uniform(1.5, 3)), float(rng.choice([0.8, 0.9, 0.95]))
    dim = int(rng.integers(2, 20))
    obj = ls.objectives.quadratic(condition=cond, dim=dim, rotate=seed + 1, x0=rng.uniform(-10, 10, dim))
    L = float(np.linalg.eigvalsh(obj.constant_hessian()).max())
    edge = 2 * (1 + beta) / L                  # heavy ball's stability limit
    p = Problem("quadratic heavy ball", seed, int(rng.choice([50, 100, 200])), grid(rng, 1e-2 * edge, 1.3 * edge, 10),
                {"condition": cond, "beta": beta})
    return p, lambda: _core(p, obj, ls.optim.momentum(beta, form="heavy_ball"))


def diabetes_raw_gd(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    obj = ls.objectives.dataset("diabetes", standardize=False)
    L = float(np.linalg.eigvalsh(obj.constant_hessian()).max())
    p = Problem("least squares raw diabetes GD", seed, int(rng.choice([100, 200, 400])),
                grid(rng, 1e-2 / L, 2.4 / L, 10))
    return p, lambda: _core(p, obj, ls.optim.gd())


def logistic_gd(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    obj = ls.objectives.dataset("breast_cancer")
    p = Problem("logistic breast_cancer GD", seed, int(rng.choice([50, 100, 200])), grid(rng, 1e-3, 30.0, 12))
    return p, lambda: _core(p, obj, ls.optim.gd())


def softmax_sgd(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    obj = ls.objectives.dataset("digits")
    batch = int(rng.choice([16, 32, 64]))
    p = Problem("softmax digits SGD", seed, int(rng.choice([100, 200, 300])), grid(rng, 1e-3, 10.0, 10),
                {"batch": batch})
    return p, lambda: _core(p, obj, ls.optim.gd(), batch_size=batch)


def rosenbrock_adam(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    obj = ls.objectives.formula("(1 - x)**2 + 100*(y - x**2)**2", x0=list(rng.uniform(-2, 2, 2)))
    p = Problem("Rosenbrock Adam", seed, int(rng.choice([100, 200, 400])), grid(rng, 1e-4, 1.0, 10))
    return p, lambda: _core(p, obj, ls.optim.adam())


def wine_schedules(seed):
    import lrscope as ls
    rng = np.random.default_rng(seed)
    obj = ls.objectives.dataset("wine")
    T = int(rng.choice([100, 200]))
    kind = ["step decay", "cosine", "warm restarts"][seed % 3]
    schedule = {"step decay": ls.schedules.step_decay(step_size=int(1.5 * T), gamma=0.3),
                "cosine": ls.schedules.cosine(t_max=HORIZON * T),
                "warm restarts": ls.schedules.warm_restarts(t_0=T // 2, t_mult=2)}[kind]
    p = Problem(f"softmax wine SGD, {kind}", seed, T, grid(rng, 1e-3, 30.0, 10), {"schedule": kind, "batch": 16})
    return p, lambda: _core(p, obj, ls.optim.gd(), schedule=schedule, batch_size=16)


# ------------------------------------------------------------------------------------------------ PyTorch families
def _torch_runs(problem: Problem, make_model, make_optimizer, loss_fn, batches, schedule=None):
    """Per-step losses and rates of every rate of the grid, one ``torch.optim`` run each from the same weights
    and the same batch stream; a run that leaves the finite numbers is cut there (the rest NaN)."""
    import torch
    steps = HORIZON * problem.T
    losses = np.full((problem.lrs.size, steps + 1), np.nan)
    rates = np.full((problem.lrs.size, steps), np.nan)
    for k, lr in enumerate(problem.lrs):
        torch.manual_seed(problem.seed)
        model = make_model()
        opt = make_optimizer(model.parameters(), float(lr))
        sched = None if schedule is None else torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        stream = batches(problem.seed)
        for t in range(steps + 1):
            x, y = next(stream)
            loss = loss_fn(model(x), y)
            value = float(loss.detach())
            losses[k, t] = value
            if t == steps or not np.isfinite(value):
                break
            rates[k, t] = opt.param_groups[0]["lr"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
    return losses, rates


def _digits_batches(batch, images=False):
    import torch
    from sklearn.datasets import load_digits
    d = load_digits()
    X = torch.tensor((d.data - d.data.mean(0)) / (d.data.std(0) + 1e-8), dtype=torch.float32)
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return _batches(X, torch.tensor(d.target), batch)


def _batches(X, y, batch):
    """The batch stream of a problem's data: a fresh permutation every epoch from the run's seed (every rate of a
    grid sees the same batches), whole batches only."""
    import torch

    def stream(seed):
        g = torch.Generator().manual_seed(seed)
        while True:
            order = torch.randperm(len(y), generator=g)
            for i in range(0, len(y) - batch + 1, batch):
                yield X[order[i:i + batch]], y[order[i:i + batch]]
    return stream


def _mlp(inputs, width, depth, outputs):
    import torch
    layers, n = [], inputs
    for _ in range(depth):
        layers += [torch.nn.Linear(n, width), torch.nn.ReLU()]
        n = width
    return torch.nn.Sequential(*layers, torch.nn.Linear(n, outputs))


def mlp_digits_momentum(seed):
    import torch
    rng = np.random.default_rng(seed)
    width, depth, batch = int(rng.choice([32, 64, 128])), int(rng.integers(1, 4)), int(rng.choice([16, 32, 64]))
    p = Problem("MLP digits SGD momentum", seed, int(rng.choice([100, 200, 300])), grid(rng, 1e-4, 3.0, 10),
                {"width": width, "depth": depth, "batch": batch})
    return p, lambda: _torch_runs(p, lambda: _mlp(64, width, depth, 10),
                                  lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9),
                                  torch.nn.functional.cross_entropy, _digits_batches(batch))


def mlp_digits_adam(seed):
    import torch
    rng = np.random.default_rng(seed)
    width, depth, batch = int(rng.choice([32, 64, 128])), int(rng.integers(1, 4)), int(rng.choice([16, 32, 64]))
    p = Problem("MLP digits Adam", seed, int(rng.choice([100, 200, 300])), grid(rng, 1e-5, 1.0, 10),
                {"width": width, "depth": depth, "batch": batch})
    return p, lambda: _torch_runs(p, lambda: _mlp(64, width, depth, 10), lambda ps, lr: torch.optim.Adam(ps, lr=lr),
                                  torch.nn.functional.cross_entropy, _digits_batches(batch))


def cnn_digits(seed):
    import torch
    rng = np.random.default_rng(seed)
    channels, batch = int(rng.choice([8, 16])), int(rng.choice([32, 64]))
    adamw = bool(seed // 2 % 2)           # both variants in both halves (seeds 2, 3, 6, 7)

    def model():
        return torch.nn.Sequential(torch.nn.Conv2d(1, channels, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                   torch.nn.Conv2d(channels, 2 * channels, 3, padding=1), torch.nn.ReLU(),
                                   torch.nn.Flatten(), torch.nn.Linear(2 * channels * 16, 10))
    name = "CNN digits AdamW" if adamw else "CNN digits SGD"
    lrs = grid(rng, 1e-5, 1.0, 9) if adamw else grid(rng, 1e-3, 10.0, 9)
    make = ((lambda ps, lr: torch.optim.AdamW(ps, lr=lr, weight_decay=0.01)) if adamw
            else (lambda ps, lr: torch.optim.SGD(ps, lr=lr)))
    p = Problem(name, seed, int(rng.choice([100, 200])), lrs, {"channels": channels, "batch": batch})
    return p, lambda: _torch_runs(p, model, make, torch.nn.functional.cross_entropy, _digits_batches(batch, True))


def linear_diabetes_sgd(seed):
    import torch
    from sklearn.datasets import load_diabetes
    rng = np.random.default_rng(seed)
    d = load_diabetes()
    X = torch.tensor((d.data - d.data.mean(0)) / d.data.std(0), dtype=torch.float32)
    y = torch.tensor((d.target - d.target.mean()) / d.target.std(), dtype=torch.float32)[:, None]
    batch = int(rng.choice([8, 16, 32]))
    stream = _batches(X, y, batch)
    p = Problem("linear diabetes SGD", seed, int(rng.choice([100, 200, 400])), grid(rng, 1e-4, 1.0, 10),
                {"batch": batch})
    return p, lambda: _torch_runs(p, lambda: torch.nn.Linear(10, 1), lambda ps, lr: torch.optim.SGD(ps, lr=lr),
                                  torch.nn.functional.mse_loss, stream)


def logistic_breast_cancer_rmsprop(seed):
    import torch
    from sklearn.datasets import load_breast_cancer
    rng = np.random.default_rng(seed)
    d = load_breast_cancer()
    raw = bool(seed // 2 % 2)
    data = d.data if raw else (d.data - d.data.mean(0)) / d.data.std(0)
    X, y = torch.tensor(data, dtype=torch.float32), torch.tensor(d.target, dtype=torch.float32)[:, None]
    batch = int(rng.choice([16, 64, len(y)]))
    stream = _batches(X, y, batch)
    p = Problem("logistic breast_cancer RMSprop" + (" raw" if raw else ""), seed, int(rng.choice([100, 200])),
                grid(rng, 1e-5, 1.0, 10), {"batch": batch, "raw": raw})
    return p, lambda: _torch_runs(p, lambda: torch.nn.Linear(30, 1), lambda ps, lr: torch.optim.RMSprop(ps, lr=lr),
                                  torch.nn.functional.binary_cross_entropy_with_logits, stream)


def stdlib_text(chars: int, seed: int) -> str:
    """Characters of the Python standard library's own source (ships with every Python), from files drawn by seed."""
    import sysconfig
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    rng = np.random.default_rng(seed)
    text = []
    for i in rng.permutation(len(files)):
        text.append(files[i].read_text(encoding="utf-8", errors="replace"))
        if sum(map(len, text)) >= chars:
            break
    return "".join(text)[:chars]


def transformer_lm(seed):
    import torch
    rng = np.random.default_rng(seed)
    width, layers, context, batch = int(rng.choice([32, 64])), int(rng.integers(1, 3)), 32, 16
    text = stdlib_text(200_000, seed)
    vocab = sorted(set(text))
    ids = torch.tensor(np.searchsorted(np.array(vocab), np.array(list(text))), dtype=torch.long)
    cosine = bool(seed // 2 % 2)

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(len(vocab), width)
            self.position = torch.nn.Parameter(0.02 * torch.randn(context, width))
            layer = torch.nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0, batch_first=True)
            self.body = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = torch.nn.Linear(width, len(vocab))
            self.mask = torch.nn.Transformer.generate_square_subsequent_mask(context)

        def forward(self, x):
            return self.head(self.body(self.embed(x) + self.position, mask=self.mask, is_causal=True))

    def stream(s):
        g = torch.Generator().manual_seed(s)
        while True:
            starts = torch.randint(0, len(ids) - context - 1, (batch,), generator=g)
            x = torch.stack([ids[i:i + context] for i in starts])
            y = torch.stack([ids[i + 1:i + context + 1] for i in starts])
            yield x, y

    def loss_fn(logits, y):
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    T = int(rng.choice([100, 150]))
    p = Problem("transformer LM stdlib AdamW" + (", cosine" if cosine else ""), seed, T, grid(rng, 1e-5, 0.3, 8),
                {"width": width, "layers": layers, "schedule": "cosine" if cosine else None})
    schedule = (lambda t: 0.5 * (1 + np.cos(np.pi * min(t, HORIZON * T) / (HORIZON * T)))) if cosine else None
    return p, lambda: _torch_runs(p, LM, lambda ps, lr: torch.optim.AdamW(ps, lr=lr), loss_fn, stream, schedule)


FAMILIES = [quadratic_gd, quadratic_momentum, diabetes_raw_gd, logistic_gd, softmax_sgd, rosenbrock_adam,
            wine_schedules, mlp_digits_momentum, mlp_digits_adam, cnn_digits, linear_diabetes_sgd,
            logistic_breast_cancer_rmsprop, transformer_lm]


def generate(path: Path = CORPUS, instances: int = INSTANCES, families=None, progress=print) -> dict:
    """Draw ``instances`` problems of every family (seeds 0 …), run each to HORIZON × T, and save the corpus."""
    import torch
    torch.set_num_threads(1)
    runs = {"loss": [], "lr": []}
    meta = []
    t0 = time.perf_counter()
    for family in families or FAMILIES:
        for seed in range(instances):
            problem, train = family(seed)
            start = time.perf_counter()
            with np.errstate(all="ignore"):
                losses, rates = train()
            for k, lr in enumerate(problem.lrs):
                runs["loss"].append(losses[k].astype(np.float64))
                runs["lr"].append(rates[k].astype(np.float64))
                meta.append({"problem": problem.name, "family": problem.family, "split": problem.split,
                             "T": problem.T, "lr": float(lr), "grid": [float(v) for v in problem.lrs],
                             "settings": problem.settings})
            progress(f"{problem.name:45s} {problem.split:4s} T={problem.T:4d} {problem.lrs.size:2d} rates "
                     f"{time.perf_counter() - start:6.1f} s  (total {time.perf_counter() - t0:6.0f} s)")
    np.savez_compressed(path, meta=json.dumps(meta),
                        **{f"loss{i}": v for i, v in enumerate(runs["loss"])},
                        **{f"lr{i}": v for i, v in enumerate(runs["lr"])})
    return {"runs": len(meta), "seconds": time.perf_counter() - t0}


def load(path: Path = CORPUS) -> list:
    """The corpus as a list of runs: dicts of the metadata plus ``loss`` (HORIZON·T + 1 per-step values) and
    ``lr_curve`` (HORIZON·T)."""
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    return [{**m, "loss": data[f"loss{i}"], "lr_curve": data[f"lr{i}"]} for i, m in enumerate(meta)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=INSTANCES)
    parser.add_argument("--family", action="append", help="only these families (function names)")
    args = parser.parse_args()
    chosen = [f for f in FAMILIES if not args.family or f.__name__ in args.family]
    print(generate(instances=args.instances, families=chosen))
