"""Cross-check of the multiple-testing steps of repro.methods.conformal against statsmodels.

``bh`` must reject exactly the hypotheses of
``statsmodels.stats.multitest.multipletests(method="fdr_bh")`` on identical p-values, ties and
edge cases included; ``bh_count`` must equal the number of those rejections; and ``ebh`` (e-BH of
Wang & Ramdas) must equal statsmodels' BH applied to ``1 / e``, the identity e-BH is defined by.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from repro.methods.conformal import bh, bh_count, conformal_pvalues, ebh

SEEDS = range(60)


def _random_pvalues(seed: int, ties: bool) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 300))
    signal = rng.random(m) < rng.uniform(0.0, 0.6)
    p = np.where(signal, rng.beta(0.3, 4.0, m), rng.uniform(size=m))
    if ties:  # conformal p-values live on a grid k / (n + 1): many exact ties
        n = int(rng.integers(5, 60))
        p = np.ceil(p * (n + 1)) / (n + 1)
    return p, float(rng.uniform(0.01, 0.6))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_bh_matches_statsmodels(seed: int, ties: bool) -> None:
    p, q = _random_pvalues(seed, ties)
    if ties and p.size > 1:
        assert np.unique(p).size < p.size
    expected = multipletests(p, alpha=q, method="fdr_bh")[0]
    np.testing.assert_array_equal(bh(p, q), expected)
    assert bh_count(p, q) == expected.sum()


@pytest.mark.parametrize("seed", range(20))
def test_bh_on_conformal_pvalues_matches_statsmodels(seed: int) -> None:
    """The p-values the procedures actually feed to BH: randomised and deterministic."""
    rng = np.random.default_rng(100 + seed)
    calib = np.round(rng.normal(size=int(rng.integers(10, 200))), 1)
    calib[rng.random(calib.size) < 0.4] = np.inf  # labels above the threshold
    test = np.round(rng.normal(-0.5, 1.0, size=int(rng.integers(2, 150))), 1)
    for p in (conformal_pvalues(calib, test, rng), conformal_pvalues(calib, test)):
        for q in (0.1, 0.3, 0.5):
            np.testing.assert_array_equal(bh(p, q), multipletests(p, alpha=q, method="fdr_bh")[0])


def test_bh_batched_rows_match_statsmodels_row_by_row() -> None:
    rng = np.random.default_rng(7)
    p = np.ceil(rng.uniform(size=(4, 6, 50)) ** 2 * 31) / 31
    got = bh(p, 0.2)
    for idx in np.ndindex(p.shape[:-1]):
        np.testing.assert_array_equal(got[idx], multipletests(p[idx], 0.2, "fdr_bh")[0])


@pytest.mark.parametrize(
    "p",
    [
        np.array([0.5]),
        np.array([0.01]),
        np.zeros(7),
        np.ones(7),
        np.full(10, 0.03),  # all tied
        np.array([0.02, 0.02, 0.9, 0.9]),
        np.linspace(0.0, 0.2, 21),  # p-values exactly on the thresholds
    ],
)
def test_bh_edge_cases_match_statsmodels(p: np.ndarray) -> None:
    for q in (0.05, 0.1, 0.2):
        np.testing.assert_array_equal(bh(p, q), multipletests(p, alpha=q, method="fdr_bh")[0])


@pytest.mark.parametrize("seed", range(30))
def test_ebh_is_statsmodels_bh_on_inverse_evalues(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    m = int(rng.integers(1, 200))
    e = np.where(rng.random(m) < 0.5, rng.exponential(8.0, m), 0.0)
    q = float(rng.uniform(0.05, 0.5))
    with np.errstate(divide="ignore"):
        p = np.where(e > 0, 1.0 / np.where(e > 0, e, 1.0), np.inf)
    expected = multipletests(np.minimum(p, 1.0), alpha=q, method="fdr_bh")[0]
    np.testing.assert_array_equal(ebh(e, q), expected)
