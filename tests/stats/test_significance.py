"""Williams test against published worked examples; permutation test and bootstrap difference."""

import numpy as np
import pytest

from factbench.errors import ConfigError
from factbench.stats import bootstrap_difference, permutation_test, williams_test
from factbench.stats.correlation import make_layout
from factbench.stats.resampling import bootstrap_distribution, resample_weights


def test_williams_steiger_1980_case_a():
    # Steiger (1980), Psychological Bulletin 87(2), worked example "Case A": N = 103, r12 = .4, r13 = .5,
    # r23 = .1; reproduced in R's psych::r.test(103, .4, .5, .1) documentation: t = -0.89 (100 df), p = 0.37.
    # By hand: K = 0.62; t = -0.1 * sqrt(102 * 1.1) / sqrt(2 * 0.62 * 102/100 + 0.2025 * 0.729) = -0.8913.
    res = williams_test(0.4, 0.5, 0.1, 103)
    assert res.statistic == pytest.approx(-0.8913, abs=5e-5)
    assert round(res.p_value, 2) == 0.37
    assert "100 df" in res.test


def test_williams_bruceR_example():
    # R package bruceR, cor_diff(r1 = 0.20, r2 = 0.45, n = 100, rcov = 0.80) documentation output:
    # "Difference of correlation: t(97) = -4.56, p = 1e-05".
    res = williams_test(0.20, 0.45, 0.80, 100)
    assert round(res.statistic, 2) == -4.56
    assert res.p_value == pytest.approx(1e-5, rel=0.5)


def test_williams_one_sided_and_symmetry():
    two = williams_test(0.6, 0.5, 0.7, 200)
    greater = williams_test(0.6, 0.5, 0.7, 200, alternative="greater")
    assert greater.p_value == pytest.approx(two.p_value / 2)
    assert williams_test(0.5, 0.6, 0.7, 200).statistic == pytest.approx(-two.statistic)
    with pytest.raises(ConfigError, match="r23"):
        williams_test(0.5, 0.6, 1.7, 200)
    with pytest.raises(ConfigError, match="n > 3"):
        williams_test(0.5, 0.6, 0.7, 3)


@pytest.fixture(scope="module")
def two_metrics():
    rng = np.random.default_rng(4)
    docs = np.repeat(np.arange(60), 3)
    systems = np.tile(["A", "B", "C"], 60)
    y = rng.normal(size=180)
    good = y + 0.5 * rng.normal(size=180)
    bad = y + 1.5 * rng.normal(size=180)
    return make_layout(docs, systems), y, good, bad


def test_permutation_detects_a_real_difference_and_not_a_null_one(two_metrics):
    layout, y, good, bad = two_metrics
    res = permutation_test(good, bad, y, layout, "global", "pearson", seed=0)
    assert res.statistic > 0.1 and res.p_value < 0.01
    # Same metric twice (rescaled): no difference at all; every permutation is as extreme, p = 1.
    same = permutation_test(good, 3 * good + 1, y, layout, "global", "pearson", seed=0)
    assert same.statistic == pytest.approx(0, abs=1e-12) and same.p_value == 1.0
    # The p-value is (1 + count) / (1 + B): never 0.
    assert res.p_value >= 1 / 1001


def test_permutation_same_seed_same_p(two_metrics):
    layout, y, good, bad = two_metrics
    noisy = good + np.random.default_rng(1).normal(size=180) * 0.3
    a = permutation_test(good, noisy, y, layout, "summary", "kendall", seed=3, n_permutations=200)
    b = permutation_test(good, noisy, y, layout, "summary", "kendall", seed=3, n_permutations=200)
    assert a == b and 0 < a.p_value <= 1


def test_bootstrap_difference_from_shared_resamples(two_metrics):
    layout, y, good, bad = two_metrics
    w = resample_weights(layout, 500, "inputs", seed=0)
    da = bootstrap_distribution(good, y, layout, "global", "spearman", weights=w)
    db = bootstrap_distribution(bad, y, layout, "global", "spearman", weights=w)
    res = bootstrap_difference(0.8, 0.5, da, db)
    assert res.difference == pytest.approx(0.3)
    assert 0 < res.low < res.high and res.p_value < 0.01
    with pytest.raises(ConfigError):
        bootstrap_difference(0, 0, da, db[:10])
