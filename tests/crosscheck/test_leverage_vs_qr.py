"""Cross-check of repro.methods.sensitivity.leverage_scores (thin SVD) against a QR-based
computation and statsmodels' hat-matrix diagonal (ℓ2 sensitivities are the leverage scores)."""

import numpy as np
import pytest

from repro.methods.sensitivity import leverage_scores


def _matrices():
    rng = np.random.default_rng(0)
    gaussian = rng.normal(size=(300, 8))
    heavy = rng.normal(size=(300, 5)) * (rng.pareto(1.5, size=300) + 1)[:, None]
    ill = rng.normal(size=(200, 4)) @ np.diag([1e4, 1.0, 1e-2, 1e-3])
    return {"gaussian": gaussian, "pareto-rows": heavy, "ill-conditioned": ill}


@pytest.mark.parametrize("name", list(_matrices()))
def test_leverage_scores_match_row_norms_of_q(name):
    A = _matrices()[name]
    Q, _ = np.linalg.qr(A, mode="reduced")
    np.testing.assert_allclose(leverage_scores(A), np.sum(Q**2, axis=1), atol=1e-8)


@pytest.mark.parametrize("name", list(_matrices()))
def test_leverage_scores_match_statsmodels_hat_matrix_diagonal(name):
    sm = pytest.importorskip("statsmodels.api")
    from statsmodels.stats.outliers_influence import OLSInfluence

    A = _matrices()[name]
    y = np.random.default_rng(1).normal(size=A.shape[0])
    hat = OLSInfluence(sm.OLS(y, A).fit()).hat_matrix_diag
    np.testing.assert_allclose(leverage_scores(A), hat, atol=1e-8)
    assert leverage_scores(A).sum() == pytest.approx(A.shape[1])
