"""Models on real data: least squares, logistic and softmax regression, on scikit-learn's bundled data sets.

The loss is an average over samples, so the runner can take mini-batches (``rows``). Every model has an intercept
(a last column of ones) and an optional L2 penalty ``l2/2·‖w‖²``. Standardizing the features (z-scores) changes the
conditioning of the problem -- and so the largest stable learning rate 2/L -- which is a lesson in itself:
compare ``ls.theory.analyze(dataset("diabetes", standardize=False))`` with the standardized one.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, softmax

from .base import Objective, as_batch

DATASETS = {
    # name: (kind of target, default model)
    "diabetes": ("regression", "linear"),
    "breast_cancer": ("binary", "logistic"),
    "wine": ("multiclass", "softmax"),
    "digits": ("multiclass", "softmax"),
}
MODELS = ("linear", "logistic", "softmax")
TORCH_MODELS = ("mlp", "cnn")      # small PyTorch networks on the same data (lrscope.torch.models builds them)


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _check_xy(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X: expected a non-empty 2-D array (samples, features), got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y: expected {X.shape[0]} targets (one per row of X), got shape {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X: contains NaN or infinite values")
    return X, y


class _SampleObjective(Objective):
    """Shared parts: data with an intercept column, L2 penalty, row selection for mini-batches."""

    def __init__(self, X, y, name, feature_names=None, l2=0.0, n_outputs=1):
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2: must be >= 0, got {l2!r}")
        self.X = _with_bias(X)
        self.y = y
        self.l2 = float(l2)
        self.name = name
        self.n_samples = X.shape[0]
        features = list(feature_names) if feature_names is not None else [f"x{i + 1}" for i in range(X.shape[1])]
        features.append("bias")
        if n_outputs == 1:
            self.variables = tuple(features)
        else:
            self.variables = tuple(f"{f}[{c}]" for f in features for c in range(n_outputs))
        self.x0 = np.zeros(self.X.shape[1] * n_outputs)

    def _rows(self, rows):
        if rows is None:
            return self.X, self.y
        return self.X[rows], self.y[rows]

    def _penalty(self, params):
        if self.l2 == 0.0:
            return 0.0, 0.0
        return 0.5 * self.l2 * np.einsum("kd,kd->k", params, params), self.l2 * params


class LeastSquares(_SampleObjective):
    """f(w) = 1/(2n) ‖Xw − y‖² (+ l2/2‖w‖²). Hessian XᵀX/n (+ l2·I) everywhere: L, μ and the minimum are exact."""

    def __init__(self, X, y, name="least squares", feature_names=None, l2=0.0):
        X, y = _check_xy(X, y)
        super().__init__(X, np.asarray(y, dtype=np.float64), name, feature_names, l2)
        H = self.constant_hessian()
        self.minimizer = np.linalg.lstsq(H, self.X.T @ self.y / self.n_samples, rcond=None)[0]
        self.minimum = float(self.value(self.minimizer)[0])

    def value_and_grad(self, params, rows=None):
        X, y = self._rows(rows)
        residual = params @ X.T - y                  # (K, n)
        n = X.shape[0]
        value = 0.5 * np.einsum("kn,kn->k", residual, residual) / n
        grad = residual @ X / n
        pv, pg = self._penalty(params)
        return value + pv, grad + pg

    def constant_hessian(self):
        return self.X.T @ self.X / self.n_samples + self.l2 * np.eye(self.X.shape[1])


class Logistic(_SampleObjective):
    """f(w) = mean(log(1 + e^z) − y·z), z = Xw, y ∈ {0, 1}: the binary cross-entropy. Hessian Xᵀdiag(p(1−p))X/n."""

    def __init__(self, X, y, name="logistic regression", feature_names=None, l2=0.0):
        X, y = _check_xy(X, y)
        classes = np.unique(y)
        if classes.size != 2:
            raise ValueError(f"y: logistic regression needs exactly 2 classes, got {classes.size}")
        super().__init__(X, (y == classes[1]).astype(np.float64), name, feature_names, l2)

    def value_and_grad(self, params, rows=None):
        X, y = self._rows(rows)
        z = params @ X.T                              # (K, n)
        n = X.shape[0]
        value = -np.mean(log_expit(-z) * (1.0 - y) + log_expit(z) * y, axis=1)
        grad = (expit(z) - y) @ X / n
        pv, pg = self._penalty(params)
        return value + pv, grad + pg

    def hessian(self, point):
        p = expit(self.X @ point)
        return (self.X.T * (p * (1 - p))) @ self.X / self.n_samples + self.l2 * np.eye(self.X.shape[1])


class Softmax(_SampleObjective):
    """f(W) = mean(logsumexp(XW) − (XW)[y]): multinomial cross-entropy; W is (features+1, classes), flattened."""

    def __init__(self, X, y, name="softmax regression", feature_names=None, l2=0.0):
        X, y = _check_xy(X, y)
        self.classes, codes = np.unique(y, return_inverse=True)
        if self.classes.size < 2:
            raise ValueError("y: softmax regression needs at least 2 classes")
        self.n_classes = int(self.classes.size)
        super().__init__(X, codes, name, feature_names, l2, n_outputs=self.n_classes)
        self._probabilities = None          # (point, softmax(X W) there): kept for the Hessian-vector products

    def _weights(self, params):
        return params.reshape(params.shape[0], self.X.shape[1], self.n_classes)

    def _logits(self, params, rows):
        """The rows' features, their class codes and the logits XW: (n, p), (n,), (K, n, C); and the per-row shift
        that keeps exp from overflowing (each row's largest logit; 0 where that is not finite, as in SciPy's
        logsumexp, so that a diverged configuration's loss is inf or NaN, never a wrong finite number)."""
        X = self.X if rows is None else self.X[rows]
        codes = self.y if rows is None else self.y[rows]
        logits = np.matmul(X, self._weights(params))
        top = logits.max(axis=2, keepdims=True)
        return X, codes, logits, np.where(np.isfinite(top), top, 0.0)

    @staticmethod
    def _cross_entropy(logits, codes, top, exps):
        """mean over rows of logsumexp − the true class's logit, and the sums of exps (for the probabilities)."""
        sums = exps.sum(axis=2, keepdims=True)
        picked = np.take_along_axis(logits, codes[None, :, None], axis=2)
        return np.mean((np.log(sums) + top - picked)[..., 0], axis=1), sums

    def value(self, params, rows=None):
        """The loss alone, without the gradient (the runner's full-loss records: on digits a third of the
        explorer's time went to gradients nobody used)."""
        params = as_batch(params, self.dim)
        _, codes, logits, top = self._logits(params, rows)
        value, _ = self._cross_entropy(logits, codes, top, np.exp(logits - top))
        return value + self._penalty(params)[0]

    def value_and_grad(self, params, rows=None):
        X, codes, logits, top = self._logits(params, rows)
        n = X.shape[0]
        exps = np.exp(logits - top)
        value, sums = self._cross_entropy(logits, codes, top, exps)
        residual = exps / sums                                        # the probabilities …
        residual[:, np.arange(n), codes] -= 1.0                       # … minus the one-hot targets
        grad = np.matmul(X.T, residual).reshape(params.shape) / n
        pv, pg = self._penalty(params)
        return value + pv, grad + pg

    def hvp(self, point, vector):
        """Exact: H v = Xᵀ(P⊙(XV) − P·rowsum(P⊙XV))/n (+ l2·v). P is kept for the last point: Lanczos asks for
        hundreds of products at one point (digits: 922 for λ_max and λ_min, 0.53 s → 0.3 s)."""
        shape = (self.X.shape[1], self.n_classes)
        point = np.asarray(point, dtype=np.float64)
        kept = self._probabilities
        if kept is None or not np.array_equal(kept[0], point):
            kept = self._probabilities = (point.copy(), softmax(self.X @ point.reshape(shape), axis=1))
        P = kept[1]
        dZ = self.X @ vector.reshape(shape)
        dP = P * dZ - P * np.sum(P * dZ, axis=1, keepdims=True)
        return (self.X.T @ dP).ravel() / self.n_samples + self.l2 * vector

    def hessian(self, point):
        return None


_MODEL_CLASSES = {"linear": LeastSquares, "logistic": Logistic, "softmax": Softmax}


def least_squares(X, y, l2: float = 0.0) -> LeastSquares:
    """Least squares on your own arrays: f(w) = 1/(2n)‖Xw − y‖² with an intercept."""
    return LeastSquares(X, y, l2=l2)


def logistic(X, y, l2: float = 0.0) -> Logistic:
    """Logistic regression on your own arrays (two classes)."""
    return Logistic(X, y, l2=l2)


def softmax_regression(X, y, l2: float = 0.0) -> Softmax:
    """Softmax (multinomial logistic) regression on your own arrays."""
    return Softmax(X, y, l2=l2)


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"dataset: unknown name {name!r}; choose one of {', '.join(DATASETS)}")
    return name


def _load(name: str):
    """A bundled data set's raw features, target and feature names (a clear error for an unknown name)."""
    _check_name(name)
    try:
        from sklearn import datasets as skd
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError("dataset objectives need scikit-learn: pip install 'lrscope[data]'") from None
    if name == "diabetes":
        bunch = skd.load_diabetes(scaled=False)
    else:
        bunch = getattr(skd, f"load_{name}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    names = [str(f) for f in getattr(bunch, "feature_names", [])] or None
    return X, y, names


def arrays(name: str, standardize: bool = True, fit_rows=None):
    """A bundled data set's features, target and feature names; standardized (z-scores, and diabetes' target) with
    the statistics of ``fit_rows`` only (all rows if None) -- so a held-out part is never looked at."""
    X, y, names = _load(name)
    if standardize:
        ref = slice(None) if fit_rows is None else fit_rows
        std = X[ref].std(axis=0)
        mean, y_ref = X[ref].mean(axis=0), y[ref]
        X = (X - mean) / np.where(std > 0, std, 1.0)
        if name == "diabetes":
            y = (y - y_ref.mean()) / y_ref.std()
    return X, y, names


def held_out_rows(name: str, test_size: float = 0.25, seed: int = 0) -> tuple:
    """Row indices ``(train, test)`` of a bundled data set: ``test_size`` of the rows drawn with ``seed``, stratified
    by class for classification so that both parts hold every class."""
    _check_name(name)
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ValueError(f"test_size: must be a fraction between 0 and 1, got {test_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be an integer >= 0, got {seed!r}")
    _, y, _ = _load(name)
    rng = np.random.default_rng(seed)
    groups = [np.arange(y.size)] if DATASETS[name][0] == "regression" else [np.flatnonzero(y == c)
                                                                            for c in np.unique(y)]
    test = np.sort(np.concatenate([rng.permutation(g)[:max(1, round(test_size * g.size))] for g in groups]))
    return np.setdiff1d(np.arange(y.size), test), test


def _check_name_and_model(name, model):
    """The model to use on data set ``name`` (its default if None); a clear error for a mismatch."""
    target, default_model = DATASETS[_check_name(name)]
    model = default_model if model is None else model
    if model not in MODELS:
        raise ValueError(f"model: unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if model == "linear" and target != "regression":
        raise ValueError(f"model: 'linear' (least squares) needs a regression target; {name} is a classification "
                         f"set: use 'logistic' or 'softmax'")
    if model in ("logistic", "softmax") and target == "regression":
        raise ValueError(f"model: {name} has a continuous target; use 'linear'")
    if model == "logistic" and target == "multiclass":
        raise ValueError(f"model: {name} has more than 2 classes; use 'softmax'")
    return model


def dataset(name: str, model: str | None = None, *, standardize: bool = True, l2: float = 0.0) -> Objective:
    """A model's training loss on one of scikit-learn's bundled data sets (no download).

    ``name``: ``diabetes`` (regression; default model ``linear``), ``breast_cancer`` (binary; ``logistic``),
    ``wine`` and ``digits`` (multiclass; ``softmax``). ``standardize=False`` keeps the raw features (and, for
    diabetes, the raw target in its original units), usually a much worse conditioned problem.
    """
    model = _check_name_and_model(name, model)
    X, y, names = arrays(name, standardize)
    label = f"{name} ({model}{', standardized' if standardize else ', raw'})"
    return _MODEL_CLASSES[model](X, y, name=label, feature_names=names, l2=l2)


def train_test(name: str, model: str | None = None, *, test_size: float = 0.25, standardize: bool = True,
               l2: float = 0.0, seed: int = 0) -> tuple:
    """The model's loss on a training part and on a held-out part of a bundled data set: ``(train, test)``.

    ``test_size`` of the rows (stratified by class for classification, so that both parts hold every class) are
    held out, drawn with ``seed``; standardizing uses the training part's statistics only (the test part is never
    looked at). Give ``test`` to ``ls.find(train, validation=test)`` to pick the rate by held-out loss.
    """
    model = _check_name_and_model(name, model)
    train, test = held_out_rows(name, test_size, seed)
    X, y, names = arrays(name, standardize, fit_rows=train)
    parts = [(X[train], y[train]), (X[test], y[test])]
    how = ", standardized" if standardize else ", raw"
    cls = _MODEL_CLASSES[model]
    return tuple(cls(Xp, yp, name=f"{name} ({model}{how}, {part})", feature_names=names, l2=l2)
                 for (Xp, yp), part in zip(parts, ("train", "held out")))
