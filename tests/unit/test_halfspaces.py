"""Unit tests of repro.methods.halfspaces (the Massart tester-learner at small scale)."""

import numpy as np
import pytest
from scipy.stats import binom, norm

from repro.methods import halfspaces as hs

D = 6


def _w_star(seed: int = 0) -> np.ndarray:
    return hs.random_unit_vector(D, np.random.default_rng(seed))


@pytest.mark.parametrize("kind", hs.NOISES)
def test_massart_noise_rate_matches_eta(kind):
    rng = np.random.default_rng(1)
    w_star, noise = _w_star(), hs.MassartNoise(kind, eta_max=0.2, width=0.5)
    X = rng.normal(size=(200_000, D))
    y = hs.massart_labels(X, w_star, noise, rng)
    clean = np.where(X @ w_star >= 0, 1.0, -1.0)
    flipped = y != clean
    eta = noise.rate(X, w_star)
    assert np.all((eta >= 0) & (eta <= 0.2))
    assert not np.any(flipped[eta == 0])  # never flips where eta(x) = 0
    assert flipped[eta > 0].mean() == pytest.approx(0.2, abs=0.005)
    # the overall flip rate is opt = E[eta(x)], which has a closed form under N(0, I)
    assert flipped.mean() == pytest.approx(noise.gaussian_opt(), abs=0.003)
    assert hs.zero_one_error(w_star, X, y) == pytest.approx(noise.gaussian_opt(), abs=0.003)


def test_massart_noise_rejects_rates_of_one_half():
    with pytest.raises(ValueError):
        hs.MassartNoise("uniform", eta_max=0.5)


def test_excess_error_identity_on_gaussian_data():
    rng = np.random.default_rng(2)
    w_star = np.eye(D)[0]
    theta = 0.3
    w = np.cos(theta) * w_star + np.sin(theta) * np.eye(D)[1]
    noise = hs.MassartNoise("uniform", eta_max=0.1)
    X = rng.normal(size=(400_000, D))
    assert hs.excess_error(w_star, w_star, X, noise) == 0.0
    # err(w) - opt = (1 - 2 eta) P[wedge] = (1 - 2 eta) theta / pi under N(0, I)
    expected = 0.8 * theta / np.pi
    assert hs.excess_error(w, w_star, X, noise) == pytest.approx(expected, rel=0.02)
    y = hs.massart_labels(X, w_star, noise, rng)
    direct = hs.zero_one_error(w, X, y) - hs.zero_one_error(w_star, X, y)
    assert direct == pytest.approx(expected, abs=0.003)
    assert hs.angle(w, w_star) == pytest.approx(theta)


def test_marginals_keep_unit_variance_and_deviate_where_intended():
    rng = np.random.default_rng(3)
    w_star = _w_star(3)
    n = 200_000
    for kind in hs.MARGINALS:
        X = hs.Marginal(kind).sample(n, w_star, rng)
        t = X @ w_star
        assert abs(t.mean()) < 0.02 and t.var() == pytest.approx(1.0, abs=0.03), kind
        assert np.allclose(X.T @ X / n, np.eye(D), atol=0.04), kind
    band = 0.1
    p_gauss = hs.gaussian_band_mass(band)
    slab = hs.Marginal("slab").sample(n, w_star, rng) @ w_star
    hole = hs.Marginal("hole").sample(n, w_star, rng) @ w_star
    assert np.mean(np.abs(slab) <= band) > 1.2 * p_gauss
    assert np.mean(np.abs(hole) <= band) == 0.0
    shear = hs.Marginal("shear", width=0.3, factor=1.6).sample(n, w_star, rng)
    inside = np.abs(shear @ w_star) <= 0.3
    assert np.mean(inside) == pytest.approx(hs.gaussian_band_mass(0.3), abs=0.005)
    basis = hs._orthonormal_complement(w_star)
    conditional = np.linalg.eigvalsh(np.cov((shear[inside] @ basis).T))
    assert conditional.max() == pytest.approx(1.6**2, rel=0.05)


def test_orthonormal_complement():
    w = _w_star(4)
    B = hs._orthonormal_complement(w)
    assert B.shape == (D, D - 1)
    assert np.allclose(B.T @ B, np.eye(D - 1)) and np.allclose(w @ B, 0.0)


def test_statistics_on_known_distributions():
    rng = np.random.default_rng(5)
    n = 20_000
    w = _w_star(5)
    gaussian = hs.test_statistics(w, rng.normal(size=(n, D)), (0.1, 1.0), 0.3)
    assert all(v < 5 for v in gaussian.values())
    # uniform coordinates with unit variance: same first two moments, but the band mass around
    # e_1 is s / sqrt(3) instead of 2 Phi(s) - 1
    uniform = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(n, D))
    stats = hs.test_statistics(np.eye(D)[0], uniform, (0.1, 1.0), 0.3)
    p, q = hs.gaussian_band_mass(1.0), 1 / np.sqrt(3)
    assert stats["band mass 1"] == pytest.approx(abs(q - p) / np.sqrt(p * (1 - p) / n), rel=0.1)
    assert stats["global second moment"] < 5
    # a sample with covariance 2 I fails the second-moment statistic by a wide margin
    wide = hs.test_statistics(w, np.sqrt(2) * rng.normal(size=(n, D)), (0.1,), 0.3)
    assert wide["global second moment"] > 0.9 * np.sqrt(n)


def test_band_mass_threshold_is_the_exact_binomial_quantile():
    n, p, level = 5000, hs.gaussian_band_mass(0.3), 0.99
    z = hs._band_mass_threshold(n, p, level)
    k = np.arange(n + 1)
    dev = np.abs(k / n - p) / np.sqrt(p * (1 - p) / n)
    assert binom.pmf(k[dev > z + 1e-12], n, p).sum() <= 1 - level
    assert binom.pmf(k[dev >= z - 1e-12], n, p).sum() > 1 - level  # and it is the smallest


def test_calibrated_tester_has_its_level_on_gaussian_data():
    n, alpha = 1000, 0.1
    tester = hs.calibrate_tester(n, D, np.random.default_rng(6), alpha=alpha, n_simulations=1000)
    rng = np.random.default_rng(7)
    runs = 300
    accepted = sum(
        tester.decide(tester.statistics(hs.random_unit_vector(D, rng), rng.normal(size=(n, D))))[
            "accept"
        ]
        for _ in range(runs)
    )
    # Bonferroni: rejection probability <= alpha (up to Monte Carlo error of 3 standard errors)
    assert accepted / runs >= 1 - alpha - 3 * np.sqrt(alpha * (1 - alpha) / runs)
    assert accepted < runs  # not a tester that accepts everything


def test_smoothed_loss_gradient_is_the_derivative_on_the_sphere():
    rng = np.random.default_rng(8)
    X, y, w = rng.normal(size=(500, D)), rng.choice([-1.0, 1.0], size=500), _w_star(8)
    _, g = hs.smoothed_loss(w, X, y, 0.2)
    assert abs(g @ w) < 1e-12
    v = hs._orthonormal_complement(w)[:, 0]
    eps = 1e-6

    def along(t):
        u = w + t * v
        return hs.smoothed_loss(u / np.linalg.norm(u), X, y, 0.2)[0]

    assert (along(eps) - along(-eps)) / (2 * eps) == pytest.approx(g @ v, rel=1e-5)


def test_learner_angle_shrinks_with_the_sample_size():
    noise = hs.MassartNoise("boundary", eta_max=0.2, width=0.5)
    angles = {}
    for n in (400, 12_000):
        values = []
        for r in range(4):
            rng = np.random.default_rng([9, r])
            w_star = hs.random_unit_vector(D, rng)
            X = rng.normal(size=(n, D))
            y = hs.massart_labels(X, w_star, noise, rng)
            values.append(hs.angle(hs.psgd(X, y, 0.1, rng, n_steps=1000).w, w_star))
        angles[n] = np.mean(values)
    assert angles[12_000] < 0.6 * angles[400]
    assert angles[12_000] < 0.06


def test_tester_learner_accepts_gaussian_and_rejects_crafted_marginals():
    n = 6000
    tester = hs.calibrate_tester(n, D, np.random.default_rng(10), n_simulations=1000)
    noise = hs.MassartNoise("boundary", eta_max=0.2)
    decisions = {}
    for kind in ("gaussian", "slab", "shear"):
        rng = np.random.default_rng(11)
        w_star = hs.random_unit_vector(D, rng)
        X = hs.Marginal(kind).sample(2 * n, w_star, rng)
        y = hs.massart_labels(X, w_star, noise, rng)
        out = hs.tester_learner(X[:n], y[:n], X[n:], tester, rng, psgd_options={"n_steps": 1000})
        decisions[kind] = out.decisions
    assert decisions["gaussian"]["accept"]
    assert not decisions["slab"]["T1 band masses"] and decisions["slab"]["T0 global moments"]
    assert not decisions["shear"]["T2 band-conditional moments"]
    assert decisions["shear"]["T0 global moments"] and decisions["shear"]["T1 band masses"]
    with pytest.raises(ValueError, match="calibrated"):
        hs.tester_learner(X[:n], y[:n], X[: n // 2], tester, np.random.default_rng(0))


def test_gaussian_band_mass():
    assert hs.gaussian_band_mass(1.0) == pytest.approx(norm.cdf(1) - norm.cdf(-1))


def test_wishart_identity_has_the_wishart_moments():
    rng = np.random.default_rng(12)
    m, k, draws = 50, 4, 20_000
    W = hs.wishart_identity(np.full(draws, m), k, rng)
    assert np.allclose(W, np.swapaxes(W, 1, 2))
    # E[W] = m I; Var[W_ii] = 2m, Var[W_ij] = m (i != j) for Wishart(m, I)
    assert np.allclose(W.mean(axis=0), m * np.eye(k), atol=0.25)
    assert W[:, 0, 0].var() == pytest.approx(2 * m, rel=0.05)
    assert W[:, 2, 1].var() == pytest.approx(m, rel=0.05)
    # the last diagonal entry of the Bartlett factor has the fewest degrees of freedom:
    # W_kk is still chi2(m) (rotation invariance), so all diagonal variances agree
    assert W[:, k - 1, k - 1].var() == pytest.approx(2 * m, rel=0.05)


def test_stacked_psgd_solves_each_problem_separately():
    # three problems with different targets, trained in lockstep: each run must find its own w*
    rng = np.random.default_rng(13)
    noise = hs.MassartNoise("uniform", eta_max=0.1)
    w_stars = np.stack([hs.random_unit_vector(D, rng) for _ in range(3)])
    X = rng.normal(size=(3, 8000, D))
    y = np.stack([hs.massart_labels(X[r], w_stars[r], noise, rng) for r in range(3)])
    fits = hs.psgd_stacked(X, y, 0.1, rng, n_steps=800)
    for fit, w_star in zip(fits, w_stars, strict=True):
        assert hs.angle(fit.w, w_star) < 0.1
        assert fit.candidates.shape == (20, D) and fit.gradient_norms.shape == (20,)
        assert np.linalg.norm(fit.w) == pytest.approx(1.0)
    # the selected candidate is the most stationary one, with the full-sample gradient norm
    g = hs.smoothed_loss(fits[1].w, X[1], y[1], 0.1)[1]
    assert np.linalg.norm(g) == pytest.approx(fits[1].gradient_norms.min(), rel=1e-9)


def test_stacked_tester_learner_checks_shapes_and_tests_each_run():
    n = 3000
    tester = hs.calibrate_tester(n, D, np.random.default_rng(14), n_simulations=500)
    rng = np.random.default_rng(15)
    w_star = hs.random_unit_vector(D, rng)
    noise = hs.MassartNoise("boundary", eta_max=0.2)
    X = np.stack([hs.Marginal(k).sample(2 * n, w_star, rng) for k in ("gaussian", "hole")])
    y = np.stack([hs.massart_labels(x, w_star, noise, rng) for x in X])
    outcomes = hs.tester_learner_stacked(
        X[:, :n], y[:, :n], X[:, n:], tester, rng, psgd_options={"n_steps": 600}
    )
    assert outcomes[0].decisions["T1 band masses"]  # Gaussian band masses
    assert not outcomes[1].decisions["T1 band masses"]  # the hole has no mass near the boundary
    with pytest.raises(ValueError, match="calibrated"):
        hs.tester_learner_stacked(X[:, :n], y[:, :n], X[:1, n:], tester, rng)
