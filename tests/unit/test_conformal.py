"""Unit tests for repro.methods.conformal (conformal selection and OptCS)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom
from sklearn.kernel_ridge import KernelRidge

from repro.methods import conformal as cs

# --- scores, counts and p-values ---------------------------------------------------------------


def test_clipped_scores_put_labels_above_the_threshold_at_infinity():
    calib, test = cs.clipped_scores([0.5, 1.0, 2.0], [0.3, -1.0, 0.0], [1.5, -0.2], threshold=0.0)
    np.testing.assert_array_equal(calib, [np.inf, -1.0, -2.0])
    np.testing.assert_array_equal(test, [-1.5, 0.2])


@pytest.mark.parametrize("seed", range(10))
def test_count_at_most_matches_brute_force_with_ties_and_broadcasting(seed):
    rng = np.random.default_rng(seed)
    calib = np.round(rng.normal(size=(3, 1, int(rng.integers(1, 40)))), 1)
    calib[0, 0, 0] = np.inf
    values = np.round(rng.normal(size=(1, 4, int(rng.integers(1, 40)))), 1)
    for strict in (False, True):
        got = cs.count_at_most(calib, values, strict=strict)
        compare = np.less if strict else np.less_equal
        expected = compare(calib[..., None, :], values[..., :, None]).sum(-1)
        assert got.shape == (3, 4, values.shape[-1])
        np.testing.assert_array_equal(got, expected)


def test_conformal_pvalues_by_hand():
    calib = np.array([1.0, 2.0, 2.0, 3.0, np.inf])
    test = np.array([0.5, 2.0, 4.0])
    # deterministic: (1 + #{V_i <= v}) / (n + 1), n = 5
    np.testing.assert_allclose(cs.conformal_pvalues(calib, test), [1 / 6, 4 / 6, 5 / 6])
    # randomised: (#{V_i < v} + U (1 + #{V_i = v})) / (n + 1) with the same U draws
    u = np.random.default_rng(3).uniform(size=3)
    got = cs.conformal_pvalues(calib, test, np.random.default_rng(3))
    np.testing.assert_allclose(got, [(0 + u[0]) / 6, (1 + 3 * u[1]) / 6, (4 + u[2]) / 6])


def _superuniform_excess(p: np.ndarray, levels, alpha: float) -> list[str]:
    """Levels t at which #{p <= t} exceeds the binomial(N, t) upper (1 - alpha) quantile."""
    failures = []
    for t in levels:
        count = int((p <= t).sum())
        bound = binom.ppf(1 - alpha, p.size, t)
        if count > bound:
            failures.append(f"t={t}: {count} of {p.size} > bound {bound:.0f}")
    return failures


LEVELS = (0.02, 0.05, 0.1, 0.2, 0.5)
ALPHA = 1e-4  # per level and test: a false alarm somewhere in this file has probability < 1e-2


@pytest.mark.parametrize("ties", [False, True])
def test_conformal_pvalues_are_superuniform_under_exchangeability(ties):
    """Null scores i.i.d.: P(p <= t) <= t, judged by a binomial bound that can fail."""
    rng = np.random.default_rng(11)
    reps, n = 20_000, 19
    scores = rng.normal(size=(reps, n + 1))
    if ties:
        scores = np.round(scores)  # five or so distinct values: heavy ties
    calib, test = scores[:, :n], scores[:, n:]
    for p in (
        cs.conformal_pvalues(calib, test, rng)[:, 0],
        cs.conformal_pvalues(calib, test)[:, 0],
    ):
        assert not _superuniform_excess(p, LEVELS, ALPHA)
    # the randomised p-value is exactly uniform: it must not be grossly conservative either
    p = cs.conformal_pvalues(calib, test, rng)[:, 0]
    assert abs((p <= 0.5).mean() - 0.5) < 0.02


def test_superuniformity_check_fails_for_an_invalid_pvalue():
    """The same check flags the p-value that drops the tie term (#{V_i < v} / (n + 1))."""
    rng = np.random.default_rng(12)
    reps, n = 20_000, 19
    scores = np.round(rng.normal(size=(reps, n + 1)))
    calib, test = scores[:, :n], scores[:, n:]
    invalid = cs.count_at_most(calib, test, strict=True)[:, 0] / (n + 1)
    assert _superuniform_excess(invalid, LEVELS, ALPHA)


def test_conformal_pvalues_valid_on_null_points_with_the_clipped_score():
    """Jin & Candès: P(p_j <= t, H_j true) <= t when labels above c get the score +inf."""
    rng = np.random.default_rng(13)
    reps, n = 20_000, 29
    x = rng.normal(size=(reps, n + 1))
    y = x + rng.normal(size=(reps, n + 1))
    calib, test = cs.clipped_scores(x[:, :n], y[:, :n], x[:, n:])
    p = cs.conformal_pvalues(calib, test, rng)[:, 0]
    null = y[:, n] <= 0
    assert not _superuniform_excess(np.where(null, p, 2.0), LEVELS, ALPHA)


# --- BH and e-BH --------------------------------------------------------------------------------


def test_bh_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.5])  # thresholds q k / m: 0.025, 0.05, 0.075, 0.1
    np.testing.assert_array_equal(cs.bh(p, 0.1), [True, True, True, False])
    assert cs.bh_count(p, 0.1) == 3
    np.testing.assert_array_equal(cs.bh(p, 0.01), [False] * 4)
    with pytest.raises(ValueError, match="q must lie"):
        cs.bh(p, 0.0)


@pytest.mark.parametrize("seed", range(10))
def test_bh_count_on_an_integer_grid_equals_bh_count(seed):
    """OptCS counts BH selections of p = a / (n + 1) without sorting; same answer as sorting."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 80)), int(rng.integers(1, 120))
    numerators = rng.integers(0, n + 2, size=(4, 3, m))
    for q in (0.1, 0.2, 0.25, 0.3, 0.5, float(rng.uniform(0.01, 0.9))):
        np.testing.assert_array_equal(
            cs._bh_count_on_grid(numerators, n + 1, q), cs.bh_count(numerators / (n + 1), q)
        )


def test_ebh_by_hand_including_the_boundary():
    # m = 4, q = 0.5: e_(k) >= m / (q k) = 8, 4, 8/3, 2
    e = np.array([8.0, 4.0, 0.0, 1.0])
    np.testing.assert_array_equal(cs.ebh(e, 0.5), [True, True, False, False])
    # e-values produced by OptCS sit exactly on m / (q R): they must be selected
    m, q = 100, 0.3
    e = np.full(m, 0.0)
    e[:41] = 1.0 / (q * 41 / m)
    assert cs.ebh(e, q).sum() == 41
    with pytest.raises(ValueError, match="non-negative"):
        cs.ebh(np.array([1.0, -1.0]), 0.1)


# --- OptCS ---------------------------------------------------------------------------------------


def test_optcs_single_model_by_hand():
    """n = 3, m = 2, q = 0.5 (worked out in the comments)."""
    calib = np.array([[1.0, 2.0, np.inf]])
    test = np.array([[0.5, 3.0]])
    # j = 0 joins: aux_1 = (#{V <= 3} + 1{0.5 <= 3}) / 4 = 3/4, aux_0 = 0 -> R_0 = 1
    # j = 1 joins: aux_0 = (#{V <= 0.5} + 1{3 <= 0.5}) / 4 = 0, aux_1 = 0 -> R_1 = 2
    # p_0 = (1 + 0) / 4 = 1/4 <= q R_0 / m = 1/4 (boundary) -> e_0 = 4; p_1 = 3/4 > 1/2 -> e_1 = 0
    # e-BH: e_(1) = 4 >= m / q = 4 -> select {0}
    res = cs.optcs_select(calib, test, 0.5, np.random.default_rng(0))
    np.testing.assert_array_equal(res.n_aux, [1, 2])
    np.testing.assert_allclose(res.pvalues, [0.25, 0.75])
    np.testing.assert_allclose(res.evalues, [4.0, 0.0])
    np.testing.assert_array_equal(res.selected, [True, False])
    np.testing.assert_array_equal(res.chosen, [0, 0])


def test_optcs_picks_the_candidate_with_more_auxiliary_selections():
    # candidate 1 ranks the test points like candidate 0 but far below every null score
    calib = np.array([[1.0, 2.0, 3.0, np.inf], [1.0, 2.0, 3.0, np.inf]])
    test = np.array([[2.5, 2.6, 2.7], [-5.0, -4.0, -6.0]])
    # candidate 0: every auxiliary BH selects only the joining point (R = 1); candidate 1: R = 3
    res = cs.optcs_select(calib, test, 0.3, np.random.default_rng(0))
    np.testing.assert_array_equal(res.chosen, [1, 1, 1])
    np.testing.assert_array_equal(res.n_aux, [3, 3, 3])
    np.testing.assert_allclose(res.pvalues, [0.2, 0.2, 0.2])
    np.testing.assert_array_equal(res.selected, [True, True, True])


def _official_optcs_loop(calib, test, q, rng):
    """A literal loop over j and k in the style of the official simulation code."""
    K, n = calib.shape
    m = test.shape[1]
    pvalues, n_aux, chosen = np.zeros(m), np.zeros(m, int), np.zeros(m, int)
    for j in range(m):
        sizes = []
        for k in range(K):
            aux = np.zeros(m)
            for ell in range(m):
                if ell != j:
                    below = np.sum(calib[k] <= test[k, ell])
                    aux[ell] = (below + (test[k, j] <= test[k, ell])) / (n + 1)
            sizes.append(int(cs.bh(aux, q).sum()))
        best = [k for k in range(K) if sizes[k] == max(sizes)]
        chosen[j] = best[int(rng.integers(len(best)))]
        n_aux[j] = max(sizes)
        pvalues[j] = (1 + np.sum(calib[chosen[j]] <= test[chosen[j], j])) / (n + 1)
    level = q * n_aux / m
    evalues = np.where(pvalues <= level * (1 + 1e-12), 1 / level, 0.0)
    return pvalues, n_aux, chosen, cs.ebh(evalues, q)


@pytest.mark.parametrize("seed", range(12))
def test_optcs_matches_a_literal_loop_implementation(seed):
    rng = np.random.default_rng(seed)
    K, n, m = 3, int(rng.integers(5, 25)), int(rng.integers(2, 15))
    mu_c, mu_t = rng.normal(size=(K, n)), rng.normal(0.5, 1.0, size=(K, m))
    y = mu_c[0] + rng.normal(size=n)
    calib, test = cs.clipped_scores(mu_c, y, mu_t)
    q = float(rng.choice([0.2, 0.3, 0.5]))
    res = cs.optcs_select(calib, test, q, np.random.default_rng(99))
    pvalues, n_aux, chosen, selected = _official_optcs_loop(calib, test, q, rng)
    np.testing.assert_array_equal(res.n_aux, n_aux)
    same = res.chosen == chosen  # ties between candidates are broken by independent draws
    np.testing.assert_allclose(res.pvalues[same], pvalues[same])
    if same.all():
        np.testing.assert_array_equal(res.selected, selected)


def test_optcs_per_test_scores_reduce_to_shared_scores():
    rng = np.random.default_rng(4)
    K, n, m, R = 3, 20, 12, 5
    calib, test = cs.clipped_scores(
        rng.normal(size=(R, K, n)), rng.normal(size=(R, 1, n)), rng.normal(size=(R, K, m))
    )
    shared = cs.optcs_select(calib, test, 0.3, np.random.default_rng(1))
    per_test = cs.optcs_select(
        np.broadcast_to(calib[:, :, None, :], (R, K, m, n)),
        np.broadcast_to(test[:, :, None, :], (R, K, m, m)),
        0.3,
        np.random.default_rng(1),
        per_test=True,
    )
    for field in ("selected", "pvalues", "evalues", "n_aux", "chosen"):
        np.testing.assert_array_equal(getattr(shared, field), getattr(per_test, field))


def test_optcs_pruning_only_adds_selections_and_rejects_bad_arguments():
    rng = np.random.default_rng(6)
    calib, test = cs.clipped_scores(
        rng.normal(size=(40, 4, 30)), rng.normal(size=(40, 1, 30)), rng.normal(size=(40, 4, 25))
    )
    base = cs.optcs_select(calib, test, 0.3, np.random.default_rng(2))
    for pruning in ("heterogeneous", "homogeneous"):
        pruned = cs.optcs_select(calib, test, 0.3, np.random.default_rng(2), pruning=pruning)
        assert np.all(pruned.selected >= base.selected)  # e / xi >= e: e-BH is monotone
    with pytest.raises(ValueError, match="pruning"):
        cs.optcs_select(calib, test, 0.3, rng, pruning="random")
    with pytest.raises(ValueError, match="beta"):
        cs.optcs_select(calib, test, 0.3, rng, beta=1.5)
    with pytest.raises(ValueError, match="same K"):
        cs.optcs_select(calib[:, :2], test, 0.3, rng)


def _fdr(select, reps: int, K: int, seed: int, informative: bool):
    """Monte Carlo FDR of a selection rule on exchangeable data with K fixed candidates."""
    rng = np.random.default_rng(seed)
    n, m = 30, 20
    x = rng.normal(size=(reps, n + m))
    y = (x if informative else 0.0) + rng.normal(size=(reps, n + m)) - (0.5 if informative else 3)
    slopes = rng.normal(size=K)[None, :, None]
    mu = slopes * x[:, None, :] + 0.3 * rng.normal(size=(reps, K, n + m))
    calib, test = cs.clipped_scores(mu[..., :n], y[:, None, :n], mu[..., n:])
    fdp, _ = cs.fdp_power(select(calib, test, rng), y[:, n:] > 0)
    return fdp.mean(), fdp.std() / np.sqrt(reps)


def test_optcs_controls_the_fdr_where_the_naive_choice_does_not():
    q, reps = 0.2, 2000

    def optcs(c, t, rng):
        return cs.optcs_select(c, t, q, rng).selected

    def naive(c, t, rng):
        return cs.naive_selection(c, t, q, rng)[0]

    fdr, se = _fdr(optcs, reps, K=10, seed=21, informative=True)
    assert fdr <= q + 3 * se
    # all nulls (labels far below c) and pure-noise candidates: the naive maximum over 10
    # candidates selects something far more often than BH's q; OptCS does not
    fdr_naive, se_naive = _fdr(naive, reps, K=10, seed=22, informative=False)
    assert fdr_naive > q + 3 * se_naive
    fdr, se = _fdr(optcs, reps, K=10, seed=22, informative=False)
    assert fdr <= q + 3 * se


# --- baselines -----------------------------------------------------------------------------------


def test_naive_selection_keeps_the_candidate_with_most_selections():
    calib = np.array([[1.0, 2.0, 3.0, np.inf], [1.0, 2.0, 3.0, np.inf]])
    test = np.array([[5.0, 5.0, 5.0], [-5.0, -4.0, -6.0]])
    selected, chosen = cs.naive_selection(calib, test, 0.3, np.random.default_rng(0))
    assert chosen == 1
    np.testing.assert_array_equal(selected, [True, True, True])


def test_split_selection_chooses_the_informative_candidate():
    rng = np.random.default_rng(8)
    n, m = 200, 60
    y_calib = rng.normal(size=n)
    y_test = rng.normal(size=m)
    mu_calib = np.stack([y_calib, rng.normal(size=n)])  # candidate 0 knows the label
    mu_test = np.stack([y_test, rng.normal(size=m)])
    selected, chosen = cs.split_selection(mu_calib, y_calib, mu_test, 0.2, rng)
    assert chosen == 0
    assert selected.shape == (m,) and selected.sum() >= 20
    assert np.mean(y_test[selected] > 0) >= 0.8  # near-perfect scores: few false selections
    with pytest.raises(ValueError, match="select_fraction"):
        cs.split_selection(mu_calib, y_calib, mu_test, 0.2, rng, select_fraction=1.0)


def test_conformal_selection_is_bh_on_randomised_pvalues():
    rng = np.random.default_rng(9)
    calib, test = rng.normal(size=50), rng.normal(-1.0, 1.0, size=30)
    got = cs.conformal_selection(calib, test, 0.3, np.random.default_rng(1))
    p = cs.conformal_pvalues(calib, test, np.random.default_rng(1))
    np.testing.assert_array_equal(got, cs.bh(p, 0.3))


def test_fdp_power_by_hand():
    selected = np.array([[True, True, False, False], [False] * 4])
    alternative = np.array([True, False, True, False])
    fdp, power = cs.fdp_power(selected, alternative)
    np.testing.assert_allclose(fdp, [0.5, 0.0])
    np.testing.assert_allclose(power, [0.5, 0.0])
    _, power = cs.fdp_power(np.array([True]), np.array([False]))
    assert power == 0.0  # no alternatives: power 0, as in the official code


# --- data ----------------------------------------------------------------------------------------


def test_jin_candes_regression_means_and_errors():
    X, y = cs.jin_candes_regression(1, 5000, np.random.default_rng(0), sigma=0.0, dim=6)
    assert X.shape == (5000, 6) and np.all(np.abs(X) <= 1)
    x1, x2, x4 = X[:, 0], X[:, 1], X[:, 3]
    np.testing.assert_allclose(y, 0.5 * (x1 * x2 > 0) + x4 + (x1 * x2 <= 0))
    X, y = cs.jin_candes_regression(2, 100, np.random.default_rng(0), sigma=0.0)
    np.testing.assert_allclose(y, 2 * (X[:, 0] * X[:, 1] + X[:, 2] ** 2 + np.exp(X[:, 3] - 1) - 1))
    _, y3 = cs.jin_candes_regression(3, 20_000, np.random.default_rng(1))
    _, y1 = cs.jin_candes_regression(1, 20_000, np.random.default_rng(1))
    assert y3.std() > y1.std()  # (5.5 - |mu|) / 2 > 2 almost everywhere
    with pytest.raises(ValueError, match="setting"):
        cs.jin_candes_regression(5, 10, np.random.default_rng(0))


# --- kernel ridge leave-one-out ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rbf", "linear"])
def test_kernel_ridge_matches_sklearn_and_loo_matches_refits(kind):
    rng = np.random.default_rng(10)
    X, z = rng.normal(size=(15, 3)), (rng.random(15) < 0.5).astype(float)
    X_new = rng.normal(size=(4, 3))
    gram = cs.kernel_matrix(X, X, kind, 0.4)
    reference = KernelRidge(alpha=0.7, kernel="precomputed").fit(gram, z)
    np.testing.assert_allclose(
        cs.kernel_ridge_predict(X, z, X_new, 0.7, kind, 0.4),
        reference.predict(cs.kernel_matrix(X_new, X, kind, 0.4)),
    )
    loo = cs.loo_kernel_ridge(gram, z, 0.7)
    for i in range(15):
        keep = np.arange(15) != i
        refit = cs.kernel_ridge_predict(X[keep], z[keep], X[i : i + 1], 0.7, kind, 0.4)
        assert loo[i] == pytest.approx(refit[0])


@pytest.mark.parametrize("kind", ["rbf", "linear"])
def test_augmented_loo_predictions_match_explicit_refits(kind):
    rng = np.random.default_rng(11)
    n, m, lam = 12, 5, 0.7
    X_lab, X_test = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    z = (rng.random(n) < 0.5).astype(float)
    mu_calib, mu_test = cs.augmented_loo_predictions(X_lab, z, X_test, lam, kind, 0.4)
    assert mu_calib.shape == (m, n) and mu_test.shape == (m, m)
    for j in range(m):
        X_aug, z_aug = np.vstack([X_lab, X_test[j]]), np.r_[z, 0.0]
        for i in range(n + 1):
            keep = np.arange(n + 1) != i
            refit = cs.kernel_ridge_predict(
                X_aug[keep], z_aug[keep], X_aug[i : i + 1], lam, kind, 0.4
            )
            expected = mu_test[j, j] if i == n else mu_calib[j, i]
            assert refit[0] == pytest.approx(expected)
        full = cs.kernel_ridge_predict(X_aug, z_aug, X_test, lam, kind, 0.4)
        others = np.arange(m) != j
        np.testing.assert_allclose(mu_test[j, others], full[others])
    batched = cs.augmented_loo_predictions(
        np.stack([X_lab, X_lab]), np.stack([z, z]), np.stack([X_test, X_test]), lam, kind, 0.4
    )
    np.testing.assert_allclose(batched[0][1], mu_calib)
    with pytest.raises(ValueError, match="penalty"):
        cs.augmented_loo_predictions(X_lab, z, X_test, 0.0)
    with pytest.raises(ValueError, match="kernel kind"):
        cs.kernel_matrix(X_lab, X_lab, "poly")


def test_optcs_full_pvalues_are_valid_on_null_points():
    """The per-test-point leave-one-out scores give P(p_j <= t, H_j) <= t (n = 19)."""
    rng = np.random.default_rng(14)
    reps, n, m, d = 4000, 19, 2, 2
    X = rng.uniform(-1, 1, size=(reps, n + m, d))
    y = X[..., 0] + 0.5 * rng.normal(size=(reps, n + m)) - 0.3
    mu_c, mu_t = cs.augmented_loo_predictions(X[:, :n], (y[:, :n] > 0) * 1.0, X[:, n:], 1.0)
    calib, test = cs.clipped_scores(mu_c, y[:, None, :n], mu_t)
    res = cs.optcs_select(calib[:, None], test[:, None], 0.5, rng, per_test=True)
    null = y[:, n:] <= 0
    p = np.where(null, res.pvalues, 2.0).ravel()
    assert not _superuniform_excess(p, (0.05, 0.1, 0.2, 0.5), ALPHA)
