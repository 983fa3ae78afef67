"""Cross-check of repro.methods.ordinal against statsmodels on identical inputs.

statsmodels' ``OrderedModel(distr="logit")`` writes P(y <= k | x) = F(thr_k - x' beta) with the
thresholds stored as the first one followed by log-increments; ours (ordinalNet's and the paper's)
is P(y <= k | x) = F(alpha_k + x' beta_k). So alpha_k = thr_k and beta_k = -beta for every k.
statsmodels' ``Logit`` writes P(rare) = F(c + x' g); ours P(rare) = 1 - F(alpha + x' beta), so
c = -alpha and g = -beta.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("statsmodels")
import statsmodels.api as sm  # noqa: E402
from statsmodels.miscmodels.ordinal_model import OrderedModel  # noqa: E402

from repro.methods import ordinal  # noqa: E402

CASES = [
    # (seed, n, p, intercepts): the paper's sparse design at two sizes and K = 4 and 5
    (0, 800, 5, (0.0, 2.0, 3.5)),
    (1, 1500, 4, (-1.0, 0.5, 2.0, 3.0)),
]


def _statsmodels_po(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = OrderedModel(y, X, distr="logit").fit(
            method="lbfgs", disp=False, maxiter=5000, pgtol=1e-11, factr=10.0
        )
    assert res.mle_retvals["converged"]
    p = X.shape[1]
    thresholds = res.model.transform_threshold_params(res.params)[1:-1]
    return thresholds, res.params[:p], res.llf


@pytest.mark.parametrize("seed, n, p, intercepts", CASES)
def test_proportional_odds_matches_ordered_model(seed, n, p, intercepts):
    d = ordinal.simulate_relaxed_proportional_odds(n, p, intercepts, np.random.default_rng(seed))
    thresholds, beta, llf = _statsmodels_po(d.X, d.y)
    ours = ordinal.fit_proportional_odds(d.X, d.y)
    assert ours.converged
    assert np.allclose(ours.intercepts, thresholds, atol=1e-6)
    for k in range(len(intercepts)):
        assert np.allclose(ours.coefs[:, k], -beta, atol=1e-6)
    # the same likelihood: our NLL at our fit equals -llf / n
    nll = ordinal.cumulative_logit_nll(ours.intercepts, ours.coefs, d.X, d.y)
    assert nll * n == pytest.approx(-llf, rel=1e-9)


@pytest.mark.parametrize("seed, n, p, intercepts", CASES)
def test_presto_with_huge_penalty_matches_ordered_model(seed, n, p, intercepts):
    d = ordinal.simulate_relaxed_proportional_odds(n, p, intercepts, np.random.default_rng(seed))
    thresholds, beta, _ = _statsmodels_po(d.X, d.y)
    presto = ordinal.fit_presto(d.X, d.y, 1e6, penalize_first=False, tol=1e-14)
    assert np.allclose(presto.intercepts, thresholds, atol=1e-6)
    assert np.allclose(presto.coefs, -beta[:, None], atol=1e-6)


def test_nll_matches_statsmodels_loglike_at_arbitrary_parameters():
    d = ordinal.simulate_relaxed_proportional_odds(
        500, 3, (0.0, 2.0, 3.5), np.random.default_rng(2)
    )
    model = OrderedModel(d.y, d.X, distr="logit")
    beta = np.array([0.3, -0.7, 1.1])
    thresholds = np.array([-0.4, 1.2, 2.9])
    params = np.r_[beta, model.transform_reverse_threshold_params(np.r_[thresholds, np.inf])]
    ours = ordinal.cumulative_logit_nll(thresholds, np.tile(-beta[:, None], 3), d.X, d.y)
    assert ours * len(d.y) == pytest.approx(-model.loglike(params), rel=1e-10)


def test_rare_logistic_matches_statsmodels_logit():
    d = ordinal.simulate_relaxed_proportional_odds(
        2500, 6, (0.0, 3.0, 5.0), np.random.default_rng(3)
    )
    rare = (d.y == 3).astype(float)
    res = sm.Logit(rare, sm.add_constant(d.X)).fit(disp=False, method="newton", tol=1e-12)
    ours = ordinal.fit_rare_logistic(d.X, d.y)
    assert ours.intercepts[0] == pytest.approx(-res.params[0], abs=1e-6)
    assert np.allclose(ours.coefs[:, 0], -res.params[1:], atol=1e-6)
    assert np.allclose(ours.rare_probability(d.X), res.predict(sm.add_constant(d.X)), atol=1e-9)
