"""Conformal selection (CS) and Optimized Conformal Selection (OptCS).

References
----------
* Y. Jin and E. J. Candès (2023), "Selection by Prediction with Conformal p-values", JMLR 24
  (conformal selection: conformal p-values + Benjamini-Hochberg).
* T. Bai and Y. Jin (2024), "Optimized Conformal Selection: Powerful Selective Inference After
  Conformity Score Optimization", arXiv:2411.17983 (OptCS). Official code:
  github.com/Tian-Bai/OptCS (``simulation/MSel``, ``simulation/Full``, ``simulation/Full-MSel``);
  this module is an independent re-implementation of the procedures described there.

Problem
-------
Labelled calibration data ``(X_i, Y_i)``, ``i = 1..n``, and test features ``X_{n+j}``,
``j = 1..m``, exchangeable. Select the test points whose unseen label exceeds a threshold ``c``
(null hypothesis ``H_j: Y_{n+j} <= c``) while keeping the false discovery rate
``FDR = E[#false selections / max(1, #selections)] <= q``.

Scores
------
The clipped monotone score of Jin & Candès, ``V(x, y) = M 1{y > c} - mu(x)``, where ``mu`` is any
fitted prediction (a mean, a quantile, or a mean divided by a fitted spread ``sigma(x)``).
Calibration scores ``V_i = V(X_i, Y_i)``, test scores ``V^_j = V(X_j, c) = -mu(X_j)``. The
official code uses ``M = 1000``; here ``M = +inf`` (:func:`clipped_scores`), which orders the
scores identically whenever ``M`` exceeds the spread of ``mu`` and never depends on its scale.

Procedures
----------
1. Conformal p-value (Jin & Candès), with ``U_j ~ U(0, 1)`` breaking ties at random::

       p_j = ( #{i: V_i < V^_j} + U_j (1 + #{i: V_i = V^_j}) ) / (n + 1);

   ``U_j = 1`` gives the deterministic, conservative ``(1 + #{i: V_i <= V^_j}) / (n + 1)``.
   Under ``H_j`` and exchangeability, ``P(p_j <= t) <= t`` (:func:`conformal_pvalues`).
2. Benjamini-Hochberg at level ``q`` (:func:`bh`): select ``{j: p_j <= q k*/m}`` with
   ``k* = max{k: p_(k) <= q k / m}``. CS is BH on the conformal p-values of one model fixed in
   advance (:func:`conformal_selection`); Jin & Candès prove FDR <= q.
3. OptCS, the general recipe (Bai & Jin, Section 3). For test point ``j`` let the score function
   ``V^(j)`` be built from the ``n + 1`` points ``{(X_i, Y_i)}_{i<=n} ∪ {(X_{n+j}, c)}`` (and the
   other test features) by any procedure invariant to permutations of those ``n + 1`` points.
   Under ``H_j`` the label ``c`` imputed for ``X_{n+j}`` gives its true score, so the rank of
   ``V^_j`` among the ``n + 1`` scores is uniform and

       p_j = (1 + #{i: V_i^(j) <= V^_j^(j)}) / (n + 1)

   is a valid p-value (the official code writes ``<`` for MSel and ``<=`` for Full-MSel; they
   agree without ties, and ``<=`` keeps validity with ties). Different ``j`` use different score
   functions, so BH no longer applies. Each ``p_j`` becomes an e-value with an auxiliary number of
   rejections ``R_j`` computed by the same symmetric recipe,

       e_j = 1{p_j <= beta q R_j / m} / (beta q R_j / m)        (beta = 1 by default),

   and the e-BH procedure of Wang & Ramdas selects the ``k*`` largest e-values,
   ``k* = max{k: e_(k) >= m / (q k)}`` (:func:`ebh`). Since ``FDR <= (q/m) sum_{null} E[e_j]`` and
   ``E[e_j] <= 1`` given the unordered ``n + 1`` points, the FDR is at most ``q`` (for any
   ``beta`` in (0, 1]). The official code also offers "pruning": ``e_j`` divided by
   ``xi_j ~ U(0,1)`` drawn per point (``"heterogeneous"``) or once (``"homogeneous"``); this can
   only add selections, and the official code marks it "not proved" for OptCS.
4. OptCS-MSel (model selection among ``K`` pre-trained candidates, :func:`optcs_select`). For
   each ``j`` and candidate ``k``, ``X_{n+j}`` joins the calibration set with its imputed score;
   the auxiliary p-values of the other test points are

       p_l^(j,k) = ( #{i: V_i^k <= V^_l^k} + 1{V^_j^k <= V^_l^k} ) / (n + 1),  l != j,

   with ``p_j^(j,k) = 0`` (``j`` always counts as selected); ``R_{j,k}`` is the size of BH on
   them, ``k^_j = argmax_k R_{j,k}`` with ties broken at random, ``R_j = R_{j,k^_j}``, and
   ``p_j`` uses model ``k^_j``. All of it is symmetric in the ``n + 1`` points.
5. OptCS-Full (full-sample fitting without data splitting, :func:`augmented_loo_predictions`):
   for test point ``j`` the model is trained on the ``n`` labelled points (targets ``1{Y > c}``)
   plus ``X_{n+j}`` with the null label imputed, and each of these ``n + 1`` points is scored by
   the fit that leaves it out, a permutation-equivariant recipe (the official ``simulation/Full``
   code, "LOO version 2"). Steps 3-4 then run with per-test-point scores and ``K = 1``;
   OptCS-Full-MSel runs them with ``K`` candidate learners. The ``m (n + 1)`` leave-one-out fits
   are exact and cheap for kernel ridge regression (closed form, one matrix inverse).

Baselines: split CS with one model fixed in advance (:func:`conformal_selection`); choosing the
model with data splitting (:func:`split_selection`, valid); and the naive choice of the model with
the most BH selections on the same calibration data (:func:`naive_selection`, not guaranteed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Pruning = Literal["none", "heterogeneous", "homogeneous"]
PRUNINGS: tuple[str, ...] = ("none", "heterogeneous", "homogeneous")
_REL_TOL = 1e-12  # relative slack for comparisons of ratios that are equal in exact arithmetic


# --------------------------------------------------------------------------------------------
# Data: the Jin & Candès regression settings used by the paper's simulations
# --------------------------------------------------------------------------------------------
def jin_candes_regression(
    setting: int, n: int, rng: np.random.Generator, sigma: float = 1.0, dim: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)`` from settings 1-4 of the OptCS simulations (``X ~ U[-1, 1]^dim``).

    * 1: ``mu = 0.5 1{x1 x2 > 0} + x4 + 1{x1 x2 <= 0}``,       ``Y = mu + 2 sigma eps``;
    * 2: ``mu = 2 (x1 x2 + x3^2 + exp(x4 - 1) - 1)``,          ``Y = mu + 1.5 sigma eps``;
    * 3: setting 1's mean, ``Y = mu + (5.5 - |mu|) / 2 sigma eps`` (heteroscedastic);
    * 4: setting 2's mean, ``Y = mu + (5.5 - |mu|) / 3 sigma eps`` (heteroscedastic);

    ``eps ~ N(0, 1)``; ``x1..x4`` are the first four coordinates.
    """
    if setting not in (1, 2, 3, 4):
        raise ValueError(f"setting must be 1, 2, 3 or 4; got {setting!r}")
    if dim < 4:
        raise ValueError(f"dim must be at least 4; got {dim}")
    X = rng.uniform(-1.0, 1.0, size=(n, dim))
    x1, x2, x3, x4 = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    if setting in (1, 3):
        mu = 0.5 * (x1 * x2 > 0) + x4 + 1.0 * (x1 * x2 <= 0)
    else:
        mu = 2.0 * (x1 * x2 + x3**2 + np.exp(x4 - 1.0) - 1.0)
    eps = rng.normal(size=n)
    noise = {1: 2.0, 2: 1.5, 3: (5.5 - np.abs(mu)) / 2.0, 4: (5.5 - np.abs(mu)) / 3.0}[setting]
    return X, mu + noise * sigma * eps


# --------------------------------------------------------------------------------------------
# Scores, conformal p-values, BH and e-BH (all vectorised over leading axes)
# --------------------------------------------------------------------------------------------
def clipped_scores(
    mu_calib: np.ndarray, y_calib: np.ndarray, mu_test: np.ndarray, threshold: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Clipped scores ``V_i = inf 1{Y_i > c} - mu(X_i)`` and ``V^_j = -mu(X_j)``.

    ``mu_*`` may carry leading axes (candidates, replicates); ``y_calib`` broadcasts against
    ``mu_calib``.
    """
    mu_calib, mu_test = np.asarray(mu_calib, float), np.asarray(mu_test, float)
    positive = np.asarray(y_calib) > threshold
    calib = np.where(positive, np.inf, -mu_calib)
    return calib, -mu_test


def count_at_most(calib: np.ndarray, values: np.ndarray, strict: bool = False) -> np.ndarray:
    """``#{i: calib_i <= v}`` (``<`` when ``strict``) for every ``v`` in ``values``.

    The last axis of ``calib`` (n) and ``values`` (m) is counted over; leading axes broadcast.
    A stable sort of the concatenated scores puts the calibration scores before equal test
    values (``<=``) or after them (``<``), and a running count reads the answer.
    """
    calib, values = np.asarray(calib, float), np.asarray(values, float)
    lead = np.broadcast_shapes(calib.shape[:-1], values.shape[:-1])
    calib = np.broadcast_to(calib, (*lead, calib.shape[-1]))
    values = np.broadcast_to(values, (*lead, values.shape[-1]))
    n, m = calib.shape[-1], values.shape[-1]
    if strict:  # test values first: equal calibration scores sort after them
        joint, test_offset = np.concatenate([values, calib], axis=-1), 0
    else:  # calibration scores first: they sort before equal test values
        joint, test_offset = np.concatenate([calib, values], axis=-1), n
    order = np.argsort(joint, axis=-1, kind="stable")
    is_test = (order < m) if strict else (order >= n)
    running = np.cumsum(~is_test, axis=-1)  # calibration scores at or before each position
    counts = np.empty((*lead, m), dtype=np.int64)
    test_index = order[is_test].reshape(*lead, m) - test_offset
    np.put_along_axis(counts, test_index, running[is_test].reshape(*lead, m), axis=-1)
    return counts


def conformal_pvalues(
    calib_scores: np.ndarray,
    test_scores: np.ndarray,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Conformal p-values of Jin & Candès; randomised ties with ``rng``, else ``U_j = 1``.

    ``p_j = (#{V_i < V^_j} + U_j (1 + #{V_i = V^_j})) / (n + 1)`` over the last axes of
    ``calib_scores`` (n) and ``test_scores`` (m); leading axes broadcast.
    """
    calib_scores = np.asarray(calib_scores, float)
    n = calib_scores.shape[-1]
    below = count_at_most(calib_scores, test_scores, strict=True)
    if rng is None:
        at_most = count_at_most(calib_scores, test_scores)
        return (1.0 + at_most) / (n + 1)
    equal = count_at_most(calib_scores, test_scores) - below
    u = rng.uniform(size=below.shape)
    return (below + u * (1.0 + equal)) / (n + 1)


def bh_count(pvalues: np.ndarray, q: float) -> np.ndarray:
    """Number of BH rejections ``k* = max{k: p_(k) <= q k / m}`` along the last axis."""
    p = np.sort(np.asarray(pvalues, float), axis=-1)
    m = p.shape[-1]
    ranks = np.arange(1, m + 1)
    passes = p <= ranks / m * q  # the arithmetic of statsmodels' fdr_bh
    return np.where(passes, ranks, 0).max(axis=-1, initial=0)


def _bh_count_on_grid(numerators: np.ndarray, denominator: int, q: float) -> np.ndarray:
    """``bh_count`` for p-values ``numerators / denominator`` with integer numerators in
    ``0..denominator``, without sorting: ``#{p <= q k / m}`` is a cumulative histogram read at
    ``floor(denominator q k / m)``."""
    a = np.asarray(numerators, dtype=np.int64)
    lead, m = a.shape[:-1], a.shape[-1]
    rows = int(np.prod(lead, dtype=np.int64))
    width = denominator + 1
    offsets = (np.arange(rows, dtype=np.int64) * width)[:, None]
    hist = np.bincount((a.reshape(rows, m) + offsets).ravel(), minlength=rows * width)
    at_most = np.cumsum(hist.reshape(rows, width), axis=1)  # at_most[:, v] = #{a <= v}
    ranks = np.arange(1, m + 1)
    cut = np.floor(denominator * q * ranks / m * (1 + _REL_TOL)).astype(np.int64)
    passes = at_most[:, np.minimum(cut, denominator)] >= ranks
    return np.where(passes, ranks, 0).max(axis=1, initial=0).reshape(lead)


def bh(pvalues: np.ndarray, q: float) -> np.ndarray:
    """Benjamini-Hochberg at level ``q``: boolean selection mask along the last axis."""
    _check_level(q)
    p = np.asarray(pvalues, float)
    k = bh_count(p, q)
    m = p.shape[-1]
    cutoff = np.asarray(k / m * q)[..., None]
    return (p <= cutoff) & (np.asarray(k)[..., None] > 0)


def ebh(evalues: np.ndarray, q: float) -> np.ndarray:
    """e-BH (Wang & Ramdas 2022): select the ``k*`` largest e-values, ``k* = max{k: e_(k) >=
    m / (q k)}``; the same set as BH on ``1 / e``. A relative slack of 1e-12 keeps ties of the
    form ``e = m / (q k)`` (which OptCS produces) on the selected side despite rounding."""
    _check_level(q)
    e = np.asarray(evalues, float)
    if np.any(e < 0) or np.any(np.isnan(e)):
        raise ValueError("e-values must be non-negative numbers")
    m = e.shape[-1]
    desc = -np.sort(-e, axis=-1)
    ranks = np.arange(1, m + 1)
    passes = desc * q * ranks >= m * (1 - _REL_TOL)
    k = np.where(passes, ranks, 0).max(axis=-1, initial=0)
    cutoff = m / (q * np.maximum(k, 1)) * (1 - _REL_TOL)
    return (e >= np.asarray(cutoff)[..., None]) & (np.asarray(k)[..., None] > 0)


def _check_level(q: float) -> None:
    if not 0 < q < 1:
        raise ValueError(f"the FDR level q must lie in (0, 1); got {q!r}")


def _argmax_random_ties(values: np.ndarray, axis: int, rng: np.random.Generator) -> np.ndarray:
    """Index of the maximum along ``axis``, ties broken uniformly at random."""
    is_max = values == values.max(axis=axis, keepdims=True)
    keys = np.where(is_max, rng.uniform(size=values.shape), -1.0)
    return keys.argmax(axis=axis)


# --------------------------------------------------------------------------------------------
# Procedures
# --------------------------------------------------------------------------------------------
def conformal_selection(
    calib_scores: np.ndarray, test_scores: np.ndarray, q: float, rng: np.random.Generator
) -> np.ndarray:
    """Split conformal selection (Jin & Candès) with one fixed model: BH on randomised p-values."""
    return bh(conformal_pvalues(calib_scores, test_scores, rng), q)


@dataclass(frozen=True)
class OptCSResult:
    """Output of :func:`optcs_select` (leading replicate axes kept).

    Attributes:
        selected: ``(..., m)`` boolean selection mask.
        pvalues: ``(..., m)`` p-values ``p_j`` from the chosen candidate.
        evalues: ``(..., m)`` e-values before pruning.
        n_aux: ``(..., m)`` auxiliary rejection counts ``R_j``.
        chosen: ``(..., m)`` index ``k^_j`` of the candidate chosen for each test point.
    """

    selected: np.ndarray
    pvalues: np.ndarray
    evalues: np.ndarray
    n_aux: np.ndarray
    chosen: np.ndarray


def optcs_select(
    calib_scores: np.ndarray,
    test_scores: np.ndarray,
    q: float,
    rng: np.random.Generator,
    pruning: Pruning = "none",
    beta: float = 1.0,
    per_test: bool = False,
) -> OptCSResult:
    """The OptCS selection step with ``K`` candidate score functions (Bai & Jin).

    Shared scores (``per_test=False``, OptCS-MSel with pre-trained models):
    ``calib_scores`` ``(..., K, n)`` are ``V_i^k`` (``+inf`` for labels above ``c``) and
    ``test_scores`` ``(..., K, m)`` the imputed test scores ``V^_l^k``.

    Scores that depend on the test point (``per_test=True``, OptCS-Full): ``calib_scores``
    ``(..., K, m, n)`` and ``test_scores`` ``(..., K, m, m)``, where row ``j`` holds the scores
    under ``V^(j)``, the score function built from the ``n + 1`` points with ``X_{n+j}``; the
    diagonal ``test_scores[..., k, j, j]`` is ``V^_j^(j)``.

    ``K = 1`` is the single-model case. Leading axes are replicates. ``rng`` breaks ties between
    candidates and draws the pruning variables; ``beta`` scales the e-value threshold.
    """
    _check_level(q)
    if pruning not in PRUNINGS:
        raise ValueError(f"pruning must be one of {', '.join(PRUNINGS)}; got {pruning!r}")
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1]; got {beta!r}")
    calib = np.asarray(calib_scores, float)
    test = np.asarray(test_scores, float)
    rows = 1 if per_test else 0
    if (
        calib.ndim < 2 + rows
        or test.ndim < 2 + rows
        or calib.shape[-2 - rows] != test.shape[-2 - rows]
        or (per_test and not calib.shape[-2] == test.shape[-2] == test.shape[-1])
    ):
        want = "(..., K, m, n) and (..., K, m, m)" if per_test else "(..., K, n) and (..., K, m)"
        raise ValueError(f"need {want} scores with the same K; got {calib.shape}, {test.shape}")
    n, m = calib.shape[-1], test.shape[-1]
    diagonal = np.arange(m)
    # below[..., k, j, l] = #{i: V_i <= V^_l} and own[..., k, j] = V^_j under the score of row j
    if per_test:
        below = count_at_most(calib, test)
        own = test[..., diagonal, diagonal]
        own_below = below[..., diagonal, diagonal]
        joins_below = own[..., :, None] <= test  # the joining point j lies at or below l
    else:
        shared_below = count_at_most(calib, test)  # (..., K, m)
        below = shared_below[..., None, :]
        own_below = shared_below
        joins_below = test[..., :, None] <= test[..., None, :]
    # Auxiliary p-values (numerators over n + 1): row j joins the calibration set, column l.
    aux = below + joins_below
    aux[..., diagonal, diagonal] = 0
    n_aux_all = _bh_count_on_grid(aux, n + 1, q)  # (..., K, m): R_{j,k}
    chosen = _argmax_random_ties(n_aux_all, axis=-2, rng=rng)  # (..., m): k^_j
    n_aux = np.take_along_axis(n_aux_all, chosen[..., None, :], axis=-2)[..., 0, :]
    own_below = np.take_along_axis(own_below, chosen[..., None, :], axis=-2)[..., 0, :]
    pvalues = (1.0 + own_below) / (n + 1)
    level = beta * q * n_aux / m
    eligible = pvalues * m <= beta * q * n_aux * (1 + _REL_TOL)
    evalues = np.where(eligible, 1.0 / level, 0.0)
    selected = _ebh_on_counts(eligible, beta * n_aux, _pruning_draws(pruning, eligible, rng))
    return OptCSResult(selected, pvalues, evalues, n_aux, chosen)


def _pruning_draws(pruning: str, like: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if pruning == "heterogeneous":
        return rng.uniform(size=like.shape)
    if pruning == "homogeneous":
        return np.broadcast_to(rng.uniform(size=(*like.shape[:-1], 1)), like.shape)
    return np.ones(like.shape)


def _ebh_on_counts(eligible: np.ndarray, size: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """e-BH for ``e_j = 1{eligible_j} m / (q size_j) / xi_j``, in exact form.

    ``e_j >= m / (q k)`` is ``xi_j size_j <= k``, so ``k* = max{k: #{j: s_j <= k} >= k}`` with
    ``s_j = xi_j size_j`` (``inf`` when not eligible); the selection is ``{j: s_j <= k*}``
    (the pruning rule of Jin & Candès when ``xi`` is random). Integer sizes stay exact.
    """
    s = np.where(eligible, xi * size, np.inf)
    m = s.shape[-1]
    ranks = np.arange(1, m + 1)
    s_sorted = np.sort(s, axis=-1)
    passes = s_sorted <= ranks  # the k-th smallest s is <= k  <=>  #{s_j <= k} >= k
    k = np.where(passes, ranks, 0).max(axis=-1, initial=0)
    return s <= np.asarray(k)[..., None]


def naive_selection(
    calib_scores: np.ndarray, test_scores: np.ndarray, q: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The naive procedure: BH with every candidate on the same calibration data, keep the one
    with the most selections (ties at random). Not guaranteed to control the FDR.

    Returns the selection ``(..., m)`` and the chosen candidate ``(...)``.
    """
    pvalues = conformal_pvalues(calib_scores, test_scores, rng)  # (..., K, m)
    counts = bh_count(pvalues, q)  # (..., K)
    chosen = _argmax_random_ties(counts, axis=-1, rng=rng)
    selections = bh(pvalues, q)
    picked = np.take_along_axis(selections, chosen[..., None, None], axis=-2)[..., 0, :]
    return picked, chosen


def split_selection(
    mu_calib: np.ndarray,
    y_calib: np.ndarray,
    mu_test: np.ndarray,
    q: float,
    rng: np.random.Generator,
    threshold: float = 0.0,
    select_fraction: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Model choice by data splitting (the paper's "split calibration" baseline).

    For one replicate: ``mu_calib`` ``(K, n)``, ``y_calib`` ``(n,)``, ``mu_test`` ``(K, m)``. A
    random ``select_fraction`` of the calibration data is set aside and halved into a
    pseudo-calibration and a pseudo-test part; the candidate with the most BH selections there
    (ties at random) runs split CS on the remaining calibration data. Valid, since the choice is
    independent of the data that calibrate it. Returns the selection ``(m,)`` and the candidate.
    """
    mu_calib, mu_test = np.asarray(mu_calib, float), np.asarray(mu_test, float)
    y_calib = np.asarray(y_calib, float)
    n = y_calib.shape[-1]
    n_select = int(round(select_fraction * n))
    if not 2 <= n_select <= n - 1:
        raise ValueError(f"select_fraction {select_fraction} leaves no data for one of the parts")
    order = rng.permutation(n)
    pseudo_calib, pseudo_test = order[: n_select // 2], order[n_select // 2 : n_select]
    rest = order[n_select:]
    v_cal, _ = clipped_scores(mu_calib[:, pseudo_calib], y_calib[pseudo_calib], mu_test, threshold)
    v_pseudo_test = -mu_calib[:, pseudo_test]
    counts = bh_count(conformal_pvalues(v_cal, v_pseudo_test, rng), q)
    chosen = int(_argmax_random_ties(counts, axis=-1, rng=rng))
    calib, test = clipped_scores(mu_calib[chosen, rest], y_calib[rest], mu_test[chosen], threshold)
    return conformal_selection(calib, test, q, rng), np.int64(chosen)


# --------------------------------------------------------------------------------------------
# Full-sample fitting: leave-one-out kernel ridge regression
# --------------------------------------------------------------------------------------------
def kernel_matrix(
    A: np.ndarray, B: np.ndarray, kind: str = "rbf", gamma: float = 0.1
) -> np.ndarray:
    """Kernel matrix ``(..., a, b)``: ``"rbf"`` ``exp(-gamma |x - x'|^2)`` or ``"linear"``
    ``x . x'``, plus 1 (an intercept that is penalised like the other coefficients)."""
    A, B = np.asarray(A, float), np.asarray(B, float)
    inner = A @ np.swapaxes(B, -1, -2)
    if kind == "linear":
        return inner + 1.0
    if kind == "rbf":
        sq = (A**2).sum(-1)[..., :, None] + (B**2).sum(-1)[..., None, :] - 2.0 * inner
        return np.exp(-gamma * np.maximum(sq, 0.0)) + 1.0
    raise ValueError(f"kernel kind must be 'rbf' or 'linear'; got {kind!r}")


def loo_kernel_ridge(gram: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Exact leave-one-out predictions of kernel ridge regression.

    With ``G = (K + lam I)^{-1}`` and the fit ``f = K G y``, the residual of the fit without point
    ``i`` is ``y_i - f_{-i}(x_i) = (G y)_i / G_ii``. Leading axes of ``gram`` ``(..., N, N)`` and
    ``y`` ``(..., N)`` are replicates.
    """
    if lam <= 0:
        raise ValueError(f"the ridge penalty must be positive; got {lam!r}")
    gram = np.asarray(gram, float)
    y = np.asarray(y, float)
    eye = np.eye(gram.shape[-1])
    G = np.linalg.inv(gram + lam * eye)
    Gy = (G @ y[..., None])[..., 0]
    return y - Gy / np.diagonal(G, axis1=-2, axis2=-1)


def augmented_loo_predictions(
    X_label: np.ndarray,
    z_label: np.ndarray,
    X_test: np.ndarray,
    lam: float,
    kind: str = "rbf",
    gamma: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Kernel ridge predictions for OptCS-Full, one augmented training set per test point.

    For test point ``j`` the training set is the ``n`` labelled points (targets ``z = 1{Y > c}``)
    plus ``X_{n+j}`` with the null target 0 imputed. Every one of these ``n + 1`` points is
    predicted by the fit on the other ``n`` (exact leave-one-out), which makes the scores a
    permutation-equivariant function of them; the other test points are predicted by the fit on
    all ``n + 1`` (a symmetric function too), for the auxiliary selection.

    Returns ``(mu_calib, mu_test)`` of shapes ``(..., m, n)`` and ``(..., m, m)``: row ``j`` holds
    the predictions under the training set of ``j``; ``mu_test[..., j, j]`` is the leave-one-out
    prediction of ``X_{n+j}`` itself (the fit on the labelled points alone).

    All ``m`` augmented fits come from one inverse: with ``A = K_LL + lam I``, ``u_j = A^{-1} b_j``
    (``b_j = k(X_L, x_j)``) and ``s_j = k(x_j, x_j) + lam - b_j' u_j``, the block inverse of the
    augmented system is ``A^{-1} + u_j u_j' / s_j`` on the labelled block, ``-u_j / s_j`` off it and
    ``1 / s_j`` in the corner; :func:`loo_kernel_ridge`'s formula then gives every residual.
    """
    if lam <= 0:
        raise ValueError(f"the ridge penalty must be positive; got {lam!r}")
    X_label, X_test = np.asarray(X_label, float), np.asarray(X_test, float)
    z = np.asarray(z_label, float)
    n = X_label.shape[-2]
    A_inv = np.linalg.inv(kernel_matrix(X_label, X_label, kind, gamma) + lam * np.eye(n))
    B = kernel_matrix(X_label, X_test, kind, gamma)  # (..., n, m)
    K_tt = kernel_matrix(X_test, X_test, kind, gamma)  # (..., m, m)
    U = A_inv @ B  # (..., n, m)
    C = np.swapaxes(B, -1, -2) @ U  # (..., m, m): b_l' A^{-1} b_j
    s = np.diagonal(K_tt, axis1=-2, axis2=-1) + lam - np.diagonal(C, axis1=-2, axis2=-1)
    alpha = (A_inv @ z[..., None])[..., 0]  # (..., n)
    w = (np.swapaxes(B, -1, -2) @ alpha[..., None])[..., 0]  # (..., m): fit on X_L at x_j
    Ut = np.swapaxes(U, -1, -2)  # (..., m, n)
    a_diag = np.diagonal(A_inv, axis1=-2, axis2=-1)[..., None, :]
    ratio = (w / s)[..., :, None]  # (..., m, 1)
    # Labelled point i under the training set of j: z_i - (G y)_i / G_ii.
    mu_calib = z[..., None, :] - (alpha[..., None, :] + Ut * ratio) / (
        a_diag + Ut**2 / s[..., :, None]
    )
    # Other test points l under the full fit on the training set of j.
    mu_test = w[..., None, :] + (np.swapaxes(C, -1, -2) - np.swapaxes(K_tt, -1, -2)) * ratio
    diagonal = np.arange(X_test.shape[-2])
    mu_test[..., diagonal, diagonal] = w
    return mu_calib, mu_test


def kernel_ridge_predict(
    X_train: np.ndarray,
    z_train: np.ndarray,
    X_new: np.ndarray,
    lam: float,
    kind: str = "rbf",
    gamma: float = 0.1,
) -> np.ndarray:
    """Kernel ridge fit on ``(X_train, z_train)``, predictions at ``X_new`` (split baseline)."""
    gram = kernel_matrix(X_train, X_train, kind, gamma)
    alpha = np.linalg.solve(
        gram + lam * np.eye(gram.shape[-1]), np.asarray(z_train, float)[..., None]
    )
    return (kernel_matrix(X_new, X_train, kind, gamma) @ alpha)[..., 0]


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def fdp_power(selected: np.ndarray, is_alternative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False discovery proportion and power of selections along the last axis.

    ``FDP = #(selected nulls) / max(1, #selected)``; ``power = #(selected alternatives) /
    #alternatives`` (0 when there are none, as in the official code).
    """
    selected = np.asarray(selected, bool)
    alt = np.broadcast_to(np.asarray(is_alternative, bool), selected.shape)
    n_sel = selected.sum(-1)
    false = (selected & ~alt).sum(-1)
    true = (selected & alt).sum(-1)
    n_alt = alt.sum(-1)
    fdp = false / np.maximum(n_sel, 1)
    power = np.where(n_alt > 0, true / np.maximum(n_alt, 1), 0.0)
    return fdp, power
