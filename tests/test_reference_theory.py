"""Theory oracles on quadratics: the bound 2/L, the optimal step 2/(L+μ), the contraction max|1−αλ| (reference)."""

import numpy as np
import pytest

import lrscope as ls


def test_x_squared_analysis():
    a = ls.theory.analyze(ls.objectives.formula("x**2", x0=[10.0]))
    assert (a.L, a.mu, a.stable_below, a.optimal) == (2.0, 2.0, 1.0, 0.5)
    assert a.exact
    np.testing.assert_allclose(a.contraction([0.1, 0.5, 1.0, 1.1]), [0.8, 0.0, 1.0, 1.2])


def test_quadratic_eigenvalues_are_exact():
    q = ls.objectives.quadratic([1.0, 4.0, 25.0], rotate=3)
    a = ls.theory.analyze(q)
    assert a.L == pytest.approx(25.0, rel=1e-12)
    assert a.mu == pytest.approx(1.0, rel=1e-12)
    assert a.condition == pytest.approx(25.0, rel=1e-12)
    assert a.optimal == pytest.approx(2 / 26, rel=1e-12)


@pytest.mark.parametrize("eigenvalues", [(1.0, 10.0), (0.5, 2.0, 30.0)])
def test_just_below_two_over_L_converges_just_above_diverges(eigenvalues):
    q = ls.objectives.quadratic(eigenvalues, rotate=1, b=np.ones(len(eigenvalues)))
    bound = ls.theory.analyze(q).stable_below
    res = ls.sweep(q, lrs=[0.98 * bound, 1.02 * bound], steps=3000)
    assert res.verdicts[0].kind == "converged"
    assert res.verdicts[1].kind == "diverged"
    assert "2/L" in res.verdicts[1].advice


def test_optimal_step_beats_its_neighbours():
    q = ls.objectives.quadratic((1.0, 10.0), rotate=True)
    a = ls.theory.analyze(q)
    lrs = a.optimal * np.array([0.7, 0.85, 1.0, 1.15, 1.3])
    res = ls.sweep(q, lrs=lrs, steps=60)
    dist = np.linalg.norm(res.params[:, -1] - q.minimizer, axis=1)
    assert np.argmin(dist) == 2


@pytest.mark.parametrize("lr", [0.02, 0.1, 0.15, 0.19])
def test_measured_contraction_matches_theory(lr):
    q = ls.objectives.quadratic((1.0, 10.0), rotate=2, x0=[3.0, -4.0])
    a = ls.theory.analyze(q)
    res = ls.sweep(q, lrs=[lr], steps=200)
    err = np.linalg.norm(res.params[0] - q.minimizer, axis=1)
    measured = (err[-1] / err[-21]) ** (1 / 20)          # asymptotic rate over the last 20 steps
    assert measured == pytest.approx(float(a.contraction(lr)), rel=1e-6)


def test_least_squares_is_exact_and_standardizing_improves_conditioning():
    raw = ls.theory.analyze(ls.objectives.dataset("diabetes", standardize=False))
    std = ls.theory.analyze(ls.objectives.dataset("diabetes"))
    assert raw.exact and std.exact
    assert raw.condition > 100 * std.condition
    X = ls.objectives.dataset("diabetes").X
    eig = np.linalg.eigvalsh(X.T @ X / X.shape[0])
    assert std.L == pytest.approx(eig[-1], rel=1e-12) and std.mu == pytest.approx(eig[0], rel=1e-10)


def test_lanczos_on_hvp_matches_dense_hessian():
    obj = ls.objectives.dataset("digits")          # d = 650 > dense limit: Lanczos on exact HVPs
    rng = np.random.default_rng(0)
    point = 0.01 * rng.standard_normal(obj.dim)
    a = ls.theory.analyze(obj, at=point)
    assert "Lanczos" in a.method
    H = np.column_stack([obj.hvp(point, e) for e in np.eye(obj.dim)])
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    assert a.L == pytest.approx(eig[-1], rel=1e-6)
    assert a.mu == pytest.approx(eig[0], abs=1e-8)


def test_lanczos_finds_the_smallest_end_of_a_spectrum_crowded_near_zero():
    # raw digit pixels at the start: hundreds of flat directions, where Lanczos for the smallest eigenvalue does not
    # converge at all (it raised ArpackNoConvergence); the shifted problem L·I − H gives it
    obj = ls.objectives.dataset("digits", standardize=False)
    a = ls.theory.analyze(obj)
    H = np.column_stack([obj.hvp(obj.x0, e) for e in np.eye(obj.dim)])
    eig = np.linalg.eigvalsh(0.5 * (H + H.T))
    assert a.L == pytest.approx(eig[-1], rel=1e-6)
    # flat, as the dense Hessian says -- within Lanczos' tolerance (1e-8 of the spectrum's width, a margin over any
    # rounding: here it is zeroed, |μ| < 1e-10·L)
    assert abs(a.mu) <= 1e-8 * a.L and abs(eig[0]) <= 1e-9 * eig[-1]
    for bad in (float("nan"), 0, -1e-3, 2):
        with pytest.raises(ValueError, match="tol: expected a number in"):
            ls.theory.analyze(obj, tol=bad)
    with pytest.raises(ValueError, match="max_iter"):
        ls.theory.analyze(obj, max_iter=0)


def test_rosenbrock_curvature_at_start_and_along_path():
    r = ls.objectives.rosenbrock()
    a = ls.theory.analyze(r)
    H = r.hessian(r.x0)
    assert a.L == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-12)
    res = ls.sweep(r, lrs=[1e-3], steps=500)
    along = ls.theory.analyze(r, path=res.params[0])
    assert along.L >= a.L and "path" in along.where


def test_momentum_stability_limits():
    q = ls.objectives.square()
    a = ls.theory.analyze(q)
    hb = ls.optim.momentum(beta=0.5, form="heavy_ball")
    assert a.stability_limit(hb) == pytest.approx(2 * 1.5 / 2)
    res = ls.sweep(q, lrs=[0.97 * 1.5, 1.03 * 1.5], optimizer=hb, steps=2000)
    assert [v.kind for v in res.verdicts] == ["converged", "diverged"]
    nag = ls.optim.nesterov(beta=0.5)
    limit = a.stability_limit(nag)
    assert limit == pytest.approx(2 * 1.5 / (2 * 2))
    res = ls.sweep(q, lrs=[0.97 * limit, 1.03 * limit], optimizer=nag, steps=2000)
    assert [v.kind for v in res.verdicts] == ["converged", "diverged"]
    ema = ls.optim.momentum(beta=0.5)
    limit = a.stability_limit(ema)
    res = ls.sweep(q, lrs=[0.97 * limit, 1.03 * limit], optimizer=ema, steps=2000)
    assert [v.kind for v in res.verdicts] == ["converged", "diverged"]


def test_predicted_steps():
    a = ls.theory.analyze(ls.objectives.square())
    assert a.predicted_steps(0.5) == 1
    assert np.isinf(a.predicted_steps(1.1))
    n = int(a.predicted_steps(0.1, tol=1e-6))
    res = ls.sweep(ls.objectives.square(), lrs=[0.1], steps=n)
    assert abs(res.params[0, n, 0]) <= 10 * 1e-6 < abs(res.params[0, n - 2, 0])


@pytest.mark.parametrize("kind, beta", [("gd", 0.0)] + [(kind, beta) for kind in ("heavy_ball", "ema_momentum",
                                                                                    "nesterov")
                                                         for beta in (0.0, 0.5, 0.9, 0.99)])
def test_the_error_factor_crosses_one_at_the_stability_bound(kind, beta):
    """Each method's error factor per step (spectral radius of one step on a quadratic, worst curvature in
    [μ, L]) is below 1 just under its stability bound and above 1 just over it -- the two formulas agree."""
    from lrscope.theory import error_factor, stability_limit
    L, mu = 200.0, 2.0
    bound = stability_limit(kind, L, beta)
    below, above = error_factor(kind, [0.999 * bound, 1.001 * bound], mu, L, beta=beta)
    assert below < 1 < above


def test_the_error_factor_is_the_textbook_one():
    from lrscope.theory import error_factor
    # gradient descent: max |1 - αλ| over the extreme curvatures
    np.testing.assert_allclose(error_factor("gd", [0.005, 0.02], 2.0, 200.0), [0.99, 3.0], rtol=1e-12)
    # heavy ball with complex roots at every curvature: sqrt(β) (Polyak's rate at the tuned α)
    L, mu = 100.0, 1.0
    alpha = 4 / (np.sqrt(L) + np.sqrt(mu)) ** 2
    beta = ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))) ** 2
    np.testing.assert_allclose(error_factor("heavy_ball", [alpha], mu, L, beta=beta), [np.sqrt(beta)], rtol=1e-6)
    assert np.isnan(error_factor("adaptive", [0.1], mu, L)[0])
