"""ℓ1 sensitivities, leverage scores, row sampling and ℓ1 regression on a weighted sample.

Reference: D. P. Woodruff and T. Yasuda, "Sharper Bounds for ℓp Sensitivity Sampling", ICML 2023
(arXiv:2306.00732).

* The ℓp sensitivity of row i of A ∈ R^{n×d} (as defined in the paper) and the total
  sensitivity are

      σ_i = sup_{Ax ≠ 0} |a_i·x|^p / ‖Ax‖_p^p,        𝔖 = Σ_i σ_i.

  For p = 2, σ_i is the leverage score τ_i = a_iᵀ(AᵀA)⁺a_i and 𝔖 = rank(A); for 1 ≤ p < 2,
  d^{p/2} ≤ 𝔖 ≤ d (the lower bound follows from the comparison with Lewis weights of
  Chen–Derezinski that the paper's v2 footnote cites). We use p = 1 throughout.
* Exact ℓ1 sensitivities by linear programming (:func:`l1_sensitivity`). By LP duality
  (‖Ax‖_1 = max_{‖z‖_∞ ≤ 1} zᵀAx),

      1/σ_i = min { ‖Ax‖_1 : a_i·x = 1 } = max { μ : Aᵀz = μ a_i, ‖z‖_∞ ≤ 1 },

  an LP with n + 1 box-bounded variables and only d equality rows, one per row i. The
  multipliers of the equality rows are a maximising direction x; z is a dual certificate. Both
  are returned, so that a caller can check |a_i·x|/‖Ax‖_1 = σ_i = 1/μ without trusting the
  solver.
* Sampling (the paper's sensitivity sampling): keep row i independently with probability
  π_i = min(1, c·q_i), where q_i is a score (σ_i for sensitivity sampling, τ_i for leverage
  sampling, √τ_i for root-leverage sampling — the paper's τ_i^{p/2} at p = 1 — or 1 for uniform
  sampling) and c is set so that the expected sample size Σ π_i equals the budget m. A kept
  row is rescaled by π_i^{-1/p}, i.e. it enters an ℓ1 objective with weight 1/π_i, which makes
  ‖SAx‖_1 an unbiased estimate of ‖Ax‖_1 for every x. The paper's guarantee:
  ‖SAx‖_p^p = (1 ± ε)‖Ax‖_p^p for all x once m ≳ 𝔖^{2/p} (up to ε and log factors) for
  sensitivity sampling and m ≳ d for root-leverage sampling, when 1 ≤ p < 2.
* ℓ1 regression min_x Σ_i w_i |a_i·x − b_i| on a weighted sample (:func:`l1_regression`) is
  solved exactly through its dual LP max { bᵀz : Aᵀz = 0, |z_i| ≤ w_i }, whose equality
  multipliers are the regression coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

SCORE_KINDS: tuple[str, ...] = ("sensitivity", "leverage", "root_leverage", "uniform")
# presolve only adds overhead on these small dense LPs; tight tolerances for exact values.
_HIGHS = {
    "presolve": False,
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}


def leverage_scores(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """ℓ2 leverage scores τ_i = ‖U_i‖², U an orthonormal basis of range(A) (thin SVD; singular
    values below ``rtol``·s_max are treated as zero, so rank-deficient A is fine)."""
    A = np.asarray(A, dtype=float)
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    rank = int(np.sum(s > rtol * s.max())) if s.size and s.max() > 0 else 0
    return np.sum(U[:, :rank] ** 2, axis=1)


@dataclass(frozen=True)
class SensitivityLP:
    """The solution of one row's LP.

    Attributes:
        sensitivity: σ_i = max |a_i·x| / ‖Ax‖_1.
        direction: a maximiser x (scaled so that a_i·x = 1).
        certificate: z with Aᵀz = a_i / σ_i and ‖z‖_∞ ≤ 1, which proves σ_i is not larger:
            for every x, |a_i·x| = σ_i |zᵀAx| ≤ σ_i ‖Ax‖_1.
    """

    sensitivity: float
    direction: np.ndarray
    certificate: np.ndarray


def l1_sensitivity(A: np.ndarray, i: int) -> SensitivityLP:
    """Exact ℓ1 sensitivity of row ``i`` by the LP max {μ : Aᵀz = μ a_i, ‖z‖_∞ ≤ 1}."""
    A = np.asarray(A, dtype=float)
    n, d = A.shape
    a = A[i]
    if not np.any(a):
        return SensitivityLP(0.0, np.zeros(d), np.zeros(n))
    cost = np.zeros(n + 1)
    cost[-1] = -1.0  # maximise μ
    bounds = np.empty((n + 1, 2))
    bounds[:n] = (-1.0, 1.0)
    bounds[n] = (0.0, np.inf)
    A_eq = np.hstack([A.T, -a[:, None]])
    res = linprog(cost, A_eq=A_eq, b_eq=np.zeros(d), bounds=bounds, method="highs", options=_HIGHS)
    if res.status != 0:
        raise RuntimeError(f"sensitivity LP for row {i} failed: {res.message}")
    mu = float(res.x[-1])
    # d(optimum)/d(b_eq) of min -μ: the multipliers y give  -μ ≤ -μ* + yᵀ(Aᵀz - μ a_i)  on the
    # feasible set, i.e. x = -y satisfies a_i·x = 1 and ‖Ax‖_1 = 1/σ_i at the optimum.
    x = -np.asarray(res.eqlin.marginals, dtype=float)
    scale = a @ x
    if scale != 0:
        x = x / scale
    return SensitivityLP(1.0 / mu, x, np.asarray(res.x[:n]))


def l1_sensitivities(A: np.ndarray) -> np.ndarray:
    """Exact ℓ1 sensitivities of every row of ``A`` (n LPs)."""
    A = np.asarray(A, dtype=float)
    return np.array([l1_sensitivity(A, i).sensitivity for i in range(A.shape[0])])


def sampling_scores(sensitivity: np.ndarray, leverage: np.ndarray) -> dict[str, np.ndarray]:
    """The score q_i of every sampler in :data:`SCORE_KINDS`, from σ and τ of the same matrix."""
    sensitivity = np.asarray(sensitivity, dtype=float)
    leverage = np.clip(np.asarray(leverage, dtype=float), 0.0, None)
    return {
        "sensitivity": sensitivity,
        "leverage": leverage,
        "root_leverage": np.sqrt(leverage),
        "uniform": np.ones_like(sensitivity),
    }


def inclusion_probabilities(scores: np.ndarray, m: float) -> np.ndarray:
    """π_i = min(1, c·q_i) with c chosen so that Σ_i π_i = m (rows with the largest scores are
    kept with probability 1 once c·q_i would exceed 1)."""
    q = np.asarray(scores, dtype=float)
    if np.any(q < 0) or not np.all(np.isfinite(q)):
        raise ValueError("scores must be finite and non-negative")
    positive = int(np.sum(q > 0))
    if not 0 < m <= positive:
        raise ValueError(f"the budget m must lie in (0, {positive}] (rows with a positive score)")
    order = np.argsort(-q)
    sorted_q = q[order]
    tail = np.cumsum(sorted_q[::-1])[::-1]  # tail[k] = sum of sorted_q[k:]
    for k in range(positive):  # k rows capped at probability 1
        c = (m - k) / tail[k]
        if c * sorted_q[k] <= 1.0 + 1e-12:
            break
    else:  # m == positive: every positive row is kept
        k, c = positive, 0.0
    pi = np.minimum(1.0, c * q)
    pi[order[:k]] = 1.0
    return pi


@dataclass(frozen=True)
class RowSample:
    """Rows kept by independent (Poisson) sampling.

    Attributes:
        index: kept rows of A.
        probability: their inclusion probabilities π_i.
        weight: 1/π_i, the weight of each kept row in an ℓ1 objective.
        scale: π_i^{-1/p}, the factor a kept row is multiplied by (weight = scale^p).
    """

    index: np.ndarray
    probability: np.ndarray
    weight: np.ndarray
    scale: np.ndarray


def sample_rows(probabilities: np.ndarray, rng: np.random.Generator, p: float = 1.0) -> RowSample:
    """Keep row i with probability π_i, independently; weights make every ℓp^p norm unbiased."""
    pi = np.asarray(probabilities, dtype=float)
    keep = np.flatnonzero(rng.random(pi.size) < pi)
    kept = pi[keep]
    return RowSample(keep, kept, 1.0 / kept, kept ** (-1.0 / p))


@dataclass(frozen=True)
class L1Fit:
    """An ℓ1 regression solution: coefficients and the weighted objective Σ w_i |a_i·x − b_i|."""

    coef: np.ndarray
    objective: float


def l1_regression(A: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None) -> L1Fit:
    """Exact weighted ℓ1 (least absolute deviations) regression via the dual LP
    max {bᵀz : Aᵀz = 0, |z_i| ≤ w_i}; the coefficients are the equality multipliers."""
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n, d = A.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or np.any(w < 0):
        raise ValueError("weights must be n non-negative numbers")
    if n == 0:  # an empty sample says nothing: every x is optimal, return 0
        return L1Fit(np.zeros(d), 0.0)
    bounds = np.column_stack([-w, w])
    res = linprog(-b, A_eq=A.T, b_eq=np.zeros(d), bounds=bounds, method="highs", options=_HIGHS)
    if res.status != 0:
        raise RuntimeError(f"ℓ1 regression LP failed: {res.message}")
    # value(r) = max {bᵀz : Aᵀz = r, |z| ≤ w} = min_x xᵀr + Σ w|b - Ax|, so d value/dr = x and
    # linprog (which minimises -bᵀz) reports the multipliers -x.
    coef = -np.asarray(res.eqlin.marginals, dtype=float)
    return L1Fit(coef, float(np.sum(w * np.abs(A @ coef - b))))


def relative_excess_error(A: np.ndarray, b: np.ndarray, coef: np.ndarray, optimum: float) -> float:
    """‖A x̃ − b‖_1 / OPT − 1 of coefficients x̃ fitted on a sample, on the full problem."""
    return float(np.sum(np.abs(np.asarray(A) @ coef - b)) / optimum - 1.0)


def rows_to_reach(budgets: np.ndarray, errors: np.ndarray, target: float, n: int) -> float:
    """Expected sample size at which an error curve first reaches ``target``.

    ``errors[k]`` is the mean error at budget ``budgets[k]`` (increasing budgets). The curve is
    made non-increasing (a running minimum), closed by (n, 0) — keeping every row solves the
    full problem — and interpolated linearly in (error, log m).
    """
    m = np.append(np.asarray(budgets, dtype=float), float(n))
    e = np.minimum.accumulate(np.append(np.asarray(errors, dtype=float), 0.0))
    if e[0] <= target:
        return float(m[0])
    k = int(np.argmax(e <= target))  # first budget at or below the target
    lo, hi = np.log(m[k - 1]), np.log(m[k])
    frac = (e[k - 1] - target) / (e[k - 1] - e[k])
    return float(np.exp(lo + frac * (hi - lo)))
