"""Objectives: values and gradients against finite differences, Hessians, data sets, clear errors."""

import numpy as np
import pytest

import lrscope as ls

ANALYTIC = {
    "square3": lambda: ls.objectives.square(3),
    "quadratic": lambda: ls.objectives.quadratic(condition=50, dim=4, rotate=True, b=[1, 2, 3, 4]),
    "rosenbrock": ls.objectives.rosenbrock,
    "beale": ls.objectives.beale,
    "himmelblau": ls.objectives.himmelblau,
    "saddle": ls.objectives.saddle,
}
DATA = {
    "diabetes": lambda: ls.objectives.dataset("diabetes", l2=0.01),
    "diabetes_raw": lambda: ls.objectives.dataset("diabetes", standardize=False),
    "breast_cancer": lambda: ls.objectives.dataset("breast_cancer", l2=0.1),
    "wine": lambda: ls.objectives.dataset("wine"),
    "digits": lambda: ls.objectives.dataset("digits", l2=0.01),
}


def _fd_grad(obj, P, h):
    G = np.empty_like(P)
    for i in range(P.shape[1]):
        e = np.zeros(P.shape[1])
        e[i] = h
        G[:, i] = (obj.value(P + e) - obj.value(P - e)) / (2 * h)
    return G


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_analytic_gradients_and_hessians(name):
    obj = ANALYTIC[name]()
    rng = np.random.default_rng(0)
    P = obj.x0 + 0.3 * rng.standard_normal((4, obj.dim))
    np.testing.assert_allclose(obj.grad(P), _fd_grad(obj, P, 1e-6), rtol=1e-6, atol=1e-6)
    H = obj.hessian(P[0])
    Hfd = np.column_stack([(obj.grad(P[0] + 1e-6 * e)[0] - obj.grad(P[0] - 1e-6 * e)[0]) / 2e-6
                           for e in np.eye(obj.dim)])
    np.testing.assert_allclose(H, Hfd, rtol=1e-5, atol=1e-4)
    assert obj.minimizer is not None                      # every built-in knows its minimum
    assert obj.value(obj.minimizer)[0] == pytest.approx(obj.minimum, abs=1e-12)
    np.testing.assert_allclose(obj.grad(obj.minimizer)[0], 0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(DATA))
def test_dataset_gradients_and_hvp(name):
    obj = DATA[name]()
    rng = np.random.default_rng(1)
    scale = 1e-3 if "raw" in name else 0.1
    P = scale * rng.standard_normal((2, obj.dim))
    idx = rng.choice(obj.dim, size=min(obj.dim, 12), replace=False)
    g = obj.grad(P)
    h = 1e-6 * max(1.0, np.abs(P).max())
    for i in idx:
        e = np.zeros(obj.dim)
        e[i] = h
        fd = (obj.value(P + e) - obj.value(P - e)) / (2 * h)
        np.testing.assert_allclose(g[:, i], fd, rtol=1e-5, atol=1e-6 * max(1, np.abs(g).max()))
    v = rng.standard_normal(obj.dim)
    hv = obj.hvp(P[0], v)
    eps = 1e-6
    fd = (obj.grad(P[0] + eps * v)[0] - obj.grad(P[0] - eps * v)[0]) / (2 * eps)
    np.testing.assert_allclose(hv, fd, rtol=1e-4, atol=1e-6 * max(1, np.abs(hv).max()))


def test_dataset_shapes_and_defaults():
    digits = ls.objectives.dataset("digits")
    assert digits.dim == 65 * 10 and digits.n_samples == 1797
    assert digits.value(digits.x0)[0] == pytest.approx(np.log(10))
    bc = ls.objectives.dataset("breast_cancer")
    assert bc.dim == 31 and bc.value(bc.x0)[0] == pytest.approx(np.log(2))
    wine = ls.objectives.dataset("wine", model="softmax")
    assert wine.dim == 14 * 3
    diab = ls.objectives.dataset("diabetes")
    assert diab.variables[-1] == "bias" and "bmi" in diab.variables


def test_standardizing_changes_the_stable_learning_rate():
    raw = ls.theory.analyze(ls.objectives.dataset("breast_cancer", standardize=False))
    std = ls.theory.analyze(ls.objectives.dataset("breast_cancer"))
    assert raw.stable_below < 1e-3 * std.stable_below


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="mnist"), "dataset"),
    (dict(name="digits", model="linear"), "model"),
    (dict(name="diabetes", model="logistic"), "model"),
    (dict(name="wine", model="logistic"), "model"),
    (dict(name="digits", model="transformer"), "model"),
    (dict(name="digits", l2=-1.0), "l2"),
])
def test_dataset_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ls.objectives.dataset(**kwargs)


def test_own_arrays_are_checked():
    with pytest.raises(ValueError, match="y"):
        ls.objectives.least_squares(np.ones((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match="X"):
        ls.objectives.least_squares(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="2 classes"):
        ls.objectives.logistic(np.ones((5, 2)), np.arange(5))
    obj = ls.objectives.logistic(np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2)
    assert obj.dim == 4


def test_quadratic_construction():
    q = ls.objectives.quadratic([1.0, 100.0])
    np.testing.assert_allclose(q.A, np.diag([1.0, 100.0]))
    assert "100" in q.name
    with pytest.raises(ValueError, match="condition"):
        ls.objectives.quadratic(condition=0.5)
    with pytest.raises(ValueError, match="eigenvalues"):
        ls.objectives.quadratic([1.0], condition=3)
    with pytest.raises(ValueError, match="A"):
        ls.objectives.Quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="dim"):
        ls.objectives.square(0)


def test_get_by_name_or_formula():
    assert ls.objectives.get("rosenbrock").name == "rosenbrock"
    assert ls.objectives.get("x^2").x0.tolist() == [10.0]
    f = ls.objectives.get("x**2 + y**2", x0=[1, 2])
    assert f.variables == ("x", "y")
    with pytest.raises(ValueError, match="unknown function"):
        ls.objectives.get("rosenbrok(x)")


def test_batched_value_shapes():
    for make in list(ANALYTIC.values()):
        obj = make()
        assert obj.value(obj.x0).shape == (1,)
        assert obj.grad(np.stack([obj.x0] * 3)).shape == (3, obj.dim)
        with pytest.raises(ValueError, match="params"):
            obj.value(np.ones(obj.dim + 1))
