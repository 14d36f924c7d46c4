"""Small built-in models and the data sets as tensors, for the command line and the explorer's torch path."""

from __future__ import annotations

import torch

from ..objectives.datasets import DATASETS, TORCH_MODELS, arrays


def dataset_tensors(name: str, standardize: bool = True, fit_rows=None):
    """(X, y) tensors of a scikit-learn data set; y are class indices, or a (n, 1) float target for diabetes.
    Standardized with the statistics of ``fit_rows`` (all rows if None): pass the training rows of a split."""
    X, y, _ = arrays(name, standardize, fit_rows)        # a clear error for an unknown name
    X = torch.tensor(X, dtype=torch.float32)
    if DATASETS[name][0] == "regression":
        return X, torch.tensor(y, dtype=torch.float32)[:, None]
    classes = {c: i for i, c in enumerate(sorted(set(y.tolist())))}
    return X, torch.tensor([classes[c] for c in y.tolist()])


def build(model: str, dataset: str, seed: int = 0, fit_rows=None):
    """A model for the data set, its loss function and its (X, y) tensors (standardized on ``fit_rows``, all rows
    if None).

    ``mlp``: features → 64 → ReLU → 64 → ReLU → outputs. ``cnn`` (digits only: 8×8 images): conv 3×3 with 8
    channels, ReLU, 2×2 max-pool, linear.
    """
    if model not in TORCH_MODELS:
        raise ValueError(f"model: expected one of {', '.join(TORCH_MODELS)}, got {model!r}")
    X, y = dataset_tensors(dataset, fit_rows=fit_rows)
    regression = DATASETS[dataset][0] == "regression"
    n_out = 1 if regression else int(y.max()) + 1
    torch.manual_seed(seed)
    if model == "cnn":
        if dataset != "digits":
            raise ValueError("model: 'cnn' needs images: use --dataset digits")
        X = X.reshape(-1, 1, 8, 8)
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, n_out))
    else:
        net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                  torch.nn.ReLU(), torch.nn.Linear(64, n_out))
    loss = torch.nn.functional.mse_loss if regression else torch.nn.functional.cross_entropy
    return net, loss, X, y
