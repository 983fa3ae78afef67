"""A small-scale tester-learner for homogeneous halfspaces under Massart noise (Gaussian target).

A. Gollakota, A. R. Klivans, K. Stavropoulos and A. Vasilyan, "An Efficient Tester-Learner for
Halfspaces", ICLR 2024 (arXiv:2302.14853). No official code exists (a theory paper); this module
is our reading of its Massart-noise tester-learner (its Algorithm 1) at a scale a laptop can run.

**Setting.** x in R^d, labels y = sign(<w*, x>) flipped with probability eta(x) <= eta_max < 1/2
(Massart noise). Then w* is Bayes-optimal, opt = err(w*) = E[eta(x)], and for any unit w

    err(w) - opt = E[(1 - 2 eta(x)) 1{sign<w, x> != sign<w*, x>}]                     (1)

so the excess error is at most the probability of the wedge where w and w* disagree; under
N(0, I_d) that probability is angle(w, w*) / pi.

**Learner** (the weak learner the paper runs, from Diakonikolas, Kontonis, Tzamos and Zarifis,
COLT 2020): projected SGD on the unit sphere for the non-convex smoothed loss

    L_sigma(w) = E[ S_sigma(-y <w, x> / ||w||) ],   S_sigma(t) = 1 / (1 + exp(-t / sigma)),   (2)

whose gradient on the sphere is -E[S'_sigma(t) y (I - w w') x] (:func:`psgd_stacked` trains many
independent problems in lockstep, vectorised over the problems). Its stationary points are close
in angle to w* when the marginal is Gaussian; the paper's point is that the properties of the
marginal that this argument uses can be *tested* around the learner's own output w.

**Tester** (our version of the paper's tests; thresholds are calibrated by simulating the target
N(0, I_d), which the tester knows, so that Gaussian data pass with probability >= 1 - alpha):

* T0, global moments (label-oblivious, the approach of earlier testable learners): the mean and
  the second-moment matrix of x are close to 0 and I_d;
* T1, band masses around w: P[|<w, x>| <= s] is close to its Gaussian value 2 Phi(s) - 1 at a few
  scales s (the paper tests such masses up to constant factors);
* T2, localised moments: conditioned on the band |<w, x>| <= s, the projection of x onto the
  orthogonal complement of w has mean ~ 0 and second moments ~ I_{d-1} (the paper matches the
  moments of the band-conditional distribution to the Gaussian's; we test degrees 1 and 2).

T1 and T2 depend on the labels through w. The paper's third, explicitly label-dependent test (its
T3) is not implemented here. The tests are run on a sample that the learner did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from scipy.stats import binom, chi2, norm

MARGINALS = ("gaussian", "slab", "hole", "shear", "heavy_tail")
NOISES = ("uniform", "boundary")


# --------------------------------------------------------------------------------------------
# Data: marginals and Massart noise
# --------------------------------------------------------------------------------------------


def random_unit_vector(d: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=d)
    return v / np.linalg.norm(v)


def _orthonormal_complement(w: np.ndarray) -> np.ndarray:
    """A (d, d-1) matrix whose orthonormal columns span the complement of the unit vector w."""
    d = w.size
    q, _ = np.linalg.qr(np.column_stack([w, np.eye(d)[:, : d - 1]]))
    basis = q[:, 1:]
    return basis - np.outer(w, w @ basis)  # exact orthogonality up to rounding


def _unit_variance_slab(n: int, q: float, s: float, rng: np.random.Generator) -> np.ndarray:
    """1-D: N(0, 1) with probability 1 - q, Uniform(-s, s) with probability q, scaled to unit
    variance (extra mass near 0)."""
    t = np.where(rng.random(n) < q, rng.uniform(-s, s, n), rng.normal(size=n))
    return t / np.sqrt((1 - q) + q * s**2 / 3)


def _unit_variance_hole(n: int, s: float, rng: np.random.Generator) -> np.ndarray:
    """1-D: N(0, 1) conditioned on |t| > s, scaled to unit variance (no mass near 0)."""
    tail = norm.sf(s)
    u = rng.uniform(0, tail, n)
    t = norm.isf(u) * rng.choice([-1.0, 1.0], size=n)
    second = 1 + s * norm.pdf(s) / tail  # E[t^2 | |t| > s]
    return t / np.sqrt(second)


@dataclass(frozen=True)
class Marginal:
    """A distribution of x in R^d built around the target direction w* (a unit vector).

    * ``gaussian``: N(0, I_d), the target;
    * ``slab``: along w*, N(0, 1) mixed with Uniform(-width, width) (weight ``weight``), rescaled
      to unit variance; the rest N(0, I): extra mass at the decision boundary;
    * ``hole``: along w*, N(0, 1) without the band |t| <= width, rescaled: missing mass there;
    * ``shear``: N(0, I_d), but inside the band |<w*, x>| <= width the coordinate along a direction
      u orthogonal to w* is stretched by ``factor`` and outside it is shrunk so that its overall
      variance stays 1: right global moments and band masses, wrong band-conditional moments;
    * ``heavy_tail``: a multivariate Student t with ``dof`` degrees of freedom, scaled to
      identity covariance (right first and second moments, heavier tails, more mass near 0).
    """

    kind: str = "gaussian"
    width: float = 0.3
    weight: float = 0.1
    factor: float = 1.6
    dof: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in MARGINALS:
            raise ValueError(f"kind must be one of {', '.join(MARGINALS)}; got {self.kind!r}")

    def sample(self, n: int, w_star: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        d = w_star.size
        if self.kind == "gaussian":
            return rng.normal(size=(n, d))
        if self.kind == "heavy_tail":
            g = rng.normal(size=(n, d))
            scale = np.sqrt(rng.chisquare(self.dof, size=n) / self.dof)
            return g / scale[:, None] * np.sqrt((self.dof - 2) / self.dof)
        basis = _orthonormal_complement(w_star)
        rest = rng.normal(size=(n, d - 1))
        if self.kind == "slab":
            t = _unit_variance_slab(n, self.weight, self.width, rng)
        elif self.kind == "hole":
            t = _unit_variance_hole(n, self.width, rng)
        else:  # shear
            t = rng.normal(size=n)
            inside = np.abs(t) <= self.width
            p_in = 2 * norm.cdf(self.width) - 1
            outside = np.sqrt((1 - p_in * self.factor**2) / (1 - p_in))
            if not np.isfinite(outside):
                raise ValueError("factor too large for the band: the variance cannot stay 1")
            rest[:, 0] *= np.where(inside, self.factor, outside)
        return np.outer(t, w_star) + rest @ basis.T


@dataclass(frozen=True)
class MassartNoise:
    """eta(x) <= eta_max < 1/2: ``uniform`` flips every label with probability eta_max (random
    classification noise, a special case); ``boundary`` flips with probability eta_max inside the
    band |<w*, x>| <= width and never outside it."""

    kind: str = "uniform"
    eta_max: float = 0.2
    width: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in NOISES:
            raise ValueError(f"kind must be one of {', '.join(NOISES)}; got {self.kind!r}")
        if not 0 <= self.eta_max < 0.5:
            raise ValueError(f"Massart noise needs 0 <= eta_max < 1/2; got {self.eta_max}")

    def rate(self, X: np.ndarray, w_star: np.ndarray) -> np.ndarray:
        """eta(x) for every row of X."""
        if self.kind == "uniform":
            return np.full(X.shape[0], self.eta_max)
        return self.eta_max * (np.abs(X @ w_star) <= self.width)

    def gaussian_opt(self) -> float:
        """opt = E[eta(x)] under N(0, I_d), exactly."""
        if self.kind == "uniform":
            return self.eta_max
        return self.eta_max * (2 * norm.cdf(self.width) - 1)


def massart_labels(
    X: np.ndarray, w_star: np.ndarray, noise: MassartNoise, rng: np.random.Generator
) -> np.ndarray:
    """y = sign(<w*, x>) (with sign(0) = +1), flipped independently with probability eta(x)."""
    clean = np.where(X @ w_star >= 0, 1.0, -1.0)
    flip = rng.random(X.shape[0]) < noise.rate(X, w_star)
    return np.where(flip, -clean, clean)


def excess_error(w: np.ndarray, w_star: np.ndarray, X: np.ndarray, noise: MassartNoise) -> float:
    """err(w) - opt by identity (1), estimated on the points X (labels are not needed)."""
    disagree = np.sign(X @ w) != np.sign(X @ w_star)
    return float(np.mean((1 - 2 * noise.rate(X, w_star)) * disagree))


def zero_one_error(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.where(X @ w >= 0, 1.0, -1.0) != y))


def angle(w: np.ndarray, v: np.ndarray) -> float:
    """The angle between two vectors, in radians."""
    c = float(w @ v / (np.linalg.norm(w) * np.linalg.norm(v)))
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


# --------------------------------------------------------------------------------------------
# Learner: projected SGD on the smoothed loss (2)
# --------------------------------------------------------------------------------------------


def smoothed_loss(
    w: np.ndarray, X: np.ndarray, y: np.ndarray, sigma: float
) -> tuple[float, np.ndarray]:
    """L_sigma(w) of (2) on the sample and its gradient, for a unit w. The gradient is already
    tangent to the sphere: -mean(S'(t) y (x - <w, x> w)) with t = -y <w, x>."""
    loss, grad = _smoothed_loss_stacked(w[None, None], X[None], y[None], sigma)
    return float(loss[0, 0]), grad[0, 0]


def _smoothed_loss_stacked(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """(2) and its tangent gradient for R problems and K unit vectors each: W (R, K, d), X
    (R, m, d), y (R, m); returns the (R, K) losses and the (R, K, d) gradients."""
    Z = y[:, :, None] * X  # y x: then t = -<w, z> and the gradient is -mean(S'(t) z)
    s = expit(-(Z @ np.swapaxes(W, 1, 2)) / sigma)  # (R, m, K)
    weight = s * (1 - s) / sigma  # S'_sigma(t)
    g = -np.swapaxes(weight, 1, 2) @ Z / X.shape[1]  # (R, K, d)
    g -= np.sum(g * W, axis=2, keepdims=True) * W  # tangent to the sphere
    return s.mean(axis=1), g


@dataclass(frozen=True)
class PSGDResult:
    w: np.ndarray  # the returned candidate (unit vector)
    candidates: np.ndarray  # the iterates kept, one per row
    gradient_norms: np.ndarray  # ||grad L_sigma|| of each candidate on the training sample


def psgd(
    X: np.ndarray,
    y: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    *,
    n_steps: int = 2000,
    batch: int = 256,
    lr: float = 0.05,
    n_candidates: int = 20,
) -> PSGDResult:
    """Projected SGD on the unit sphere for L_sigma from a random start. Keeps ``n_candidates``
    evenly spaced iterates of the second half and returns the one with the smallest full-sample
    gradient norm (an approximately stationary point, as the analysis requires). One problem;
    :func:`psgd_stacked` runs many in lockstep."""
    return psgd_stacked(
        X[None], y[None], sigma, rng, n_steps=n_steps, batch=batch, lr=lr, n_candidates=n_candidates
    )[0]


def psgd_stacked(
    X: np.ndarray,
    y: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    *,
    n_steps: int = 2000,
    batch: int = 256,
    lr: float = 0.05,
    n_candidates: int = 20,
) -> list[PSGDResult]:
    """:func:`psgd` for R independent problems X (R, n, d), y (R, n) at once (vectorised over
    the problems: the same algorithm, each problem with its own start and mini-batches)."""
    R, n, d = X.shape
    G = rng.normal(size=(R, d))
    W = G / np.linalg.norm(G, axis=1, keepdims=True)
    keep = set(np.linspace(n_steps // 2, n_steps, n_candidates, dtype=int).tolist())
    Z_flat = (y[:, :, None] * X).reshape(R * n, d)  # y x: one gather per step instead of two
    offsets = (np.arange(R) * n)[:, None]
    kept = []
    for step in range(1, n_steps + 1):
        idx = rng.integers(0, n, size=(R, batch)) + offsets
        Zb = np.take(Z_flat, idx, axis=0)  # (R, batch, d): the mini-batches' y x
        s = expit(-(W[:, None, :] @ np.swapaxes(Zb, 1, 2))[:, 0] / sigma)  # S(-y<w, x>)
        g = -((s * (1 - s))[:, None, :] @ Zb)[:, 0] / (batch * sigma)  # gradient of (2)
        g -= np.sum(g * W, axis=1, keepdims=True) * W  # tangent to the sphere
        W = W - lr * g
        W /= np.linalg.norm(W, axis=1, keepdims=True)  # projection back onto the sphere
        if step in keep:
            kept.append(W.copy())
    candidates = np.stack(kept, axis=1)  # (R, K, d)
    norms = np.linalg.norm(_smoothed_loss_stacked(candidates, X, y, sigma)[1], axis=2)  # (R, K)
    best = np.argmin(norms, axis=1)
    return [PSGDResult(candidates[r, best[r]], candidates[r], norms[r]) for r in range(R)]


# --------------------------------------------------------------------------------------------
# Tester
# --------------------------------------------------------------------------------------------


def gaussian_band_mass(s: float) -> float:
    """P[|z| <= s] for z ~ N(0, 1)."""
    return float(2 * norm.cdf(s) - 1)


def _moment_statistics(Z: np.ndarray) -> tuple[float, float]:
    """sqrt(m) ||mean|| and sqrt(m) ||Z'Z/m - I||_op of an (m, k) sample (O(1) under N(0, I))."""
    m, k = Z.shape
    if m == 0:
        return float("inf"), float("inf")
    mean = Z.mean(axis=0)
    second = Z.T @ Z / m - np.eye(k)
    return float(np.sqrt(m) * np.linalg.norm(mean)), float(
        np.sqrt(m) * np.abs(np.linalg.eigvalsh(second)).max()
    )


GLOBAL = ("global mean", "global second moment")
CONDITIONAL = ("band mean", "band second moment")


def test_statistics(
    w: np.ndarray, X: np.ndarray, band_scales: Sequence[float], conditional_scale: float
) -> dict[str, float]:
    """The statistics of T0, T1 and T2 for a unit vector w on the sample X (all are >= 0 and
    larger means further from N(0, I_d)):

    * T0: sqrt(n) ||mean(x)|| and sqrt(n) ||mean(x x') - I||_op;
    * T1: for every scale s, the z-score |p_hat(s) - p(s)| / sqrt(p(s)(1 - p(s)) / n) of the band
      mass p_hat(s) = share of |<w, x>| <= s against the Gaussian p(s) = 2 Phi(s) - 1;
    * T2: the two moment statistics of T0 for the points of the band |<w, x>| <= conditional_scale,
      projected onto the orthogonal complement of w (there N(0, I_{d-1}) under the target).
    """
    n = X.shape[0]
    stats: dict[str, float] = dict(zip(GLOBAL, _moment_statistics(X), strict=True))
    proj = X @ w
    for s in band_scales:
        p = gaussian_band_mass(s)
        stats[f"band mass {s:g}"] = float(
            abs(np.mean(np.abs(proj) <= s) - p) / np.sqrt(p * (1 - p) / n)
        )
    inside = np.abs(proj) <= conditional_scale
    Z = X[inside] @ _orthonormal_complement(w)
    stats.update(zip(CONDITIONAL, _moment_statistics(Z), strict=True))
    return stats


@dataclass(frozen=True)
class Tester:
    """Critical values for every statistic of :func:`test_statistics`, at level ``alpha`` in all
    (Bonferroni over the statistics) for samples of size ``n`` from N(0, I_d)."""

    n: int
    d: int
    band_scales: tuple[float, ...]
    conditional_scale: float
    alpha: float
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def statistics(self, w: np.ndarray, X: np.ndarray) -> dict[str, float]:
        return test_statistics(w, X, self.band_scales, self.conditional_scale)

    def decide(self, stats: Mapping[str, float]) -> dict[str, bool]:
        """Pass/fail per test: T0 (global moments), T1 (band masses), T2 (band-conditional
        moments) and ``accept`` (all three)."""
        ok = {name: stats[name] <= self.thresholds[name] for name in stats}
        out = {
            "T0 global moments": all(ok[name] for name in GLOBAL),
            "T1 band masses": all(ok[name] for name in ok if name.startswith("band mass")),
            "T2 band-conditional moments": all(ok[name] for name in CONDITIONAL),
        }
        out["accept"] = all(out.values())
        return out


def _band_mass_threshold(n: int, p: float, level: float) -> float:
    """The smallest z with P[|K/n - p| / sqrt(p(1-p)/n) > z] <= 1 - level for K ~ Bin(n, p)."""
    k = np.arange(n + 1)
    z = np.abs(k / n - p) / np.sqrt(p * (1 - p) / n)
    order = np.argsort(-z)
    tail = np.cumsum(binom.pmf(k[order], n, p))  # P[Z >= z_(j)], largest z first
    allowed = np.flatnonzero(tail <= 1 - level)
    return float(z[order][allowed[-1] + 1]) if allowed.size else float(z.max())


def wishart_identity(m: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Draws W ~ Wishart(m_i, I_k), one per entry of the integer array m, by the Bartlett
    decomposition W = A A' (A lower triangular, A_jj^2 ~ chi2(m - j), A_ij ~ N(0, 1) below the
    diagonal); returns an (len(m), k, k) array."""
    m = np.asarray(m)
    A = np.tril(rng.normal(size=(m.size, k, k)), k=-1)
    diag = np.sqrt(rng.chisquare(m[:, None] - np.arange(k)[None, :]))
    A[:, np.arange(k), np.arange(k)] = diag
    return A @ np.swapaxes(A, 1, 2)


def _spectral_quantile(m: np.ndarray, k: int, level: float, rng: np.random.Generator) -> float:
    """Quantile of sqrt(m) ||W/m - I_k||_op, W ~ Wishart(m, I_k), over the given sizes m."""
    m = np.asarray(m)
    W = wishart_identity(m, k, rng) / m[:, None, None] - np.eye(k)
    values = np.sqrt(m) * np.abs(np.linalg.eigvalsh(W)).max(axis=1)
    return float(np.quantile(values, level))


def calibrate_tester(
    n: int,
    d: int,
    rng: np.random.Generator,
    *,
    band_scales: Sequence[float] = (0.1, 0.3, 1.0),
    conditional_scale: float = 0.3,
    alpha: float = 0.05,
    n_simulations: int = 4000,
) -> Tester:
    """Critical values under the target N(0, I_d), each at level alpha / k (k statistics, so that
    a Gaussian sample passes all of them with probability >= 1 - alpha). By rotation invariance
    their distribution does not depend on w:

    * the mean statistics are chi-distributed (d, resp. d - 1 degrees of freedom), exactly;
    * the band counts are Binomial(n, 2 Phi(s) - 1), exactly;
    * the second-moment statistics are sqrt(m) ||W/m - I||_op with W ~ Wishart(m, I) (m = n, resp.
      m ~ Binomial(n, 2 Phi(conditional_scale) - 1)), simulated ``n_simulations`` times.
    """
    k = 2 + len(band_scales) + 2
    level = 1 - alpha / k
    thresholds = {
        "global mean": float(np.sqrt(chi2.ppf(level, d))),
        "global second moment": _spectral_quantile(np.full(n_simulations, n), d, level, rng),
    }
    for s in band_scales:
        thresholds[f"band mass {s:g}"] = _band_mass_threshold(n, gaussian_band_mass(s), level)
    band_sizes = rng.binomial(n, gaussian_band_mass(conditional_scale), size=n_simulations)
    thresholds["band mean"] = float(np.sqrt(chi2.ppf(level, d - 1)))
    thresholds["band second moment"] = _spectral_quantile(band_sizes, d - 1, level, rng)
    return Tester(n, d, tuple(band_scales), conditional_scale, alpha, thresholds)


# --------------------------------------------------------------------------------------------
# The tester-learner
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    w: np.ndarray
    decisions: dict[str, bool]
    statistics: dict[str, float]
    gradient_norm: float

    @property
    def accepted(self) -> bool:
        return self.decisions["accept"]


def tester_learner(
    X_learn: np.ndarray,
    y_learn: np.ndarray,
    X_test: np.ndarray,
    tester: Tester,
    rng: np.random.Generator,
    *,
    sigma: float = 0.1,
    psgd_options: Mapping | None = None,
    learner: Callable | None = None,
) -> Outcome:
    """Learn w on (X_learn, y_learn) by PSGD on L_sigma, then run T0-T2 around w on the fresh
    points X_test (``tester`` must be calibrated for their size). Accept iff every test passes."""
    if X_test.shape != (tester.n, tester.d):
        raise ValueError(f"the tester is calibrated for {(tester.n, tester.d)}, got {X_test.shape}")
    result = (learner or psgd)(X_learn, y_learn, sigma, rng, **dict(psgd_options or {}))
    stats = tester.statistics(result.w, X_test)
    return Outcome(result.w, tester.decide(stats), stats, float(result.gradient_norms.min()))


def tester_learner_stacked(
    X_learn: np.ndarray,
    y_learn: np.ndarray,
    X_test: np.ndarray,
    tester: Tester,
    rng: np.random.Generator,
    *,
    sigma: float = 0.1,
    psgd_options: Mapping | None = None,
) -> list[Outcome]:
    """:func:`tester_learner` for R independent data sets at once: X_learn (R, n, d), y_learn
    (R, n), X_test (R, tester.n, tester.d); the learners run in lockstep (:func:`psgd_stacked`),
    each candidate is tested on its own fresh points."""
    if X_test.shape[1:] != (tester.n, tester.d) or X_test.shape[0] != X_learn.shape[0]:
        raise ValueError(f"the tester is calibrated for {(tester.n, tester.d)}, got {X_test.shape}")
    results = psgd_stacked(X_learn, y_learn, sigma, rng, **dict(psgd_options or {}))
    outcomes = []
    for result, X in zip(results, X_test, strict=True):
        stats = tester.statistics(result.w, X)
        outcomes.append(
            Outcome(result.w, tester.decide(stats), stats, float(result.gradient_norms.min()))
        )
    return outcomes
