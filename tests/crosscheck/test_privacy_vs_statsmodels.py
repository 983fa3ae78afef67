"""Cross-check of the Clopper-Pearson pieces of repro.methods.privacy against statsmodels.

The official code of Zanella-Béguelin et al. (``privacy_estimates.binomial_proportion``) builds
its baseline from ``statsmodels.stats.proportion.proportion_confint(method="beta")``; we build it
from ``repro.stats.binomial_interval``. Both must give the same rate intervals and therefore the
same ε interval.
"""

import numpy as np
import pytest

pytest.importorskip("statsmodels")
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from repro.methods.privacy import (  # noqa: E402
    AttackCounts,
    clopper_pearson_interval,
    epsilon_from_rates,
)
from repro.stats import binomial_interval  # noqa: E402


@pytest.mark.parametrize("n", [1, 7, 50, 333, 5000])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.975, 0.99])
def test_binomial_interval_is_statsmodels_clopper_pearson(n, level):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        ours = binomial_interval(k, n, level)
        theirs = proportion_confint(k, n, alpha=1 - level, method="beta")
        assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12), (k, n, level)


def _official_style_interval(counts, delta, alpha):
    """The official ``compute_eps_lo_hi(method="beta")``, restated with statsmodels."""
    fpr_l, fpr_r = proportion_confint(counts.fp, counts.fp + counts.tn, alpha / 2, "beta")
    fnr_l, fnr_r = proportion_confint(counts.fn, counts.fn + counts.tp, alpha / 2, "beta")
    eps_lo = 0.0 if (fnr_r > 1 - fpr_r) != (fnr_l > 1 - fpr_l) else np.inf
    eps_r = epsilon_from_rates(fnr_r, fpr_r, delta)
    eps_l = epsilon_from_rates(fnr_l, fpr_l, delta)
    return min(eps_l, eps_r, eps_lo), max(eps_l, eps_r)


@pytest.mark.parametrize("delta", [0.0, 1e-3, 0.1])
def test_clopper_pearson_epsilon_interval_matches_the_official_construction(delta):
    rng = np.random.default_rng(0)
    for _ in range(300):
        members, non_members = rng.integers(1, 400, size=2)
        fn, fp = rng.integers(0, members + 1), rng.integers(0, non_members + 1)
        counts = AttackCounts(tp=members - fn, fn=fn, tn=non_members - fp, fp=fp)
        ours = clopper_pearson_interval(counts, delta, level=0.95)
        theirs = _official_style_interval(counts, delta, alpha=0.05)
        assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12), counts
