"""Unit tests of repro.methods.ordinal (PRESTO, proportional odds, rare-class logistic)."""

import numpy as np
import pytest

from repro.methods import ordinal

EPS = 1e-6


def _toy(seed: int = 0, n: int = 300, p: int = 3, K: int = 4):
    """Random labels and parameters whose cumulative probabilities never cross on the sample:
    x in [-1, 1]^p, thresholds 1.25 apart, weight vectors within 0.1 of a common one."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, p))
    intercepts = np.linspace(-1.0, 1.5, K - 1)
    coefs = rng.normal(size=(p, 1)) + 0.1 * rng.uniform(-1.0, 1.0, size=(p, K - 1))
    y = rng.integers(0, K, size=n)
    return X, y, intercepts, coefs


def _sparse_data(seed: int, n: int = 1200, intercepts=(0.0, 2.0, 3.5)):
    return ordinal.simulate_relaxed_proportional_odds(n, 5, intercepts, np.random.default_rng(seed))


def test_nll_is_minus_mean_log_of_the_class_probabilities():
    X, y, a, B = _toy()
    probs = ordinal.CumulativeLogitFit(a, B).class_probabilities(X)
    assert np.allclose(probs.sum(axis=1), 1.0)
    direct = -np.mean(np.log(probs[np.arange(len(y)), y]))
    assert ordinal.cumulative_logit_nll(a, B, X, y) == pytest.approx(direct, rel=1e-12)


def test_nll_is_infinite_where_cumulative_probabilities_cross():
    X, y, a, B = _toy()
    crossing = np.array([1.0, 0.0, 2.0])  # alpha_1 < alpha_0 with zero weights: P(y = 1) < 0
    assert ordinal.cumulative_logit_nll(crossing, 0 * B, X, y) == np.inf
    with pytest.raises(ValueError, match="non-positive"):
        ordinal.cumulative_logit_gradient(crossing, 0 * B, X, y)


def test_nll_is_stable_for_large_linear_predictors():
    X, y, a, B = _toy()
    far = ordinal.cumulative_logit_nll(a + 40.0, B, X, y)  # every P(y <= k) is ~1
    assert np.isfinite(far) and far > 30


def test_gradient_matches_finite_differences():
    X, y, a, B = _toy(1)
    _, ga, gB = ordinal.cumulative_logit_gradient(a, B, X, y)

    def nll(a_, B_):
        return ordinal.cumulative_logit_nll(a_, B_, X, y)

    num_a = [(nll(a + EPS * e, B) - nll(a - EPS * e, B)) / (2 * EPS) for e in np.eye(a.size)]
    assert np.allclose(ga, num_a, atol=1e-8)
    num_B = np.zeros_like(B)
    for idx in np.ndindex(B.shape):
        E = np.zeros_like(B)
        E[idx] = EPS
        num_B[idx] = (nll(a, B + E) - nll(a, B - E)) / (2 * EPS)
    assert np.allclose(gB, num_B, atol=1e-8)


def test_hessian_matches_finite_differences_of_the_gradient():
    X, y, a, B = _toy(2, p=2)
    p, m = B.shape
    H = ordinal.cumulative_logit_hessian(a, B, X, y)

    def grad_z(z):
        Z = z.reshape(m, p + 1)
        _, ga, gB = ordinal.cumulative_logit_gradient(Z[:, 0], Z[:, 1:].T, X, y)
        return np.column_stack([ga, gB.T]).ravel()

    z0 = np.column_stack([a, B.T]).ravel()
    numeric = np.array(
        [(grad_z(z0 + EPS * e) - grad_z(z0 - EPS * e)) / (2 * EPS) for e in np.eye(z0.size)]
    ).T
    assert np.allclose(H, numeric, atol=1e-8)
    assert np.all(np.linalg.eigvalsh(H) > 0)  # convex where the probabilities are positive


def test_lasso_qp_solves_the_penalised_quadratic():
    rng = np.random.default_rng(3)
    for trial in range(40):
        d = int(rng.integers(3, 25))
        A = rng.normal(size=(d + 5, d)) * rng.uniform(0.05, 3.0, size=d)
        H = A.T @ A / (d + 5)
        c = rng.normal(size=d)
        t = rng.uniform(0.0, 1.0, size=d)
        t[:2] = 0.0  # two unpenalised coordinates
        u = ordinal.lasso_qp(c, H, t, rng.normal(size=d) * (rng.random(d) < 0.5))
        # KKT conditions of the (strictly convex) problem certify the minimum
        grad = c + H @ u
        nz = u != 0
        assert np.allclose(grad[nz] + t[nz] * np.sign(u[nz]), 0.0, atol=1e-8)
        assert np.all(np.abs(grad[~nz]) <= t[~nz] + 1e-8)
        assert np.any(~nz[2:]) or trial > 0  # the first problem has zero coordinates
        if trial < 5:  # and coordinate descent reaches the same objective value
            ref = ordinal._lasso_cd(c, H, t, np.zeros(d), tol=1e-12, max_sweeps=20_000)
            obj = ordinal._qp_objective
            assert obj(c, H, t, u) <= obj(c, H, t, ref) + 1e-9


def test_huge_penalty_without_first_vector_penalty_is_proportional_odds():
    d = _sparse_data(4)
    po = ordinal.fit_proportional_odds(d.X, d.y)
    presto = ordinal.fit_presto(d.X, d.y, 1e6, penalize_first=False, tol=1e-14)
    assert np.allclose(np.diff(presto.coefs, axis=1), 0.0, atol=1e-12)  # differences are zero
    assert np.allclose(presto.coefs, po.coefs, atol=1e-7)
    assert np.allclose(presto.intercepts, po.intercepts, atol=1e-7)


def test_lambda_max_is_the_kkt_boundary_of_the_all_zero_solution():
    d = _sparse_data(5)
    lam_max = ordinal.presto_lambda_max(d.X, d.y)
    above = ordinal.fit_presto(d.X, d.y, 1.001 * lam_max)
    below = ordinal.fit_presto(d.X, d.y, 0.9 * lam_max)
    assert np.all(above.coefs == 0)
    counts = np.bincount(d.y)
    share = np.cumsum(counts)[:-1] / counts.sum()
    assert np.allclose(above.intercepts, np.log(share / (1 - share)), atol=1e-8)
    assert np.any(below.coefs != 0)


def test_path_objective_and_likelihood_are_ordered():
    d = _sparse_data(6)
    lam_max = ordinal.presto_lambda_max(d.X, d.y)
    path = ordinal.presto_path(d.X, d.y, ordinal.lambda_grid(lam_max, 8, 0.001), tol=1e-12)
    assert all(f.converged for f in path)
    nll = [ordinal.cumulative_logit_nll(f.intercepts, f.coefs, d.X, d.y) for f in path]
    assert np.all(np.diff(nll) <= 1e-10)  # less penalty, better fit
    assert np.all(np.diff([f.objective for f in path]) <= 1e-12)
    # near lambda = 0 PRESTO is at least as likely as PO (PO is a special case)
    po = ordinal.fit_proportional_odds(d.X, d.y)
    unpenalised = ordinal.fit_presto(d.X, d.y, 0.0, tol=1e-12)
    po_nll = ordinal.cumulative_logit_nll(po.intercepts, po.coefs, d.X, d.y)
    assert (
        ordinal.cumulative_logit_nll(unpenalised.intercepts, unpenalised.coefs, d.X, d.y) < po_nll
    )


def test_presto_solution_is_a_minimum_of_its_objective():
    d = _sparse_data(7)
    lam = 0.2 * ordinal.presto_lambda_max(d.X, d.y)
    fit = ordinal.fit_presto(d.X, d.y, lam, tol=1e-14)
    scale = d.X.std(axis=0)

    def objective(a, B):
        psi = np.diff(np.column_stack([np.zeros(B.shape[0]), B]), axis=1) * scale[:, None]
        return ordinal.cumulative_logit_nll(a, B, d.X, d.y) + lam * np.abs(psi).sum()

    best = objective(fit.intercepts, fit.coefs)
    rng = np.random.default_rng(0)
    for _ in range(200):
        da, dB = (
            1e-3 * rng.normal(size=fit.intercepts.shape),
            1e-3 * rng.normal(size=fit.coefs.shape),
        )
        assert objective(fit.intercepts + da, fit.coefs + dB) >= best - 1e-12
    assert fit.objective == pytest.approx(best, rel=1e-9)


def test_rare_probability_is_one_minus_last_cumulative_probability():
    X, y, a, B = _toy(8)
    fit = ordinal.CumulativeLogitFit(a, B)
    assert np.allclose(fit.rare_probability(X), fit.class_probabilities(X)[:, -1])


def test_rare_logistic_is_a_binary_fit_of_the_last_class():
    d = _sparse_data(9)
    fit = ordinal.fit_rare_logistic(d.X, d.y)
    assert fit.n_classes == 2
    # score equations of logistic regression: residuals orthogonal to 1 and x
    resid = (d.y == 3) - fit.rare_probability(d.X)
    assert abs(resid.sum()) < 1e-6 and np.all(np.abs(d.X.T @ resid) < 1e-6)


def test_brier_score_on_a_known_case():
    probs = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    y = np.array([0, 2])
    assert ordinal.brier_score(probs, y) == pytest.approx((0.0 + 0.04 + 0.09 + 0.25) / 2)


def test_cross_validation_picks_the_smallest_mean_brier_and_is_deterministic():
    d = _sparse_data(10, n=600)
    cv = ordinal.cross_validate_presto(d.X, d.y, np.random.default_rng(1), n_folds=3, n_lambda=6)
    again = ordinal.cross_validate_presto(d.X, d.y, np.random.default_rng(1), n_folds=3, n_lambda=6)
    mean = cv.brier.mean(axis=1)
    assert cv.brier.shape == (6, 3)
    assert cv.best_index == int(np.argmin(mean))
    assert np.all(np.diff(cv.lambdas) < 0)
    assert np.array_equal(cv.fit.coefs, cv.path[cv.best_index].coefs)
    assert np.array_equal(cv.brier, again.brier) and cv.best_lambda == again.best_lambda


def test_lambda_grid():
    grid = ordinal.lambda_grid(2.0, 20, 0.01)
    assert grid[0] == pytest.approx(2.0) and grid[-1] == pytest.approx(0.02)
    assert np.allclose(np.diff(np.log(grid)), np.log(0.01) / 19)
    with pytest.raises(ValueError):
        ordinal.lambda_grid(0.0)


def test_simulation_follows_the_papers_sparse_design():
    d = ordinal.simulate_relaxed_proportional_odds(
        4000, 10, (0.0, 3.0, 5.0), np.random.default_rng(11)
    )
    assert d.X.shape == (4000, 10) and d.coefs.shape == (10, 3)
    assert np.all(np.abs(d.X) <= 1)
    assert set(np.unique(d.coefs[:, 0])) <= {0.0, 1.0}
    assert set(np.unique(np.diff(d.coefs, axis=1))) <= {-0.5, 0.0, 0.5}
    assert np.unique(d.y).tolist() == [0, 1, 2, 3]
    probs = ordinal.CumulativeLogitFit(d.intercepts, d.coefs).class_probabilities(d.X)
    assert np.all(probs >= 0)
    # the sampled classes follow the model: observed vs expected counts per class
    expected = probs.sum(axis=0)
    observed = np.bincount(d.y, minlength=4)
    assert np.all(np.abs(observed - expected) < 4 * np.sqrt(expected))
    assert np.allclose(d.rare_probability(d.X), probs[:, -1])


def test_simulation_dense_design_and_determinism():
    a = ordinal.simulate_relaxed_proportional_odds(
        500, 4, (0.0, 3.0, 5.0), np.random.default_rng(12), differences="dense"
    )
    b = ordinal.simulate_relaxed_proportional_odds(
        500, 4, (0.0, 3.0, 5.0), np.random.default_rng(12), differences="dense"
    )
    assert np.array_equal(a.y, b.y) and np.array_equal(a.coefs, b.coefs)
    assert np.all(np.abs(a.coefs[:, 0]) <= 0.5) and np.all(np.abs(np.diff(a.coefs, axis=1)) <= 0.5)
    with pytest.raises(ValueError):
        ordinal.simulate_relaxed_proportional_odds(10, 2, (1.0, 0.0), np.random.default_rng(0))
