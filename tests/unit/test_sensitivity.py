"""Unit tests for repro.methods.sensitivity (exact ℓ1 sensitivities, samplers, ℓ1 regression).

The LP sensitivities are checked against their definition solved by brute force: the ratio
|a_i·x| / ‖Ax‖_1 is maximised at a vertex of the polytope {‖Ax‖_1 ≤ 1}, i.e. at a direction x
orthogonal to d - 1 rows of A, so enumerating those directions on small matrices gives σ_i
exactly.
"""

from itertools import combinations

import numpy as np
import pytest

from repro.methods.sensitivity import (
    inclusion_probabilities,
    l1_regression,
    l1_sensitivities,
    l1_sensitivity,
    leverage_scores,
    relative_excess_error,
    rows_to_reach,
    sample_rows,
    sampling_scores,
)


def _ratio(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """|a_i·x| / ‖Ax‖_1 for every row i (rows of the result) and direction x (columns of X)."""
    Y = A @ X
    norms = np.abs(Y).sum(axis=0)
    keep = norms > 1e-12 * np.abs(A).sum()
    return np.abs(Y[:, keep]) / norms[keep]


def _vertex_sensitivities(A: np.ndarray) -> np.ndarray:
    """Brute force: maximise over every direction orthogonal to d - 1 rows of A."""
    d = A.shape[1]
    directions = []
    for rows in combinations(range(A.shape[0]), d - 1):
        _, s, vt = np.linalg.svd(A[list(rows)])
        if d - 1 == 0 or s[-1] > 1e-9:
            directions.append(vt[-1])
    return _ratio(A, np.array(directions).T).max(axis=1)


def _heavy(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * (rng.pareto(1.5, size=n) + 1)[:, None]


# --- exact sensitivities against brute force ------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_d2_sensitivities_match_vertex_enumeration_and_a_dense_direction_search(seed):
    A = _heavy(25, 2, seed)
    sigma = l1_sensitivities(A)
    np.testing.assert_allclose(sigma, _vertex_sensitivities(A), rtol=1e-8)
    angles = np.linspace(0, np.pi, 200_001)
    grid = _ratio(A, np.vstack([np.cos(angles), np.sin(angles)])).max(axis=1)
    assert np.all(grid <= sigma * (1 + 1e-9))  # no direction beats the LP
    np.testing.assert_allclose(grid, sigma, rtol=1e-4)  # and a fine search gets close to it


@pytest.mark.parametrize("seed", [3, 4])
def test_d3_sensitivities_match_vertex_enumeration(seed):
    A = np.random.default_rng(seed).standard_t(2, size=(14, 3))
    np.testing.assert_allclose(l1_sensitivities(A), _vertex_sensitivities(A), rtol=1e-8)


def test_d4_sensitivities_match_vertex_enumeration_on_a_coherent_matrix():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(12, 4))
    A[:, 3] = 0.0
    A[[2, 7], 3] = [1.5, -0.5]  # the last direction lives in two rows only
    sigma = l1_sensitivities(A)
    np.testing.assert_allclose(sigma, _vertex_sensitivities(A), rtol=1e-8)
    assert sigma[2] > 0.5 and sigma[7] > 0.1


def test_lp_returns_a_maximiser_and_a_dual_certificate():
    A = _heavy(60, 5, 6)
    for i in (0, 17, 59):
        lp = l1_sensitivity(A, i)
        x, z = lp.direction, lp.certificate
        assert A[i] @ x == pytest.approx(1.0)
        # lower bound: the direction attains the value
        assert abs(A[i] @ x) / np.abs(A @ x).sum() == pytest.approx(lp.sensitivity, rel=1e-8)
        # upper bound: A^T z = a_i / σ_i with |z| <= 1 proves no direction does better
        assert np.max(np.abs(z)) <= 1 + 1e-9
        np.testing.assert_allclose(A.T @ z, A[i] / lp.sensitivity, atol=1e-7 * np.abs(A).max())


# --- properties from the definition and the paper -------------------------------------------


@pytest.mark.parametrize(
    "A",
    [
        np.random.default_rng(7).normal(size=(150, 6)),
        _heavy(150, 6, 8),
        np.random.default_rng(9).standard_cauchy(size=(150, 4)),
    ],
    ids=["gaussian", "pareto-rows", "cauchy"],
)
def test_total_sensitivity_lies_between_sqrt_d_and_d_and_sigma_below_root_leverage(A):
    d = A.shape[1]
    sigma = l1_sensitivities(A)
    tau = leverage_scores(A)
    assert np.all((sigma >= 0) & (sigma <= 1 + 1e-9))
    assert np.sqrt(d) - 1e-9 <= sigma.sum() <= d + 1e-9
    # |a_i x| = |u_i·w| <= sqrt(tau_i) ||Uw||_2 <= sqrt(tau_i) ||Ax||_1
    assert np.all(sigma <= np.sqrt(tau) + 1e-9)


def test_gaussian_total_sensitivity_is_near_the_sqrt_d_floor_not_d():
    # For i.i.d. Gaussian rows, σ_i ≈ ‖a_i‖ / (n E|g|), so 𝔖 ≈ √(πd/2) ≈ 1.25 √d.
    A = np.random.default_rng(10).normal(size=(250, 9))
    total = l1_sensitivities(A).sum()
    assert 1.0 * 3 < total < 1.5 * 3


def test_square_invertible_and_isolated_rows_have_sensitivity_one_and_zero_rows_zero():
    rng = np.random.default_rng(11)
    np.testing.assert_allclose(l1_sensitivities(rng.normal(size=(4, 4))), 1.0, rtol=1e-9)
    A = np.hstack([rng.normal(size=(30, 3)), np.zeros((30, 1))])
    A[5, 3] = 2.0  # only row 5 sees the last coordinate
    A[9] = 0.0
    sigma = l1_sensitivities(A)
    assert sigma[5] == pytest.approx(1.0)
    assert sigma[9] == 0.0
    assert sigma.sum() <= 4 + 1e-9


def test_sensitivities_are_invariant_to_a_change_of_basis_and_to_scaling():
    rng = np.random.default_rng(12)
    A = _heavy(40, 3, 12)
    R = rng.normal(size=(3, 3))
    sigma = l1_sensitivities(A)
    np.testing.assert_allclose(l1_sensitivities(A @ R), sigma, rtol=1e-7)
    np.testing.assert_allclose(l1_sensitivities(7.5 * A), sigma, rtol=1e-7)


def test_duplicating_a_row_gives_sigma_over_one_plus_sigma():
    # sup |a x| / (‖Ax‖_1 + |a x|) = σ / (1 + σ): an exact consequence of the definition.
    A = _heavy(30, 3, 13)
    sigma = l1_sensitivity(A, 4).sensitivity
    doubled = np.vstack([A, A[4]])
    assert l1_sensitivity(doubled, 30).sensitivity == pytest.approx(sigma / (1 + sigma), rel=1e-8)
    assert l1_sensitivity(doubled, 4).sensitivity == pytest.approx(sigma / (1 + sigma), rel=1e-8)


def test_leverage_scores_sum_to_the_rank_even_when_rank_deficient():
    rng = np.random.default_rng(14)
    A = rng.normal(size=(50, 3))
    A = np.hstack([A, A[:, :1] + A[:, 1:2]])  # rank 3, 4 columns
    tau = leverage_scores(A)
    assert tau.sum() == pytest.approx(3.0)
    assert np.all((tau >= -1e-12) & (tau <= 1 + 1e-12))


def test_sampling_scores_are_the_papers_four_samplers():
    sigma, tau = np.array([0.5, 0.2, 0.0]), np.array([0.81, 0.04, 0.0])
    scores = sampling_scores(sigma, tau)
    np.testing.assert_allclose(scores["root_leverage"], [0.9, 0.2, 0.0])
    np.testing.assert_allclose(scores["uniform"], 1.0)
    np.testing.assert_allclose(scores["sensitivity"], sigma)


# --- sampling -------------------------------------------------------------------------------


def test_inclusion_probabilities_sum_to_the_budget_cap_at_one_and_stay_proportional():
    q = np.array([50.0, 10.0, 1.0, 1.0, 2.0, 0.0, 4.0])
    pi = inclusion_probabilities(q, 3.0)
    assert pi.sum() == pytest.approx(3.0)
    assert pi[0] == 1.0 and pi[1] == 1.0 and pi[5] == 0.0
    free = [2, 3, 4, 6]
    np.testing.assert_allclose(pi[free] / q[free], pi[2] / q[2])
    np.testing.assert_allclose(inclusion_probabilities(q, 6.0)[q > 0], 1.0)
    with pytest.raises(ValueError, match="budget"):
        inclusion_probabilities(q, 6.5)


def test_weighted_sample_norm_is_unbiased_for_every_direction():
    rng = np.random.default_rng(15)
    A = _heavy(200, 3, 15)
    X = rng.normal(size=(3, 4))
    truth = np.abs(A @ X).sum(axis=0)
    for scores in sampling_scores(l1_sensitivities(A), leverage_scores(A)).values():
        pi = inclusion_probabilities(scores, 20)
        draws = []
        sizes = []
        for _ in range(3000):
            s = sample_rows(pi, rng)
            draws.append(s.weight @ np.abs(A[s.index] @ X))
            sizes.append(s.index.size)
        draws = np.array(draws)
        se = draws.std(axis=0) / np.sqrt(len(draws))
        assert np.all(np.abs(draws.mean(axis=0) - truth) < 4 * se + 1e-12)
        assert np.mean(sizes) == pytest.approx(20, abs=4 * np.std(sizes) / np.sqrt(3000))


def test_rescaled_rows_reproduce_the_lp_norm_weights():
    s = sample_rows(np.array([0.5, 0.25, 1.0]), np.random.default_rng(0), p=1.5)
    np.testing.assert_allclose(s.scale**1.5, s.weight)
    np.testing.assert_allclose(s.weight, 1 / s.probability)


def test_sensitivity_sampling_keeps_the_isolated_row_that_uniform_sampling_misses():
    A = np.hstack([np.random.default_rng(16).normal(size=(100, 2)), np.zeros((100, 1))])
    A[42, 2] = 1.0
    scores = sampling_scores(l1_sensitivities(A), leverage_scores(A))
    assert inclusion_probabilities(scores["sensitivity"], 10)[42] == 1.0
    assert inclusion_probabilities(scores["uniform"], 10)[42] == pytest.approx(0.1)


# --- ℓ1 regression --------------------------------------------------------------------------


def test_l1_regression_on_a_constant_is_the_weighted_median():
    rng = np.random.default_rng(17)
    b = rng.standard_cauchy(31)
    w = rng.uniform(0.1, 3.0, 31)
    fit = l1_regression(np.ones((31, 1)), b, w)
    order = np.argsort(b)
    cum = np.cumsum(w[order])
    median = b[order][np.searchsorted(cum, cum[-1] / 2)]
    assert fit.coef[0] == pytest.approx(median)
    assert fit.objective == pytest.approx(np.sum(w * np.abs(b - median)))


def test_l1_regression_of_an_empty_sample_returns_zeros():
    fit = l1_regression(np.zeros((0, 3)), np.zeros(0), np.zeros(0))
    np.testing.assert_array_equal(fit.coef, 0.0)
    assert fit.objective == 0.0


def test_l1_regression_is_optimal_against_perturbations():
    rng = np.random.default_rng(18)
    A = _heavy(80, 4, 18)
    b = A @ rng.normal(size=4) + rng.laplace(size=80)
    w = rng.uniform(0.5, 2.0, 80)
    fit = l1_regression(A, b, w)
    assert fit.objective == pytest.approx(np.sum(w * np.abs(A @ fit.coef - b)))
    steps = 1e-3 * rng.normal(size=(500, 4))
    values = np.abs((A @ (fit.coef + steps).T) - b[:, None]).T @ w
    assert np.all(values >= fit.objective - 1e-9)
    assert relative_excess_error(A, b, fit.coef, np.abs(A @ fit.coef - b).sum()) == 0.0


def test_l1_regression_matches_statsmodels_median_regression():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(19)
    A = np.column_stack([np.ones(120), rng.normal(size=(120, 3))])
    b = A @ [1.0, -2.0, 0.5, 3.0] + rng.standard_t(2, size=120)
    ours = l1_regression(A, b).objective
    theirs = np.abs(A @ sm.QuantReg(b, A).fit(q=0.5).params - b).sum()
    assert ours <= theirs + 1e-9  # the exact LP is never worse than the iterative solver
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_rows_to_reach_interpolates_on_a_log_budget_axis():
    budgets = np.array([10.0, 20.0, 40.0])
    errors = np.array([0.4, 0.2, 0.1])
    assert rows_to_reach(budgets, errors, 0.4, 100) == 10.0
    assert rows_to_reach(budgets, errors, 0.3, 100) == pytest.approx(np.sqrt(200))
    assert rows_to_reach(budgets, errors, 0.05, 100) == pytest.approx(np.sqrt(4000))
    # a bump is ignored (running minimum): 0.25 is reached between 10 and 20
    assert rows_to_reach(budgets, np.array([0.3, 0.2, 0.5]), 0.25, 100) < 20
