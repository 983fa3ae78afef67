"""Unit tests for repro.methods.privacy (ε intervals from membership-inference counts)."""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from repro.methods.privacy import (
    AttackCounts,
    EpsilonPosterior,
    bayesian_interval,
    clopper_pearson_interval,
    epsilon_from_rates,
    gaussian_delta,
    gaussian_mu,
    gaussian_threshold_rates,
    laplace_threshold_rates,
    randomized_response_rates,
    region_bounds,
    simulate_counts,
)

# --- the privacy region ------------------------------------------------------------------------


def test_implied_epsilon_of_known_points():
    assert epsilon_from_rates(0.5, 0.5) == 0.0  # random guessing
    assert epsilon_from_rates(0.3, 0.7) == 0.0  # on the diagonal
    assert np.isclose(epsilon_from_rates(0.2, 0.1), np.log(0.8 / 0.1))
    assert np.isclose(epsilon_from_rates(0.1, 0.2), np.log(0.8 / 0.1))  # symmetric
    assert np.isclose(epsilon_from_rates(0.2, 0.1, delta=0.05), np.log(0.75 / 0.1))
    assert epsilon_from_rates(0.0, 0.3) == np.inf
    assert epsilon_from_rates(0.45, 0.5, delta=0.1) == 0.0  # inside the δ band


def test_a_worse_than_random_attack_implies_the_epsilon_of_its_complement():
    assert np.isclose(epsilon_from_rates(0.9, 0.8), epsilon_from_rates(0.1, 0.2))


@pytest.mark.parametrize("delta", [0.0, 0.05])
def test_implied_epsilon_is_the_smallest_region_holding_the_point(delta):
    rng = np.random.default_rng(0)
    for fnr, fpr in rng.uniform(0.01, 0.99, size=(200, 2)):
        eps = epsilon_from_rates(fnr, fpr, delta)
        lo, hi = region_bounds(fnr, eps + 1e-9, delta)
        assert lo - 1e-12 <= fpr <= hi + 1e-12
        if eps > 1e-6:
            lo, hi = region_bounds(fnr, eps - 1e-6, delta)
            assert not lo <= fpr <= hi


def test_region_always_holds_the_diagonal_and_grows_with_epsilon():
    x = np.linspace(0, 1, 101)
    for eps in (0.0, 0.5, 2.0):
        lo, hi = region_bounds(x, eps, 0.01)
        assert np.all(lo <= 1 - x + 1e-12) and np.all(1 - x <= hi + 1e-12)
        lo2, hi2 = region_bounds(x, eps + 0.3, 0.01)
        assert np.all(lo2 <= lo) and np.all(hi2 >= hi)


def test_bad_rates_and_delta_are_rejected():
    with pytest.raises(ValueError):
        epsilon_from_rates(1.2, 0.1)
    with pytest.raises(ValueError):
        epsilon_from_rates(0.1, 0.1, delta=1.0)
    with pytest.raises(ValueError):
        AttackCounts(tp=0, fn=0, tn=5, fp=1)


# --- mechanisms with a known ε ------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.5, 1.0, 3.0])
def test_randomized_response_and_laplace_attacks_imply_the_mechanisms_epsilon(eps):
    assert np.isclose(epsilon_from_rates(*randomized_response_rates(eps)), eps)
    for threshold in (1.0, 1.5):
        assert np.isclose(epsilon_from_rates(*laplace_threshold_rates(eps, threshold)), eps)
    # thresholds below the member's count imply less
    assert epsilon_from_rates(*laplace_threshold_rates(eps, 0.5)) < eps - 1e-3


def test_laplace_rates_match_simulated_outputs():
    eps, t = 1.0, 1.0
    rng = np.random.default_rng(1)
    non_member = rng.laplace(0.0, 1 / eps, 400_000)
    member = 1 + rng.laplace(0.0, 1 / eps, 400_000)
    fnr, fpr = laplace_threshold_rates(eps, t)
    assert np.isclose(np.mean(member <= t), fnr, atol=3e-3)
    assert np.isclose(np.mean(non_member > t), fpr, atol=3e-3)


@pytest.mark.parametrize("eps, delta", [(1.0, 0.1), (2.0, 1e-3)])
def test_gaussian_tangent_attack_implies_the_mechanisms_epsilon(eps, delta):
    mu = gaussian_mu(eps, delta)
    assert np.isclose(gaussian_delta(mu, eps), delta)
    fnr, fpr = gaussian_threshold_rates(mu, eps)
    assert np.isclose(epsilon_from_rates(fnr, fpr, delta), eps, atol=1e-9)

    # and no other threshold attack implies more (the tangent point is optimal)
    def implied(t):
        return -epsilon_from_rates(stats.norm.cdf(t - mu), stats.norm.sf(t), delta)

    best = optimize.minimize_scalar(implied, bounds=(-3, 8), method="bounded")
    assert np.isclose(-best.fun, eps, atol=1e-4)


def test_simulated_counts_split_trials_between_members_and_non_members():
    counts = simulate_counts(0.3, 0.2, 101, 2000, np.random.default_rng(2))
    assert all(c.tp + c.fn == 51 and c.tn + c.fp == 50 for c in counts)
    assert np.isclose(np.mean([c.fnr for c in counts]), 0.3, atol=0.01)
    assert np.isclose(np.mean([c.fpr for c in counts]), 0.2, atol=0.01)


# --- the Bayesian estimate ---------------------------------------------------------------------

COUNTS = [
    (AttackCounts(tp=37, fn=13, tn=36, fp=14), 0.0),
    (AttackCounts(tp=250, fn=250, tn=410, fp=90), 0.0),
    (AttackCounts(tp=12, fn=38, tn=47, fp=3), 0.1),
]


def _official_style_cdf(counts, eps, delta):
    """P(ε ≤ eps) the way the official code computes it: dblquad of the joint Beta density
    over R(eps, δ) (here over the central 1 - 2e-9 of the FNR posterior, for speed)."""
    fnr = stats.beta(counts.fn + 0.5, counts.tp + 0.5)
    fpr = stats.beta(counts.fp + 0.5, counts.tn + 0.5)
    value, _ = integrate.dblquad(
        lambda y, x: fnr.pdf(x) * fpr.pdf(y),
        fnr.ppf(1e-9),
        fnr.isf(1e-9),
        lambda x: region_bounds(x, eps, delta)[0],
        lambda x: region_bounds(x, eps, delta)[1],
        epsabs=1e-5,
    )
    return value


@pytest.mark.parametrize("counts, delta", [COUNTS[0], COUNTS[2]])
def test_posterior_cdf_matches_double_integration(counts, delta):
    posterior = EpsilonPosterior(counts, delta)
    for eps in (0.7, 1.2):
        assert np.isclose(posterior.cdf(eps), _official_style_cdf(counts, eps, delta), atol=5e-4)


@pytest.mark.parametrize("counts, delta", COUNTS)
def test_posterior_cdf_matches_sampled_epsilons(counts, delta):
    posterior = EpsilonPosterior(counts, delta)
    draws = posterior.sample(40_000, np.random.default_rng(3))
    for eps in (0.7, 1.0, 1.3):
        p = np.mean(draws <= eps)
        assert abs(posterior.cdf(eps) - p) < 4 * np.sqrt(p * (1 - p) / draws.size) + 1e-3


@pytest.mark.parametrize("counts, delta", COUNTS)
def test_credible_interval_holds_the_posterior_mass_it_claims(counts, delta):
    lo, hi = bayesian_interval(counts, delta, level=0.9)
    posterior = EpsilonPosterior(counts, delta)
    assert np.isclose(posterior.cdf(hi), 0.95, atol=1e-4)
    if lo > 0:
        assert np.isclose(posterior.cdf(lo), 0.05, atol=1e-4)
    else:  # with δ > 0 the posterior has an atom at ε = 0 (the band around the diagonal)
        assert posterior.cdf(0.0) >= 0.05
    point = epsilon_from_rates(counts.fnr, counts.fpr, delta)
    assert lo < point < hi


def test_credible_interval_starts_near_zero_when_epsilon_zero_is_plausible():
    counts = AttackCounts(tp=26, fn=24, tn=24, fp=26)  # an attack no better than guessing
    lo, hi = bayesian_interval(counts)  # δ = 0: the diagonal has no mass, so lo is just above 0
    assert 0 < lo < 0.02 and 0.3 < hi < 1.5
    lo, hi = bayesian_interval(counts, delta=0.05)  # δ > 0: an atom at 0
    assert lo == 0.0


def test_credible_interval_shrinks_around_the_truth_as_trials_grow():
    fnr, fpr = randomized_response_rates(1.0)
    widths = []
    for n in (200, 2000, 20000):
        members = n // 2
        counts = AttackCounts(
            tp=members - round(members * fnr),
            fn=round(members * fnr),
            tn=members - round(members * fpr),
            fp=round(members * fpr),
        )
        lo, hi = bayesian_interval(counts)
        assert lo < 1.0 < hi
        widths.append(hi - lo)
    assert widths[0] > 2.5 * widths[1] > 6 * widths[2]  # about 1/√n


# --- the Clopper-Pearson baseline --------------------------------------------------------------


def test_clopper_pearson_interval_uses_the_corners_of_the_rate_rectangle():
    counts = AttackCounts(tp=37, fn=13, tn=36, fp=14)
    level = 0.95
    lo, hi = clopper_pearson_interval(counts, level=level)
    fnr = stats.beta.ppf([0.0125, 0.9875], [13, 14], [38, 37])
    fpr = stats.beta.ppf([0.0125, 0.9875], [14, 15], [37, 36])
    assert np.isclose(hi, np.log((1 - fpr[0]) / fnr[0]))
    assert np.isclose(lo, np.log((1 - fpr[1]) / fnr[1]))


def test_clopper_pearson_interval_is_zero_based_or_unbounded_at_the_edges():
    assert clopper_pearson_interval(AttackCounts(tp=26, fn=24, tn=24, fp=26))[0] == 0.0
    assert clopper_pearson_interval(AttackCounts(tp=50, fn=0, tn=40, fp=10))[1] == np.inf


def test_clopper_pearson_covers_at_least_nominally_and_is_wider_than_bayes():
    fnr, fpr = laplace_threshold_rates(1.0)
    counts = simulate_counts(fnr, fpr, 200, 150, np.random.default_rng(4))
    cp = np.array([clopper_pearson_interval(c) for c in counts])
    bayes = np.array([bayesian_interval(c) for c in counts])
    covered = np.sum((cp[:, 0] <= 1.0) & (1.0 <= cp[:, 1]))
    assert covered >= 0.95 * len(counts) - 2  # conservative by the union bound
    assert np.mean(bayes[:, 1] - bayes[:, 0]) < np.mean(cp[:, 1] - cp[:, 0])
