"""Verdict statistics on cases worked by hand."""

import numpy as np
import pytest
from scipy import stats as sps

from repro import stats


def test_sign_flip_pvalue_worked_by_hand():
    # d = (1, 2, -0.5): observed sum 2.5. Of the 8 sign patterns, the sums are
    # ±1 ±2 ±0.5 = 3.5, 2.5, 1.5, 0.5, -0.5, -1.5, -2.5, -3.5; two are >= 2.5, so p = 2/8.
    p, how = stats.sign_flip_pvalue([1.0, 2.0, -0.5], "greater")
    assert p == pytest.approx(2 / 8)
    assert "exact" in how
    assert stats.sign_flip_pvalue([1.0, 2.0, -0.5], "less")[0] == pytest.approx(7 / 8)
    # two-sided: |sum| >= 2.5 for 4 of 8 patterns
    assert stats.sign_flip_pvalue([1.0, 2.0, -0.5], "two-sided")[0] == pytest.approx(4 / 8)


def test_sign_flip_floor_is_two_to_minus_n():
    assert stats.sign_flip_pvalue(np.ones(5))[0] == pytest.approx(2**-5)
    assert stats.sign_flip_pvalue(np.ones(4))[0] > 0.05  # four seeds can never reach 0.05


def test_sign_flip_margin_shifts_the_null():
    d = [0.3, 0.4, 0.5, 0.35, 0.45]
    assert stats.sign_flip_pvalue(d, margin=0.0)[0] == pytest.approx(1 / 32)
    assert stats.sign_flip_pvalue(d, margin=1.0)[0] == pytest.approx(1.0)


def test_sign_flip_monte_carlo_close_to_exact_for_large_n():
    d = np.random.default_rng(3).normal(0.2, 1.0, size=24)
    p_mc, how = stats.sign_flip_pvalue(d)
    assert "Monte Carlo" in how
    # the t-test is a good approximation of the permutation distribution at this n
    p_t = sps.ttest_1samp(d, 0.0, alternative="greater").pvalue
    assert abs(p_mc - p_t) < 0.05


def test_t_interval_matches_scipy():
    x = np.array([0.1, 0.4, 0.2, 0.35, 0.05, 0.3])
    mean, lo, hi = stats.t_interval(x)
    ref = sps.t.interval(0.95, df=5, loc=x.mean(), scale=sps.sem(x))
    assert mean == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx(ref)


def test_t_interval_single_value_has_no_interval():
    mean, lo, hi = stats.t_interval([0.7])
    assert mean == 0.7 and np.isnan(lo) and np.isnan(hi)


def test_format_interval_shows_the_t_interval():
    mean, lo, hi = stats.t_interval([1.0, 2.0, 4.0])
    assert stats.format_interval([1.0, 2.0, 4.0], "+.2f") == f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}]"
    assert stats.format_interval(np.array([0.5]), ".3f") == "0.500"


def test_binomial_interval_known_values():
    lo, hi = stats.binomial_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))
    lo, hi = stats.binomial_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10))
    with pytest.raises(ValueError):
        stats.binomial_interval(5, 3)


@pytest.mark.parametrize(
    ("d", "direction", "margin", "expected", "reason"),
    [
        ([0.1, 0.2, 0.15, 0.12, 0.18], "greater", 0.0, "reproduced", None),
        ([-0.1, -0.2, -0.15, -0.12, -0.18], "greater", 0.0, "not reproduced", "contradicted"),
        ([0.1, -0.2, 0.15, -0.12, 0.05], "greater", 0.0, "not reproduced", "inconclusive"),
        ([-0.1, -0.2, -0.15, -0.12, -0.18], "less", 0.0, "reproduced", None),
        # non-inferiority: no worse than 0.3 below
        ([-0.1, -0.2, -0.15, -0.12, -0.18], "greater", -0.3, "reproduced", None),
    ],
)
def test_verdict_rule(d, direction, margin, expected, reason):
    v = stats.verdict(d, direction=direction, margin=margin, profile="quick")
    assert v.verdict == expected and v.reason == reason
    assert v.n == len(d) and v.differences == pytest.approx(d)


def test_smoke_never_judges():
    v = stats.verdict([1.0, 2.0, 3.0, 4.0, 5.0], profile="smoke")
    assert v.verdict == stats.NOT_JUDGED and v.reason is None


def test_one_seed_is_inconclusive():
    v = stats.verdict([0.5], profile="quick")
    assert v.verdict == stats.NOT_REPRODUCED and v.reason == stats.INCONCLUSIVE


def test_verdict_rejects_bad_input():
    with pytest.raises(ValueError):
        stats.verdict([], profile="quick")
    with pytest.raises(ValueError):
        stats.verdict([1.0, np.nan], profile="quick")
    with pytest.raises(ValueError):
        stats.verdict([1.0, 2.0], direction="up")


def test_combine_verdicts():
    good = stats.verdict([0.1, 0.2, 0.15, 0.12, 0.18], name="a", profile="quick")
    unsure = stats.verdict([0.1, -0.2, 0.15, -0.12, 0.05], name="b", profile="quick")
    bad = stats.verdict([-0.1, -0.2, -0.15, -0.12, -0.18], name="c", profile="quick")
    assert stats.combine_verdicts([good, good]).verdict == stats.REPRODUCED
    combined = stats.combine_verdicts([good, unsure])
    assert (combined.verdict, combined.reason) == (stats.NOT_REPRODUCED, stats.INCONCLUSIVE)
    assert combined.effect == unsure.effect
    combined = stats.combine_verdicts([good, unsure, bad])
    assert combined.reason == stats.CONTRADICTED and combined.effect == bad.effect
    assert combined.explanation.startswith("1 of 3 parts reproduced; the parts: a, b, c")
    smoke = [stats.verdict([0.1], name=n, profile="smoke") for n in ("a", "b")]
    combined = stats.combine_verdicts(smoke)
    assert combined.verdict == stats.NOT_JUDGED and "reproduced" not in combined.explanation
    assert combined.explanation.endswith("(2 parts: a, b)")


def test_a_verdict_without_spread_says_so():
    flat = stats.verdict([0.1, 0.1, 0.1, 0.1], name="rate - bound", profile="quick")
    assert flat.verdict == stats.REPRODUCED and (flat.ci_low, flat.ci_high) == (0.1, 0.1)
    assert "no width" in flat.explanation
    spread = stats.verdict([0.1, 0.1, 0.1, 0.2], profile="quick")
    assert "no width" not in spread.explanation


def test_paired_differences_checks_shapes():
    assert stats.paired_differences([3, 4], [1, 1]).tolist() == [2, 3]
    with pytest.raises(ValueError):
        stats.paired_differences([1, 2, 3], [1, 2])
