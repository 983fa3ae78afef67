"""Cumulative-logit ordinal regression: PRESTO, proportional odds, rare-class logistic regression.

G. Faletto and J. Bien, "Predicting Rare Events by Shrinking Towards Proportional Odds", ICML 2023
(arXiv:2305.18700; official R code: github.com/gregfaletto/presto).

**Model** (Section 2 of the paper; the sign convention of ordinalNet and of the paper's code). An
outcome ``y`` in K ordered classes ``0 < 1 < ... < K-1`` (the paper's 1..K) and, for every
threshold k = 0..K-2, its own intercept and weight vector::

    P(y <= k | x) = F(alpha_k + x' beta_k),   F(t) = 1 / (1 + exp(-t)),

so that P(y = c | x) = F(eta_c) - F(eta_{c-1}) with eta_k = alpha_k + x' beta_k, eta_{-1} = -inf
and eta_{K-1} = +inf. The last class is the rare one:
P(y = K-1 | x) = 1 - F(alpha_{K-2} + x' beta_{K-2}).

* **Proportional odds** (PO) forces beta_0 = ... = beta_{K-2} = beta.
* **PRESTO** (the paper's estimator, eq. (2) in Section 2) keeps one beta_k per threshold and
  minimises the convex objective::

      -(1/n) sum_i log P(y_i | x_i)  +  lambda * ( sum_j |beta_{0j}|
                                                  + sum_{k>=1} sum_j |beta_{kj} - beta_{k-1,j}| ).

  The L1 penalty on differences of adjacent weight vectors shrinks towards PO; as lambda grows the
  differences vanish. Like the authors (a modified ``ordinalNet``, Appendix H) we reparametrise
  psi_0 = beta_0, psi_k = beta_k - beta_{k-1}, which turns the penalty into a lasso on psi; the
  columns of x are centred and scaled to unit variance before fitting (ordinalNet's
  ``standardize=TRUE``), so the penalty acts on standardised coefficients, and the estimates are
  mapped back to the original scale. The official code penalises psi_0 too; ``penalize_first=False``
  leaves it free, so that lambda -> infinity gives exactly the PO fit.
* **Rare-class logistic regression** is the K = 2 case of the same likelihood on 1{y = K-1}.

**Fitting** (ordinalNet's approach, a proximal Newton method): at the current parameters the
negative log-likelihood is replaced by its second-order Taylor expansion (exact Hessian; the
likelihood of the cumulative logit model is concave in the linear predictors wherever the
probabilities are positive) and the lasso-penalised quadratic is minimised by coordinate descent;
a backtracking line search keeps every training probability positive and enforces sufficient
decrease of the penalised objective. Lambda is chosen as in the paper's code: a path of 20 values
from lambda_max (all psi zero) down to 0.01 lambda_max, warm-started, and 5-fold cross-validation
of the out-of-fold Brier score, the largest lambda among ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, log_expit

HUGE_LAMBDA = 1e12  # a penalty that sets every penalised coordinate exactly to zero
XTOL = 1e-9  # a Newton step this small (in standardised coordinates) ends the iterations


# --------------------------------------------------------------------------------------------
# Likelihood of the cumulative logit model
# --------------------------------------------------------------------------------------------


def _check_xy(
    X: np.ndarray, y: np.ndarray, n_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(y == np.round(y)):
            raise ValueError("y must hold integer class labels 0..K-1")
        y = y.astype(np.int64)
    K = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.min() < 0 or y.max() >= K or K < 2:
        raise ValueError(f"y must lie in 0..K-1 with K >= 2; got range {y.min()}..{y.max()}, K={K}")
    return X, y.astype(np.int64), K


def _linear_predictors(intercepts: np.ndarray, coefs: np.ndarray, X: np.ndarray) -> np.ndarray:
    """eta[i, k] = alpha_k + x_i' beta_k, shape (n, K-1)."""
    return intercepts[None, :] + X @ coefs


def _cuts(eta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The lower and upper cut of every observation, a = eta_{y-1} and b = eta_y (-inf / +inf at
    the ends), and gap = 1 - exp(a - b); ``None`` when some gap is not positive."""
    n = eta.shape[0]
    ext = np.hstack([np.full((n, 1), -np.inf), eta, np.full((n, 1), np.inf)])
    rows = np.arange(n)
    a, b = ext[rows, y], ext[rows, y + 1]
    with np.errstate(invalid="ignore", over="ignore"):
        gap = -np.expm1(a - b)  # 1 - exp(a - b) > 0 iff the cuts are ordered
    if not np.all(gap > 0):
        return None
    return a, b, gap


def _log_probabilities(eta: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """log P(y_i | x_i) = log F(b) + log F(-a) + log(1 - e^{a-b}), stable for large |eta|."""
    cuts = _cuts(eta, y)
    if cuts is None:
        return None
    a, b, gap = cuts
    return log_expit(b) + log_expit(-a) + np.log(gap)


def _observation_terms(eta: np.ndarray, y: np.ndarray):
    """Per observation: log P(y_i | x_i), the derivatives of -log P with respect to the lower and
    upper cut (a = eta_{y-1}, b = eta_y) and the 2x2 Hessian in (a, b); stable for large |eta|."""
    cuts = _cuts(eta, y)
    if cuts is None:
        return None
    a, b, gap = cuts
    f_a, f_b, f_ma, f_mb = expit(a), expit(b), expit(-a), expit(-b)
    # P = F(b) - F(a) = F(b) F(-a) (1 - e^{a-b})
    log_p = log_expit(b) + log_expit(-a) + np.log(gap)
    r_b = f_mb / (f_ma * gap)  # f(b) / P with f = F(1 - F)
    r_a = f_a / (f_b * gap)  # f(a) / P
    h_bb = (f_b - f_mb) * r_b + r_b**2  # -f'(b)/P + (f(b)/P)^2, f' = f (1 - 2F)
    h_aa = (f_ma - f_a) * r_a + r_a**2  # f'(a)/P + (f(a)/P)^2
    h_ab = -r_a * r_b
    return log_p, r_a, r_b, h_aa, h_bb, h_ab


def cumulative_logit_nll(
    intercepts: np.ndarray, coefs: np.ndarray, X: np.ndarray, y: np.ndarray
) -> float:
    """Mean negative log-likelihood -(1/n) sum_i log P(y_i | x_i); +inf where a training
    probability is not positive (crossing cumulative probabilities)."""
    intercepts, coefs = np.asarray(intercepts, float), np.asarray(coefs, float)
    X, y, _ = _check_xy(X, y, intercepts.size + 1)
    log_p = _log_probabilities(_linear_predictors(intercepts, coefs, X), y)
    return float("inf") if log_p is None else float(-log_p.mean())


def _eta_derivatives(eta: np.ndarray, y: np.ndarray):
    """Value, gradient (n, K-1) and Hessian weights of the mean NLL with respect to eta: the
    diagonal weights (n, K-1) and the weights of the pairs (k, k+1), shape (n, K-2)."""
    terms = _observation_terms(eta, y)
    if terms is None:
        return None
    log_p, r_a, r_b, h_aa, h_bb, h_ab = terms
    n, m = eta.shape
    rows = np.arange(n)
    grad = np.zeros((n, m))
    diag = np.zeros((n, m))
    upper, lower = y <= m - 1, y >= 1  # the cut b = eta_y exists / the cut a = eta_{y-1} exists
    grad[rows[upper], y[upper]] = -r_b[upper]
    diag[rows[upper], y[upper]] = h_bb[upper]
    grad[rows[lower], y[lower] - 1] = r_a[lower]
    diag[rows[lower], y[lower] - 1] = h_aa[lower]
    off = np.zeros((n, max(m - 1, 0)))
    both = upper & lower
    off[rows[both], y[both] - 1] = h_ab[both]
    return float(-log_p.mean()), grad / n, diag / n, off / n


def cumulative_logit_gradient(
    intercepts: np.ndarray, coefs: np.ndarray, X: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean NLL and its gradient with respect to the intercepts (K-1,) and coefficients (p, K-1)."""
    intercepts, coefs = np.asarray(intercepts, float), np.asarray(coefs, float)
    X, y, _ = _check_xy(X, y, intercepts.size + 1)
    out = _eta_derivatives(_linear_predictors(intercepts, coefs, X), y)
    if out is None:
        raise ValueError("the parameters give a non-positive training probability")
    value, grad, _, _ = out
    return value, grad.sum(axis=0), X.T @ grad


def cumulative_logit_hessian(
    intercepts: np.ndarray, coefs: np.ndarray, X: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Hessian of the mean NLL in z = (alpha_0, beta_0, alpha_1, beta_1, ...), size (K-1)(p+1)."""
    intercepts, coefs = np.asarray(intercepts, float), np.asarray(coefs, float)
    X, y, _ = _check_xy(X, y, intercepts.size + 1)
    out = _eta_derivatives(_linear_predictors(intercepts, coefs, X), y)
    if out is None:
        raise ValueError("the parameters give a non-positive training probability")
    return _hessian_z(np.hstack([np.ones((X.shape[0], 1)), X]), out[2], out[3])


def _outer_products(X1: np.ndarray) -> np.ndarray:
    """Row-wise outer products x~_i x~_i', flattened: (n, q*q)."""
    return (X1[:, :, None] * X1[:, None, :]).reshape(X1.shape[0], -1)


def _hessian_z(X1: np.ndarray, diag: np.ndarray, off: np.ndarray, outer=None) -> np.ndarray:
    """Hessian in z from the eta-Hessian weights: block (k, k) = X~' diag(diag_k) X~, block
    (k, k+1) = X~' diag(off_k) X~ (the eta-Hessian of one observation is tridiagonal)."""
    n, q = X1.shape
    m = diag.shape[1]
    outer = _outer_products(X1) if outer is None else outer
    blocks = (np.hstack([diag, off]).T @ outer).reshape(-1, q, q)
    H = np.zeros((m * q, m * q))
    for k in range(m):
        H[k * q : (k + 1) * q, k * q : (k + 1) * q] = blocks[k]
    for k in range(m - 1):
        H[k * q : (k + 1) * q, (k + 1) * q : (k + 2) * q] = blocks[m + k]
        H[(k + 1) * q : (k + 2) * q, k * q : (k + 1) * q] = blocks[m + k].T
    return H


# --------------------------------------------------------------------------------------------
# Parametrisations: theta -> z = (alpha_k, beta_k)_k, linear
# --------------------------------------------------------------------------------------------


def _presto_map(p: int, m: int) -> np.ndarray:
    """z = M theta with theta = (alpha_0..alpha_{m-1}, psi_0, ..., psi_{m-1}) and
    beta_k = sum_{l<=k} psi_l."""
    q = p + 1
    M = np.zeros((m * q, m + m * p))
    for k in range(m):
        M[k * q, k] = 1.0
        for lag in range(k + 1):
            cols = m + lag * p + np.arange(p)
            M[k * q + 1 + np.arange(p), cols] = 1.0
    return M


def _parallel_map(p: int, m: int) -> np.ndarray:
    """z = M theta with theta = (alpha_0..alpha_{m-1}, beta): one weight vector for all
    thresholds."""
    q = p + 1
    M = np.zeros((m * q, m + p))
    for k in range(m):
        M[k * q, k] = 1.0
        M[k * q + 1 + np.arange(p), m + np.arange(p)] = 1.0
    return M


def _unpack(z: np.ndarray, p: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    Z = z.reshape(m, p + 1)
    return Z[:, 0].copy(), Z[:, 1:].T.copy()


# --------------------------------------------------------------------------------------------
# Proximal Newton solver
# --------------------------------------------------------------------------------------------


@dataclass
class _Problem:
    X1: np.ndarray  # standardised design with a leading column of ones
    y: np.ndarray
    p: int
    m: int  # number of thresholds, K-1
    M: np.ndarray  # theta -> z
    weights: np.ndarray  # penalty weight per theta coordinate (0 = unpenalised)
    outer: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.outer = _outer_products(self.X1)

    def smooth(self, theta: np.ndarray, order: int = 0):
        z = self.M @ theta
        Z = z.reshape(self.m, self.p + 1)
        eta = Z[:, 0][None, :] + self.X1[:, 1:] @ Z[:, 1:].T
        if order == 0:
            log_p = _log_probabilities(eta, self.y)
            return float("inf") if log_p is None else float(-log_p.mean())
        out = _eta_derivatives(eta, self.y)
        if out is None:
            return None
        value, grad, diag, off = out
        grad_z = (self.X1.T @ grad).T.ravel()
        H = self.M.T @ _hessian_z(self.X1, diag, off, self.outer) @ self.M
        return value, self.M.T @ grad_z, H


def _qp_objective(c: np.ndarray, H: np.ndarray, thresholds: np.ndarray, u: np.ndarray) -> float:
    return float(c @ u + 0.5 * u @ H @ u + thresholds @ np.abs(u))


def lasso_qp(
    c: np.ndarray,
    H: np.ndarray,
    thresholds: np.ndarray,
    u: np.ndarray,
    tol: float = 1e-12,
    max_iter: int = 500,
) -> np.ndarray:
    """argmin_u c'u + u'Hu/2 + sum_j thresholds_j |u_j| for positive definite H (the proximal
    Newton subproblem), by the feature-sign active-set method (Lee et al., NeurIPS 2006): solve
    exactly on the active set with fixed signs, search the segment to that solution at the points
    where a sign would flip, then activate the zero coordinate that violates optimality most.
    Coordinates with threshold 0 are unpenalised. Falls back to coordinate descent if needed."""
    u = np.asarray(u, dtype=float).copy()
    free = thresholds == 0
    scale = tol * max(1.0, float(np.abs(c).max()))
    current = _qp_objective(c, H, thresholds, u)
    for _ in range(max_iter):
        q = c + H @ u
        active = free | (u != 0)
        signs = np.sign(u)
        zero = ~active
        resid = np.abs(q + thresholds * signs)[active]
        if resid.size == 0 or resid.max() <= scale:
            violation = np.where(zero, np.abs(q) - thresholds, -np.inf)
            j = int(np.argmax(violation))
            if violation[j] <= scale:
                return u
            active[j], signs[j] = True, -np.sign(q[j])
        idx = np.flatnonzero(active)
        try:
            solution = -np.linalg.solve(H[np.ix_(idx, idx)], c[idx] + thresholds[idx] * signs[idx])
        except np.linalg.LinAlgError:
            break
        target = np.zeros_like(u)
        target[idx] = solution
        step = target - u
        # the objective is one quadratic per sign orthant: check the full step and the points on
        # the segment where an active penalised coordinate reaches zero
        pen = idx[~free[idx]]
        crossing = pen[(np.sign(target[pen]) != signs[pen]) & (u[pen] != 0)]
        candidates = [(1.0, -1)] + [(u[j] / (u[j] - target[j]), j) for j in crossing]
        best, best_u = current, None
        for tau, j in candidates:
            trial = u + tau * step
            if j >= 0:
                trial[j] = 0.0
            trial[pen[np.sign(trial[pen]) != signs[pen]]] = 0.0  # never let a sign flip silently
            value = _qp_objective(c, H, thresholds, trial)
            if value < best - 1e-15 * max(1.0, abs(best)):
                best, best_u = value, trial
        if best_u is None:
            break
        u, current = best_u, best
    return _lasso_cd(c, H, thresholds, u, tol=tol, max_sweeps=1000)


def _lasso_cd(
    c: np.ndarray, H: np.ndarray, thresholds: np.ndarray, u: np.ndarray, tol: float, max_sweeps: int
) -> np.ndarray:
    """The same problem by cyclic coordinate descent from u (the fallback of :func:`lasso_qp`)."""
    u = u.copy()
    Hu = H @ u
    diag = np.diag(H).copy()
    free = thresholds == 0
    for _ in range(max_sweeps):
        biggest = 0.0
        for j in range(u.size):
            z = diag[j] * u[j] - c[j] - Hu[j]
            if free[j]:
                new = z / diag[j]
            else:
                new = np.sign(z) * max(abs(z) - thresholds[j], 0.0) / diag[j]
            step = new - u[j]
            if step != 0.0:
                Hu += step * H[:, j]
                u[j] = new
                biggest = max(biggest, abs(step))
        if biggest < tol:
            break
    return u


def _prox_newton(
    prob: _Problem, lam: float, theta: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, float, int, bool]:
    thresholds = lam * prob.weights
    penalised = thresholds > 0

    def objective(t: np.ndarray, smooth: float) -> float:
        return smooth + float(np.sum(thresholds * np.abs(t)))

    if prob.smooth(theta) == float("inf"):
        raise ValueError("the starting point gives a non-positive training probability")
    for it in range(1, max_iter + 1):
        value, g, H = prob.smooth(theta, order=2)
        H = H + 1e-10 * np.eye(H.shape[0])
        current = objective(theta, value)
        if not penalised.any():
            target = theta - np.linalg.solve(H, g)
        else:
            target = lasso_qp(g - H @ theta, H, thresholds, theta)
        delta = target - theta
        decrease = float(g @ delta) + objective(target, 0.0) - objective(theta, 0.0)
        if decrease > -tol:
            # the predicted decrease is negligible: take the (tiny) full step unless it fails to
            # help, and stop once the step itself is negligible
            new = objective(target, prob.smooth(target))
            if new > current + 1e-12 * max(1.0, abs(current)):
                return theta, current, it, True
            theta = target
            if np.max(np.abs(delta)) <= XTOL:
                return theta, new, it, True
            continue
        step = 1.0
        for _ in range(60):
            trial = theta + step * delta
            new = objective(trial, prob.smooth(trial))
            if new <= current + 1e-4 * step * decrease:
                break
            step *= 0.5
        else:
            return theta, current, it, False
        theta = trial
    value = prob.smooth(theta)
    return theta, objective(theta, value), max_iter, False


# --------------------------------------------------------------------------------------------
# Fits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CumulativeLogitFit:
    """A fitted cumulative logit model on the original scale of x:
    P(y <= k | x) = F(intercepts[k] + x' coefs[:, k])."""

    intercepts: np.ndarray  # (K-1,)
    coefs: np.ndarray  # (p, K-1)
    objective: float = float("nan")  # penalised objective at the solution (standardised scale)
    n_iter: int = 0
    converged: bool = True
    lam: float = 0.0
    theta: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # solver coordinates

    @property
    def n_classes(self) -> int:
        return self.intercepts.size + 1

    def cumulative_probabilities(self, X: np.ndarray) -> np.ndarray:
        """P(y <= k | x) for k = 0..K-2, shape (n, K-1)."""
        return expit(_linear_predictors(self.intercepts, self.coefs, np.asarray(X, float)))

    def class_probabilities(self, X: np.ndarray) -> np.ndarray:
        """P(y = c | x), shape (n, K); with separate weights, out-of-sample rows may hold negative
        entries where the cumulative probabilities cross (the paper's caveat)."""
        cum = self.cumulative_probabilities(X)
        n = cum.shape[0]
        return np.diff(np.hstack([np.zeros((n, 1)), cum, np.ones((n, 1))]), axis=1)

    def rare_probability(self, X: np.ndarray) -> np.ndarray:
        """P(y = K-1 | x) = 1 - F(alpha_{K-2} + x' beta_{K-2}), always in [0, 1]."""
        eta = self.intercepts[-1] + np.asarray(X, float) @ self.coefs[:, -1]
        return expit(-eta)


@dataclass
class _Standardiser:
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray, standardize: bool) -> _Standardiser:
        mean = X.mean(axis=0)
        scale = X.std(axis=0) if standardize else np.ones(X.shape[1])
        scale[scale == 0] = 1.0
        return cls(mean, scale)

    def design(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((X.shape[0], 1)), (X - self.mean) / self.scale])

    def original(self, intercepts: np.ndarray, coefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = coefs / self.scale[:, None]
        return intercepts - self.mean @ b, b


def _initial_theta(y: np.ndarray, m: int, n_theta: int) -> np.ndarray:
    """The intercept-only fit: alpha_k = logit of the share of y <= k (all weights zero)."""
    counts = np.bincount(y, minlength=m + 1).astype(float)
    cum = np.clip(np.cumsum(counts)[:-1] / counts.sum(), 1e-6, 1 - 1e-6)
    theta = np.zeros(n_theta)
    theta[:m] = np.log(cum / (1 - cum))
    return theta


def _presto_problem(
    X: np.ndarray, y: np.ndarray, K: int, penalize_first: bool, standardize: bool
) -> tuple[_Problem, _Standardiser]:
    p, m = X.shape[1], K - 1
    std = _Standardiser.of(X, standardize)
    weights = np.r_[np.zeros(m), np.ones(m * p)]
    if not penalize_first:
        weights[m : m + p] = 0.0
    return _Problem(std.design(X), y, p, m, _presto_map(p, m), weights), std


def _to_fit(prob, std, theta, objective, n_iter, converged, lam) -> CumulativeLogitFit:
    intercepts, coefs = _unpack(prob.M @ theta, prob.p, prob.m)
    intercepts, coefs = std.original(intercepts, coefs)
    return CumulativeLogitFit(intercepts, coefs, objective, n_iter, converged, lam, theta)


def presto_path(
    X: np.ndarray,
    y: np.ndarray,
    lambdas: Sequence[float],
    *,
    n_classes: int | None = None,
    penalize_first: bool = True,
    standardize: bool = True,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> list[CumulativeLogitFit]:
    """PRESTO fits along ``lambdas`` (fitted in the order given, each warm-started from the
    previous solution; pass them in decreasing order)."""
    X, y, K = _check_xy(X, y, n_classes)
    if K < 3:
        raise ValueError("PRESTO needs at least three ordered classes")
    prob, std = _presto_problem(X, y, K, penalize_first, standardize)
    theta = _initial_theta(y, prob.m, prob.M.shape[1])
    fits = []
    for lam in lambdas:
        if lam < 0:
            raise ValueError(f"lambda must be non-negative; got {lam}")
        theta, obj, n_iter, ok = _prox_newton(prob, float(lam), theta, tol, max_iter)
        fits.append(_to_fit(prob, std, theta, obj, n_iter, ok, float(lam)))
    return fits


def fit_presto(X: np.ndarray, y: np.ndarray, lam: float, **kwargs) -> CumulativeLogitFit:
    """PRESTO at one penalty ``lam`` (see :func:`presto_path` for the options)."""
    return presto_path(X, y, [lam], **kwargs)[0]


def presto_lambda_max(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    penalize_first: bool = True,
    standardize: bool = True,
) -> float:
    """The smallest lambda at which every penalised psi is zero: max |d NLL / d psi_j| at the
    fit with all penalised coordinates at zero (the KKT condition of the lasso)."""
    X, y, K = _check_xy(X, y, n_classes)
    prob, _ = _presto_problem(X, y, K, penalize_first, standardize)
    theta = _initial_theta(y, prob.m, prob.M.shape[1])
    theta, *_ = _prox_newton(prob, HUGE_LAMBDA, theta, 1e-12, 100)
    _, g, _ = prob.smooth(theta, order=2)
    pen = prob.weights > 0
    return float(np.max(np.abs(g[pen]) / prob.weights[pen]))


def lambda_grid(lam_max: float, n_lambda: int = 20, min_ratio: float = 0.01) -> np.ndarray:
    """``n_lambda`` values from ``lam_max`` down to ``min_ratio * lam_max``, evenly spaced in log
    (ordinalNet's default path: 20 values, ratio 0.01)."""
    if lam_max <= 0 or n_lambda < 1 or not 0 < min_ratio < 1:
        raise ValueError("need lam_max > 0, n_lambda >= 1 and 0 < min_ratio < 1")
    return np.geomspace(lam_max, lam_max * min_ratio, n_lambda)


def _fit_parallel(X: np.ndarray, y: np.ndarray, K: int, tol: float, max_iter: int):
    p, m = X.shape[1], K - 1
    std = _Standardiser.of(X, True)
    prob = _Problem(std.design(X), y, p, m, _parallel_map(p, m), np.zeros(m + p))
    theta = _initial_theta(y, m, m + p)
    theta, obj, n_iter, ok = _prox_newton(prob, 0.0, theta, tol, max_iter)
    return _to_fit(prob, std, theta, obj, n_iter, ok, 0.0)


def fit_proportional_odds(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> CumulativeLogitFit:
    """Maximum-likelihood proportional odds model (one weight vector, K-1 intercepts), by Newton's
    method; ``coefs`` repeats the common weight vector in every column."""
    X, y, K = _check_xy(X, y, n_classes)
    return _fit_parallel(X, y, K, tol, max_iter)


def fit_rare_logistic(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int | None = None,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> CumulativeLogitFit:
    """Unpenalised logistic regression of 1{y = K-1} on x (the paper's "Logit" baseline), written
    as a two-class cumulative logit model so that ``rare_probability`` is P(y = K-1 | x)."""
    X, y, K = _check_xy(X, y, n_classes)
    rare = (y == K - 1).astype(np.int64)
    return _fit_parallel(X, rare, 2, tol, max_iter)


# --------------------------------------------------------------------------------------------
# Choosing lambda by cross-validation (the paper's code: ordinalNetTune, Brier score)
# --------------------------------------------------------------------------------------------


def brier_score(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Mean over observations of sum_c (p_c - 1{y = c})^2 (multi-class Brier score)."""
    probabilities = np.asarray(probabilities, float)
    onehot = np.zeros_like(probabilities)
    onehot[np.arange(len(y)), np.asarray(y)] = 1.0
    return float(np.mean(np.sum((probabilities - onehot) ** 2, axis=1)))


@dataclass(frozen=True)
class PrestoCV:
    """Cross-validated PRESTO: the lambda path, the out-of-fold Brier score per (lambda, fold),
    the chosen lambda and the fit on all the data at that lambda."""

    lambdas: np.ndarray
    brier: np.ndarray  # (n_lambda, n_folds)
    best_index: int
    fit: CumulativeLogitFit
    path: list[CumulativeLogitFit] = field(repr=False)

    @property
    def best_lambda(self) -> float:
        return float(self.lambdas[self.best_index])


def cross_validate_presto(
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    n_folds: int = 5,
    n_lambda: int = 20,
    min_ratio: float = 0.01,
    n_classes: int | None = None,
    penalize_first: bool = True,
    standardize: bool = True,
    tol: float = 1e-8,
) -> PrestoCV:
    """Choose lambda by ``n_folds``-fold cross-validation of the out-of-fold Brier score over a
    path from lambda_max (computed on all of X, y) down to ``min_ratio`` lambda_max; ties go to the
    largest lambda. Only ``X, y`` are used: pass training data."""
    X, y, K = _check_xy(X, y, n_classes)
    options = dict(n_classes=K, penalize_first=penalize_first, standardize=standardize)
    lambdas = lambda_grid(presto_lambda_max(X, y, **options), n_lambda, min_ratio)
    path = presto_path(X, y, lambdas, tol=tol, **options)
    folds = np.array_split(rng.permutation(len(y)), n_folds)
    brier = np.empty((n_lambda, n_folds))
    for f, test in enumerate(folds):
        train = np.setdiff1d(np.arange(len(y)), test)
        fold_path = presto_path(X[train], y[train], lambdas, tol=tol, **options)
        for i, fit in enumerate(fold_path):
            brier[i, f] = brier_score(fit.class_probabilities(X[test]), y[test])
    mean = brier.mean(axis=1)
    best = int(np.flatnonzero(mean == mean.min())[0])  # lambdas decrease: first = largest
    return PrestoCV(lambdas, brier, best, path[best], path)


# --------------------------------------------------------------------------------------------
# The paper's simulation (Section 4.1 sparse and 4.2 dense differences)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelaxedPOData:
    """One draw of the relaxed proportional odds simulation."""

    X: np.ndarray
    y: np.ndarray
    intercepts: np.ndarray
    coefs: np.ndarray  # true beta_k, (p, K-1)

    def rare_probability(self, X: np.ndarray) -> np.ndarray:
        return CumulativeLogitFit(self.intercepts, self.coefs).rare_probability(X)


def simulate_relaxed_proportional_odds(
    n: int,
    p: int,
    intercepts: Sequence[float],
    rng: np.random.Generator,
    *,
    differences: str = "sparse",
    base_weight: float = 1.0,
    dev_size: float = 0.5,
    dev_prob: float = 1 / 3,
    max_tries: int = 1000,
) -> RelaxedPOData:
    """Section 4 of the paper (its ``sim_relaxed_prop_odds_rand`` / ``..._unif_...`` in R).

    x ~ Uniform(-1, 1)^p; K = len(intercepts) + 1 classes; P(y <= k | x) = F(alpha_k + x' beta_k).

    * ``sparse`` (Sec. 4.1): beta_0 has each entry equal to ``base_weight`` with probability
      ``dev_prob`` (else 0); beta_k = beta_{k-1} + delta_k with each entry of delta_k equal to
      +-``dev_size`` (random sign) with probability ``dev_prob`` (else 0).
    * ``dense`` (Sec. 4.2): beta_0 and every delta_k have entries Uniform(-dev_size, dev_size).

    As in the official code, a draw whose class probabilities are negative for some sampled x
    (crossing cumulative probabilities) or that misses a class is discarded and drawn again.
    """
    alpha = np.asarray(intercepts, dtype=float)
    if alpha.ndim != 1 or alpha.size < 2 or np.any(np.diff(alpha) < 0):
        raise ValueError("intercepts must be non-decreasing with at least two thresholds (K >= 3)")
    if differences not in ("sparse", "dense"):
        raise ValueError(f"differences must be 'sparse' or 'dense'; got {differences!r}")
    m = alpha.size
    for _ in range(max_tries):
        B = np.zeros((p, m))
        if differences == "sparse":
            B[:, 0] = base_weight * (rng.random(p) < dev_prob)
            for k in range(1, m):
                step = dev_size * (rng.random(p) < dev_prob) * rng.choice([-1.0, 1.0], size=p)
                B[:, k] = B[:, k - 1] + step
        else:
            B[:, 0] = rng.uniform(-dev_size, dev_size, size=p)
            for k in range(1, m):
                B[:, k] = B[:, k - 1] + rng.uniform(-dev_size, dev_size, size=p)
        X = rng.uniform(-1.0, 1.0, size=(n, p))
        probs = CumulativeLogitFit(alpha, B).class_probabilities(X)
        if np.any(probs < 0):
            continue
        u = rng.random(n)[:, None]
        y = (u > np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1)
        if np.unique(y).size == m + 1:
            return RelaxedPOData(X, y.astype(np.int64), alpha, B)
    raise RuntimeError(f"no valid draw in {max_tries} tries; the intercepts may be too close")
