"""Verdict statistics (DESIGN.md, "Seeds, statistics, verdicts").

A claim is judged on per-seed *paired* differences d_i = metric(method, seed i) -
metric(baseline, seed i) (or a metric minus a fixed reference such as AUROC 0.5):

* effect: the mean  d̄ = (1/n) Σ d_i, with the 95 % t-interval  d̄ ± t_{n-1, 0.975} · s / √n;
* p-value: the exact sign-flip (permutation) test of "d is symmetric about the margin":
  p = #{ε ∈ {±1}^n : mean(ε ⊙ (d - m)) ≥ mean(d - m)} / 2^n, one-sided in the claimed direction
  (its floor is 2^-n, so five seeds are the least that can reach p < 0.05);
* verdict: ``reproduced`` when the whole interval lies on the claimed side of the margin m;
  otherwise ``not reproduced``, with the reason ``contradicted`` (the whole interval lies on the
  wrong side) or ``inconclusive``. The smoke profile never judges.

The margin is 0 for "better than"; a non-inferiority claim ("no worse than δ") uses
``direction="greater", margin=-δ``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats as sps

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_JUDGED = "not judged"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
DIRECTIONS = ("greater", "less")
EXACT_SIGN_FLIP_MAX_N = 20
MONTE_CARLO_FLIPS = 200_000


def paired_differences(method: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    """Per-seed differences ``method - baseline``; both sequences are ordered by seed."""
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"paired arms must be 1-D and of equal length; got {a.shape} and {b.shape}"
        )
    return a - b


def t_interval(x: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided ``level`` Student-t interval; ``(mean, nan, nan)`` for n < 2."""
    x = np.asarray(x, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = sps.t.ppf(0.5 + level / 2, df=x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, float(mean - half), float(mean + half)


def format_interval(x: Sequence[float], spec: str = ".3f", level: float = 0.95) -> str:
    """``"mean [low, high]"`` of :func:`t_interval` with the format ``spec`` (the mean alone for
    n < 2): the summary-table cell the notebooks show."""
    mean, lo, hi = t_interval(x, level)
    if np.isnan(lo):
        return f"{mean:{spec}}"
    return f"{mean:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def sign_flip_pvalue(
    d: Sequence[float], alternative: str = "greater", margin: float = 0.0
) -> tuple[float, str]:
    """Sign-flip test of H0 "d - margin is symmetric about 0"; returns (p, description).

    Exact over all 2^n sign patterns for n <= 20, else Monte Carlo with a fixed generator.
    ``alternative`` is ``greater``, ``less`` or ``two-sided``.
    """
    x = np.asarray(d, dtype=float) - margin
    n = x.size
    if n == 0:
        raise ValueError("no differences to test")
    if n <= EXACT_SIGN_FLIP_MAX_N:
        patterns = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.int8)
        signs = 1 - 2 * patterns
        how = f"exact sign-flip over {2**n} patterns"
    else:
        rng = np.random.default_rng(0)
        signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(MONTE_CARLO_FLIPS, n))
        signs[0] = 1  # the observed pattern is always one of the draws
        how = f"Monte Carlo sign-flip, {MONTE_CARLO_FLIPS} draws"
    flipped = signs @ x / n
    observed = x.mean()
    tol = 1e-12 * max(1.0, np.abs(x).max())
    if alternative == "greater":
        p = np.mean(flipped >= observed - tol)
    elif alternative == "less":
        p = np.mean(flipped <= observed + tol)
    elif alternative == "two-sided":
        p = np.mean(np.abs(flipped) >= abs(observed) - tol)
    else:
        raise ValueError(f"alternative must be greater, less or two-sided; got {alternative!r}")
    return float(p), how


def binomial_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval for a proportion k/n."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"need 0 <= k <= n and n >= 1; got k={k}, n={n}")
    alpha = 1 - level
    lo = 0.0 if k == 0 else sps.beta.ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else sps.beta.ppf(1 - alpha / 2, k + 1, n - k)
    return float(lo), float(hi)


@dataclass
class Verdict:
    """One judged comparison; ``verdict`` is reproduced / not reproduced / not judged."""

    name: str
    verdict: str
    reason: str | None
    explanation: str
    effect: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    test: str
    direction: str
    margin: float
    n: int
    differences: list[float] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return self.verdict == REPRODUCED

    def to_dict(self) -> dict:
        return asdict(self)


def verdict(
    differences: Sequence[float],
    *,
    name: str = "claim",
    direction: str = "greater",
    margin: float = 0.0,
    level: float = 0.95,
    profile: str | None = None,
) -> Verdict:
    """Judge a claim from per-seed differences (see the module docstring for the rule)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    d = np.asarray(differences, dtype=float)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError("differences must be a non-empty 1-D array of finite numbers")
    effect, lo, hi = t_interval(d, level)
    p, how = sign_flip_pvalue(d, direction, margin)
    test = f"paired t-interval ({level:.0%}); {how}"
    side = ">" if direction == "greater" else "<"
    claimed = f"mean difference {side} {margin:g}"
    reason: str | None
    if profile == "smoke":
        outcome, reason = NOT_JUDGED, None
        explanation = "the smoke profile checks the pipeline and judges nothing"
    elif d.size < 2:
        outcome, reason = NOT_REPRODUCED, INCONCLUSIVE
        explanation = "one seed gives no interval; run more seeds"
    else:
        on_side = lo > margin if direction == "greater" else hi < margin
        against = hi < margin if direction == "greater" else lo > margin
        interval = f"the {level:.0%} interval [{lo:.4g}, {hi:.4g}]"
        if on_side:
            outcome, reason = REPRODUCED, None
            explanation = f"{interval} lies entirely on the claimed side ({claimed})"
        elif against:
            outcome, reason = NOT_REPRODUCED, CONTRADICTED
            explanation = f"{interval} lies entirely on the wrong side of the claim ({claimed})"
        else:
            outcome, reason = NOT_REPRODUCED, INCONCLUSIVE
            explanation = (
                f"{interval} contains the margin {margin:g}; the claim ({claimed}) is undecided"
            )
        if np.ptp(d) == 0.0:
            explanation += (
                "; every seed gave the same difference, so the interval has no width and rests on"
                " the metric's floor or ceiling, not on a spread of outcomes"
            )
    return Verdict(
        name=name,
        verdict=outcome,
        reason=reason,
        explanation=explanation,
        effect=effect,
        ci_low=lo,
        ci_high=hi,
        ci_level=level,
        p_value=p,
        test=test,
        direction=direction,
        margin=margin,
        n=int(d.size),
        differences=[float(v) for v in d],
    )


def combine_verdicts(checks: Sequence[Verdict], name: str = "all parts") -> Verdict:
    """A claim made of parts holds only if every part does: ``reproduced`` iff all are,
    ``contradicted`` if any is, else ``inconclusive``; smoke stays ``not judged``. The numbers
    shown are those of the deciding part (the first that failed, else the first)."""
    if not checks:
        raise ValueError("no checks to combine")
    if any(c.verdict == NOT_JUDGED for c in checks):
        deciding, outcome, reason = checks[0], NOT_JUDGED, None
    elif all(c.reproduced for c in checks):
        deciding, outcome, reason = checks[0], REPRODUCED, None
    else:
        contradicted = [c for c in checks if c.reason == CONTRADICTED]
        failed = contradicted or [c for c in checks if not c.reproduced]
        deciding, outcome = failed[0], NOT_REPRODUCED
        reason = CONTRADICTED if contradicted else INCONCLUSIVE
    names = ", ".join(c.name for c in checks)
    if outcome == NOT_JUDGED:
        explanation = f"{checks[0].explanation} ({len(checks)} parts: {names})"
    else:
        held = sum(c.reproduced for c in checks)
        explanation = f"{held} of {len(checks)} parts reproduced; the parts: {names}"
    if outcome == NOT_REPRODUCED:
        explanation += f"; deciding part '{deciding.name}': {deciding.explanation}"
    return Verdict(
        **{
            **deciding.to_dict(),
            "name": name,
            "verdict": outcome,
            "reason": reason,
            "explanation": explanation,
        }
    )
