"""Significance tests against independent oracles: scipy's exact paired permutation test, the uniformity of the
p-value under the null (simulation), and the Williams formula written out here. Correctness tests."""

import numpy as np
import pytest
from scipy import stats

from factbench.stats import make_layout, permutation_test, williams_test


def _z(v):
    return (v - v.mean()) / v.std()


@pytest.fixture(scope="module")
def small_pair():
    """12 summaries (12 documents, one system): 2^12 = 4096 swap patterns, so scipy enumerates them exactly."""
    rng = np.random.default_rng(11)
    y = rng.normal(size=12)
    a = y + 0.9 * rng.normal(size=12)
    b = y + 1.3 * rng.normal(size=12)
    return a, b, y


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_paired_permutation_p_value_equals_scipy_exact_permutation_test(small_pair, alternative):
    """factbench swaps the two metrics' z-scored scores per document with a fair coin; scipy's
    ``permutation_test(permutation_type="samples")`` swaps the two paired samples per observation, over all
    4096 patterns. factbench draws 20 000 random patterns (p = (1 + count) / (1 + B)): the Monte-Carlo standard
    error is at most 0.0035, so 0.015 is over four of them. The two-sided p here is about twice the one-sided
    one (a one-sided count labelled two-sided fails)."""
    a, b, y = small_pair
    za, zb = _z(a), _z(b)

    def diff(u, v, axis=-1):
        return (stats.pearsonr(u, y, axis=axis).statistic - stats.pearsonr(v, y, axis=axis).statistic)

    ref = stats.permutation_test((za, zb), diff, permutation_type="samples", vectorized=True,
                                 alternative=alternative, n_resamples=np.inf)
    ours = permutation_test(a, b, y, make_layout(n=12), "global", "pearson", n_permutations=20_000, seed=0,
                            alternative=alternative)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=0.015)
    if alternative == "two-sided":
        assert 0.1 < ref.pvalue < 0.9  # a p-value that a one-sided count would halve: the check has teeth
        one_sided = min(permutation_test(a, b, y, make_layout(n=12), "global", "pearson", n_permutations=20_000,
                                         seed=0, alternative=alt).p_value for alt in ("greater", "less"))
        assert ours.p_value > 1.6 * one_sided


def test_permutation_p_values_are_uniform_under_the_null():
    """Under H0 (metrics A and B exchangeable: the same noise level around y) a valid permutation test gives
    p-values that are uniform on (0, 1] (up to the 1/(B+1) grid). 300 simulated data sets of 40 summaries,
    199 permutations each; Kolmogorov-Smirnov against U(0, 1) must not reject at 1 %, and the share of
    p < 0.05 must lie within three binomial standard errors (0.038) of 0.05."""
    rng = np.random.default_rng(5)
    layout = make_layout(n=40)
    ps = []
    for s in range(300):
        y = rng.normal(size=40)
        a, b = y + rng.normal(size=40), y + rng.normal(size=40)
        ps.append(permutation_test(a, b, y, layout, "global", "pearson", n_permutations=199, seed=s).p_value)
    ps = np.array(ps)
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert abs(np.mean(ps < 0.05) - 0.05) < 0.038


def _williams_by_hand(r12, r13, r23, n):
    """Williams' t (Steiger 1980, eq. 7) and its two-sided p with n - 3 degrees of freedom, written out."""
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    rbar = (r12 + r13) / 2
    t = (r12 - r13) * np.sqrt((n - 1) * (1 + r23) / (2 * (n - 1) / (n - 3) * det + rbar**2 * (1 - r23) ** 3))
    return t, 2 * stats.t.sf(abs(t), n - 3)


def test_williams_test_on_a_worked_partial_example():
    """Worked example at the partial level: 30 summaries of 6 systems, partial correlations (controlling for the
    system) r12 = 0.62 (metric A), r13 = 0.35 (metric B), r23 = 0.48. Partialling out 5 dummies leaves an
    effective n of 30 - 5 = 25 (22 df). K = 1 - 0.3844 - 0.1225 - 0.2304 + 2 * 0.62 * 0.35 * 0.48 = 0.47102;
    t = 0.27 * sqrt(24 * 1.48 / (2 * 24/22 * 0.47102 + 0.485^2 * 0.52^3)) = 0.27 * sqrt(35.52 / 1.060755)
    = 1.5624, two-sided p = 0.1325 (t distribution, 22 df). With the unreduced n = 30 the same correlations
    give t = 1.7304, p = 0.0950."""
    res = williams_test(0.62, 0.35, 0.48, 25)
    assert res.statistic == pytest.approx(1.5624, abs=1e-4)
    assert res.p_value == pytest.approx(0.1325, abs=1e-4)
    t, p = _williams_by_hand(0.62, 0.35, 0.48, 25)
    assert (res.statistic, res.p_value) == pytest.approx((t, p), abs=1e-12)
    assert "22 df" in res.test
