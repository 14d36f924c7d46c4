"""Problems for the finder's population benchmark, drawn from families by a seed (issue 27).

A problem is a model family, a data set that ships with scikit-learn or Python, an optimizer, a batch size and a
budget of optimizer steps, all drawn from the problem's seed. Its data are split three ways by the same seed:
``train`` (64%: what every method trains on), ``val`` (16%: what a method that selects may look at -- lrscope's
``val_loader``, Optuna's objective) and ``test`` (20%: the score, seen by no method).

Families: linear regression (diabetes), logistic / softmax regression (breast_cancer, wine, digits), MLPs of 1-3
hidden layers and 32-256 units (digits, wine, breast_cancer, diabetes), a small CNN on the 8×8 digit images, and a
character-level transformer language model on the Python standard library's own source. Optimizers: SGD, momentum,
Nesterov, Adam, AdamW, RMSprop. Batch sizes 8 … full batch; budgets 100 … 2,000 steps (the transformer's and the
CNN's capped lower, for time on 2 cores).

The split into halves is the seed's parity: even seeds are ``tune`` problems, odd seeds ``held`` (run only to
report).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
# the 13-point grid of each optimizer (4 decades, ×2.15 apart): SGD-like and adaptive rates live 2 decades apart
GRIDS = {"sgd": (1e-3, 10.0), "momentum": (1e-4, 1.0), "nesterov": (1e-4, 1.0),
         "adam": (1e-5, 0.1), "adamw": (1e-5, 0.1), "rmsprop": (1e-5, 0.1)}
GRID_POINTS = 13


@dataclass
class Problem:
    """One drawn problem: ``make_model()`` (same initial weights on every call), ``loss_fn(output, target)``, the
    three data sets, ``make_optimizer(params, lr)``, the batch size and the budget in optimizer steps."""

    seed: int
    family: str
    data: str
    optimizer: str
    batch_size: int
    budget: int
    make_model: object
    loss_fn: object
    train: torch.utils.data.TensorDataset
    val: torch.utils.data.TensorDataset
    test: torch.utils.data.TensorDataset
    details: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        full = " full" if self.batch_size >= len(self.train) else f" b{self.batch_size}"
        return f"#{self.seed} {self.family} {self.data} {self.optimizer}{full} {self.budget} steps"

    @property
    def split(self) -> str:
        return "held" if self.seed % 2 else "tune"

    def make_optimizer(self, params, lr: float) -> torch.optim.Optimizer:
        wd = self.details.get("weight_decay", 0.0)
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=lr)
        if self.optimizer == "momentum":
            return torch.optim.SGD(params, lr=lr, momentum=0.9)
        if self.optimizer == "nesterov":
            return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr)
        if self.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
        return torch.optim.RMSprop(params, lr=lr)

    def grid(self) -> np.ndarray:
        low, high = GRIDS[self.optimizer]
        return np.geomspace(low, high, GRID_POINTS)

    def loader(self, data=None, shuffle: bool = True) -> torch.utils.data.DataLoader:
        """The batches of ``data`` (default: train) in the problem's own order: every method sees the same ones.
        Whole batches are drawn by index (one tensor slice each, not one item at a time: 50× faster on full
        batches)."""
        data = self.train if data is None else data
        g = torch.Generator().manual_seed(self.seed)
        order = (torch.utils.data.RandomSampler(data, generator=g) if shuffle
                 else torch.utils.data.SequentialSampler(data))
        batches = torch.utils.data.BatchSampler(order, batch_size=min(self.batch_size, len(data)), drop_last=False)
        return torch.utils.data.DataLoader(data, sampler=batches, batch_size=None)

    def test_loss(self, model: torch.nn.Module, data=None) -> float:
        """The mean loss over ``data`` (default: the test set) -- inf where it is not finite."""
        data = self.test if data is None else data
        model.eval()
        with torch.no_grad():
            x, y = data.tensors
            total = 0.0
            for i in range(0, len(data), 512):
                total += float(self.loss_fn(model(x[i:i + 512]), y[i:i + 512])) * len(x[i:i + 512])
        model.train()
        value = total / len(data)
        return value if np.isfinite(value) else np.inf


# ------------------------------------------------------------------------------------------------------ data
def _split(X: torch.Tensor, y: torch.Tensor, seed: int):
    """train / val / test (64 / 16 / 20 %) by a permutation drawn from the seed; features standardized on train."""
    n = X.shape[0]
    order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    n_test, n_val = n // 5, (n * 4 // 5) // 5
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    if X.dtype.is_floating_point and X.dim() == 2:
        mu, sd = X[train].mean(0), X[train].std(0)
        X = (X - mu) / torch.where(sd > 1e-6, sd, 1.0)       # a pixel constant on train (digits' corners): centred only
    return tuple(torch.utils.data.TensorDataset(X[i], y[i]) for i in (train, val, test))


def _tabular(name: str, seed: int):
    from sklearn import datasets
    d = {"digits": datasets.load_digits, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
         "diabetes": datasets.load_diabetes}[name]()
    X = torch.tensor(d.data, dtype=torch.float32)
    if name == "diabetes":
        y = torch.tensor((d.target - d.target.mean()) / d.target.std(), dtype=torch.float32)[:, None]
        return _split(X, y, seed), 1, "regression"
    y = torch.tensor(d.target, dtype=torch.long)
    return _split(X, y, seed), int(y.max()) + 1, "classes"


def _stdlib_windows(context: int, chars: int, seed: int):
    """Windows of ``context`` + 1 characters of the Python standard library's source (files drawn by seed),
    split by position: the first 64% of the text trains, the next 16% validates, the last 20% tests."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "verdicts"))
    from corpus import stdlib_text          # the verdicts corpus draws its text the same way
    text = stdlib_text(chars, seed)
    vocab = sorted(set(text))
    ids = torch.tensor(np.searchsorted(np.array(vocab), np.array(list(text))), dtype=torch.long)
    cuts = [0, int(0.64 * chars), int(0.8 * chars), chars]
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        starts = torch.arange(a, b - context - 1, context)
        windows = torch.stack([ids[s:s + context + 1] for s in starts])
        parts.append(torch.utils.data.TensorDataset(windows[:, :-1], windows[:, 1:]))
    return tuple(parts), len(vocab)


# ---------------------------------------------------------------------------------------------------- models
class MLP(torch.nn.Module):
    def __init__(self, n_in: int, n_out: int, widths: list, act: str):
        super().__init__()
        layers, prev = [], n_in
        for w in widths:
            layers += [torch.nn.Linear(prev, w), torch.nn.ReLU() if act == "relu" else torch.nn.Tanh()]
            prev = w
        layers.append(torch.nn.Linear(prev, n_out))
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class CNN(torch.nn.Module):
    def __init__(self, c1: int, c2: int, n_out: int = 10):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Unflatten(1, (1, 8, 8)), torch.nn.Conv2d(1, c1, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(c1, c2, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
            torch.nn.Linear(c2 * 16, n_out))

    def forward(self, x):
        return self.body(x)


class CharLM(torch.nn.Module):
    def __init__(self, vocab: int, width: int, layers: int, context: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.position = torch.nn.Parameter(0.02 * torch.randn(context, width))
        layer = torch.nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0, batch_first=True)
        self.body = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(width, vocab)
        self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(context))

    def forward(self, x):
        return self.head(self.body(self.embed(x) + self.position, mask=self.mask, is_causal=True))


def _lm_loss(logits, y):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _mse(out, y):
    return torch.nn.functional.mse_loss(out, y)


# ---------------------------------------------------------------------------------------------------- drawing
FAMILIES = ("linear", "mlp", "cnn", "transformer")
WEIGHTS = (0.3, 0.4, 0.15, 0.15)


def draw(seed: int) -> Problem:
    """The problem of ``seed``: every choice from ``np.random.default_rng(1000 + seed)``."""
    rng = np.random.default_rng(1000 + seed)
    family = str(rng.choice(FAMILIES, p=WEIGHTS))
    optimizer = str(rng.choice(OPTIMIZERS))
    details = {"weight_decay": float(rng.choice([0.01, 0.1]))} if optimizer == "adamw" else {}
    budget = int(round(float(np.exp(rng.uniform(np.log(100), np.log(2000)))), -1))
    if family == "transformer":
        width, layers, context = int(rng.choice([32, 48])), int(rng.integers(1, 3)), 32
        (train, val, test), vocab = _stdlib_windows(context, 150_000, seed)
        budget = min(budget, 400)
        batch = int(rng.choice([8, 16, 32]))
        details.update(width=width, layers=layers, context=context)

        def make_model():
            torch.manual_seed(seed)
            return CharLM(vocab, width, layers, context)
        return Problem(seed, family, "stdlib text", optimizer, batch, budget, make_model, _lm_loss, train, val, test,
                       details)
    if family == "cnn":
        (train, val, test), n_out, _ = _tabular("digits", seed)
        c1, c2 = int(rng.choice([8, 16])), int(rng.choice([16, 32]))
        budget = min(budget, 1000)
        batch = int(rng.choice([16, 32, 64, 128]))
        details.update(channels=(c1, c2))

        def make_model():
            torch.manual_seed(seed)
            return CNN(c1, c2, n_out)
        return Problem(seed, family, "digits", optimizer, batch, budget, make_model,
                       torch.nn.functional.cross_entropy, train, val, test, details)
    data = str(rng.choice(["digits", "wine", "breast_cancer", "diabetes"]))
    (train, val, test), n_out, kind = _tabular(data, seed)
    loss_fn = _mse if kind == "regression" else torch.nn.functional.cross_entropy
    n_in = train.tensors[0].shape[1]
    batch = int(rng.choice([8, 16, 32, 64, 128, 100_000]))          # 100,000: the full batch
    batch = min(batch, len(train))
    if family == "linear":
        widths, act = [], "relu"
    else:
        depth = int(rng.integers(1, 4))
        widths, act = [int(rng.choice([32, 64, 128, 256]))] * depth, str(rng.choice(["relu", "tanh"]))
        details.update(widths=widths, act=act)

    def make_model():
        torch.manual_seed(seed)
        return MLP(n_in, n_out, widths, act)
    return Problem(seed, family, data, optimizer, batch, budget, make_model, loss_fn, train, val, test, details)
