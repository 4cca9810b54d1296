"""Confidence intervals against independent oracles: scipy's bootstrap, the textbook Fisher formula, and the
coverage of the 95 % interval measured by simulation. These tests show correctness (the expected values do not
come from factbench)."""

import numpy as np
import pytest
from scipy import stats

from factbench.stats import bootstrap_ci, fisher_interval


def _pearson_along_last_axis(a, b, axis=-1):
    a = a - a.mean(axis, keepdims=True)
    b = b - b.mean(axis, keepdims=True)
    return (a * b).sum(axis) / np.sqrt((a * a).sum(axis) * (b * b).sum(axis))


def _spearman_along_last_axis(a, b, axis=-1):
    return _pearson_along_last_axis(stats.rankdata(a, axis=axis), stats.rankdata(b, axis=axis))


def _kendall_b(a, b, axis=-1):
    return stats.kendalltau(a, b, variant="b").statistic


# Document ids whose sorted order is the row order, so that factbench's draws of documents (indices into the
# sorted ids) are scipy's draws of rows: with the same seed both resample exactly the same rows.
def _docs(n):
    return [f"d{i:03d}" for i in range(n)]


@pytest.mark.parametrize("confidence", [0.95, 0.9])
@pytest.mark.parametrize("method, statistic, vectorized", [
    ("pearson", _pearson_along_last_axis, True),
    ("spearman", _spearman_along_last_axis, True),
    ("kendall", _kendall_b, False),
])
def test_bootstrap_percentile_interval_equals_scipy_bootstrap(method, statistic, vectorized, confidence):
    """Independent observations (one summary per document): factbench's bootstrap over inputs is the paired
    percentile bootstrap of ``scipy.stats.bootstrap``. With the same generator seed both draw the same
    index matrix, so the bounds agree to rounding, at 95 % and at 90 % (a 90 % interval labelled 95 % fails)."""
    rng = np.random.default_rng(3)
    n = 40
    x = rng.normal(size=n)
    y = np.round(x + rng.normal(size=n), 1)  # some ties in y
    ours = bootstrap_ci(x, y, docs=_docs(n), method=method, n_resamples=499, seed=7, confidence=confidence)
    ref = stats.bootstrap((x, y), statistic, paired=True, vectorized=vectorized, n_resamples=499,
                          method="percentile", confidence_level=confidence, rng=np.random.default_rng(7))
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    assert ours.confidence == confidence and ours.describe().startswith(f"{confidence * 100:g}% percentile")


def test_bootstrap_95_interval_covers_the_true_correlation_95_percent_of_the_time():
    """Coverage by simulation: 500 data sets of n = 100 bivariate normal pairs with rho = 0.5, one 95 %
    percentile bootstrap interval (500 resamples) each. The expected coverage is 0.95 (the percentile
    bootstrap of Pearson's r is close to nominal at this n); with 500 data sets the binomial standard error is
    0.01, so the band [0.93, 0.97] is two standard errors. Measured: 0.950 (95 %), 0.896 for the same
    intervals at 90 %: an interval at the wrong level falls outside the band."""
    rng = np.random.default_rng(0)
    rho, n, trials = 0.5, 100, 500
    hits = 0
    for s in range(trials):
        x = rng.normal(size=n)
        y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
        ci = bootstrap_ci(x, y, n_resamples=500, seed=s)
        hits += ci.low <= rho <= ci.high
    assert 0.93 <= hits / trials <= 0.97


@pytest.mark.parametrize("r, n, k, confidence", [(0.3, 103, 0, 0.95), (0.42, 75, 4, 0.95), (-0.6, 40, 9, 0.9),
                                                 (0.0, 20, 2, 0.99)])
def test_fisher_interval_is_the_textbook_formula_with_n_minus_3_minus_k(r, n, k, confidence):
    """Fisher z interval of a (partial) correlation controlling for k variables: tanh(atanh(r) +- z / sqrt(n - 3 -
    k)) (e.g. Cohen et al., Applied Multiple Regression, §3.8; the standard error of a partial correlation's z
    uses n - 3 - k)."""
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    se = 1 / np.sqrt(n - 3 - k)
    ci = fisher_interval(r, n, confidence, n_controls=k)
    assert ci.low == pytest.approx(np.tanh(np.arctanh(r) - z * se), abs=1e-12)
    assert ci.high == pytest.approx(np.tanh(np.arctanh(r) + z * se), abs=1e-12)
    assert np.isnan(fisher_interval(r, 3 + k, confidence, n_controls=k).low)  # no degree of freedom left
