"""Interval estimates of the privacy parameter ε from membership-inference outcomes.

Zanella-Béguelin, Wutschitz, Tople, Salem, Rühle, Paverd, Naseri, Köpf & Jones, "Bayesian
Estimation of Differential Privacy", ICML 2023 (arXiv:2206.05199). Official code:
microsoft/responsible-ai-toolbox-privacy (``privacy_estimates``: ``privacy_region.py``,
``joint_density.py``, ``binomial_proportion.py``); this module is an independent
re-implementation.

**Hypothesis-testing view of DP** (Kairouz, Oh & Viswanath 2015). A membership-inference attack
that tells whether a target was in the training data makes false negatives at rate x (FNR) and
false positives at rate y (FPR). A mechanism is (ε, δ)-DP iff every attack satisfies

    y + e^ε x ≥ 1 − δ,   e^ε y + x ≥ 1 − δ,

and the same for the complemented attack (x, y) → (1 − x, 1 − y). In the (x, y) square this is
the region R(ε, δ) between the curves (:func:`region_bounds`)

    lo(x) = max(0, 1 − δ − e^ε x, e^{−ε} (1 − δ − x)),
    hi(x) = min(1, 1 + e^{−ε} (δ − x), δ + e^ε (1 − x)),

which grows with ε. The ε *implied* by a point is the smallest ε whose region contains it
(:func:`epsilon_from_rates`): after mapping points above the diagonal y = 1 − x to
(1 − y, 1 − x), ε(x, y) = log((1 − δ − max(x, y)) / min(x, y)), or 0 inside R(0, δ).

**Bayesian estimate** (the paper's Section 4; ``joint_density.Beta``). From the counts TP, FN
(members) and TN, FP (non-members) of an attack, Jeffreys priors Beta(½, ½) give independent
posteriors

    FNR ~ Beta(FN + ½, TP + ½),   FPR ~ Beta(FP + ½, TN + ½).

Their joint posterior induces a posterior for ε with CDF

    P(ε ≤ e) = ∫∫_{R(e, δ)} p(x) p(y) dx dy = ∫ p(x) [F_y(hi(x)) − F_y(lo(x))] dx,

and the two-sided 100(1 − α) % credible interval is [ε_lo, ε_hi] with P(ε ≤ ε_lo) = α/2 and
P(ε ≤ ε_hi) = 1 − α/2 (ε_lo = 0 when P(ε ≤ 0) already exceeds α/2). The official code integrates
with ``scipy.integrate.dblquad`` (absolute error 5e-3) and solves with ``root_scalar``
(``xtol`` 1e-2); here the outer integral is a Gauss-Legendre rule in the quantile of the FNR
posterior (x = F_x⁻¹(u)), the inner one is exact, and the root is found to 1e-5.

**Clopper-Pearson baseline** (``binomial_proportion.compute_eps_lo_hi``): exact two-sided
intervals at level 1 − α/2 for each rate give a rectangle that contains (FNR, FPR) with
probability at least 1 − α (union bound). ε_hi is the largest implied ε over the rectangle (its
corner nearest (0, 0), or nearest (1, 1) above the diagonal), ε_lo the smallest (0 if the
rectangle reaches the diagonal).

**Mechanisms with a known ε** for checking coverage: randomized response (the attack that
trusts the reported bit), the Laplace mechanism on a counting query (the threshold attack at
the member's count) and the Gaussian mechanism (the threshold attack at the tangent point of its
trade-off curve); at these points the attack's implied ε equals the mechanism's ε.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy.stats import norm

from repro.stats import binomial_interval

PRIOR = 0.5  # the Jeffreys prior Beta(½, ½) on each rate
QUADRATURE_NODES = 64  # CDF error below 1e-4 against 1024 nodes (the official solver: 5e-3)
_u, _w = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
_NODES, _WEIGHTS = (_u + 1) / 2, _w / 2  # Gauss-Legendre on (0, 1)


@dataclass(frozen=True)
class AttackCounts:
    """Outcomes of a membership-inference game: members (TP + FN) and non-members (TN + FP)."""

    tp: int
    fn: int
    tn: int
    fp: int

    def __post_init__(self) -> None:
        if min(self.tp, self.fn, self.tn, self.fp) < 0:
            raise ValueError(f"counts must be non-negative; got {self}")
        if self.tp + self.fn < 1 or self.tn + self.fp < 1:
            raise ValueError(f"need at least one member and one non-member; got {self}")

    @property
    def fnr(self) -> float:
        return self.fn / (self.tp + self.fn)

    @property
    def fpr(self) -> float:
        return self.fp / (self.tn + self.fp)


# --- the privacy region ------------------------------------------------------------------------


def region_bounds(fnr: np.ndarray, eps: float, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper FPR boundary of R(ε, δ) at each FNR (module docstring)."""
    x = np.asarray(fnr, dtype=float)
    grow, shrink = np.exp(eps), np.exp(-eps)
    lo = np.maximum(0.0, np.maximum(1 - delta - grow * x, shrink * (1 - delta - x)))
    hi = np.minimum(1.0, np.minimum(1 + shrink * (delta - x), delta + grow * (1 - x)))
    return lo, hi


def epsilon_from_rates(fnr: float, fpr: float, delta: float = 0.0) -> float:
    """The smallest ε ≥ 0 with (fnr, fpr) in R(ε, δ); ``inf`` if no finite ε suffices."""
    if not (0 <= fnr <= 1 and 0 <= fpr <= 1):
        raise ValueError(f"rates must lie in [0, 1]; got fnr={fnr}, fpr={fpr}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1); got {delta}")
    if fpr > 1 - fnr:  # worse than guessing: the complemented attack, mirrored
        fnr, fpr = 1 - fpr, 1 - fnr
    small, large = min(fnr, fpr), max(fnr, fpr)
    if large >= 1 - delta - small:
        return 0.0
    if small == 0:
        return float("inf")
    return float(np.log((1 - delta - large) / small))


# --- the Bayesian estimate ---------------------------------------------------------------------


class EpsilonPosterior:
    """The posterior of ε induced by independent Jeffreys-Beta posteriors of FNR and FPR."""

    def __init__(self, counts: AttackCounts, delta: float = 0.0):
        if not 0 <= delta < 1:
            raise ValueError(f"delta must lie in [0, 1); got {delta}")
        self.counts, self.delta = counts, delta
        self.fnr_ab = (counts.fn + PRIOR, counts.tp + PRIOR)
        self.fpr_ab = (counts.fp + PRIOR, counts.tn + PRIOR)
        # outer integral over FNR in its quantile: x = F⁻¹(u) at Gauss-Legendre nodes u
        self._x = special.betaincinv(*self.fnr_ab, _NODES)

    def cdf(self, eps: float) -> float:
        """P(ε ≤ eps): the posterior mass of the region R(eps, δ)."""
        if eps < 0:
            return 0.0
        lo, hi = region_bounds(self._x, eps, self.delta)
        inner = special.betainc(*self.fpr_ab, hi) - special.betainc(*self.fpr_ab, lo)
        return min(1.0, max(0.0, float(_WEIGHTS @ inner)))

    def quantile(self, q: float, xtol: float = 1e-5) -> float:
        """The ε at which the posterior CDF reaches ``q`` (0 if it already does at ε = 0)."""
        if not 0 < q < 1:
            raise ValueError(f"q must lie in (0, 1); got {q}")
        if self.cdf(0.0) >= q:
            return 0.0
        upper = 1.0
        while self.cdf(upper) < q:
            upper *= 2
            if upper > 1e3:
                raise RuntimeError(f"no ε below {upper} reaches posterior mass {q}")
        return float(optimize.brentq(lambda e: self.cdf(e) - q, 0.0, upper, xtol=xtol))

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of ε: draws of (FNR, FPR) mapped through :func:`epsilon_from_rates`."""
        x, y = rng.beta(*self.fnr_ab, size), rng.beta(*self.fpr_ab, size)
        return np.array([epsilon_from_rates(a, b, self.delta) for a, b in zip(x, y, strict=True)])


def bayesian_interval(
    counts: AttackCounts, delta: float = 0.0, level: float = 0.95
) -> tuple[float, float]:
    """Equal-tailed ``level`` credible interval of the ε posterior (module docstring)."""
    posterior = EpsilonPosterior(counts, delta)
    alpha = 1 - level
    return posterior.quantile(alpha / 2), posterior.quantile(1 - alpha / 2)


# --- the Clopper-Pearson baseline --------------------------------------------------------------


def clopper_pearson_interval(
    counts: AttackCounts, delta: float = 0.0, level: float = 0.95
) -> tuple[float, float]:
    """ε interval from exact (Clopper-Pearson) ``1 − α/2`` intervals for FNR and FPR."""
    rate_level = 1 - (1 - level) / 2
    fnr_lo, fnr_hi = binomial_interval(counts.fn, counts.tp + counts.fn, rate_level)
    fpr_lo, fpr_hi = binomial_interval(counts.fp, counts.tn + counts.fp, rate_level)
    near_origin = epsilon_from_rates(fnr_lo, fpr_lo, delta)
    near_one = epsilon_from_rates(fnr_hi, fpr_hi, delta)
    straddles = (fnr_lo + fpr_lo <= 1) != (fnr_hi + fpr_hi <= 1)
    lo = 0.0 if straddles else min(near_origin, near_one)
    return lo, max(near_origin, near_one)


# --- mechanisms with a known ε, and attack outcomes --------------------------------------------


def randomized_response_rates(eps: float) -> tuple[float, float]:
    """(FNR, FPR) of the attack that trusts the reported bit of ε-randomized response (the
    true bit is reported with probability e^ε / (1 + e^ε)); its implied ε is ε."""
    p = 1 / (1 + np.exp(eps))
    return float(p), float(p)


def laplace_threshold_rates(eps: float, threshold: float = 1.0) -> tuple[float, float]:
    """(FNR, FPR) of "member iff the output exceeds ``threshold``" against the Laplace
    mechanism on a counting query (sensitivity 1, scale 1/ε): the output is Lap(1/ε) without
    the target and 1 + Lap(1/ε) with it. Any threshold ≥ 1 implies exactly ε; 1 gives the
    largest FPR among them."""
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0; got {threshold}")
    fpr = 0.5 * np.exp(-eps * threshold)
    gap = threshold - 1
    fnr = 0.5 * np.exp(eps * gap) if gap <= 0 else 1 - 0.5 * np.exp(-eps * gap)
    return float(fnr), float(fpr)


def gaussian_delta(mu: float, eps: float) -> float:
    """Privacy profile of the Gaussian mechanism with sensitivity/σ = μ (μ-GDP):
    δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2) (Balle & Wang 2018; Dong, Roth & Su 2019)."""
    return float(norm.cdf(-eps / mu + mu / 2) - np.exp(eps) * norm.cdf(-eps / mu - mu / 2))


def gaussian_mu(eps: float, delta: float) -> float:
    """The μ for which the Gaussian mechanism is exactly (ε, δ)-DP."""
    return float(optimize.brentq(lambda m: gaussian_delta(m, eps) - delta, 1e-3, 50.0))


def gaussian_threshold_rates(mu: float, eps: float) -> tuple[float, float]:
    """(FNR, FPR) of the threshold attack on N(0, 1) (non-member) vs N(μ, 1) (member) at
    t = ε/μ + μ/2, where the trade-off curve touches the line e^ε FPR + FNR = 1 − δ(ε): the
    attack's implied ε at δ(ε) is ε."""
    t = eps / mu + mu / 2
    return float(norm.cdf(t - mu)), float(norm.sf(t))


def simulate_counts(
    fnr: float, fpr: float, n_trials: int, n_replicates: int, rng: np.random.Generator
) -> list[AttackCounts]:
    """``n_replicates`` games of ``n_trials`` attack trials, half on members and half on
    non-members (members get the odd one out)."""
    members = (n_trials + 1) // 2
    non_members = n_trials - members
    fn = rng.binomial(members, fnr, n_replicates)
    fp = rng.binomial(non_members, fpr, n_replicates)
    return [
        AttackCounts(tp=int(members - a), fn=int(a), tn=int(non_members - b), fp=int(b))
        for a, b in zip(fn, fp, strict=True)
    ]
